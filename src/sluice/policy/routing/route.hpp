#pragma once
// Route chains: a model alias maps to an ordered list of (provider, upstream
// model) candidates. choose_candidate decides, without any upstream call,
// which candidate a request should use now, which one to wait for briefly, or
// that none can serve it in time.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "sluice/core/time.hpp"

namespace sluice::policy {

struct RouteTarget {
  std::string provider;
  std::string upstream_model;
};

// Splits "provider/model" at the first '/': the model keeps any vendor prefix
// ("openrouter/z-ai/glm-5.1" -> "openrouter", "z-ai/glm-5.1"). nullopt when
// either part is empty.
std::optional<RouteTarget> parse_route_target(std::string_view text);

struct CandidateAvailability {
  // When the candidate can take a request: <= now means usable now, nullopt
  // means never (every key disabled). The engine computes it as the later of
  // the pool's next_available_at and the throttle's not-before.
  std::optional<TimePoint> free_at{};
  std::string_view why_not_now{};  // for logs and the status page only
};

struct Use {
  std::size_t index;
};
struct WaitFor {
  std::size_t index;
  TimePoint until;
};
struct Exhausted {
  // The earliest moment any candidate frees up, so the gateway can send
  // Retry-After; nullopt when none ever will.
  std::optional<TimePoint> earliest_free;
};

using RouteChoice = std::variant<Use, WaitFor, Exhausted>;

// Walks the candidates from start_index in order. The first one that is usable
// now, or free within max_wait and strictly before the deadline, decides: Use
// it, or WaitFor it. Waiting briefly for an earlier (preferred) candidate beats
// falling through to a later one, so traffic returns to the primary as soon as
// its cooldown ends. Candidates that cannot be free in time are skipped without
// an upstream call. None -> Exhausted with the earliest free_at over all
// candidates from start_index.
RouteChoice choose_candidate(std::span<const CandidateAvailability> candidates,
                             std::size_t start_index, TimePoint now,
                             std::optional<TimePoint> deadline, Duration max_wait);

}  // namespace sluice::policy
