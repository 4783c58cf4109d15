#pragma once
// What to do after one failed attempt of a logical request, over its whole
// route chain: retry the same candidate after a wait, send again at once
// with another key of the same pool, move to the next candidate, or stop.
//
// Check order, and why:
//  1. The attempt cap covers the whole chain, not each candidate, so a long
//     fallback chain cannot multiply attempts.
//  2. A failure that is not retryable never repeats on this candidate; it may
//     still fall back (e.g. a model missing here may exist on the next).
//  3. A retryable failure waits for the provider's hint when it gave one (it
//     knows when the window reopens), else a jittered backoff. When this
//     candidate has had its attempts, or the wait is too long or would pass
//     the deadline, falling back beats waiting.
//  3b. When the failure benched only its key and another key of the pool can
//     serve now, the request rotates to it without a wait: the caps of (1)
//     and the candidate's attempts still apply, and so does the budget (4).
//  4. Every retry on the same candidate is paid from the retry budget, so an
//     outage never becomes a retry storm. Moving to the next candidate is not:
//     it asks another upstream, the attempt cap (1) still bounds the chain,
//     and a fallback that can serve must not be refused because the failing
//     one used the budget up. With the budget spent, a retry becomes a
//     fallback when there is one.
#include <optional>
#include <string_view>
#include <variant>

#include "sluice/core/rng.hpp"
#include "sluice/core/time.hpp"
#include "sluice/policy/retry/backoff.hpp"
#include "sluice/policy/retry/retry_budget.hpp"

namespace sluice::policy {

struct RetryInput {
  // Traits of the classified failure.
  bool retryable = false;
  bool fallback_allowed = false;
  std::optional<Duration> wait_hint{};  // from the classifier (provider hint), may be empty
  int attempts_total = 1;               // attempts already made across the whole chain (>= 1)
  int attempts_on_candidate = 1;        // attempts already made on the current candidate
  bool has_next_candidate = false;
  // The failure benched only the key it was sent with (the class allows
  // rotation) and another key of the same pool is free now.
  bool other_key_ready = false;
  TimePoint now{};
  std::optional<TimePoint> deadline{};
};

struct RetryConfig {
  int max_attempts_total = 4;
  int max_attempts_per_candidate = 2;
  Duration max_retry_wait = std::chrono::seconds(30);
  BackoffPolicy backoff{};
};

// Stop reasons; static strings, safe to keep and log.
inline constexpr std::string_view kStopAttemptCap = "attempt cap";
inline constexpr std::string_view kStopNotRetryable = "not retryable";
inline constexpr std::string_view kStopCandidateAttempts = "candidate attempts exhausted";
inline constexpr std::string_view kStopWaitTooLong = "wait exceeds max_retry_wait";
inline constexpr std::string_view kStopDeadline = "wait would pass the deadline";
inline constexpr std::string_view kStopBudget = "retry budget exhausted";

struct Stop {
  std::string_view reason;
};
struct RetryAfter {
  Duration wait;
};
struct NextCandidate {};
// The same candidate again, now, with another key of its pool.
struct RotateKey {};

using RetryDecision = std::variant<Stop, RetryAfter, NextCandidate, RotateKey>;

RetryDecision decide_retry(const RetryInput& input, const RetryConfig& config, RetryBudget& budget,
                           Rng& rng);

}  // namespace sluice::policy
