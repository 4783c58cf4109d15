// Issue 5's scenarios that gateway_server_test.cpp does not already cover,
// end to end against `sluice sim` on loopback with short windows: header
// pacing in the Anthropic and OpenRouter dialects with eight greedy agents,
// budget isolation, in-band errors after the first byte, back-pressure with
// deadlines, retry storms and adaptive concurrency on an unannounced cap.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "testing/gateway_stack.hpp"
#include "testing/gateway_yaml.hpp"
#include "testing/http_client.hpp"

namespace sluice::server {
namespace {

using nlohmann::json;
using testing::GatewayStack;
using testing::HttpClient;
using testing::HttpResponse;
using testing::sim_provider;
using namespace std::chrono_literals;

using testing::url;

const std::string kChat =
    R"({"model":"main","max_tokens":8,"messages":[{"role":"user","content":"hi"}]})";

struct GreedyRun {
  int ok = 0;
  int failed = 0;
  double seconds = 0;
  std::string first_failure;  // status and body, so a failing run says why
};

// `agents` clients send back to back until `run_for` has passed.
GreedyRun run_greedy(std::uint16_t port, const std::string& path, const std::string& body,
                     int agents, std::chrono::milliseconds run_for) {
  std::atomic<int> ok{0}, failed{0};
  std::mutex first_failure_mutex;
  std::string first_failure;
  const auto t0 = std::chrono::steady_clock::now();
  const auto until = t0 + run_for;
  std::vector<std::thread> threads;
  for (int i = 0; i < agents; ++i) {
    threads.emplace_back([&] {
      HttpClient c(port);
      while (std::chrono::steady_clock::now() < until) {
        const HttpResponse r = c.request("POST", path, {{"anthropic-version", "2023-06-01"}}, body);
        if (r.status == 200) {
          ++ok;
          continue;
        }
        ++failed;
        const std::lock_guard lock(first_failure_mutex);
        if (first_failure.empty()) first_failure = std::to_string(r.status) + " " + r.body;
      }
    });
  }
  for (auto& t : threads) t.join();
  return {ok.load(), failed.load(),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
          first_failure};
}

// Goodput: successes as a share of what the provider allowed over the windows
// the run touched. Printed, not asserted (a rate depends on the machine).
void report(const char* name, const GreedyRun& r, const json& stats, int limit,
            std::chrono::milliseconds window) {
  const double windows = std::ceil(r.seconds / std::chrono::duration<double>(window).count());
  const double goodput = 100.0 * stats["successes"].get<double>() / (limit * windows);
  std::cout << "[ scenario 2 ] " << name << ": " << stats["successes"] << " successes in "
            << r.seconds << " s (" << windows << " windows of " << limit << "), goodput " << goodput
            << "% of the limit, upstream 429s " << stats["rejections"]["rpm"] << "\n";
}

constexpr int kLimit = 10;
constexpr auto kWindow = 1000ms;

TEST(Scenario2, AnthropicRfc3339HeadersPaceEightGreedyAgentsWithoutA429) {
  auto claude = sim_provider("claude", Dialect::kAnthropic);
  claude.limits.requests_per_window = kLimit;
  claude.limits.window = kWindow;
  GatewayStack s({claude}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  claude: {api: anthropic, dialect: anthropic, "
           "base_url: \"" +
           url(p[0]) +
           "\", keys: [good-key], rpm_throttle_threshold: 0, max_wait: 5s}\nmodels:\n  main: "
           "{route: [claude/claude-sonnet-4]}\n";
  });
  const GreedyRun r = run_greedy(s.port(), "/v1/messages", kChat, 8, 2500ms);
  const json stats = s.sim_stats(0);
  report("anthropic", r, stats, kLimit, kWindow);
  EXPECT_EQ(r.failed, 0) << r.first_failure;
  EXPECT_EQ(stats["rejections"]["rpm"], 0) << stats.dump();
  EXPECT_GE(stats["successes"].get<int>(), 2 * kLimit);  // it did not just stall
}

TEST(Scenario2, OpenAIHeadersPaceEightGreedyAgentsWithoutA429) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.limits.requests_per_window = kLimit;
  oa.limits.window = kWindow;
  GatewayStack s({oa}, [](const std::vector<std::uint16_t>& p) {
    return testing::GatewayYaml::one("oa", Dialect::kOpenAI, p[0], "gpt-4o-mini",
                                     "rpm_throttle_threshold: 0, max_wait: 5s")
        .str();
  });
  const GreedyRun r = run_greedy(s.port(), "/v1/chat/completions", kChat, 8, 2500ms);
  const json stats = s.sim_stats(0);
  report("openai", r, stats, kLimit, kWindow);
  EXPECT_EQ(r.failed, 0) << r.first_failure;
  EXPECT_EQ(stats["rejections"]["rpm"], 0) << stats.dump();
  EXPECT_GE(stats["successes"].get<int>(), 2 * kLimit);
}

// More agents than the window holds: everyone waiting for the reset wakes at
// once, and only a window's worth may go; the rest look again.
TEST(Scenario2, ThreeTimesMoreGreedyAgentsThanTheWindowHoldsDrawNo429) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.limits.requests_per_window = kLimit;
  oa.limits.window = kWindow;
  GatewayStack s({oa}, [](const std::vector<std::uint16_t>& p) {
    return testing::GatewayYaml::one("oa", Dialect::kOpenAI, p[0], "gpt-4o-mini",
                                     "rpm_throttle_threshold: 0, max_wait: 10s")
        .str();
  });
  // One request first: before any reply, nothing says what the budget is,
  // and thirty agents arriving at once could overrun it before it is known.
  // Holding everyone until the first reply would cost every cold start a
  // whole completion's latency; a 429 then costs one retry after its reset.
  ASSERT_EQ(HttpClient(s.port()).request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  const GreedyRun r = run_greedy(s.port(), "/v1/chat/completions", kChat, 3 * kLimit, 2500ms);
  const json stats = s.sim_stats(0);
  report("openai, 30 agents", r, stats, kLimit, kWindow);
  EXPECT_EQ(r.failed, 0) << r.first_failure;
  EXPECT_EQ(stats["rejections"]["rpm"], 0) << stats.dump();
  EXPECT_GE(stats["successes"].get<int>(), 2 * kLimit);
}

TEST(Scenario2, OpenRouterHeadersOnlyOn429sCostAtMostOne429PerWindow) {
  auto orr = sim_provider("or", Dialect::kOpenRouter);
  orr.limits.requests_per_window = kLimit;
  orr.limits.window = kWindow;
  GatewayStack s({orr}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  or: {api: openai, dialect: openrouter, "
           "base_url: \"" +
           url(p[0]) +
           "/api/v1\", keys: [good-key], rpm_throttle_threshold: 0, max_wait: 5s}\nmodels:\n  "
           "main: {route: [or/z-ai/glm-4.6]}\n";
  });
  // One agent: with eight, every request already in flight when the window
  // runs out draws its own 429 — nothing could have told the gateway sooner.
  const GreedyRun r = run_greedy(s.port(), "/v1/chat/completions", kChat, 1, 2500ms);
  const json stats = s.sim_stats(0);
  report("openrouter", r, stats, kLimit, kWindow);
  EXPECT_EQ(r.failed, 0) << "a 429 is retried after its reset, not shown to the client: "
                         << r.first_failure;
  const double windows = std::ceil(r.seconds / std::chrono::duration<double>(kWindow).count());
  EXPECT_LE(stats["rejections"]["rpm"].get<double>(), windows) << stats.dump();
  EXPECT_GE(stats["successes"].get<int>(), 2 * kLimit);
}

TEST(Scenario4, AFallbackNeverInheritsThePrimarysDepletedBudget) {
  auto primary = sim_provider("primary", Dialect::kOpenAI);
  primary.limits.requests_per_window = 2;
  primary.limits.window = 30s;
  auto fallback = sim_provider("fallback", Dialect::kOpenAI);  // same key string, other URL
  GatewayStack s({primary, fallback}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n"
           "  primary: {api: openai, base_url: \"" +
           url(p[0]) +
           "/v1\", keys: [good-key], rpm_throttle_threshold: 0, max_wait: 0s}\n"
           "  fallback: {api: openai, base_url: \"" +
           url(p[1]) +
           "/v1\", keys: [good-key], rpm_throttle_threshold: 0, max_wait: 0s}\n"
           "models:\n  main: {route: [primary/gpt-4o-mini, fallback/gpt-4o-mini]}\n";
  });
  HttpClient c(s.port());
  for (int i = 0; i < 2; ++i) {
    HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
    ASSERT_EQ(r.status, 200);
    EXPECT_FALSE(r.header("x-sluice-fallback").has_value());
  }
  for (int i = 0; i < 3; ++i) {  // the primary's window is spent for 30 s
    HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-sluice-fallback"), "1/2");
  }
  EXPECT_EQ(s.sim_stats(0)["rejections"]["rpm"], 0) << "the primary was not asked again";
  EXPECT_EQ(s.sim_stats(1)["successes"], 3) << "the fallback's own budget was untouched";
}

