// The gateway end to end: sluice serve in front of sluice sim, both on
// 127.0.0.1:0 in one io thread, driven by a plain HTTP client.
#include "sluice/server/gateway_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "sluice/config/secret.hpp"
#include "sluice/core/log.hpp"
#include "sluice/state/sqlite/sqlite_store.hpp"
#include "testing/gateway_stack.hpp"
#include "testing/gateway_yaml.hpp"
#include "testing/http_client.hpp"

namespace sluice::server {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;

using testing::sim_base_url;
using testing::sim_provider;
using testing::url;
using Stack = testing::GatewayStack;

const std::string kChat =
    R"({"model":"main","messages":[{"role":"user","content":"hello"}],"max_tokens":16})";
const std::string kChatStream =
    R"({"model":"main","stream":true,"messages":[{"role":"user","content":"hello"}],"max_tokens":16})";

std::string two_provider_yaml(const std::vector<std::uint16_t>& p) {
  return testing::GatewayYaml{}
      .provider({.name = "zai", .dialect = "zai", .base_url = sim_base_url(Dialect::kZai, p[0])})
      .provider(
          {.name = "backup", .dialect = "openai", .base_url = sim_base_url(Dialect::kOpenAI, p[1])})
      .model({.alias = "main", .route = {"zai/glm-5.1", "backup/gpt-4o-mini"}})
      .str();
}

TEST(Gateway, ServesAnAliasAndSplicesTheUpstreamModel) {
  Stack s({sim_provider("zai", Dialect::kZai), sim_provider("backup", Dialect::kOpenAI)},
          two_provider_yaml);
  HttpClient c(s.port());
  HttpResponse r =
      c.request("POST", "/v1/chat/completions", {{"authorization", "Bearer client-token"}}, kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-route"), "zai/glm-5.1");
  EXPECT_EQ(r.header("x-sluice-attempts"), "1");
  EXPECT_FALSE(r.header("x-sluice-fallback"));
  EXPECT_EQ(json::parse(r.body)["model"], "glm-5.1");  // the simulator echoes the model it got
  EXPECT_EQ(s.sim_stats(1)["requests"], 0);
}

TEST(Gateway, RelaysAStreamWhole) {
  Stack s({sim_provider("zai", Dialect::kZai), sim_provider("backup", Dialect::kOpenAI)},
          two_provider_yaml);
  HttpClient c(s.port());
  HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChatStream);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.complete);
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
  EXPECT_NE(r.header("content-type").value_or("").find("text/event-stream"), std::string::npos);
}

TEST(Gateway, FallsBackWhenThePrimaryIsOverloaded) {
  auto primary = sim_provider("zai", Dialect::kZai);
  primary.faults.overload_rate = 1.0;
  Stack s({primary, sim_provider("backup", Dialect::kOpenAI)}, two_provider_yaml);
  HttpClient c(s.port());
  HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-route"), "backup/gpt-4o-mini");
  EXPECT_EQ(r.header("x-sluice-fallback"), "1/2");
  // Overload gets a bounded number of attempts on the primary, then the fallback.
  const int primary_requests = s.sim_stats(0)["requests"];
  EXPECT_GE(primary_requests, 1);
  EXPECT_LE(primary_requests, 2);
}

TEST(Gateway, OneLogLinePerRequestNamesTheRouteTheWaitsAndEveryFailureClass) {
  std::mutex m;
  std::vector<std::string> lines;
  set_log_sink([&](const std::string& line) {
    std::lock_guard lock(m);
    lines.push_back(line);
  });
  set_log_style(LogStyle::kJson);
  {
    auto primary = sim_provider("zai", Dialect::kZai);
    primary.faults.overload_rate = 1.0;
    Stack s({primary, sim_provider("backup", Dialect::kOpenAI)}, two_provider_yaml);
    HttpClient c(s.port());
    ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  }
  set_log_sink(nullptr);
  set_log_style(LogStyle::kLogfmt);
  std::vector<json> requests;
  for (const auto& l : lines) {
    const json j = json::parse(l);  // every line is one JSON object
    if (j["msg"] == "request") requests.push_back(j);
  }
  ASSERT_EQ(requests.size(), 1u);
  const json& r = requests[0];
  EXPECT_EQ(r["level"], "info");
  EXPECT_EQ(r["alias"], "main");
  EXPECT_EQ(r["priority"], "interactive");
  EXPECT_EQ(r["route"], "backup/gpt-4o-mini");
  EXPECT_EQ(r["outcome"], "ok");
  EXPECT_GE(r["attempts"].get<int>(), 2);
  EXPECT_TRUE(r["queue_ms"].is_number());
  EXPECT_TRUE(r["total_ms"].is_number());
  EXPECT_NE(r["failures"].get<std::string>().find("zai/glm-5.1:OVERLOADED"), std::string::npos)
      << r.dump();
}

