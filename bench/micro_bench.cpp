// Micro-benchmarks of the hot path (a command, not a test): classify a
// typical 429 and a plain 200, parse an OpenAI header block, limiter acquire +
// release, throttle decision, model splice, SSE framing. Targets: classify a
// 429 < 5 µs, parse a header block < 1 µs, limiter < 100 ns.
#include <benchmark/benchmark.h>

#include "sluice/core/headers.hpp"
#include "sluice/core/priority.hpp"
#include "sluice/core/text.hpp"
#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/limiter/priority_limiter.hpp"
#include "sluice/policy/ratelimit/header_parser.hpp"
#include "sluice/policy/ratelimit/throttle.hpp"
#include "sluice/providers/model_splice.hpp"
#include "sluice/providers/sse_scan.hpp"

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

// Every successful non-streaming answer is classified (for its headers and
// any in-band error): the common case must stay cheap.
void BM_ClassifySuccess200(benchmark::State& state) {
  static const std::string body =
      R"({"id":"chatcmpl-1","object":"chat.completion","created":1788825600,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}})";
  policy::UpstreamOutcome in{.dialect = Dialect::kOpenAI,
                             .status = 200,
                             .headers = openai_headers().view(),
                             .body = body,
                             .now = kNow};
  for (auto _ : state) {
    auto c = policy::classify(in);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_ClassifySuccess200);

// The front door: find "model" (and the facts the limiter needs) in a
// 4 KiB chat body, then splice the upstream model name in.
void BM_InspectAndSpliceModel(benchmark::State& state) {
  std::string body = R"({"model":"main","max_tokens":256,"messages":[{"role":"user","content":")";
  body += std::string(4096, 'x');
  body += R"("}],"stream":false})";
  for (auto _ : state) {
    auto facts = providers::inspect_body(body);
    auto out = providers::splice_model(body, facts, "glm-5.1");
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_InspectAndSpliceModel);

// inspect_body on what agents send: N KiB of 1 KiB turns with newlines and
// quotes escaped, parsed where it lies (padded, as the server reads it).
void BM_InspectAgentBody(benchmark::State& state) {
  std::string turn;
  for (int i = 0; i < 1000; ++i) turn += i % 80 == 79 ? "\\n" : i % 97 == 0 ? "\\\"" : "a";
  std::string body = R"({"model":"main","max_tokens":8,"messages":[)";
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    body += std::string(i > 0 ? "," : "") + R"({"role":"user","content":")" + turn + "\"}";
  }
  body += "]}";
  body.reserve(body.size() + kBodyPadding);
  for (auto _ : state) {
    auto facts = providers::inspect_body(body, body.capacity());
    benchmark::DoNotOptimize(facts);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_InspectAgentBody)->Arg(16)->Arg(64)->Arg(256);

// SSE framing on a relayed stream: one OpenAI chunk event fed to the
// terminal watch, and the probe for a complete data event.
void BM_SseEventThroughWatch(benchmark::State& state) {
  static const std::string event =
      R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1788825600,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]})"
      "\n\n";
  providers::TerminalWatch watch;
  for (auto _ : state) {
    watch.feed(event);
    benchmark::DoNotOptimize(providers::has_data_event(event));
    benchmark::DoNotOptimize(watch.seen());
  }
}
BENCHMARK(BM_SseEventThroughWatch);

}  // namespace

BENCHMARK_MAIN();
