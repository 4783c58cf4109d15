#include "sluice/policy/limiter/concurrency_defaults.hpp"

#include <array>

#include "sluice/core/text.hpp"

namespace sluice::policy {

namespace {

// z.ai values are the published per-model concurrency caps; Kimi's free tier
// allows one request in flight, and paid tiers are configured explicitly.
constexpr std::array<ConcurrencyDefault, 15> kDefaults = {{
    {Dialect::kZai, "glm-5.1", 1},
    {Dialect::kZai, "glm-5-turbo", 1},
    {Dialect::kZai, "glm-5", 2},
    {Dialect::kZai, "glm-4.7-flash", 1},
    {Dialect::kZai, "glm-4.7", 2},
    {Dialect::kZai, "glm-4.6", 3},
    {Dialect::kZai, "glm-4.5", 10},
    {Dialect::kZai, "glm-4-air", 10},
    {Dialect::kZai, "glm-4-flash", 10},
    {Dialect::kZai, "glm-4-long", 10},
    {Dialect::kZai, "embedding-3", 10},
    {Dialect::kZai, "cogview", 2},
    {Dialect::kZai, "cogvideox", 5},
    {Dialect::kZai, "", 10},
    {Dialect::kKimi, "", 1},
}};

}  // namespace

std::span<const ConcurrencyDefault> concurrency_defaults() { return kDefaults; }

int default_max_concurrent(Dialect dialect, std::string_view model) {
  const std::size_t slash = model.rfind('/');
  const std::string_view bare = slash == std::string_view::npos ? model : model.substr(slash + 1);
  const ConcurrencyDefault* best = nullptr;
  for (const ConcurrencyDefault& entry : kDefaults) {
    if (entry.dialect != dialect) continue;
    if (!istarts_with(model, entry.model_prefix) && !istarts_with(bare, entry.model_prefix)) {
      continue;
    }
    if (best == nullptr || entry.model_prefix.size() > best->model_prefix.size()) best = &entry;
  }
  return best != nullptr ? best->limit : kUnlistedDialectConcurrency;
}

int resolve_max_concurrent(std::optional<int> configured, Dialect dialect, std::string_view model) {
  if (configured && *configured >= 1) return *configured;
  return default_max_concurrent(dialect, model);
}

}  // namespace sluice::policy