TEST(Gateway, AStreamErrorBeforeTheFirstByteFallsBackInvisibly) {
  auto primary = sim_provider("zai", Dialect::kZai);
  primary.faults.stream_error_rate = 1.0;
  primary.faults.stream_error_after_chunks = 0;
  Stack s({primary, sim_provider("backup", Dialect::kOpenAI)}, two_provider_yaml);
  HttpClient c(s.port());
  HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChatStream);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-route"), "backup/gpt-4o-mini");
  EXPECT_EQ(r.body.find("\"error\""), std::string::npos) << r.body;
}

TEST(Gateway, ConcurrencyCapOneQueuesInsteadOfDrawing1302) {
  auto zai = sim_provider("zai", Dialect::kZai);
  zai.limits.concurrency = 1;
  zai.latency.fixed = std::chrono::milliseconds(60);
  Stack s({zai}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  zai: {api: openai, dialect: zai, base_url: \"" +
           url(p[0]) +
           "/api/paas/v4\", keys: [good-key]}\nmodels:\n  main: {route: [zai/glm-5.1]}\n";
  });
  constexpr int kClients = 4;
  std::vector<std::future<int>> results;
  for (int i = 0; i < kClients; ++i) {
    results.push_back(std::async(std::launch::async, [port = s.port()] {
      HttpClient c(port);
      return c.request("POST", "/v1/chat/completions", {}, kChat).status;
    }));
  }
  for (auto& f : results) EXPECT_EQ(f.get(), 200);
  const json stats = s.sim_stats(0);
  EXPECT_EQ(stats["keys"]["good-key"]["max_in_flight"], 1) << stats.dump();
  EXPECT_EQ(stats["rejections"]["concurrency"], 0) << stats.dump();
  EXPECT_EQ(stats["successes"], kClients);
}

TEST(Gateway, ABadKeyIsRotatedOutAndTheClientNeverSeesIt) {
  Stack s({sim_provider("openai", Dialect::kOpenAI)}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  oa: {api: openai, base_url: \"" + url(p[0]) +
           "/v1\", keys: [bad-key, good-key], strategy: fill_first}\nmodels:\n  main: {route: "
           "[oa/gpt-4o]}\n";
  });
  HttpClient c(s.port());
  HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-attempts"), "2");
  // The bad key now cools: the next request goes straight to the good one.
  HttpResponse again = c.request("POST", "/v1/chat/completions", {}, kChat);
  EXPECT_EQ(again.header("x-sluice-attempts"), "1");
  HttpResponse status = c.request("GET", "/status");
  EXPECT_NE(status.body.find("\"cooling_class\":\"AUTH\""), std::string::npos) << status.body;
  EXPECT_EQ(status.body.find("bad-key"), std::string::npos);  // secrets never shown
  EXPECT_EQ(status.body.find("good-key"), std::string::npos);
}

