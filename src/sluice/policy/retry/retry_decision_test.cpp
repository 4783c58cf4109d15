#include "sluice/policy/retry/retry_decision.hpp"

#include <gtest/gtest.h>

#include "testing/fake_clock.hpp"
#include "testing/scripted_rng.hpp"

namespace sluice::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RetryDecisionTest : public ::testing::Test {
 protected:
  RetryInput retryable_failure() {
    return RetryInput{.retryable = true,
                      .fallback_allowed = true,
                      .attempts_total = 1,
                      .attempts_on_candidate = 1,
                      .has_next_candidate = true,
                      .now = clock.now()};
  }
  RetryDecision decide(const RetryInput& input) { return decide_retry(input, config, budget, rng); }

  testing::FakeClock clock;
  testing::ScriptedRng rng{{0.0}};
  RetryConfig config;
  RetryBudget budget;
};

std::string_view stop_reason(const RetryDecision& d) {
  const Stop* stop = std::get_if<Stop>(&d);
  return stop != nullptr ? stop->reason : "(not a stop)";
}

TEST_F(RetryDecisionTest, StopsAtTheChainWideAttemptCap) {
  RetryInput input = retryable_failure();
  input.attempts_total = 4;
  input.attempts_on_candidate = 1;  // a fresh candidate does not reset the cap
  EXPECT_EQ(stop_reason(decide(input)), kStopAttemptCap);
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 3.0);  // nothing spent
}

TEST_F(RetryDecisionTest, RetryableFailureWaitsForTheProviderHint) {
  RetryInput input = retryable_failure();
  input.wait_hint = milliseconds(1898);
  const RetryDecision d = decide(input);
  ASSERT_TRUE(std::holds_alternative<RetryAfter>(d));
  EXPECT_EQ(std::get<RetryAfter>(d).wait, milliseconds(1898));
  EXPECT_EQ(rng.draws(), 0u);  // no jitter on a provider's own answer
}

TEST_F(RetryDecisionTest, WithoutAHintWaitsAJitteredBackoff) {
  testing::ScriptedRng half({0.5});
  RetryInput input = retryable_failure();
  input.wait_hint = Duration::zero();  // "retry after 0" is no hint: no hot loop
  const RetryDecision d = decide_retry(input, config, budget, half);
  ASSERT_TRUE(std::holds_alternative<RetryAfter>(d));
  EXPECT_EQ(std::get<RetryAfter>(d).wait, milliseconds(437) + std::chrono::microseconds(500));
}

TEST_F(RetryDecisionTest, BackoffGrowsWithAttemptsOnTheCandidate) {
  config.max_attempts_per_candidate = 5;
  config.max_attempts_total = 10;
  RetryInput input = retryable_failure();
  input.attempts_on_candidate = 3;
  input.attempts_total = 3;
  const RetryDecision d = decide(input);
  ASSERT_TRUE(std::holds_alternative<RetryAfter>(d));
  EXPECT_EQ(std::get<RetryAfter>(d).wait, seconds(2));  // base 500 ms * 2^2
}

TEST_F(RetryDecisionTest, NotRetryableFallsBackWhenAllowed) {
  RetryInput input = retryable_failure();
  input.retryable = false;
  EXPECT_TRUE(std::holds_alternative<NextCandidate>(decide(input)));
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 3.0);  // another upstream: not a retry
}

TEST_F(RetryDecisionTest, NotRetryableStopsWithoutFallbackOrNextCandidate) {
  RetryInput input = retryable_failure();
  input.retryable = false;
  input.fallback_allowed = false;
  EXPECT_EQ(stop_reason(decide(input)), kStopNotRetryable);
  input.fallback_allowed = true;
  input.has_next_candidate = false;
  EXPECT_EQ(stop_reason(decide(input)), kStopNotRetryable);
}

TEST_F(RetryDecisionTest, CandidateAttemptCapMovesToTheNextCandidate) {
  RetryInput input = retryable_failure();
  input.attempts_on_candidate = 2;
  input.attempts_total = 2;
  EXPECT_TRUE(std::holds_alternative<NextCandidate>(decide(input)));
  input.has_next_candidate = false;
  EXPECT_EQ(stop_reason(decide(input)), kStopCandidateAttempts);
}

TEST_F(RetryDecisionTest, WaitLongerThanMaxRetryWaitFallsBackOrStops) {
  RetryInput input = retryable_failure();
  input.wait_hint = seconds(31);
  EXPECT_TRUE(std::holds_alternative<NextCandidate>(decide(input)));
  input.fallback_allowed = false;
  EXPECT_EQ(stop_reason(decide(input)), kStopWaitTooLong);
  input.wait_hint = seconds(30);  // exactly the maximum is still a wait
  EXPECT_TRUE(std::holds_alternative<RetryAfter>(decide(input)));
}

