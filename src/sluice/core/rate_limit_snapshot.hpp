#pragma once
// What a provider told us about one credential's budget in one response.
//
// Times are relative: `reset_after` is measured from the response (from its
// Date header when it had one), so clock skew between us and the provider
// cancels out. `taken_at` is our local receive time; the absolute local reset
// instant is taken_at + reset_after.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/time.hpp"

namespace sluice {

enum class BudgetAxis : std::uint8_t { kRequests, kTokens, kInputTokens, kOutputTokens, kOther };

std::string_view to_string(BudgetAxis a);

struct RateLimitBucket {
  // "requests", "tokens", "input_tokens", "output_tokens", with a suffix for
  // other windows: "requests_day", "tokens_1h", "tokens_project", ...
  std::string name;
  BudgetAxis axis = BudgetAxis::kOther;
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> remaining;
  std::optional<Duration> reset_after;  // time until the bucket is full again
  std::optional<Duration> window;       // the window length, when known

  // Minute windows are the ones pre-emptive throttling acts on; longer windows
  // (day, month) mark quota exhaustion rather than short waits.
  bool is_long_window() const;
};

struct RateLimitSnapshot {
  TimePoint taken_at{};
  std::vector<RateLimitBucket> buckets;
  std::optional<Duration> retry_after;  // retry-after-ms > retry-after, when > 0
  std::optional<bool> should_retry;     // x-should-retry
  std::string limit_type;               // Azure x-ratelimit-type: which axis tripped
  // How far the reset instants may be off: a second when they were measured
  // from a whole-second Date header (Anthropic's RFC 3339 resets), else zero.
  Duration reset_uncertainty{};

  bool empty() const { return buckets.empty() && !retry_after && !should_retry; }
  const RateLimitBucket* find(std::string_view name) const;
  RateLimitBucket& find_or_add(std::string_view name, BudgetAxis axis);
  // The exhausted bucket (remaining <= 0) whose reset is furthest away, if any.
  const RateLimitBucket* most_exhausted() const;
};

}  // namespace sluice
