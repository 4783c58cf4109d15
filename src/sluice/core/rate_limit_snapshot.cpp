#include "sluice/core/rate_limit_snapshot.hpp"

namespace sluice {

std::string_view to_string(BudgetAxis a) {
  switch (a) {
    case BudgetAxis::kRequests: return "requests";
    case BudgetAxis::kTokens: return "tokens";
    case BudgetAxis::kInputTokens: return "input_tokens";
    case BudgetAxis::kOutputTokens: return "output_tokens";
    case BudgetAxis::kOther: break;
  }
  return "other";
}

bool RateLimitBucket::is_long_window() const { return window && *window > std::chrono::hours(2); }

const RateLimitBucket* RateLimitSnapshot::find(std::string_view name) const {
  for (const auto& b : buckets) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

RateLimitBucket& RateLimitSnapshot::find_or_add(std::string_view name, BudgetAxis axis) {
  for (auto& b : buckets) {
    if (b.name == name) return b;
  }
  RateLimitBucket& b = buckets.emplace_back();
  b.name = std::string(name);
  b.axis = axis;
  return b;
}

const RateLimitBucket* RateLimitSnapshot::most_exhausted() const {
  const RateLimitBucket* best = nullptr;
  for (const auto& b : buckets) {
    if (!b.remaining || *b.remaining > 0) continue;
    if (!best ||
        b.reset_after.value_or(Duration::zero()) > best->reset_after.value_or(Duration::zero())) {
      best = &b;
    }
  }
  return best;
}

}  // namespace sluice
