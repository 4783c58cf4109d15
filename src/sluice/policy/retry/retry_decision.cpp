#include "sluice/policy/retry/retry_decision.hpp"

#include <algorithm>

namespace sluice::policy {

namespace {

// Falls back when the failure and the chain allow it; otherwise stops with
// the reason this candidate could not be retried. Not paid from the budget
// (see the header, rule 4).
RetryDecision fall_back_or_stop(const RetryInput& input, std::string_view reason) {
  if (!input.fallback_allowed || !input.has_next_candidate) return Stop{reason};
  return NextCandidate{};
}

}  // namespace

RetryDecision decide_retry(const RetryInput& input, const RetryConfig& config, RetryBudget& budget,
                           Rng& rng) {
  if (input.attempts_total >= config.max_attempts_total) return Stop{kStopAttemptCap};
  if (!input.retryable && !input.other_key_ready) {
    return fall_back_or_stop(input, kStopNotRetryable);
  }
  if (input.attempts_on_candidate >= config.max_attempts_per_candidate) {
    return fall_back_or_stop(input, kStopCandidateAttempts);
  }
  if (input.other_key_ready) {
    // No wait, no draw: another key is ready now.
    if (!budget.try_spend_retry(input.now)) return fall_back_or_stop(input, kStopBudget);
    return RotateKey{};
  }

  const Duration wait =
      input.wait_hint && *input.wait_hint > Duration::zero()
          ? std::min(*input.wait_hint, kMaxDuration)
          : backoff_delay(std::max(input.attempts_on_candidate - 1, 0), config.backoff, rng);
  if (wait > config.max_retry_wait) return fall_back_or_stop(input, kStopWaitTooLong);
  if (input.deadline && input.now + wait > *input.deadline) {
    return fall_back_or_stop(input, kStopDeadline);
  }
  if (!budget.try_spend_retry(input.now)) return fall_back_or_stop(input, kStopBudget);
  return RetryAfter{wait};
}

}  // namespace sluice::policy