TEST(Gateway, AnthropicMessagesGoToAnAnthropicProvider) {
  Stack s({sim_provider("claude", Dialect::kAnthropic)}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  claude: {api: anthropic, dialect: anthropic, "
           "base_url: \"" +
           url(p[0]) +
           "\", keys: [good-key]}\nmodels:\n  sonnet: {route: "
           "[claude/claude-sonnet-4]}\n";
  });
  HttpClient c(s.port());
  HttpResponse r = c.request(
      "POST", "/v1/messages", {{"x-api-key", "client"}, {"anthropic-version", "2023-06-01"}},
      R"({"model":"sonnet","max_tokens":32,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["type"], "message");
}

TEST(Gateway, UnknownModelsAndBadBodiesAnswerInTheCallersFormat) {
  Stack s({sim_provider("zai", Dialect::kZai), sim_provider("backup", Dialect::kOpenAI)},
          two_provider_yaml);
  HttpClient c(s.port());
  HttpResponse openai = c.request("POST", "/v1/chat/completions", {}, R"({"model":"nope"})");
  EXPECT_EQ(openai.status, 404);
  EXPECT_EQ(json::parse(openai.body)["error"]["code"], "model_not_found");
  EXPECT_NE(openai.body.find("aliases: main"), std::string::npos);
  HttpResponse anthropic = c.request("POST", "/v1/messages", {}, R"({"model":"nope"})");
  EXPECT_EQ(anthropic.status, 404);
  EXPECT_EQ(json::parse(anthropic.body)["type"], "error");
  EXPECT_EQ(json::parse(anthropic.body)["error"]["type"], "not_found_error");
  HttpResponse bad = c.request("POST", "/v1/chat/completions", {}, "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(c.request("GET", "/v1/models").status, 200);
  EXPECT_EQ(c.request("GET", "/nowhere").status, 404);
}

std::string single_openai_yaml(const std::vector<std::uint16_t>& p) {
  return testing::GatewayYaml::one("oa", Dialect::kOpenAI, p[0], "gpt-4o-mini",
                                   "rpm_throttle_threshold: 0, max_wait: 5s")
      .str();
}

TEST(Gateway, PacesRequestsToTheRequestWindowItsHeadersReport) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.limits.requests_per_window = 4;
  oa.limits.window = std::chrono::milliseconds(800);
  Stack s({oa}, single_openai_yaml);
  HttpClient c(s.port());
  constexpr int kRequests = 10;  // two and a half windows' worth
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200) << "request " << i;
  }
  const json stats = s.sim_stats(0);
  EXPECT_EQ(stats["rejections"]["rpm"], 0) << stats.dump();  // waited instead of drawing 429s
  EXPECT_EQ(stats["successes"], kRequests);
}

TEST(Gateway, WaitsForTheTokenWindowInsteadOfDrawingA429) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.limits.tokens_per_window = 1000;  // each request costs ~300: three fit per window
  oa.limits.window = std::chrono::milliseconds(800);
  Stack s({oa}, single_openai_yaml);
  HttpClient c(s.port());
  const std::string body =
      R"({"model":"main","max_tokens":296,"messages":[{"role":"user","content":"0123456789abcdef"}]})";
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, body).status, 200) << "request " << i;
  }
  const json stats = s.sim_stats(0);
  EXPECT_EQ(stats["rejections"]["tpm"], 0) << stats.dump();
}

TEST(Gateway, BackgroundWorkPastItsQueueTimeoutIsSkippedWithRetryAfter) {
  auto zai = sim_provider("zai", Dialect::kZai);
  zai.limits.concurrency = 1;
  zai.latency.fixed = std::chrono::milliseconds(400);
  Stack s({zai}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  zai: {api: openai, dialect: zai, base_url: \"" +
           url(p[0]) +
           "/api/paas/v4\", keys: [good-key]}\nmodels:\n  main: {route: [zai/glm-5.1]}\n"
           "  aux: {route: [zai/glm-5.1], priority: background, queue_timeout: 100ms}\n";
  });
  auto interactive = std::async(std::launch::async, [port = s.port()] {
    HttpClient c(port);
    return c.request("POST", "/v1/chat/completions", {}, kChat).status;
  });
  ASSERT_TRUE(s.wait_for_in_flight(0, 1));  // it has the only slot
  HttpClient c(s.port());
  HttpResponse bg = c.request(
      "POST", "/v1/chat/completions", {},
      R"({"model":"aux","messages":[{"role":"user","content":"summarise"}],"max_tokens":8})");
  EXPECT_EQ(bg.status, 429) << bg.body;
  EXPECT_TRUE(bg.header("retry-after").has_value());
  EXPECT_EQ(bg.header("x-should-retry"), "true");
  EXPECT_EQ(interactive.get(), 200);
  EXPECT_EQ(s.sim_stats(0)["rejections"]["concurrency"], 0);
}

TEST(Gateway, GatewayKeysAreEnforcedWhenConfigured) {
  Stack s({sim_provider("oa", Dialect::kOpenAI)}, [](const std::vector<std::uint16_t>& p) {
    return "server: {gateway_keys: [client-secret]}\n" + single_openai_yaml(p);
  });
  HttpClient c(s.port());
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 401);
  EXPECT_EQ(
      c.request("POST", "/v1/chat/completions", {{"authorization", "Bearer wrong"}}, kChat).status,
      401);
  EXPECT_EQ(c.request("GET", "/status").status, 401);
  EXPECT_EQ(c.request("GET", "/health").status, 200);
  EXPECT_EQ(
      c.request("POST", "/v1/chat/completions", {{"authorization", "Bearer client-secret"}}, kChat)
          .status,
      200);
  EXPECT_EQ(c.request("POST", "/v1/messages", {{"x-api-key", "nope"}}, "{}").status, 401);
}

