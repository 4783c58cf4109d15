#pragma once
// What each error class means for the request and the key (DESIGN
// capabilities 3, 5). One table, so retry, cooldown, fallback and the
// client-facing status never disagree.
#include <optional>

#include "sluice/core/error_class.hpp"
#include "sluice/core/time.hpp"

namespace sluice::policy {

struct ClassTraits {
  bool retryable;             // re-sending the same request to the same key can succeed soon
  bool rotate_key;            // another key of the same provider may succeed
  bool cool_key;              // bench this key for a while
  bool lower_limit;           // cut this key's concurrency limit (AIMD) instead of benching it
  bool disable_key;           // never use this key again until the config changes
  bool fallback;              // another route candidate may serve the request
  int client_status;          // status sluice shows its client when it gives up
  Duration default_cooldown;  // when the provider gave no reset hint
};

const ClassTraits& traits_of(ErrorClass c);

// Provider hints longer than this turn a RATE_LIMIT into QUOTA_EXHAUSTED:
// waiting that long inside one request never makes sense (providers.md §19.4).
inline constexpr Duration kQuotaHintThreshold = std::chrono::minutes(10);

}  // namespace sluice::policy
