#pragma once
// Route chains: a model alias maps to an ordered list of (provider, upstream
// model) candidates. choose_candidate decides, without any upstream call,
// which candidate a request tries next, which one to wait for as a last
// resort, or that none can serve it in time.
#include <cstddef>
#include <cstdint>
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

// What a request knows of a candidate as it walks the chain.
struct CandidateAvailability {
  enum class Kind : std::uint8_t {
    kUntried,  // not tried yet: only trying it tells (its key, its budget)
    kCooling,  // every key cooling after failures, until free_at (nullopt: disabled)
    kSpent,    // its budget is spent until free_at, later than the request may wait
    kBusy,     // no concurrency slot within the queue timeout; worth asking again at free_at
    kNever,    // cannot serve this request (unknown provider, another API, untranslatable)
  };
  Kind kind = Kind::kUntried;
  std::optional<TimePoint> free_at{};
  // kCooling: how much longer this request may still wait for it.
  Duration max_wait = Duration::zero();
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

// Where a request goes after a candidate could not serve it now (DESIGN
// capability 4). From start_index on, the first candidate usable now — not
// tried yet, or its free_at has passed — is Used: a cooling candidate is
// skipped without an upstream call and without waiting while a later one
// may serve. When none is, the request waits for the cooling candidate that
// frees first (any index: nothing else could serve it sooner), when that is
// within the candidate's max_wait and strictly before the deadline (freeing
// at the deadline leaves no time to serve). A spent budget is not waited for
// here: the throttle already judged it too far away (decide_throttle waits
// for the near ones). Else Exhausted, with the earliest free_at of any
// candidate for Retry-After.
RouteChoice choose_candidate(std::span<const CandidateAvailability> candidates,
                             std::size_t start_index, TimePoint now,
                             std::optional<TimePoint> deadline);

}  // namespace sluice::policy
