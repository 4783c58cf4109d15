#pragma once
// The state store port: what a gateway learned about its upstreams that must
// outlive the process and be visible to other gateway instances — key
// cooldowns, rotation cursors, adaptive limits, the last budget snapshot per
// model, daily usage counters, and Responses API conversations.
//
// Synchronous and small on purpose (src/sluice/state/DECISION.md): the
// gateway keeps its working state in memory, loads from the store at start
// and writes through on change, so the store is never consulted to make a
// decision on the hot path.
//
// Every call returns a value or a StoreError; nothing throws across this API
// (a bad file or a lost connection is an operational fact the caller logs and
// survives). Time is never read here: callers pass `now`. Keys are strings the
// caller builds — a key scope is "base_url|fingerprint" (docs/decisions/0006)
// — and are never secrets; the store only ever sees fingerprints.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "sluice/core/error_class.hpp"
#include "sluice/core/rate_limit_snapshot.hpp"
#include "sluice/core/time.hpp"

namespace sluice::state {

// What went wrong, in words an operator can act on: the backend, where, the
// operation and the backend's own message.
struct StoreError {
  std::string message;
};

template <class T>
class Result;

// What Result<T> accepts as a value: anything T can be made from, so
// `return std::nullopt;` and `return record;` work for
// Result<std::optional<Record>>. Never an error or another Result.
template <class U, class T>
concept ResultValue =
    std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, StoreError> &&
    !std::is_same_v<std::remove_cvref_t<U>, Result<T>>;

// A value or a StoreError (std::expected is C++23). Like expected::value(),
// value() on an error throws — that is a bug in the caller, not a store
// failure; check ok() first.
template <class T>
class [[nodiscard]] Result {
 public:
  template <ResultValue<T> U = T>
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  Result(StoreError error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const StoreError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, StoreError> v_;
};

// The success value of a write.
struct Done {};
using Status = Result<Done>;

// Why and until when one key is benched: the persisted part of
// policy::KeyState. A record with no cooldown may still carry a failure
// streak (the doubling backoff continues after a cooldown ends).
struct KeyCooldown {
  std::string key_scope;  // "base_url|fingerprint"
  std::optional<TimePoint> cooling_until{};
  std::optional<ErrorClass> cooling_class{};
  std::string reason{};
  int consecutive_failures = 0;
  bool disabled = false;  // until the config changes

  bool operator==(const KeyCooldown&) const = default;
};

// Disabled, or cooling past `now` — the complement of policy::is_available.
bool is_active(const KeyCooldown& cooldown, TimePoint now);

// Usage counters are per (key scope, upstream model, UTC day).
struct UsageKey {
  std::string key_scope;
  std::string model;
  std::string day;  // "2025-06-01", see utc_day()
};

struct UsageCounts {
  std::int64_t requests = 0;
  std::int64_t tokens = 0;

  bool operator==(const UsageCounts&) const = default;
};

// The UTC calendar day of `t` as "YYYY-MM-DD": the usage counters' day key.
std::string utc_day(TimePoint t);

// For the status page. Never holds a secret (a Redis URL is shown without
// its password).
struct StoreInfo {
  std::string backend;   // "memory", "sqlite", "redis"
  std::string location;  // file path or URL; empty for memory
  int schema_version = 0;
  std::vector<std::string> warnings;  // from opening, e.g. a bad file moved aside
  std::string last_error;             // the most recent failed call; empty if none
};

class Store {
 public:
  virtual ~Store() = default;

  // Key cooldowns, one record per key scope; put replaces the whole record.
  // Expired cooldowns stay readable until erased: the caller decides what an
  // old cooldown means (its failure streak, for one, still matters).
  virtual Status put_cooldown(const KeyCooldown& cooldown) = 0;
  virtual Result<std::optional<KeyCooldown>> get_cooldown(std::string_view key_scope) = 0;
  virtual Status erase_cooldown(std::string_view key_scope) = 0;
  // Every record, ordered by key scope (bytewise).
  virtual Result<std::vector<KeyCooldown>> list_cooldowns() = 0;
  // The records that bench their key at `now` (is_active), ordered by key
  // scope. One definition for every backend, so they cannot disagree.
  Result<std::vector<KeyCooldown>> list_active_cooldowns(TimePoint now);

  // Round-robin position per pool (provider name). Any size_t round-trips.
  virtual Status put_cursor(std::string_view pool_id, std::size_t cursor) = 0;
  virtual Result<std::optional<std::size_t>> get_cursor(std::string_view pool_id) = 0;

  // Learned concurrency limit per (key scope, limiter bucket); the caller
  // clamps on the way back in (policy::AdaptiveLimit::restore).
  virtual Status put_adaptive_limit(std::string_view key_scope, std::string_view bucket,
                                    int limit) = 0;
  virtual Result<std::optional<int>> get_adaptive_limit(std::string_view key_scope,
                                                        std::string_view bucket) = 0;

  // The last rate-limit snapshot per (key scope, upstream model). A snapshot
  // restored after a restart whose resets lie in the past is harmless: the
  // throttle treats its buckets as refilled.
  virtual Status put_snapshot(std::string_view key_scope, std::string_view model,
                              const RateLimitSnapshot& snapshot) = 0;
  virtual Result<std::optional<RateLimitSnapshot>> get_snapshot(std::string_view key_scope,
                                                                std::string_view model) = 0;

  // Adds `delta` (both fields >= 0, else an error) and returns the new totals.
  // Totals saturate at INT64_MAX rather than wrap. Unknown keys read as zero.
  virtual Result<UsageCounts> add_usage(const UsageKey& key, UsageCounts delta) = 0;
  virtual Result<UsageCounts> get_usage(const UsageKey& key) = 0;

  // Responses API conversations by response id (previous_response_id for
  // turns that a non-Responses upstream served, docs/translation.md): opaque
  // text the store keeps until `expires` and never returns after it (a put
  // that has already expired removes the id). `now` lets a backend drop what
  // has expired. A conversation holds what users
  // wrote; it lives where the cooldowns live and never reaches a log.
  virtual Status put_conversation(std::string_view response_id, std::string_view conversation,
                                  TimePoint now, TimePoint expires) = 0;
  virtual Result<std::optional<std::string>> get_conversation(std::string_view response_id,
                                                              TimePoint now) = 0;

  virtual StoreInfo info() const = 0;

  // Writes (the put and erase calls) made between begin_writes() and
  // end_writes() may be held and made together at end_writes(), which says
  // which of them failed; their own calls returned Done. Redis makes them in
  // one round trip. By default each write is made as it is called. Only
  // WriteBehindStore's worker uses this, with no read in between.
  struct FailedWrite {
    std::string op;  // "put_conversation"
    StoreError error;
  };
  virtual void begin_writes() {}
  virtual std::vector<FailedWrite> end_writes() { return {}; }
};

// Shared by the backends so that they agree on edge cases.
namespace detail {
// The error for a negative delta, or nullopt when `delta` is acceptable.
std::optional<StoreError> check_usage_delta(const UsageCounts& delta);
// a + b for a, b >= 0, saturating at INT64_MAX.
std::int64_t saturating_add(std::int64_t a, std::int64_t b);
}  // namespace detail

}  // namespace sluice::state
