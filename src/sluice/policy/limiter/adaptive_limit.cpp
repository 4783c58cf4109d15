#include "sluice/policy/limiter/adaptive_limit.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::policy {

namespace {

AdaptiveLimitConfig sanitise(AdaptiveLimitConfig c) {
  c.min = std::max(c.min, 1);
  c.max = std::max(c.max, c.min);
  c.initial = std::clamp(c.initial, c.min, c.max);
  if (std::isnan(c.decrease_factor)) c.decrease_factor = 0.5;
  c.decrease_factor = std::clamp(c.decrease_factor, 0.0, 1.0);
  c.decrease_holdoff = std::max(c.decrease_holdoff, Duration::zero());
  return c;
}

}  // namespace

AdaptiveLimit::AdaptiveLimit(AdaptiveLimitConfig config)
    : config_(sanitise(config)), limit_(config_.initial) {}

bool AdaptiveLimit::on_concurrency_limit(TimePoint now, std::optional<int> in_flight_at_send) {
  if (last_cut_ && now < *last_cut_ + config_.decrease_holdoff) {
    if (!in_flight_at_send || *in_flight_at_send > limit_) return false;  // the old burst
    const int next = std::max(config_.min, *in_flight_at_send - 1);
    if (next >= limit_) return false;
    limit_ = next;
    full_utilisation_successes_ = 0;
    last_cut_ = now;
    return true;
  }
  const double cut = std::floor(static_cast<double>(limit_) * config_.decrease_factor);
  limit_ = std::max(config_.min, static_cast<int>(cut));
  full_utilisation_successes_ = 0;
  last_cut_ = now;
  return true;
}

bool AdaptiveLimit::on_success(int in_flight_at_send, TimePoint now) {
  if (in_flight_at_send < limit_) return false;
  if (last_cut_ && now < *last_cut_ + config_.decrease_holdoff) return false;
  if (limit_ >= config_.max) return false;
  if (++full_utilisation_successes_ < limit_) return false;
  full_utilisation_successes_ = 0;
  ++limit_;
  return true;
}

void AdaptiveLimit::restore(int limit) {
  limit_ = std::clamp(limit, config_.min, config_.max);
  full_utilisation_successes_ = 0;
}

}  // namespace sluice::policy
