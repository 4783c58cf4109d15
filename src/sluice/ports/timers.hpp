#pragma once
// The port the engine waits through: every pause (a throttle's window, a
// retry's backoff, a lease poll) and every bounded wait for a concurrency
// slot. Time is the engine's Clock, so tests drive it with a FakeClock and
// fake timers and see every wait end exactly when the clock says, with no
// real sleep (net/ implements it with Asio steady timers).
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "sluice/core/time.hpp"

namespace sluice::ports {

// One wait: wait() completes at the time it was made for, or earlier once
// wake() is called (from the same executor). One wait() per timer.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual boost::asio::awaitable<void> wait() = 0;
  virtual void wake() = 0;
};

class Timers {
 public:
  virtual ~Timers() = default;
  virtual std::unique_ptr<Timer> at(TimePoint when) = 0;

  // A pause until `when`; nothing when it has passed.
  boost::asio::awaitable<void> sleep_until(TimePoint when) {
    auto timer = at(when);
    co_await timer->wait();
  }
};

}  // namespace sluice::ports
