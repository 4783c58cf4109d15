#pragma once
// Credential pool decisions: which key to use next and how long a failed key
// cools down. Pure functions over a PoolState value: state in, state out, so
// the state store can persist exactly what the policy produced (rotation
// cursor, cooldowns, usage counts) and other gateway instances can share it.
//
// A key's cooldown depends on why it failed (see record_failure). Entries that
// share a fingerprint are the same secret seen through two config paths; they
// share fate, or rotation would keep handing out the key that just failed.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/error_class.hpp"
#include "sluice/core/rng.hpp"
#include "sluice/core/time.hpp"

namespace sluice::policy {

enum class SelectionStrategy : std::uint8_t { kFillFirst, kRoundRobin, kLeastUsed, kRandom };
inline constexpr std::array kSelectionStrategies = {
    SelectionStrategy::kFillFirst, SelectionStrategy::kRoundRobin, SelectionStrategy::kLeastUsed,
    SelectionStrategy::kRandom};

// "fill_first", "round_robin", "least_used", "random"
std::string_view to_string(SelectionStrategy s);
// Case-insensitive; nullopt for unknown names (the config checker reports them).
std::optional<SelectionStrategy> selection_strategy_from_string(std::string_view name);

struct KeyState {
  std::string fingerprint{};  // identity; never the secret
  std::optional<TimePoint> cooling_until{};
  std::optional<ErrorClass> cooling_class{};
  std::string cooling_reason{};
  int consecutive_failures = 0;  // RATE_LIMITs since the last success
  bool disabled = false;         // until the config changes
  std::uint64_t uses = 0;
};

struct PoolState {
  std::vector<KeyState> keys{};
  std::size_t cursor = 0;  // round-robin position
};

struct KeyFailure {
  ErrorClass cls = ErrorClass::kUnknown;
  Duration cooldown{};              // base cooldown from the classifier
  bool from_provider_hint = false;  // cooldown came from retry-after/reset: use as is
  bool disable = false;             // AUTH_PERMANENT
  std::string reason{};
};

struct PoolPolicy {
  // Ceiling of the doubling backoff for rate limits without a provider hint.
  Duration max_rate_limit_backoff = std::chrono::seconds(300);
  // A sole key must not be benched longer than this for a transient failure:
  // there is no other key to rotate to, so a long bench fails every request.
  Duration sole_key_transient_cap = std::chrono::seconds(60);
  // Concurrency limits clear as soon as a request finishes: seconds, never an hour.
  Duration concurrency_cap = std::chrono::seconds(5);
};

// Not disabled, and no cooldown or the cooldown has ended (cooling_until <= now).
bool is_available(const KeyState& key, TimePoint now);

// True for failure classes that say something about the key itself and so
// cool it (RATE_LIMIT, CONCURRENCY_LIMIT, QUOTA_EXHAUSTED, BILLING, AUTH,
// AUTH_PERMANENT). Provider-side and request-side failures do not.
bool cools_key(ErrorClass cls);

struct Selection {
  std::optional<std::size_t> index{};  // nullopt: no key is available now
  PoolState next{};
};

// Picks an available key and counts the use. Expired cooldowns are cleared in
// the returned state. fill_first: first available in order. round_robin: first
// available at or after the cursor, wrapping; the cursor moves past it.
// least_used: fewest uses, ties to the lowest index. random: uniform among the
// available keys, one rng.below() draw.
Selection select_key(PoolState state, SelectionStrategy strategy, TimePoint now, Rng& rng);

// Marks key `index` (and every entry with its fingerprint) after a failure.
// An index out of range changes nothing: never bench an innocent key.
PoolState record_failure(PoolState state, std::size_t index, const KeyFailure& failure,
                         TimePoint now, const PoolPolicy& policy);

// Resets the rate-limit streak of key `index` and its siblings. A running
// cooldown stays: the success may have been in flight before the failure.
PoolState record_success(PoolState state, std::size_t index);

// When a request could next get a key: `now` if one is available, else the
// earliest end of a cooldown among enabled keys; nullopt when every key is
// disabled (or there are none), i.e. never.
std::optional<TimePoint> next_available_at(const PoolState& state, TimePoint now);

// Clears cooldowns that have ended, so status pages show them cleared.
PoolState expire_cooldowns(PoolState state, TimePoint now);

}  // namespace sluice::policy