// A CI job's key: held to background priority and one request at a time,
// whatever it asks for; the team's key is not limited.
std::string ci_key_yaml(const std::vector<std::uint16_t>& p) {
  return "server:\n  gateway_keys:\n    - team-secret\n"
         "    - {key: ci-secret, name: ci, priority: background, max_in_flight: 1}\n" +
         single_openai_yaml(p);
}

TEST(Gateway, AGatewayKeyLimitedToBackgroundCannotAskForInteractive) {
  std::mutex m;
  std::vector<std::string> lines;
  set_log_sink([&](const std::string& line) {
    std::lock_guard lock(m);
    lines.push_back(line);
  });
  {
    Stack s({sim_provider("oa", Dialect::kOpenAI)}, ci_key_yaml);
    HttpClient c(s.port());
    ASSERT_EQ(
        c.request("POST", "/v1/chat/completions",
                  {{"authorization", "Bearer ci-secret"}, {"x-sluice-priority", "interactive"}},
                  kChat)
            .status,
        200);
    ASSERT_EQ(
        c.request("POST", "/v1/chat/completions", {{"authorization", "Bearer team-secret"}}, kChat)
            .status,
        200);
  }
  set_log_sink(nullptr);
  std::vector<std::string> requests;
  for (const auto& l : lines) {
    if (l.find("msg=request ") != std::string::npos) requests.push_back(l);
  }
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[0].find("priority=background client=ci "), std::string::npos) << requests[0];
  EXPECT_NE(requests[1].find("priority=interactive client=key:"), std::string::npos) << requests[1];
  for (const auto& l : lines) {
    EXPECT_EQ(l.find("ci-secret"), std::string::npos) << l;
    EXPECT_EQ(l.find("team-secret"), std::string::npos) << l;
  }
}

TEST(Gateway, AGatewayKeyOverItsInFlightCapIsRefusedAtOnceWhileOthersAreServed) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.latency.fixed = std::chrono::milliseconds(500);
  Stack s({oa}, ci_key_yaml);
  const std::vector<std::pair<std::string, std::string>> ci = {
      {"authorization", "Bearer ci-secret"}};
  auto first = std::async(std::launch::async, [&] {
    return HttpClient(s.port()).request("POST", "/v1/chat/completions", ci, kChat).status;
  });
  ASSERT_TRUE(s.wait_for_in_flight(0, 1));  // the first is in flight at the provider
  HttpClient c(s.port());
  HttpResponse busy = c.request("POST", "/v1/chat/completions", ci, kChat);
  EXPECT_EQ(busy.status, 429) << busy.body;
  EXPECT_NE(busy.body.find("gateway_key_busy"), std::string::npos) << busy.body;
  EXPECT_EQ(busy.header("retry-after"), "1");
  EXPECT_EQ(
      c.request("POST", "/v1/chat/completions", {{"authorization", "Bearer team-secret"}}, kChat)
          .status,
      200);
  EXPECT_EQ(first.get(), 200);
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", ci, kChat).status, 200) << "slot returned";
}

// Hermes issue #17929: the primary's only key is cooling from an earlier run.
TEST(Gateway, StartsOnTheFallbackWhileThePrimaryCoolsFromAnEarlierRunThenReturnsByItself) {
  char tmpl[] = "/tmp/sluice-state-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto opened = state::SqliteStore::open({.path = dir + "/state.db"});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  std::unique_ptr<state::SqliteStore> store = std::move(opened.value().store);
  // Set when the cooldown is written, just before the gateway starts: the
  // first request must land well inside it even on a loaded machine.
  TimePoint cooling_until{};

  Stack s({sim_provider("zai", Dialect::kZai), sim_provider("backup", Dialect::kOpenAI)},
          two_provider_yaml, store.get(), [&](const std::vector<std::uint16_t>& p) {
            // What the earlier run wrote when it benched the key.
            state::KeyCooldown cd;
            cd.key_scope = url(p[0]) + "/api/paas/v4|" + config::fingerprint_of("good-key");
            cooling_until = SystemClock().now() + std::chrono::seconds(3);
            cd.cooling_until = cooling_until;
            cd.cooling_class = ErrorClass::kQuotaExhausted;
            cd.reason = "QUOTA_EXHAUSTED via zai-quota";
            EXPECT_TRUE(store->put_cooldown(cd).ok());
          });
  HttpClient c(s.port());
  HttpResponse first = c.request("POST", "/v1/chat/completions", {}, kChat);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-sluice-route"), "backup/gpt-4o-mini");
  EXPECT_EQ(first.header("x-sluice-fallback"), "1/2");
  EXPECT_EQ(s.sim_stats(0)["requests"], 0);  // not one call to the cooling primary
  // That traffic returns to the primary the instant the cooldown ends is
  // asserted under a fake clock, without waiting for it here:
  // EngineScenario.ABenchedPrimaryAtStartUpSendsTheFirstRequestToTheFallback.
  std::filesystem::remove_all(dir);
}

