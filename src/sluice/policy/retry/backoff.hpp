#pragma once
// Exponential backoff with jitter, for retries that have no provider hint.
#include "sluice/core/rng.hpp"
#include "sluice/core/time.hpp"

namespace sluice::policy {

struct BackoffPolicy {
  Duration base = std::chrono::milliseconds(500);
  Duration max = std::chrono::seconds(8);
  // Fraction of the delay that jitter may take away, in [0, 1]. Jitter only
  // shortens: the un-jittered delay stays an upper bound callers can budget for,
  // and clients that failed together still spread out.
  double jitter = 0.25;
};

// min(base * 2^retry_index, max) * (1 - jitter * u), u = rng.uniform().
// retry_index is 0-based (the first retry waits about `base`). Saturates
// instead of overflowing for any index; negative indices count as 0. Draws
// exactly one number from `rng`.
Duration backoff_delay(int retry_index, const BackoffPolicy& policy, Rng& rng);

}  // namespace sluice::policy
