#include "sluice/state/store.hpp"

#include <chrono>
#include <cstdio>
#include <limits>

namespace sluice::state {

bool is_active(const KeyCooldown& cooldown, TimePoint now) {
  return cooldown.disabled || (cooldown.cooling_until && *cooldown.cooling_until > now);
}

std::string utc_day(TimePoint t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

Result<std::vector<KeyCooldown>> Store::list_active_cooldowns(TimePoint now) {
  auto all = list_cooldowns();
  if (!all) return all.error();
  std::vector<KeyCooldown> active;
  for (auto& c : all.value()) {
    if (is_active(c, now)) active.push_back(std::move(c));
  }
  return active;
}

namespace detail {

std::optional<StoreError> check_usage_delta(const UsageCounts& delta) {
  if (delta.requests >= 0 && delta.tokens >= 0) return std::nullopt;
  return StoreError{"add_usage: usage only grows; got requests " + std::to_string(delta.requests) +
                    ", tokens " + std::to_string(delta.tokens)};
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  return a > kMax - b ? kMax : a + b;
}

}  // namespace detail

}  // namespace sluice::state
