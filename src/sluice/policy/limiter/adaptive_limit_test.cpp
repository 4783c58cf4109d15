#include "sluice/policy/limiter/adaptive_limit.hpp"

#include <gtest/gtest.h>

#include "testing/fake_clock.hpp"

namespace sluice::policy {
namespace {

using std::chrono::milliseconds;

AdaptiveLimitConfig config(int min, int max, int initial) {
  AdaptiveLimitConfig c;
  c.min = min;
  c.max = max;
  c.initial = initial;
  return c;
}

TEST(AdaptiveLimit, ConcurrencyLimitHalvesTheLimit) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(1, 16, 8));
  EXPECT_TRUE(limit.on_concurrency_limit(clock.now()));
  EXPECT_EQ(limit.current(), 4);
  clock.advance(std::chrono::seconds(2));
  EXPECT_TRUE(limit.on_concurrency_limit(clock.now()));
  EXPECT_EQ(limit.current(), 2);
}

TEST(AdaptiveLimit, CutRoundsDown) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(1, 16, 5));
  limit.on_concurrency_limit(clock.now());
  EXPECT_EQ(limit.current(), 2);
}

TEST(AdaptiveLimit, SeveralLimitErrorsFromOneBurstCutOnlyOnce) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(1, 16, 8));
  EXPECT_TRUE(limit.on_concurrency_limit(clock.now()));
  clock.advance(milliseconds(10));
  EXPECT_FALSE(limit.on_concurrency_limit(clock.now()));
  clock.advance(milliseconds(989));
  EXPECT_FALSE(limit.on_concurrency_limit(clock.now()));
  EXPECT_EQ(limit.current(), 4);
  clock.advance(milliseconds(1));  // exactly one holdoff after the cut
  EXPECT_TRUE(limit.on_concurrency_limit(clock.now()));
  EXPECT_EQ(limit.current(), 2);
}

TEST(AdaptiveLimit, A429ForARequestSentAtTheCutLimitCutsAgainInsideTheHoldoff) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(1, 16, 8));
  ASSERT_TRUE(limit.on_concurrency_limit(clock.now(), 8));  // the burst at 8
  ASSERT_EQ(limit.current(), 4);
  clock.advance(milliseconds(10));
  EXPECT_FALSE(limit.on_concurrency_limit(clock.now(), 7));  // still the old burst
  EXPECT_FALSE(limit.on_concurrency_limit(clock.now()));     // unknown: assume the old burst
  EXPECT_EQ(limit.current(), 4);
  // Sent with 4 in flight (itself included) under the new limit: the cap is
  // at most 3, whatever the holdoff says.
  EXPECT_TRUE(limit.on_concurrency_limit(clock.now(), 4));
  EXPECT_EQ(limit.current(), 3);
  EXPECT_FALSE(limit.on_concurrency_limit(clock.now(), 4));  // now above the limit: old burst
  EXPECT_TRUE(limit.on_concurrency_limit(clock.now(), 1));   // never below min
  EXPECT_EQ(limit.current(), 1);
}

TEST(AdaptiveLimit, NeverCutsBelowMin) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(2, 16, 3));
  limit.on_concurrency_limit(clock.now());
  EXPECT_EQ(limit.current(), 2);
  clock.advance(std::chrono::seconds(5));
  limit.on_concurrency_limit(clock.now());
  EXPECT_EQ(limit.current(), 2);

  AdaptiveLimit single(config(1, 4, 1));
  single.on_concurrency_limit(clock.now());
  EXPECT_EQ(single.current(), 1);
}

TEST(AdaptiveLimit, GrowsByOneAfterLimitSuccessesAtFullUtilisation) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(1, 16, 3));
  EXPECT_FALSE(limit.on_success(3, clock.now()));
  EXPECT_FALSE(limit.on_success(3, clock.now()));
  EXPECT_TRUE(limit.on_success(3, clock.now()));
  EXPECT_EQ(limit.current(), 4);
  // The next step needs as many successes as the new limit.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limit.on_success(4, clock.now()));
  EXPECT_TRUE(limit.on_success(5, clock.now()));
  EXPECT_EQ(limit.current(), 5);
}

TEST(AdaptiveLimit, SuccessesBelowFullUtilisationNeverGrowIt) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(1, 16, 3));
  for (int i = 0; i < 1000; ++i) limit.on_success(2, clock.now());
  EXPECT_EQ(limit.current(), 3);
}

TEST(AdaptiveLimit, NeverGrowsAboveMax) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(1, 4, 3));
  for (int i = 0; i < 1000; ++i) limit.on_success(100, clock.now());
  EXPECT_EQ(limit.current(), 4);
}

TEST(AdaptiveLimit, SuccessesRightAfterACutBelongToTheBurstAndDoNotCount) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(1, 16, 8));
  limit.on_concurrency_limit(clock.now());
  ASSERT_EQ(limit.current(), 4);
  // Requests sent at the old limit of 8 finish inside the holdoff.
  for (int i = 0; i < 8; ++i) EXPECT_FALSE(limit.on_success(8, clock.now() + milliseconds(500)));
  EXPECT_EQ(limit.current(), 4);
  clock.advance(std::chrono::seconds(1));
  for (int i = 0; i < 4; ++i) limit.on_success(4, clock.now());
  EXPECT_EQ(limit.current(), 5);
}

TEST(AdaptiveLimit, ACutDiscardsProgressTowardsGrowth) {
  testing::FakeClock clock;
  AdaptiveLimit limit(config(1, 16, 4));
  for (int i = 0; i < 3; ++i) limit.on_success(4, clock.now());
  limit.on_concurrency_limit(clock.now());
  ASSERT_EQ(limit.current(), 2);
  clock.advance(std::chrono::seconds(2));
  EXPECT_FALSE(limit.on_success(2, clock.now()));
  EXPECT_TRUE(limit.on_success(2, clock.now()));
  EXPECT_EQ(limit.current(), 3);
}

TEST(AdaptiveLimit, ClampsConfigAndRestoredValues) {
  AdaptiveLimitConfig bad;
  bad.min = 0;
  bad.max = -5;
  bad.initial = 100;
  AdaptiveLimit limit(bad);
  EXPECT_EQ(limit.config().min, 1);
  EXPECT_EQ(limit.config().max, 1);
  EXPECT_EQ(limit.current(), 1);

  AdaptiveLimit restored(config(2, 10, 10));
  restored.restore(7);
  EXPECT_EQ(restored.current(), 7);
  restored.restore(50);
  EXPECT_EQ(restored.current(), 10);
  restored.restore(0);
  EXPECT_EQ(restored.current(), 2);
}

}  // namespace
}  // namespace sluice::policy
