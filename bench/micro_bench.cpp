// Micro-benchmarks of the hot path (a command, not a test): classify a
// typical 429, parse an OpenAI header block, limiter acquire + release,
// throttle decision. Targets: < 5 µs, < 1 µs, < 100 ns.
#include <benchmark/benchmark.h>

#include "sluice/core/headers.hpp"
#include "sluice/core/priority.hpp"
#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/limiter/priority_limiter.hpp"
#include "sluice/policy/ratelimit/header_parser.hpp"
#include "sluice/policy/ratelimit/throttle.hpp"

namespace {

using namespace sluice;

const TimePoint kNow = from_unix_ms(1'788'825'600'000);

const HeaderList& openai_headers() {
  static const HeaderList h{{"x-ratelimit-limit-requests", "5000"},
                            {"x-ratelimit-limit-tokens", "160000"},
                            {"x-ratelimit-remaining-requests", "4999"},
                            {"x-ratelimit-remaining-tokens", "159976"},
                            {"x-ratelimit-reset-requests", "12ms"},
                            {"x-ratelimit-reset-tokens", "9ms"},
                            {"x-request-id", "req_123"},
                            {"openai-processing-ms", "412"}};
  return h;
}

void BM_ParseOpenAIHeaderBlock(benchmark::State& state) {
  const HeaderView v = openai_headers().view();
  for (auto _ : state) {
    auto r = policy::parse_rate_limit_headers(v, Dialect::kOpenAI, kNow);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseOpenAIHeaderBlock);

void BM_ClassifyTypical429(benchmark::State& state) {
  static const HeaderList h{{"retry-after", "2"},
                            {"x-ratelimit-remaining-tokens", "0"},
                            {"x-ratelimit-reset-tokens", "1.898s"}};
  static const std::string body =
      R"({"error":{"message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29123, Requested 1800. Please try again in 1.898s. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}})";
  policy::UpstreamOutcome in{
      .dialect = Dialect::kOpenAI, .status = 429, .headers = h.view(), .body = body, .now = kNow};
  for (auto _ : state) {
    auto c = policy::classify(in);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_ClassifyTypical429);

void BM_ClassifyZaiChinese1302(benchmark::State& state) {
  static const std::string body =
      R"({"error":{"code":"1302","message":"您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。"}})";
  policy::UpstreamOutcome in{.dialect = Dialect::kZai, .status = 429, .body = body, .now = kNow};
  for (auto _ : state) {
    auto c = policy::classify(in);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_ClassifyZaiChinese1302);

void BM_LimiterAcquireReleaseUncontended(benchmark::State& state) {
  policy::PriorityLimiter limiter(64);
  for (auto _ : state) {
    auto permit = limiter.try_acquire(Priority::kInteractive);
    benchmark::DoNotOptimize(permit);
  }  // released by the destructor each round
}
BENCHMARK(BM_LimiterAcquireReleaseUncontended);

void BM_ThrottleDecision(benchmark::State& state) {
  auto snap =
      policy::parse_rate_limit_headers(openai_headers().view(), Dialect::kOpenAI, kNow).snapshot;
  policy::ThrottleInput in{.snapshot = &snap,
                           .now = kNow,
                           .unaccounted_requests = 3,
                           .estimated_input_tokens = 1200,
                           .estimated_output_tokens = 800};
  for (auto _ : state) {
    auto d = policy::decide_throttle(in);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_ThrottleDecision);

}  // namespace

BENCHMARK_MAIN();
