#include "sluice/policy/retry/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::policy {

Duration backoff_delay(int retry_index, const BackoffPolicy& policy, Rng& rng) {
  const Duration ceiling = std::clamp(policy.max, Duration::zero(), kMaxDuration);
  Duration delay = std::clamp(policy.base, Duration::zero(), ceiling);
  // Doubling stops at the ceiling, so the loop runs at most ~63 times.
  for (int i = 0; i < retry_index && delay > Duration::zero() && delay < ceiling; ++i) {
    delay = delay > ceiling / 2 ? ceiling : delay * 2;
  }
  const double jitter = std::isnan(policy.jitter) ? 0.0 : std::clamp(policy.jitter, 0.0, 1.0);
  const double factor = 1.0 - jitter * rng.uniform();
  const Duration jittered(
      static_cast<Duration::rep>(std::llround(static_cast<double>(delay.count()) * factor)));
  // The double round trip may land a nanosecond above the un-jittered delay.
  return std::clamp(jittered, Duration::zero(), delay);
}

}  // namespace sluice::policy
