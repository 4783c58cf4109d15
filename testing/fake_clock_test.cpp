#include "testing/fake_clock.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "testing/scripted_rng.hpp"

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;

TEST(FakeClock, AdvanceFiresDueTimersInTimeOrder) {
  FakeClock clock;
  const TimePoint t0 = clock.now();
  std::vector<int> order;
  clock.schedule_at(t0 + milliseconds(30), [&] { order.push_back(3); });
  clock.schedule_at(t0 + milliseconds(10), [&] { order.push_back(1); });
  clock.schedule_at(t0 + milliseconds(20), [&] { order.push_back(2); });
  clock.schedule_at(t0 + milliseconds(40), [&] { order.push_back(4); });

  EXPECT_EQ(clock.advance(milliseconds(30)), 3u);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(clock.now(), t0 + milliseconds(30));
  EXPECT_EQ(clock.pending(), 1u);
}

TEST(FakeClock, TiesFireInSchedulingOrderAndSeeTheirDueTime) {
  FakeClock clock;
  const TimePoint t0 = clock.now();
  std::vector<std::pair<int, TimePoint>> seen;
  clock.schedule_at(t0 + milliseconds(5), [&] { seen.emplace_back(1, clock.now()); });
  clock.schedule_at(t0 + milliseconds(5), [&] { seen.emplace_back(2, clock.now()); });
  clock.advance(milliseconds(100));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, 1);
  EXPECT_EQ(seen[1].first, 2);
  EXPECT_EQ(seen[0].second, t0 + milliseconds(5));
}

TEST(FakeClock, TimersScheduledByCallbacksFireWithinTheSameAdvance) {
  FakeClock clock;
  const TimePoint t0 = clock.now();
  int fired = 0;
  clock.schedule_at(t0 + milliseconds(10), [&] {
    ++fired;
    clock.schedule_at(clock.now() + milliseconds(10), [&] { ++fired; });
  });
  EXPECT_EQ(clock.advance(milliseconds(25)), 2u);
  EXPECT_EQ(fired, 2);
}

TEST(FakeClock, CancelledTimersNeverFire) {
  FakeClock clock;
  bool fired = false;
  const TimerId id = clock.schedule_at(clock.now() + milliseconds(1), [&] { fired = true; });
  EXPECT_TRUE(clock.cancel(id));
  EXPECT_FALSE(clock.cancel(id));
  clock.advance(milliseconds(10));
  EXPECT_FALSE(fired);
}

TEST(FakeClock, NeverMovesBackwards) {
  FakeClock clock;
  const TimePoint t0 = clock.now();
  clock.advance_to(t0 - milliseconds(10));
  EXPECT_EQ(clock.now(), t0);
}

TEST(ScriptedRng, ReplaysTheScriptAndMapsBelow) {
  ScriptedRng rng({0.0, 0.5, 0.99});
  EXPECT_DOUBLE_EQ(rng.uniform(), 0.0);
  EXPECT_EQ(rng.below(4), 2u);
  EXPECT_EQ(rng.below(4), 3u);
  EXPECT_DOUBLE_EQ(rng.uniform(), 0.0);  // wrapped around
  EXPECT_EQ(rng.draws(), 4u);
}

}  // namespace
}  // namespace sluice::testing
