#pragma once
// Built-in concurrency limits for providers that cap simultaneous requests
// per key (z.ai GLM, Kimi/Moonshot). Providers limited by RPM/TPM instead get
// a high default: their limits are handled by pre-emptive throttling.
#include <optional>
#include <span>
#include <string_view>

#include "sluice/core/dialect.hpp"

namespace sluice::policy {

struct ConcurrencyDefault {
  Dialect dialect;
  std::string_view model_prefix;  // lower case; "" is the dialect's fallback
  int limit;
};

// The limit for dialects without a table entry ("effectively unlimited").
inline constexpr int kUnlistedDialectConcurrency = 64;

// The table, in no particular order (lookup takes the longest prefix).
std::span<const ConcurrencyDefault> concurrency_defaults();

// Longest case-insensitive model-prefix match for the dialect. A vendor
// prefix ("z-ai/glm-5.1", "zai/glm-5.1") is looked through: the part after the
// last '/' is matched too.
int default_max_concurrent(Dialect dialect, std::string_view model);

// A configured value (>= 1) wins over the table; anything smaller is treated
// as "not configured".
int resolve_max_concurrent(std::optional<int> configured, Dialect dialect, std::string_view model);

}  // namespace sluice::policy
