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
                             std::optional<TimePoint> deadline) {
  using Kind = CandidateAvailability::Kind;
  for (std::size_t i = start_index; i < candidates.size(); ++i) {
    const CandidateAvailability& c = candidates[i];
    if (c.kind == Kind::kNever) continue;
    if (c.kind == Kind::kUntried || (c.free_at && *c.free_at <= now)) return Use{i};
  }
  std::optional<WaitFor> wait;
  std::optional<TimePoint> earliest;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const CandidateAvailability& c = candidates[i];
    if (c.kind == Kind::kNever || c.kind == Kind::kUntried || !c.free_at) continue;
    if (!earliest || *c.free_at < *earliest) earliest = c.free_at;
    if (c.kind != Kind::kCooling) continue;
    // Clamped so now + max_wait cannot overflow.
    const bool in_time =
        *c.free_at <= now + std::clamp(c.max_wait, Duration::zero(), kMaxDuration) &&
        (!deadline || *c.free_at < *deadline);
    if (in_time && (!wait || *c.free_at < wait->until)) wait = WaitFor{i, *c.free_at};
  }
  if (wait) return *wait;
  return Exhausted{earliest};
}

}  // namespace sluice::policy
