#include "sluice/policy/ratelimit/throttle.hpp"

#include <algorithm>

namespace sluice::policy {

std::int64_t reserve_for(std::int64_t threshold, std::optional<std::int64_t> limit) {
  if (!limit || *limit <= 0) return threshold;
  // Integer tenths: 10 % of the limit, rounded down.
  return std::min(threshold, *limit / 10);
}

ThrottleDecision decide_throttle(const ThrottleInput& in) {
  ThrottleDecision d;
  if (in.snapshot == nullptr) return d;
  const RateLimitSnapshot& s = *in.snapshot;
  TimePoint blocked_until = in.now;

  const auto block = [&](TimePoint until, std::string_view bucket) {
    if (until > blocked_until) {
      blocked_until = until;
      d.bucket = std::string(bucket);
    }
  };

  // A 429's own retry hint is the provider's word on when this key may send.
  if (s.retry_after) block(s.taken_at + *s.retry_after, "retry-after");

  const std::int64_t est_total = in.estimated_input_tokens + in.estimated_output_tokens;
  for (const auto& b : s.buckets) {
    if (!b.remaining) continue;
    // Without a reset time we cannot know when the bucket refills; the
    // window length is the conservative bound.
    std::optional<Duration> reset = b.reset_after ? b.reset_after : b.window;
    if (!reset) continue;
    const TimePoint reset_at = s.taken_at + *reset;
    if (reset_at <= in.now) {
      // Refilled since the snapshot. Until a reply says how much, count
      // every unanswered send against the new window; with nothing in flight
      // no reply is coming, so send and let the next one tell.
      if (b.axis == BudgetAxis::kRequests && b.limit && !b.is_long_window() &&
          in.in_flight_requests > 0 &&
          *b.limit - in.unaccounted_requests <= reserve_for(in.threshold, b.limit)) {
        block(in.now + in.recheck, b.name);
      }
      continue;
    }

    switch (b.axis) {
      case BudgetAxis::kRequests:
        if (*b.remaining - in.unaccounted_requests <= reserve_for(in.threshold, b.limit)) {
          block(reset_at, b.name);
        }
        break;
      case BudgetAxis::kTokens:
      case BudgetAxis::kInputTokens:
      case BudgetAxis::kOutputTokens: {
        const std::int64_t need = b.axis == BudgetAxis::kInputTokens    ? in.estimated_input_tokens
                                  : b.axis == BudgetAxis::kOutputTokens ? in.estimated_output_tokens
                                                                        : est_total;
        // A request bigger than the whole bucket will never fit by waiting:
        // send it and let the provider's answer (PAYLOAD_TOO_LARGE) say so.
        if (b.limit && need > *b.limit) break;
        const std::int64_t left = *b.remaining - in.unaccounted_tokens;
        if (left <= 0 || need > left) block(reset_at, b.name);
        break;
      }
      case BudgetAxis::kOther: break;
    }
  }

  if (blocked_until <= in.now) return ThrottleDecision{};
  d.until = blocked_until;
  const bool within_wait = blocked_until - in.now <= in.max_wait;
  const bool within_deadline = !in.deadline || blocked_until <= *in.deadline;
  d.kind = within_wait && within_deadline ? ThrottleDecision::Kind::kWait
                                          : ThrottleDecision::Kind::kNotBefore;
  return d;
}

}  // namespace sluice::policy
