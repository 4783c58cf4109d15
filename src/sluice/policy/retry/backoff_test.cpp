#include "sluice/policy/retry/backoff.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <vector>

#include "testing/scripted_rng.hpp"

namespace sluice::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Backoff, DoublesFromBaseUpToMaxWithoutJitter) {
  testing::ScriptedRng rng({0.0});
  const BackoffPolicy policy;
  std::vector<Duration> delays;
  for (int i = 0; i < 7; ++i) delays.push_back(backoff_delay(i, policy, rng));
  EXPECT_EQ(delays, (std::vector<Duration>{milliseconds(500), seconds(1), seconds(2), seconds(4),
                                           seconds(8), seconds(8), seconds(8)}));
}

TEST(Backoff, JitterOnlyShortensTheDelay) {
  const BackoffPolicy policy;  // jitter 0.25
  testing::ScriptedRng half({0.5});
  EXPECT_EQ(backoff_delay(2, policy, half), milliseconds(1750));  // 2 s * (1 - 0.25 * 0.5)
  testing::ScriptedRng top({0.999999});
  const Duration shortest = backoff_delay(2, policy, top);
  EXPECT_GT(shortest, milliseconds(1500));
  EXPECT_LE(shortest, milliseconds(1501));
}

TEST(Backoff, DrawsExactlyOneNumberPerDelay) {
  testing::ScriptedRng rng({0.1, 0.2, 0.3});
  BackoffPolicy policy;
  policy.jitter = 0.0;
  backoff_delay(0, policy, rng);
  backoff_delay(1, policy, rng);
  EXPECT_EQ(rng.draws(), 2u);
}

TEST(Backoff, HugeIndicesSaturateAtMaxInsteadOfOverflowing) {
  testing::ScriptedRng rng({0.0});
  const BackoffPolicy policy;
  EXPECT_EQ(backoff_delay(63, policy, rng), seconds(8));
  EXPECT_EQ(backoff_delay(64, policy, rng), seconds(8));
  EXPECT_EQ(backoff_delay(INT_MAX, policy, rng), seconds(8));

  BackoffPolicy unbounded;
  unbounded.max = Duration::max();
  const Duration d = backoff_delay(INT_MAX, unbounded, rng);
  EXPECT_GT(d, Duration::zero());
  EXPECT_LE(d, kMaxDuration);
}

TEST(Backoff, NegativeIndexCountsAsFirstRetryAndBadSettingsAreClamped) {
  testing::ScriptedRng rng({0.0});
  const BackoffPolicy policy;
  EXPECT_EQ(backoff_delay(-5, policy, rng), milliseconds(500));

  BackoffPolicy zero_base;
  zero_base.base = Duration::zero();
  EXPECT_EQ(backoff_delay(10, zero_base, rng), Duration::zero());

  BackoffPolicy wild;
  wild.jitter = 7.0;  // clamped to 1: a delay can shrink to zero, never below
  testing::ScriptedRng top({0.999999999});
  EXPECT_GE(backoff_delay(0, wild, top), Duration::zero());
}

}  // namespace
}  // namespace sluice::policy
