#include "sluice/policy/ratelimit/throttle.hpp"

#include <gtest/gtest.h>

#include "testing/fake_clock.hpp"

namespace sluice::policy {
namespace {

using Kind = ThrottleDecision::Kind;
using std::chrono::seconds;

RateLimitSnapshot requests_snapshot(TimePoint taken, std::int64_t remaining, Duration reset) {
  RateLimitSnapshot s;
  s.taken_at = taken;
  auto& b = s.find_or_add("requests", BudgetAxis::kRequests);
  b.limit = 20;
  b.remaining = remaining;
  b.reset_after = reset;
  b.window = seconds(60);
  return s;
}

TEST(Throttle, SendsWhenNoSnapshotExists) {
  ThrottleInput in;
  in.now = testing::FakeClock().now();
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
}

TEST(Throttle, SendsWhileRemainingIsAboveThreshold) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 10, seconds(2));
  ThrottleInput in{.snapshot = &snap, .now = clock.now()};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
}

TEST(Throttle, WaitsForResetAtThreshold) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 2, seconds(2));
  ThrottleInput in{.snapshot = &snap, .now = clock.now()};
  auto d = decide_throttle(in);
  EXPECT_EQ(d.kind, Kind::kWait);
  EXPECT_EQ(d.until, clock.now() + seconds(2));
  EXPECT_EQ(d.bucket, "requests");
}

// A limit of 3 per window with the default threshold of 2 used to send one
// request a window; the reserve is at most 10 % of the limit.
TEST(Throttle, TheReserveScalesDownWithASmallLimit) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 1, seconds(2));
  snap.buckets[0].limit = 3;
  ThrottleInput in{.snapshot = &snap, .now = clock.now()};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);  // the third of three goes
  snap.buckets[0].remaining = 0;
  EXPECT_EQ(decide_throttle(in).kind, Kind::kWait);
  // 10 of a window: one in reserve.
  snap.buckets[0].limit = 10;
  snap.buckets[0].remaining = 2;
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
  snap.buckets[0].remaining = 1;
  EXPECT_EQ(decide_throttle(in).kind, Kind::kWait);
}

TEST(Throttle, ReserveIsTheThresholdCappedAtATenthOfTheLimit) {
  EXPECT_EQ(reserve_for(2, 3), 0);
  EXPECT_EQ(reserve_for(2, 10), 1);
  EXPECT_EQ(reserve_for(2, 20), 2);
  EXPECT_EQ(reserve_for(2, 10'000), 2);  // a big window keeps the configured guard
  EXPECT_EQ(reserve_for(50, 200), 20);
  EXPECT_EQ(reserve_for(2, std::nullopt), 2);
  EXPECT_EQ(reserve_for(0, 1000), 0);
}

TEST(Throttle, CountsOwnSendsSinceTheSnapshot) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 10, seconds(2));
  ThrottleInput in{.snapshot = &snap, .now = clock.now(), .unaccounted_requests = 7};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);  // 3 left > 2
  in.unaccounted_requests = 8;                          // 2 left
  EXPECT_EQ(decide_throttle(in).kind, Kind::kWait);
}

TEST(Throttle, ThresholdZeroUsesTheWholeWindow) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 1, seconds(2));
  ThrottleInput in{.snapshot = &snap, .now = clock.now(), .threshold = 0};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
  in.unaccounted_requests = 1;
  EXPECT_EQ(decide_throttle(in).kind, Kind::kWait);
}

TEST(Throttle, SendsAgainOnceTheResetHasPassed) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 0, seconds(2));
  ThrottleInput in{.snapshot = &snap, .now = clock.now()};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kWait);
  clock.advance(seconds(2));
  in.now = clock.now();
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
}

TEST(Throttle, AfterAResetUnansweredSendsCountAgainstTheNewWindow) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 0, seconds(2));  // limit 20
  const TimePoint after_reset = clock.now() + seconds(3);
  ThrottleInput in{.snapshot = &snap,
                   .now = after_reset,
                   .unaccounted_requests = 18,
                   .in_flight_requests = 5,
                   .threshold = 2};
  // 20 - 18 = 2 is at the threshold, and replies that will say more are due.
  auto d = decide_throttle(in);
  EXPECT_EQ(d.kind, Kind::kWait);
  EXPECT_EQ(d.until, after_reset + in.recheck);
  EXPECT_EQ(d.bucket, "requests");
  in.unaccounted_requests = 17;  // 3 left
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
}

TEST(Throttle, AfterAResetWithNothingInFlightItSends) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 0, seconds(2));
  // No reply is coming that could say more: waiting would never end.
  ThrottleInput in{.snapshot = &snap,
                   .now = clock.now() + seconds(3),
                   .unaccounted_requests = 30,
                   .in_flight_requests = 0};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
}