TEST(Scenario4, TwoProvidersBehindOneBaseUrlAndKeyShareOneBudget) {
  auto proxy = sim_provider("proxy", Dialect::kOpenAI);
  proxy.limits.requests_per_window = 3;
  proxy.limits.window = 30s;
  GatewayStack s({proxy}, [](const std::vector<std::uint16_t>& p) {
    const std::string base = "{api: openai, base_url: \"" + url(p[0]) +
                             "/v1\", keys: [good-key], rpm_throttle_threshold: 0, max_wait: 0s}";
    return "state: {backend: memory}\nproviders:\n  one: " + base + "\n  two: " + base +
           "\nmodels:\n  main: {route: [one/gpt-4o-mini]}\n  other: {route: [two/gpt-4o-mini]}\n";
  });
  HttpClient c(s.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  }
  const std::string other =
      R"({"model":"other","max_tokens":8,"messages":[{"role":"user","content":"hi"}]})";
  HttpResponse r = c.request("POST", "/v1/chat/completions", {}, other);
  EXPECT_EQ(r.status, 429) << r.body;  // sluice's own answer: the shared budget is spent
  EXPECT_TRUE(r.header("retry-after").has_value());
  EXPECT_EQ(s.sim_stats(0)["rejections"]["rpm"], 0) << "nothing was sent into the spent budget";
}

