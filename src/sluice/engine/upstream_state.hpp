#pragma once
// Run-time state of the upstreams, shared by every request: one entry per
// (base_url, key) — keyed on base_url so several providers behind one proxy
// share one budget — holding that key's concurrency limiters and the last
// rate-limit snapshot per upstream model. Single-threaded: owned by the
// gateway's io thread (docs/decisions/0001).
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "sluice/core/rate_limit_snapshot.hpp"
#include "sluice/policy/limiter/adaptive_limit.hpp"
#include "sluice/policy/limiter/priority_limiter.hpp"

namespace sluice::engine {

// What this gateway knows about one (key, model) budget.
struct ModelBudget {
  std::optional<RateLimitSnapshot> snapshot;
  // Sends the snapshot cannot reflect yet (in flight when it was taken, or
  // sent after it): subtracted from its `remaining` by the throttle.
  std::int64_t unaccounted_requests = 0;
  std::int64_t unaccounted_tokens = 0;
  std::int64_t in_flight = 0;
  std::int64_t in_flight_tokens = 0;
};

struct UpstreamKeyState {
  std::string fingerprint;
  // Concurrency limiter per model bucket. z.ai caps each model separately;
  // elsewhere the bucket is "" (one limit for the whole key).
  std::map<std::string, std::unique_ptr<policy::PriorityLimiter>> limiters;
  std::map<std::string, policy::AdaptiveLimit> adaptive;
  std::map<std::string, ModelBudget> budgets;
};

class UpstreamRegistry {
 public:
  UpstreamKeyState& key(const std::string& base_url, const std::string& fingerprint);
  const std::map<std::string, UpstreamKeyState, std::less<>>& all() const { return keys_; }
  std::map<std::string, UpstreamKeyState, std::less<>>& all_mutable() { return keys_; }

 private:
  std::map<std::string, UpstreamKeyState, std::less<>> keys_;  // "base_url|fingerprint"
};

}  // namespace sluice::engine
