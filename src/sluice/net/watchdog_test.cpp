#include "sluice/net/watchdog.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace sluice::net {
namespace {

using namespace std::chrono_literals;
using clock = Watchdog::clock;

// The loop runs until the watchdog's wait is over (run() returns when no
// work is left); these tests assert what happened and in which order, never
// how long it took.
TEST(Watchdog, AnArmedDeadlineThatPassesReportsExpiry) {
  boost::asio::io_context io;
  int fired = 0;
  Watchdog w(io.get_executor(), [&] { ++fired; });
  w.arm(1ms);
  io.run();
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(w.expired());
  w.arm(1h);  // arming again clears it
  EXPECT_FALSE(w.expired());
}

TEST(Watchdog, ADisarmedWatchdogNeverFires) {
  boost::asio::io_context io;
  int fired = 0;
  Watchdog w(io.get_executor(), [&] { ++fired; });
  w.arm(1ms);
  w.disarm();
  io.run();  // the pending wait ends and stops
  EXPECT_EQ(fired, 0);
  EXPECT_FALSE(w.expired());
}

TEST(Watchdog, ALaterDeadlineIsWaitedForNotTheFirst) {
  boost::asio::io_context io;
  clock::time_point fired_at{};
  Watchdog w(io.get_executor(), [&] { fired_at = clock::now(); });
  w.arm(1ms);
  const auto later = clock::now() + 30ms;
  w.arm(30ms);
  io.run();
  EXPECT_GE(fired_at, later);
}

TEST(Watchdog, AnEarlierDeadlineReplacesAPendingLaterWait) {
  boost::asio::io_context io;
  int fired = 0;
  Watchdog w(io.get_executor(), [&] { ++fired; });
  w.arm(1h);
  w.arm(1ms);
  io.run_for(10s);  // returns at once when the 1 ms deadline fired and nothing waits
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(w.expired());
}

// A stopped watchdog leaves no work behind: run() returns although the
// deadline was an hour away.
TEST(Watchdog, StopEndsThePendingWaitAndArmingAgainStillWorks) {
  boost::asio::io_context io;
  int fired = 0;
  Watchdog w(io.get_executor(), [&] { ++fired; });
  w.arm(1h);
  w.stop();
  io.run();
  EXPECT_EQ(fired, 0);
  io.restart();
  w.arm(1ms);
  io.run();
  EXPECT_EQ(fired, 1);
}

TEST(Watchdog, OneDestroyedWithAPendingWaitCallsNothing) {
  boost::asio::io_context io;
  int fired = 0;
  auto w = std::make_unique<Watchdog>(io.get_executor(), [&] { ++fired; });
  w->arm(1ms);
  w.reset();
  io.run();
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace sluice::net