TEST(Scenario7, AnInBandErrorAfterTheFirstByteReachesTheClientOnceAndTheStreamEnds) {
  auto oa = sim_provider("oa", Dialect::kOpenRouter);
  oa.faults.stream_error_rate = 1.0;
  oa.faults.stream_error_after_chunks = 2;
  auto backup = sim_provider("backup", Dialect::kOpenAI);
  GatewayStack s({oa, backup}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  oa: {api: openai, dialect: openrouter, "
           "base_url: \"" +
           url(p[0]) + "/api/v1\", keys: [good-key]}\n  backup: {api: openai, base_url: \"" +
           url(p[1]) +
           "/v1\", keys: [good-key]}\nmodels:\n  main: {route: [oa/x/model, backup/gpt-4o]}\n";
  });
  HttpClient c(s.port());
  const std::string body =
      R"({"model":"main","stream":true,"max_tokens":16,"messages":[{"role":"user","content":"hi"}]})";
  HttpResponse r = c.request("POST", "/v1/chat/completions", {}, body);
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("chat.completion.chunk"), std::string::npos) << "content came first";
  // Exactly one error event, the provider's, in the caller's (OpenAI) format.
  std::size_t errors = 0;
  for (std::size_t at = r.body.find("\"error\":{"); at != std::string::npos;
       at = r.body.find("\"error\":{", at + 1)) {
    ++errors;
  }
  EXPECT_EQ(errors, 1u) << r.body;
  EXPECT_EQ(r.body.find("without its terminal event"), std::string::npos) << r.body;
  EXPECT_EQ(s.sim_stats(1)["requests"], 0) << "after the first byte nothing is retried";
}

TEST(Scenario8, NoCandidateWithinTheDeadlineIs429WithTheEarliestFreeMoment) {
  auto zai = sim_provider("zai", Dialect::kZai);
  zai.latency.fixed = 600ms;
  GatewayStack s({zai}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  zai: {api: openai, dialect: zai, base_url: \"" +
           url(p[0]) +
           "/api/paas/v4\", keys: [good-key], max_concurrent: 1}\nmodels:\n  main: {route: "
           "[zai/glm-5.1]}\n";
  });
  auto busy = std::async(std::launch::async, [port = s.port()] {
    HttpClient c(port);
    return c.request("POST", "/v1/chat/completions", {}, kChat).status;
  });
  ASSERT_TRUE(s.wait_for_in_flight(0, 1));  // it has the only slot
  HttpClient c(s.port());
  HttpResponse r =
      c.request("POST", "/v1/chat/completions", {{"x-sluice-deadline-ms", "100"}}, kChat);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "rate_limit_error");  // the caller's format
  ASSERT_TRUE(r.header("retry-after-ms").has_value());
  EXPECT_GT(std::stoll(*r.header("retry-after-ms")), 0);
  EXPECT_TRUE(r.header("retry-after").has_value());
  EXPECT_EQ(r.header("x-should-retry"), "true");
  EXPECT_EQ(busy.get(), 200);
  EXPECT_EQ(s.sim_stats(0)["rejections"]["concurrency"], 0);
}

