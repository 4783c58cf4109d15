#include "sluice/policy/retry/retry_budget.hpp"

#include <gtest/gtest.h>

#include "testing/fake_clock.hpp"

namespace sluice::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RetryBudget, AQuietGatewayMayStillRetryUpToTheFloor) {
  testing::FakeClock clock;
  RetryBudget budget;  // ratio 0.2, floor 3 per 10 s
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 3.0);
  EXPECT_TRUE(budget.try_spend_retry(clock.now()));
  EXPECT_TRUE(budget.try_spend_retry(clock.now()));
  EXPECT_TRUE(budget.try_spend_retry(clock.now()));
  EXPECT_FALSE(budget.try_spend_retry(clock.now()));
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 0.0);
}

TEST(RetryBudget, RetriesAreAFractionOfRecentRequests) {
  testing::FakeClock clock;
  RetryBudget budget;
  for (int i = 0; i < 10; ++i) budget.record_request(clock.now());
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 5.0);  // 0.2 * 10 + 3
}

TEST(RetryBudget, ExhaustsUnderAnOutageWhereEveryRequestFails) {
  testing::FakeClock clock;
  RetryBudget budget;
  int requests = 0;
  int retries = 0;
  // 100 requests/s for 5 s, every one failing and asking for a retry.
  for (int tick = 0; tick < 500; ++tick) {
    budget.record_request(clock.now());
    ++requests;
    if (budget.try_spend_retry(clock.now())) ++retries;
    clock.advance(milliseconds(10));
  }
  // Retries stay at the ratio plus the floor: no retry storm.
  EXPECT_LE(retries, static_cast<int>(0.2 * requests) + 3);
  EXPECT_GE(retries, static_cast<int>(0.2 * requests));
  EXPECT_LT(budget.available(clock.now()), 1.0);
}

TEST(RetryBudget, RecoversAfterTheWindowPasses) {
  testing::FakeClock clock;
  RetryBudget budget;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(budget.try_spend_retry(clock.now()));
  ASSERT_FALSE(budget.try_spend_retry(clock.now()));
  clock.advance(seconds(5));
  EXPECT_FALSE(budget.try_spend_retry(clock.now()));  // still inside the window
  clock.advance(seconds(5));
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 3.0);
  EXPECT_TRUE(budget.try_spend_retry(clock.now()));
}

TEST(RetryBudget, OldRequestsAgeOutSlotBySlot) {
  testing::FakeClock clock;
  RetryBudget budget;
  for (int i = 0; i < 10; ++i) budget.record_request(clock.now());
  clock.advance(seconds(3));
  for (int i = 0; i < 20; ++i) budget.record_request(clock.now());
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 0.2 * 30 + 3);
  clock.advance(seconds(7));  // the first 10 leave the window
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 0.2 * 20 + 3);
  clock.advance(seconds(3));
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 3.0);
}

TEST(RetryBudget, AFailedSpendLeavesTheBudgetUnchanged) {
  testing::FakeClock clock;
  RetryBudget budget(RetryBudgetConfig{.ratio = 0.5, .min_per_window = 0});
  budget.record_request(clock.now());
  EXPECT_FALSE(budget.try_spend_retry(clock.now()));  // 0.5 < 1
  budget.record_request(clock.now());
  EXPECT_TRUE(budget.try_spend_retry(clock.now()));
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 0.0);
}

TEST(RetryBudget, ClockSteppingBackIgnoresFutureSlots) {
  testing::FakeClock clock;
  RetryBudget budget;
  const TimePoint later = clock.now() + seconds(60);
  for (int i = 0; i < 3; ++i) budget.try_spend_retry(later);
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 3.0);
}

TEST(RetryBudget, ClampsNonsenseConfig) {
  testing::FakeClock clock;
  RetryBudget budget(RetryBudgetConfig{.ratio = -1.0, .min_per_window = -4, .window = Duration(1)});
  EXPECT_EQ(budget.config().ratio, 0.0);
  EXPECT_EQ(budget.config().min_per_window, 0);
  budget.record_request(clock.now());
  EXPECT_FALSE(budget.try_spend_retry(clock.now()));
}

}  // namespace
}  // namespace sluice::policy
