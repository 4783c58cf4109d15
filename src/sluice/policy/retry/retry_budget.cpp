#include "sluice/policy/retry/retry_budget.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::policy {

namespace {

RetryBudgetConfig sanitise(RetryBudgetConfig c) {
  if (std::isnan(c.ratio) || c.ratio < 0.0) c.ratio = 0.0;
  c.min_per_window = std::max(c.min_per_window, 0);
  c.window = std::clamp(c.window, Duration(10), kMaxDuration);
  return c;
}

// Tolerates the rounding of ratio * requests (0.1 * 30 is 3.0000000000000004
// or 2.9999999999999996 depending on the operands).
constexpr double kEpsilon = 1e-9;

}  // namespace

RetryBudget::RetryBudget(RetryBudgetConfig config)
    : config_(sanitise(config)), slot_width_(config_.window / static_cast<Duration::rep>(kSlots)) {}

std::int64_t RetryBudget::period_of(TimePoint now) const {
  const Duration::rep t = now.time_since_epoch().count();
  const Duration::rep w = slot_width_.count();
  // Floor division, so instants before the epoch land in the right period.
  return t / w - ((t % w != 0 && t < 0) ? 1 : 0);
}

RetryBudget::Slot& RetryBudget::slot_for(TimePoint now) {
  const std::int64_t period = period_of(now);
  const auto index = static_cast<std::size_t>(
      ((period % static_cast<std::int64_t>(kSlots)) + static_cast<std::int64_t>(kSlots)) %
      static_cast<std::int64_t>(kSlots));
  Slot& slot = slots_[index];
  if (slot.period != period) slot = Slot{.period = period};
  return slot;
}

void RetryBudget::record_request(TimePoint now) { ++slot_for(now).requests; }

bool RetryBudget::try_spend_retry(TimePoint now) {
  if (available(now) < 1.0 - kEpsilon) return false;
  ++slot_for(now).retries;
  return true;
}

double RetryBudget::available(TimePoint now) const {
  const std::int64_t current = period_of(now);
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  for (const Slot& slot : slots_) {
    // Slots from the future (the wall clock stepped back) are ignored too.
    if (slot.period > current || slot.period <= current - static_cast<std::int64_t>(kSlots)) {
      continue;
    }
    requests += slot.requests;
    retries += slot.retries;
  }
  return config_.ratio * static_cast<double>(requests) +
         static_cast<double>(config_.min_per_window) - static_cast<double>(retries);
}

}  // namespace sluice::policy