TEST(Gateway, ABenchedKeyIsWrittenToTheStoreForTheNextRun) {
  char tmpl[] = "/tmp/sluice-state-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto opened = state::SqliteStore::open({.path = dir + "/state.db"});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  std::unique_ptr<state::SqliteStore> store = std::move(opened.value().store);
  std::string scope;
  Stack s(
      {sim_provider("openai", Dialect::kOpenAI)},
      [](const std::vector<std::uint16_t>& p) {
        return "state: {backend: memory}\nproviders:\n  oa: {api: openai, base_url: \"" +
               url(p[0]) +
               "/v1\", keys: [bad-key, good-key]}\nmodels:\n  main: {route: "
               "[oa/gpt-4o]}\n";
      },
      store.get(),
      [&](const std::vector<std::uint16_t>& p) {
        scope = url(p[0]) + "/v1|" + config::fingerprint_of("bad-key");
      });
  HttpClient c(s.port());
  ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  auto cd = store->get_cooldown(scope);
  ASSERT_TRUE(cd.ok());
  ASSERT_TRUE(cd.value().has_value());
  EXPECT_EQ(cd.value()->cooling_class, ErrorClass::kAuth);
  EXPECT_TRUE(state::is_active(*cd.value(), SystemClock().now()));
  std::filesystem::remove_all(dir);
}

TEST(Gateway, AConcurrency429LowersTheKeysLimitInsteadOfBenchingIt) {
  auto zai = sim_provider("zai", Dialect::kZai);
  zai.limits.concurrency = 1;  // the truth
  zai.latency.fixed = std::chrono::milliseconds(150);
  Stack s({zai}, [](const std::vector<std::uint16_t>& p) {
    // The operator believes 3 are allowed.
    return "state: {backend: memory}\nproviders:\n  zai: {api: openai, dialect: zai, base_url: \"" +
           url(p[0]) +
           "/api/paas/v4\", keys: [good-key], max_concurrent: 3}\nmodels:\n  main: "
           "{route: [zai/glm-5.1]}\n";
  });
  std::vector<std::future<int>> results;
  for (int i = 0; i < 3; ++i) {
    results.push_back(std::async(std::launch::async, [port = s.port()] {
      HttpClient c(port);
      return c.request("POST", "/v1/chat/completions", {}, kChat).status;
    }));
  }
  for (auto& f : results) EXPECT_EQ(f.get(), 200);
  const json sim = s.sim_stats(0);
  EXPECT_GE(sim["rejections"]["concurrency"], 1) << sim.dump();  // learned from real 1302s
  HttpClient c(s.port());
  const json status = json::parse(c.request("GET", "/status").body);
  const json& key = status["providers"][0]["keys"][0];
  EXPECT_EQ(key["limiters"]["glm-5.1"]["limit"], 1) << status.dump();
  EXPECT_FALSE(key.contains("cooling_s")) << status.dump();  // not benched
}

TEST(Gateway, ADailyQuota429BenchesTheKeyUntilItsReset) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.faults.quota_after = 1;  // the daily quota is spent after one request
  Stack s({oa}, single_openai_yaml);
  HttpClient c(s.port());
  ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_NE(r.body.find("QUOTA_EXHAUSTED"), std::string::npos) << r.body;
  const json status = json::parse(c.request("GET", "/status").body);
  const json& key = status["providers"][0]["keys"][0];
  EXPECT_EQ(key["cooling_class"], "QUOTA_EXHAUSTED") << status.dump();
  // Until the reset (the simulator's: the next UTC midnight), not a default
  // second — however close to midnight the test runs (it once ran at 23:51).
  const auto since_epoch = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const double to_midnight = static_cast<double>(86400 - since_epoch % 86400);
  EXPECT_NEAR(key["cooling_s"].get<double>(), to_midnight, 5.0) << status.dump();
  // Further requests are refused without another upstream call.
  const int before = s.sim_stats(0)["requests"];
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 429);
  EXPECT_EQ(s.sim_stats(0)["requests"], before);
}