TEST(Scenario9, AProviderFailingEverythingCostsBoundedAttempts) {
  auto bad = sim_provider("bad", Dialect::kOpenAI);
  bad.faults.server_error_rate = 1.0;
  GatewayStack s({bad}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  bad: {api: openai, base_url: \"" + url(p[0]) +
           "/v1\", keys: [good-key]}\nmodels:\n  main: {route: [bad/gpt-4o]}\n"
           "retry: {max_attempts: 3, backoff_base: 1ms, backoff_max: 5ms}\n";
  });
  HttpClient c(s.port());
  constexpr int kClients = 40;
  for (int i = 0; i < kClients; ++i) {
    HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
    EXPECT_GE(r.status, 500) << r.body;
    EXPECT_LE(std::stoi(r.header("x-sluice-attempts").value_or("99")), 3);
  }
  const int attempts = s.sim_stats(0)["requests"].get<int>();
  std::cout << "[ scenario 9 ] " << kClients << " client requests cost " << attempts
            << " upstream attempts\n";
  // The retry budget (DESIGN: 20 % of requests) bounds retries across clients.
  EXPECT_LE(attempts, static_cast<int>(kClients * 1.2) + 3);
  EXPECT_GE(attempts, kClients);
}

TEST(Scenario9, AnOutageWithAFallbackFailsNoClientOnceTheRetryBudgetIsSpent) {
  auto down = sim_provider("down", Dialect::kOpenAI);
  down.faults.server_error_rate = 1.0;
  auto backup = sim_provider("backup", Dialect::kOpenAI);
  GatewayStack s({down, backup}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  down: {api: openai, base_url: \"" + url(p[0]) +
           "/v1\", keys: [good-key]}\n  backup: {api: openai, base_url: \"" + url(p[1]) +
           "/v1\", keys: [good-key]}\nmodels:\n  main: {route: [down/gpt-4o, backup/gpt-4o]}\n"
           "retry: {backoff_base: 1ms, backoff_max: 5ms}\n";
  });
  HttpClient c(s.port());
  constexpr int kClients = 40;  // far more failures than the budget's 20 % + 3 can retry
  for (int i = 0; i < kClients; ++i) {
    HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
    EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.body;
  }
  EXPECT_EQ(s.sim_stats(1)["successes"], kClients);
  // Retries on the failing primary stay within the budget.
  EXPECT_LE(s.sim_stats(0)["requests"].get<int>(), static_cast<int>(kClients * 1.2) + 3);
}

TEST(Scenario10, AnUnannouncedKimiCapIsLearnedAndARaisedCapIsRecovered) {
  auto kimi = sim_provider("kimi", Dialect::kKimi);
  kimi.limits.concurrency = 3;  // the truth, announced nowhere
  kimi.latency.fixed = 80ms;
  GatewayStack s({kimi}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  kimi: {api: openai, dialect: kimi, base_url: "
           "\"" +
           url(p[0]) +
           "/v1\", keys: [good-key], max_concurrent: 8}\nmodels:\n  main: {route: "
           "[kimi/kimi-k2]}\n";
  });
  auto wave = [&](int agents, int each) {
    std::vector<std::future<int>> f;
    for (int i = 0; i < agents; ++i) {
      f.push_back(std::async(std::launch::async, [port = s.port(), each] {
        HttpClient c(port);
        int ok = 0;
        for (int j = 0; j < each; ++j) {
          ok += c.request("POST", "/v1/chat/completions", {}, kChat).status == 200;
        }
        return ok;
      }));
    }
    int ok = 0;
    for (auto& x : f) ok += x.get();
    return ok;
  };
  EXPECT_EQ(wave(8, 6), 48);
  const json first = s.sim_stats(0);
  const int learned_429s = first["rejections"]["concurrency"].get<int>();
  std::cout << "[ scenario 10 ] converged after " << learned_429s << " concurrency 429s\n";
  EXPECT_LE(learned_429s, 8) << "a few 429s, not one per request";
  EXPECT_LE(first["keys"]["good-key"]["max_in_flight"].get<int>(), 3);
  // Once converged, a second wave stays at the cap; growth probes above it
  // rarely (each probe may cost one 429, which the client never sees).
  EXPECT_EQ(wave(8, 4), 32);
  const json second = s.sim_stats(0);
  EXPECT_LE(second["rejections"]["concurrency"].get<int>() - learned_429s, 2);
  std::cout << "[ scenario 10 ] second wave: "
            << second["rejections"]["concurrency"].get<int>() - learned_429s
            << " probe 429s, max in flight " << second["keys"]["good-key"]["max_in_flight"] << "\n";

  // The provider raises the cap: successes probe upwards again.
  HttpClient control(s.sim_port(0));
  ASSERT_EQ(control.request("POST", "/_sim/limits", {}, R"({"concurrency": 6})").status, 200);
  EXPECT_EQ(wave(8, 12), 96);
  const json after = s.sim_stats(0);
  std::cout << "[ scenario 10 ] after the cap was raised to 6: max in flight "
            << after["keys"]["good-key"]["max_in_flight"] << "\n";
  EXPECT_GT(after["keys"]["good-key"]["max_in_flight"].get<int>(), 3);
}

}  // namespace
}  // namespace sluice::server
