#pragma once
// An AIMD concurrency limit learned from upstream concurrency 429s.
//
// A concurrency 429 cuts the limit multiplicatively (limit * decrease_factor,
// never below min). One burst usually yields several 429s at once, so cuts
// within `decrease_holdoff` of the previous cut are ignored: one burst, one cut.
// Growth is additive and slow: +1 after `limit` successes that were sent at
// full utilisation (in_flight_at_send >= limit). Successes sent below the limit
// prove nothing about a higher one, so they never grow it.
//
// Successes that arrive within the holdoff after a cut do not count either:
// they were sent at the old, too-high limit and belong to the burst that
// tripped the provider.
//
// A plain value type: no clock, no I/O; the caller passes `now`.
#include <optional>

#include "sluice/core/time.hpp"

namespace sluice::policy {

struct AdaptiveLimitConfig {
  int min = 1;
  int max = 64;
  int initial = 64;
  double decrease_factor = 0.5;
  Duration decrease_holdoff = std::chrono::seconds(1);
};

class AdaptiveLimit {
 public:
  // Out-of-range settings are clamped: min >= 1, max >= min, initial within
  // [min, max], decrease_factor within [0, 1] (NaN -> 0.5), holdoff >= 0.
  explicit AdaptiveLimit(AdaptiveLimitConfig config = {});

  // Returns true when the limit was cut (false inside the holdoff).
  // `in_flight_at_send` (this request included), when known, refines the
  // holdoff: a 429 for a request sent at or below the already-cut limit is not
  // part of the old burst — it proves the cap is below what was in flight, so
  // the limit drops to in_flight_at_send - 1 at once.
  bool on_concurrency_limit(TimePoint now, std::optional<int> in_flight_at_send = std::nullopt);
  // Returns true when the limit grew.
  bool on_success(int in_flight_at_send, TimePoint now);

  int current() const { return limit_; }
  // Restores a persisted limit (clamped to [min, max]), e.g. after a restart.
  void restore(int limit);
  const AdaptiveLimitConfig& config() const { return config_; }

 private:
  AdaptiveLimitConfig config_;
  int limit_;
  int full_utilisation_successes_ = 0;
  std::optional<TimePoint> last_cut_;
};

}  // namespace sluice::policy