TEST(Throttle, AfterAResetWithoutALimitNothingIsHeldBack) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 0, seconds(2));
  snap.buckets[0].limit.reset();
  ThrottleInput in{.snapshot = &snap,
                   .now = clock.now() + seconds(3),
                   .unaccounted_requests = 30,
                   .in_flight_requests = 4};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
}

TEST(Throttle, WaitBeyondMaxWaitMeansNotBefore) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 0, seconds(90));
  ThrottleInput in{.snapshot = &snap, .now = clock.now(), .max_wait = seconds(30)};
  auto d = decide_throttle(in);
  EXPECT_EQ(d.kind, Kind::kNotBefore);
  EXPECT_EQ(d.until, clock.now() + seconds(90));
}

TEST(Throttle, WaitBeyondDeadlineMeansNotBefore) {
  testing::FakeClock clock;
  auto snap = requests_snapshot(clock.now(), 0, seconds(5));
  ThrottleInput in{.snapshot = &snap, .now = clock.now(), .deadline = clock.now() + seconds(3)};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kNotBefore);
  in.deadline = clock.now() + seconds(6);
  EXPECT_EQ(decide_throttle(in).kind, Kind::kWait);
}

TEST(Throttle, TokenEstimateAboveRemainingWaits) {
  testing::FakeClock clock;
  RateLimitSnapshot s;
  s.taken_at = clock.now();
  auto& t = s.find_or_add("tokens", BudgetAxis::kTokens);
  t.limit = 40000;
  t.remaining = 5000;
  t.reset_after = seconds(2);
  ThrottleInput in{.snapshot = &s,
                   .now = clock.now(),
                   .estimated_input_tokens = 3000,
                   .estimated_output_tokens = 1000};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
  in.unaccounted_tokens = 2000;  // 3000 left < 4000 needed
  auto d = decide_throttle(in);
  EXPECT_EQ(d.kind, Kind::kWait);
  EXPECT_EQ(d.bucket, "tokens");
}

TEST(Throttle, AnthropicInputAndOutputBucketsAreCheckedSeparately) {
  testing::FakeClock clock;
  RateLimitSnapshot s;
  s.taken_at = clock.now();
  auto& in_b = s.find_or_add("input_tokens", BudgetAxis::kInputTokens);
  in_b.limit = 80000, in_b.remaining = 78000, in_b.reset_after = seconds(3);
  auto& out_b = s.find_or_add("output_tokens", BudgetAxis::kOutputTokens);
  out_b.limit = 16000, out_b.remaining = 1000, out_b.reset_after = seconds(18);
  ThrottleInput in{.snapshot = &s,
                   .now = clock.now(),
                   .estimated_input_tokens = 5000,
                   .estimated_output_tokens = 4096};
  auto d = decide_throttle(in);
  EXPECT_EQ(d.kind, Kind::kWait);
  EXPECT_EQ(d.bucket, "output_tokens");
  EXPECT_EQ(d.until, clock.now() + seconds(18));
}

TEST(Throttle, RequestLargerThanTheWholeBucketIsNotHeldBack) {
  testing::FakeClock clock;
  RateLimitSnapshot s;
  s.taken_at = clock.now();
  auto& t = s.find_or_add("tokens", BudgetAxis::kTokens);
  t.limit = 8000, t.remaining = 8000, t.reset_after = seconds(1);
  ThrottleInput in{.snapshot = &s, .now = clock.now(), .estimated_input_tokens = 16175};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kSendNow);
}

TEST(Throttle, RetryAfterFromA429HoldsTheKey) {
  testing::FakeClock clock;
  RateLimitSnapshot s;
  s.taken_at = clock.now();
  s.retry_after = seconds(4);
  ThrottleInput in{.snapshot = &s, .now = clock.now() + seconds(1)};
  auto d = decide_throttle(in);
  EXPECT_EQ(d.kind, Kind::kWait);
  EXPECT_EQ(d.until, clock.now() + seconds(4));
}

TEST(Throttle, DailyBucketExhaustedIsNotBefore) {
  testing::FakeClock clock;
  RateLimitSnapshot s;
  s.taken_at = clock.now();
  auto& b = s.find_or_add("requests_day", BudgetAxis::kRequests);
  b.limit = 14400, b.remaining = 0, b.reset_after = std::chrono::hours(3);
  ThrottleInput in{.snapshot = &s, .now = clock.now()};
  EXPECT_EQ(decide_throttle(in).kind, Kind::kNotBefore);
}

}  // namespace
}  // namespace sluice::policy