TEST(Gateway, DrainFinishesAStreamInFlightAndTakesNoNewConnection) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.latency.ttft = std::chrono::milliseconds(100);
  oa.latency.per_token = std::chrono::milliseconds(40);  // 16 tokens: a ~0.7 s stream
  Stack s({oa}, single_openai_yaml);
  const std::uint16_t port = s.port();
  auto stream = std::async(std::launch::async, [port] {
    HttpClient c(port);
    return c.request("POST", "/v1/chat/completions", {}, kChatStream);
  });
  ASSERT_TRUE(s.wait_for_in_flight(0, 1));  // the stream is under way
  std::promise<std::size_t> cut;
  s.on_gateway([&](GatewayServer& g) {
    g.drain(std::chrono::seconds(5), [&](std::size_t n) { cut.set_value(n); });
  });
  HttpClient late(port);
  HttpResponse refused = late.request("GET", "/health");
  EXPECT_EQ(refused.status, 0) << "a draining gateway accepts no new connection";
  HttpResponse r = stream.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("[DONE]"), std::string::npos) << "the stream ran to its end";
  auto done = cut.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(done.get(), 0u) << "nothing was cut";
}

TEST(Gateway, ADrainCutsWhatOutlivesTheGracePeriod) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.latency.fixed = std::chrono::seconds(3);
  Stack s({oa}, single_openai_yaml);
  const std::uint16_t port = s.port();
  auto slow = std::async(std::launch::async, [port] {
    HttpClient c(port);
    return c.request("POST", "/v1/chat/completions", {}, kChat);
  });
  ASSERT_TRUE(s.wait_for_in_flight(0, 1));  // the slow request is at the provider
  std::promise<std::size_t> cut;
  const auto t0 = std::chrono::steady_clock::now();
  s.on_gateway([&](GatewayServer& g) {
    g.drain(std::chrono::milliseconds(300), [&](std::size_t n) { cut.set_value(n); });
  });
  auto done = cut.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(done.get(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_NE(slow.get().status, 200);  // closed when the grace period ran out
}

TEST(Gateway, AReloadServesTheNewConfigAndKeepsWhatWasLearned) {
  const auto yaml = [](std::uint16_t port, bool with_second_alias) {
    return "state: {backend: memory}\nproviders:\n  oa: {api: openai, base_url: \"" + url(port) +
           "/v1\", keys: [bad-key, good-key], strategy: round_robin}\nmodels:\n  main: {route: "
           "[oa/gpt-4o]}\n" +
           (with_second_alias ? "  second: {route: [oa/gpt-4o-mini]}\n" : "");
  };
  std::uint16_t sim_port = 0;
  Stack s({sim_provider("openai", Dialect::kOpenAI)}, [&](const std::vector<std::uint16_t>& p) {
    sim_port = p[0];
    return yaml(p[0], false);
  });
  HttpClient c(s.port());
  for (int i = 0; i < 2; ++i) {  // round robin reaches the bad key: it is benched
    ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  }
  ASSERT_EQ(s.sim_stats(0)["rejections"]["auth"], 1);
  const std::string second =
      R"({"model":"second","max_tokens":8,"messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", {}, second).status, 404);

  EXPECT_TRUE(s.reload(yaml(sim_port, true)).empty());
  // The same connection goes on; the new alias routes; the bench holds.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c.request("POST", "/v1/chat/completions", {}, second).status, 200);
  }
  EXPECT_EQ(s.sim_stats(0)["rejections"]["auth"], 1) << "the benched key stayed benched";
  const json status = json::parse(c.request("GET", "/status").body);
  EXPECT_NE(status.dump().find("AUTH"), std::string::npos) << status.dump();
}

TEST(Gateway, AReloadThatChangesTheListenAddressSaysItNeedsARestart) {
  Stack s({sim_provider("openai", Dialect::kOpenAI)}, single_openai_yaml);
  const std::string moved =
      "server: {listen: \"127.0.0.1:4999\"}\n" + single_openai_yaml({s.sim_port(0)});
  const auto notes = s.reload(moved);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("next restart"), std::string::npos);
  HttpClient c(s.port());  // still on the old port
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
}

}  // namespace
}  // namespace sluice::server
