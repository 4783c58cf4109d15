#include "sluice/policy/routing/route.hpp"

#include <algorithm>

namespace sluice::policy {

std::optional<RouteTarget> parse_route_target(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view provider = text.substr(0, slash);
  const std::string_view model = text.substr(slash + 1);
  if (provider.empty() || model.empty()) return std::nullopt;
  return RouteTarget{std::string(provider), std::string(model)};
}

RouteChoice choose_candidate(std::span<const CandidateAvailability> candidates,
                             std::size_t start_index, TimePoint now,
                             std::optional<TimePoint> deadline, Duration max_wait) {
  // Clamped so now + max_wait cannot overflow.
  const TimePoint wait_limit = now + std::clamp(max_wait, Duration::zero(), kMaxDuration);
  std::optional<TimePoint> earliest;
  for (std::size_t i = start_index; i < candidates.size(); ++i) {
    const std::optional<TimePoint>& free_at = candidates[i].free_at;
    if (!free_at) continue;  // never: every key disabled
    if (*free_at <= now) return Use{i};
    // Freeing exactly at the deadline leaves no time to serve the request.
    const bool in_time = *free_at <= wait_limit && (!deadline || *free_at < *deadline);
    if (in_time) return WaitFor{i, *free_at};
    if (!earliest || *free_at < *earliest) earliest = free_at;
  }
  return Exhausted{earliest};
}

}  // namespace sluice::policy
