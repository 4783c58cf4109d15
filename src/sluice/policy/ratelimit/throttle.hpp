#pragma once
// Pre-emptive throttling: given the last budget a provider reported for a
// key, and what this gateway has sent with that key since, decide whether the
// next request may go now (DESIGN capability 2).
#include <cstdint>
#include <optional>
#include <string>

#include "sluice/core/rate_limit_snapshot.hpp"

namespace sluice::policy {

struct ThrottleInput {
  const RateLimitSnapshot* snapshot = nullptr;  // none yet: always send
  TimePoint now{};
  // Sends with this key that the snapshot cannot reflect yet: requests in
  // flight when it was taken plus requests sent after. Headers lag, and many
  // requests share one key.
  std::int64_t unaccounted_requests = 0;
  std::int64_t unaccounted_tokens = 0;
  // Requests with this key still waiting for their reply. Once a bucket's
  // reset has passed, the snapshot no longer says what is left; these
  // replies will, so while any is due the new window is estimated as
  // `limit - unaccounted_requests` and, when that is spent, the request
  // looks again after `recheck` rather than joining everyone released by
  // the reset (requests sent just before a reset can land in the new window).
  std::int64_t in_flight_requests = 0;
  Duration recheck = std::chrono::milliseconds(25);
  // Wait when remaining requests, less unaccounted ones, is at or below this
  // reserve, scaled down to 10 % of the bucket's limit (reserve_for).
  std::int64_t threshold = 2;
  // This request's estimated cost: prompt tokens and max output tokens.
  std::int64_t estimated_input_tokens = 0;
  std::int64_t estimated_output_tokens = 0;
  // Longest wait this request accepts before trying another candidate.
  Duration max_wait = std::chrono::seconds(30);
  std::optional<TimePoint> deadline;
};

struct ThrottleDecision {
  enum class Kind {
    kSendNow,
    kWait,       // wait until `until`, then send: within max_wait and the deadline
    kNotBefore,  // this key cannot send before `until`: try another candidate
  };
  Kind kind = Kind::kSendNow;
  TimePoint until{};
  std::string bucket;  // the bucket that forced the wait, for logs and status
};

ThrottleDecision decide_throttle(const ThrottleInput& in);

// The requests a key keeps in reserve in a window of `limit`: the configured
// threshold, but never more than 10 % of the limit (rounded down), so a small
// window is not mostly left unused (a threshold of 2 on a limit of 3 would
// send one request a window). Unknown limit: the threshold.
std::int64_t reserve_for(std::int64_t threshold, std::optional<std::int64_t> limit);

}  // namespace sluice::policy