TEST_F(RetryDecisionTest, DeadlineForcesFallbackInsteadOfWaiting) {
  RetryInput input = retryable_failure();
  input.wait_hint = seconds(5);
  input.deadline = clock.now() + seconds(4);
  EXPECT_TRUE(std::holds_alternative<NextCandidate>(decide(input)));
  input.has_next_candidate = false;
  EXPECT_EQ(stop_reason(decide(input)), kStopDeadline);
  input.deadline = clock.now() + seconds(5);  // finishing the wait at the deadline is allowed
  EXPECT_TRUE(std::holds_alternative<RetryAfter>(decide(input)));
}

TEST_F(RetryDecisionTest, AnExhaustedBudgetTurnsRetriesIntoFallbacksAndStopsWithoutOne) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(budget.try_spend_retry(clock.now()));
  RetryInput input = retryable_failure();
  // An outage used the budget up: the fallback still serves.
  EXPECT_TRUE(std::holds_alternative<NextCandidate>(decide(input)));
  input.has_next_candidate = false;
  EXPECT_EQ(stop_reason(decide(input)), kStopBudget);  // no retry storm on the only one
  input.fallback_allowed = false;
  input.has_next_candidate = true;
  EXPECT_EQ(stop_reason(decide(input)), kStopBudget);
  // Once the window has passed the budget is back.
  clock.advance(seconds(10));
  input.now = clock.now();
  EXPECT_TRUE(std::holds_alternative<RetryAfter>(decide(input)));
}

TEST_F(RetryDecisionTest, StopsDoNotSpendTheBudget) {
  RetryInput input = retryable_failure();
  input.retryable = false;
  input.fallback_allowed = false;
  for (int i = 0; i < 10; ++i) decide(input);
  EXPECT_DOUBLE_EQ(budget.available(clock.now()), 3.0);
}

TEST_F(RetryDecisionTest, AnOutageCannotBecomeARetryStorm) {
  // Every request fails retryably; each gets as many attempts as the policy
  // gives. Retries stay within the budget's ratio of requests plus its floor.
  int retries = 0;
  const int requests = 200;
  for (int r = 0; r < requests; ++r) {
    budget.record_request(clock.now());
    RetryInput input = retryable_failure();
    input.now = clock.now();
    input.has_next_candidate = false;
    while (true) {
      const RetryDecision d = decide(input);
      if (!std::holds_alternative<RetryAfter>(d)) break;
      ++retries;
      ++input.attempts_total;
      ++input.attempts_on_candidate;
    }
    clock.advance(milliseconds(20));
  }
  EXPECT_LE(retries, static_cast<int>(0.2 * requests) + 3);
}

TEST_F(RetryDecisionTest, AnotherReadyKeyRotatesAtOnceWithoutADraw) {
  // A 429 with a minute's retry-after benched its key; a second key is free.
  RetryInput input = retryable_failure();
  input.wait_hint = seconds(60);
  input.other_key_ready = true;
  const std::size_t draws = rng.draws();
  EXPECT_TRUE(std::holds_alternative<RotateKey>(decide(input)));
  EXPECT_EQ(rng.draws(), draws);
  // Even for a class that never repeats on the same key (a refused key).
  input.retryable = false;
  EXPECT_TRUE(std::holds_alternative<RotateKey>(decide(input)));
  // Rotation needs no wait, so the wait limits do not apply to it.
  input.deadline = clock.now() + milliseconds(1);
  EXPECT_TRUE(std::holds_alternative<RotateKey>(decide(input)));
}

TEST_F(RetryDecisionTest, RotationKeepsTheCapsAndIsPaidFromTheBudget) {
  RetryInput input = retryable_failure();
  input.other_key_ready = true;
  input.attempts_total = config.max_attempts_total;
  EXPECT_EQ(stop_reason(decide(input)), kStopAttemptCap);
  input.attempts_total = 1;
  input.attempts_on_candidate = config.max_attempts_per_candidate;
  EXPECT_TRUE(std::holds_alternative<NextCandidate>(decide(input)));
  input.attempts_on_candidate = 1;
  input.has_next_candidate = false;
  while (std::holds_alternative<RotateKey>(decide(input))) {
  }
  EXPECT_EQ(stop_reason(decide(input)), kStopBudget);
}

}  // namespace
}  // namespace sluice::policy
