// What Redis mode adds per request, against a real redis-server on loopback
// (started here, on a free port): one admission (lease + shared budget, one
// EVALSHA round trip), one release, and the local limiter for comparison.
// Run: ./build/release/bench/sluice_redis_bench
#include <benchmark/benchmark.h>

#include <memory>

#include "sluice/policy/limiter/priority_limiter.hpp"
#include "sluice/state/redis/redis_coordinator.hpp"
#include "testing/redis_server.hpp"

namespace {

using namespace sluice;

testing::RedisServer& redis() {
  static testing::RedisServer server;
  return server;
}

std::unique_ptr<state::RedisCoordinator> coordinator() {
  auto c = state::RedisCoordinator::open({.url = redis().url(), .prefix = "bench:"});
  return c.ok() ? std::move(c.value()) : nullptr;
}

const state::AdmissionRequest kRequest{.key_scope = "https://api.z.ai/api/paas/v4|key:ab12",
                                       .bucket = "",
                                       .model = "glm-5.1",
                                       .limit = 1'000'000,
                                       .tokens = 1200};

// The local-mode cost of the same step, for the "added" figure.
void BM_LocalLimiterAcquireRelease(benchmark::State& st) {
  policy::PriorityLimiter limiter(8);
  for (auto _ : st) {
    auto permit = limiter.try_acquire(Priority::kInteractive);
    benchmark::DoNotOptimize(permit);
  }
}
BENCHMARK(BM_LocalLimiterAcquireRelease);

void BM_RedisAdmit(benchmark::State& st) {
  if (!redis().ok()) return st.SkipWithError(redis().error().c_str());
  auto c = coordinator();
  std::vector<state::Admission> held;
  for (auto _ : st) {
    st.PauseTiming();
    if (held.size() > 10'000) {
      for (auto& a : held) c->release(kRequest, a.lease_id, false);
      held.clear();
    }
    st.ResumeTiming();
    held.push_back(c->admit(kRequest));
  }
  for (auto& a : held) c->release(kRequest, a.lease_id, false);
}
BENCHMARK(BM_RedisAdmit)->UseRealTime();

void BM_RedisAdmitAndRelease(benchmark::State& st) {
  if (!redis().ok()) return st.SkipWithError(redis().error().c_str());
  auto c = coordinator();
  for (auto _ : st) {
    auto a = c->admit(kRequest);
    c->release(kRequest, a.lease_id, false);
  }
}
BENCHMARK(BM_RedisAdmitAndRelease)->UseRealTime();

void BM_RedisShareSnapshot(benchmark::State& st) {
  if (!redis().ok()) return st.SkipWithError(redis().error().c_str());
  auto c = coordinator();
  RateLimitSnapshot snap;
  snap.find_or_add("requests", BudgetAxis::kRequests).remaining = 10;
  snap.find_or_add("tokens", BudgetAxis::kTokens).remaining = 10000;
  std::int64_t t = 0;
  for (auto _ : st) {
    snap.taken_at = TimePoint(Duration(++t));
    c->share_snapshot(kRequest, snap);
  }
}
BENCHMARK(BM_RedisShareSnapshot)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
