// The engine alone, under a fake clock: the policies' scenarios replayed
// exactly, in milliseconds, with no socket and no sleep (testing/engine_harness).
// Each test states when things must happen and checks that they happened
// then, to the nanosecond of the fake clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sluice/engine/engine_impl.hpp"
#include "sluice/state/test_support.hpp"
#include "testing/engine_harness.hpp"
#include "testing/request_log.hpp"

namespace sluice::engine {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::EngineHarness;
using testing::FakeReply;
using testing::SentRequest;

// Times of the sends, relative to `t0`.
std::vector<Duration> send_times(const testing::FakeProvider& p, TimePoint t0) {
  std::vector<Duration> out;
  for (const auto& s : p.sent) out.push_back(s.at - t0);
  return out;
}

// Delays one answer's head by `d`.
testing::FakeProvider::Script slow(Duration d) {
  return [d](const SentRequest&) {
    FakeReply r = FakeReply::chat();
    r.head_after = d;
    return r;
  };
}

nlohmann::json status_of(EngineHarness& h) {
  return nlohmann::json::parse(h.engine().status_json());
}

constexpr const char* kOneProvider =
    "state: {backend: memory}\n"
    "providers:\n"
    "  zai: {api: openai, dialect: zai, base_url: \"http://zai.test/api/paas/v4\", keys: "
    "[env:ZAI1], max_concurrent: 2}\n"
    "models:\n"
    "  main: {route: [zai/glm-4.6], queue_timeout: 30s}\n";

TEST(EngineScenario, AnAnswerComesBackThroughThePorts) {
  EngineHarness h(kOneProvider);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  auto call = h.chat("main");
  ASSERT_TRUE(call->done);
  EXPECT_EQ(call->writer.status, 200);
  EXPECT_NE(call->writer.body.find("\"ok\""), std::string::npos) << call->writer.body;
  const auto& sent = h.provider("zai").sent;
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].path, "/v1/chat/completions");
  EXPECT_EQ(sent[0].authorization, "Bearer sk-ZAI1");
  EXPECT_NE(sent[0].body.find("\"glm-4.6\""), std::string::npos);
}

// Scenario 1: a concurrency limit per key. A third request waits for a slot
// and is sent the instant one frees, not a poll later.
TEST(EngineScenario, AThirdRequestWaitsForASlotAndGoesTheMomentOneFrees) {
  EngineHarness h(kOneProvider);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("zai").script = slow(seconds(10));
  const TimePoint t0 = h.now();
  auto a = h.chat("main");
  auto b = h.chat("main");
  auto c = h.chat("main");
  EXPECT_EQ(send_times(h.provider("zai"), t0), (std::vector<Duration>{{}, {}}));
  h.advance(seconds(10));
  EXPECT_TRUE(a->done && b->done);
  EXPECT_FALSE(c->done);
  EXPECT_EQ(send_times(h.provider("zai"), t0), (std::vector<Duration>{{}, {}, seconds(10)}));
  h.advance(seconds(10));
  ASSERT_TRUE(c->done);
  EXPECT_EQ(c->writer.status, 200);
  EXPECT_EQ(c->writer.header("x-sluice-queue-ms"), "10000");
  EXPECT_EQ(h.provider("zai").max_in_flight, 2);
}

// Scenario 8: back-pressure. A request that cannot get a slot within its
// queue timeout is told so at that instant, with when to come back.
TEST(EngineScenario, AQueuedRequestGivesUpAtItsQueueTimeoutWithA429) {
  EngineHarness h(
      "state: {backend: memory}\n"
      "providers:\n"
      "  zai: {api: openai, dialect: zai, base_url: \"http://zai.test/api/paas/v4\", keys: "
      "[env:ZAI1], max_concurrent: 1}\n"
      "models:\n"
      "  main: {route: [zai/glm-4.6], queue_timeout: 5s}\n");
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("zai").script = slow(seconds(60));
  auto first = h.chat("main");
  auto second = h.chat("main");
  h.advance(seconds(5) - milliseconds(1));
  EXPECT_FALSE(second->done);
  h.advance(milliseconds(1));
  ASSERT_TRUE(second->done);
  EXPECT_EQ(second->writer.status, 429);
  EXPECT_TRUE(second->writer.header("retry-after").has_value());
  EXPECT_EQ(h.provider("zai").sent.size(), 1u);
  EXPECT_FALSE(first->done);
}

// Two providers: a z.ai primary and a Kimi fallback, one key each.
constexpr const char* kPrimaryAndFallback =
    "state: {backend: memory}\n"
    "providers:\n"
    "  zai: {api: openai, dialect: zai, base_url: \"http://zai.test/api/paas/v4\", keys: "
    "[env:ZAI1], max_concurrent: 4}\n"
    "  kimi: {api: openai, dialect: kimi, base_url: \"http://kimi.test/v1\", keys: "
    "[env:KIMI1], max_concurrent: 4}\n"
    "models:\n"
    "  main: {route: [zai/glm-4.6, kimi/kimi-k2]}\n";

std::string key_scope(EngineHarness& h, const std::string& provider, std::size_t key = 0) {
  const nlohmann::json status = status_of(h);
  for (const auto& p : status["providers"]) {
    if (p["name"] == provider) {
      return p["base_url"].get<std::string>() + "|" +
             p["keys"][key]["fingerprint"].get<std::string>();
    }
  }
  return {};
}

nlohmann::json key_status(EngineHarness& h, const std::string& provider, std::size_t key = 0) {
  const nlohmann::json status = status_of(h);
  for (const auto& p : status["providers"]) {
    if (p["name"] == provider) return p["keys"][key];
  }
  return {};
}

// Scenario 6: fallback at start-up. The primary's only key is benched (by an
// earlier run or another instance): the first request goes to the fallback
// without trying the primary at all.
TEST(EngineScenario, ABenchedPrimaryAtStartUpSendsTheFirstRequestToTheFallback) {
  EngineHarness h(kPrimaryAndFallback);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  const std::string scope = key_scope(h, "zai");
  ASSERT_TRUE(h.store()
                  .put_cooldown({.key_scope = scope,
                                 .cooling_until = h.now() + std::chrono::hours(1),
                                 .cooling_class = ErrorClass::kQuotaExhausted,
                                 .reason = "5-hour quota",
                                 .consecutive_failures = 1})
                  .ok());
  h.engine().apply_shared_cooldown(scope);
  auto call = h.chat("main");
  ASSERT_TRUE(call->done);
  EXPECT_EQ(call->writer.status, 200);
  EXPECT_EQ(call->writer.header("x-sluice-route"), "kimi/kimi-k2");
  EXPECT_EQ(call->writer.header("x-sluice-fallback"), "1/2");
  EXPECT_EQ(call->writer.header("x-sluice-attempts"), "1");
  EXPECT_TRUE(h.provider("zai").sent.empty());
  // Back on the primary the instant the cooldown ends, by itself.
  h.advance(std::chrono::hours(1) - milliseconds(1));
  EXPECT_EQ(h.chat("main")->writer.header("x-sluice-route"), "kimi/kimi-k2");
  h.advance(milliseconds(1));
  auto later = h.chat("main");
  EXPECT_EQ(later->writer.header("x-sluice-route"), "zai/glm-4.6");
  EXPECT_FALSE(later->writer.header("x-sluice-fallback"));
}

// Scenario 7: fallback mid-flight, before the first byte. A key the provider
// refuses is benched (AUTH: a minute, then tried again) and the fallback
// answers; requests meanwhile do not try the benched key.
TEST(EngineScenario, ARefusedKeyFallsBackInvisiblyAndIsBenchedForAMinute) {
  EngineHarness h(kPrimaryAndFallback);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("zai").script = [](const SentRequest&) {
    return FakeReply::json(401, R"({"error":{"code":"1000","message":"Authentication failed"}})");
  };
  auto first = h.chat("main");
  ASSERT_TRUE(first->done);
  EXPECT_EQ(first->writer.status, 200);
  EXPECT_EQ(first->writer.header("x-sluice-route"), "kimi/kimi-k2");
  auto second = h.chat("main");
  ASSERT_TRUE(second->done);
  EXPECT_EQ(second->writer.status, 200);
  EXPECT_EQ(h.provider("zai").sent.size(), 1u);
  EXPECT_EQ(h.provider("kimi").sent.size(), 2u);
  EXPECT_EQ(key_status(h, "zai")["cooling_class"], "AUTH");
  EXPECT_EQ(key_status(h, "zai")["cooling_s"], 60.0);
  h.provider("zai").script = [](const SentRequest&) { return FakeReply::chat(); };
  h.advance(seconds(59));
  (void)h.chat("main");
  EXPECT_EQ(h.provider("zai").sent.size(), 1u);
  h.advance(seconds(1));
  auto later = h.chat("main");
  EXPECT_EQ(later->writer.header("x-sluice-route"), "zai/glm-4.6");
  EXPECT_EQ(h.provider("zai").sent.size(), 2u);
}

// A provider's own words reach the client's error answer. They are cut to a
// few hundred bytes, and z.ai writes Chinese: a cut inside a character, or a
// text body that is not UTF-8 at all, must still give a JSON answer.
TEST(EngineScenario, AProvidersWordsThatAreNotValidUtf8StillGiveAJsonAnswer) {
  EngineHarness h(kOneProvider);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  std::string chinese;
  while (chinese.size() < 400) chinese += "\xe6\x9c\x8d\xe5\x8a\xa1";  // "服务", 3 bytes each
  h.provider("zai").script = [&](const SentRequest&) {
    return FakeReply::json(
        400, R"({"error":{"code":"1214","message":"x)" + chinese + R"("}})");  // 301 + 1 bytes in
  };
  auto cut = h.chat("main");
  ASSERT_TRUE(cut->done);
  EXPECT_EQ(cut->writer.status, 400);
  const auto answer = nlohmann::json::parse(cut->writer.body);
  EXPECT_NE(answer["error"]["message"].get<std::string>().find("\xe6\x9c\x8d"), std::string::npos);

  h.provider("zai").script = [](const SentRequest&) {
    FakeReply r;
    r.status = 400;
    r.headers.emplace_back("content-type", "text/plain");
    r.body.emplace_back(Duration::zero(), "bad \xff\xfe request");
    return r;
  };
  auto latin = h.chat("main");
  ASSERT_TRUE(latin->done);
  EXPECT_EQ(latin->writer.status, 400);
  EXPECT_TRUE(nlohmann::json::accept(latin->writer.body)) << latin->writer.body;
}

// After the first byte nothing can be retried: a stream the provider cuts
// ends with an error event in the caller's format, and no fallback is tried.
TEST(EngineScenario, AStreamCutAfterItsFirstByteEndsWithAnErrorEventNotAFallback) {
  EngineHarness h(kPrimaryAndFallback);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("zai").script = [](const SentRequest&) {
    FakeReply r = FakeReply::chat_stream({"Hel", "lo"}, milliseconds(100));
    r.body.pop_back();  // no finish, no [DONE]
    r.cut = true;
    return r;
  };
  auto call = h.chat("main", R"(,"stream":true)");
  EXPECT_FALSE(call->done);
  h.advance(milliseconds(200));
  ASSERT_TRUE(call->done);
  EXPECT_EQ(call->writer.status, 200);
  EXPECT_NE(call->writer.body.find("Hel"), std::string::npos);
  EXPECT_NE(call->writer.body.find("\"error\""), std::string::npos) << call->writer.body;
  EXPECT_EQ(call->writer.body.find("[DONE]"), std::string::npos);
  EXPECT_TRUE(h.provider("kimi").sent.empty());
}

// A client that hangs up is its own doing: logged as such, and the
// provider's key is neither benched nor skipped for it afterwards.
TEST(EngineScenario, AClientHangingUpIsLoggedAsSuchAndNeverBenchesTheKey) {
  testing::RequestLog log;
  EngineHarness h(kPrimaryAndFallback);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("zai").script = [](const SentRequest& s) {
    if (s.body.find("\"stream\":true") != std::string::npos) {
      return FakeReply::chat_stream({"a", "b", "c", "d"}, milliseconds(100));
    }
    FakeReply r = FakeReply::chat();
    r.head_after = seconds(2);
    return r;
  };
  auto streaming = h.chat("main", R"(,"stream":true)");
  streaming->writer.gone_after_chunks = 1;  // leaves after the first chunk
  auto whole = h.chat("main");
  whole->writer.gone_after_chunks = 0;  // gone by the time the answer is written
  h.advance(seconds(3));
  ASSERT_TRUE(streaming->done && whole->done);
  const auto lines = log.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["outcome"], "CLIENT_DISCONNECT");
  EXPECT_EQ(lines[1]["outcome"], "CLIENT_DISCONNECT");
  EXPECT_EQ(h.provider("zai").in_flight, 0);  // the upstream answer was dropped, not leaked
  EXPECT_FALSE(key_status(h, "zai").contains("cooling_class")) << key_status(h, "zai");
  // The next request still goes to the primary: nothing was held against it.
  auto next = h.chat("main");
  h.advance(seconds(3));
  EXPECT_EQ(next->writer.header("x-sluice-route"), "zai/glm-4.6");
  EXPECT_TRUE(h.provider("kimi").sent.empty());
}

// Scenario 10: adaptive concurrency. z.ai's concurrency 429 (code 1302)
// lowers the key's limit instead of benching the key, and the request is
// queued again rather than failed.
TEST(EngineScenario, AConcurrencyRefusalLowersTheLimitAndTheRequestStillSucceeds) {
  EngineHarness h(kPrimaryAndFallback);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  int n = 0;
  h.provider("zai").script = [&n](const SentRequest&) {
    if (n++ == 0) {
      return FakeReply::json(
          429, R"({"error":{"code":"1302","message":"High concurrency usage of this API"}})");
    }
    return FakeReply::chat();
  };
  auto call = h.chat("main");
  h.advance(seconds(5));
  ASSERT_TRUE(call->done);
  EXPECT_EQ(call->writer.status, 200);
  EXPECT_EQ(call->writer.header("x-sluice-route"), "zai/glm-4.6");
  const auto k = key_status(h, "zai");
  EXPECT_FALSE(k.contains("cooling_class")) << k;
  EXPECT_LT(k["limiters"]["glm-4.6"]["limit"].get<int>(), 4) << k;
  EXPECT_TRUE(h.provider("kimi").sent.empty());
}

// One OpenAI provider with two keys, and an Anthropic one beside it.
constexpr const char* kPoolAndNeighbour =
    "state: {backend: memory}\n"
    "providers:\n"
    "  openai: {api: openai, dialect: openai, base_url: \"http://openai.test/v1\", keys: "
    "[env:OA1, env:OA2], strategy: round_robin, max_concurrent: 8, max_wait: 30s}\n"
    "  anthropic: {api: anthropic, base_url: \"http://anthropic.test\", keys: [env:AN1], "
    "max_concurrent: 1}\n"
    "models:\n"
    "  gpt: {route: [openai/gpt-4o]}\n"
    "  claude: {route: [anthropic/claude-sonnet-4-5]}\n";

// One OpenAI provider with one key.
constexpr const char* kOneOpenAIKey =
    "state: {backend: memory}\n"
    "providers:\n"
    "  openai: {api: openai, dialect: openai, base_url: \"http://openai.test/v1\", keys: "
    "[env:OA1], max_concurrent: 8, max_wait: 30s}\n"
    "models:\n  gpt: {route: [openai/gpt-4o]}\n";

std::vector<std::string> keys_used(const testing::FakeProvider& p) {
  std::vector<std::string> out;
  for (const auto& s : p.sent) out.push_back(s.authorization);
  return out;
}

// Scenario 2: requests-per-minute from the provider's own headers. With the
// window spent, the next request waits for its reset (within max_wait) and
// is sent then, not 429'd by the provider first.
TEST(EngineScenario, ASpentRequestWindowHoldsTheNextRequestUntilItsReset) {
  EngineHarness h(kOneOpenAIKey);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("openai").script = [](const SentRequest&) {
    return FakeReply::chat("ok", {{"x-ratelimit-limit-requests", "60"},
                                  {"x-ratelimit-remaining-requests", "0"},
                                  {"x-ratelimit-reset-requests", "20s"}});
  };
  const TimePoint t0 = h.now();
  ASSERT_TRUE(h.chat("gpt")->done);
  auto second = h.chat("gpt");
  EXPECT_FALSE(second->done);
  h.advance(seconds(20) - milliseconds(1));
  EXPECT_EQ(h.provider("openai").sent.size(), 1u);
  h.advance(seconds(2));
  ASSERT_TRUE(second->done);
  EXPECT_EQ(second->writer.status, 200);
  ASSERT_EQ(h.provider("openai").sent.size(), 2u);
  // At the reset exactly: a relative reset ("20s") has no uncertainty.
  EXPECT_EQ(h.provider("openai").sent[1].at - t0, seconds(20));
}

// Scenario 3: token budgets. A request whose estimated tokens exceed what is
// left of the provider's token window waits for the window's reset.
TEST(EngineScenario, ARequestLargerThanTheTokensLeftWaitsForTheTokenWindow) {
  EngineHarness h(kOneOpenAIKey);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("openai").script = [](const SentRequest&) {
    return FakeReply::chat("ok", {{"x-ratelimit-limit-tokens", "30000"},
                                  {"x-ratelimit-remaining-tokens", "100"},
                                  {"x-ratelimit-reset-tokens", "6s"}});
  };
  ASSERT_TRUE(h.chat("gpt")->done);
  // ~2,000 tokens of prompt and 1,000 of output: more than the 100 left.
  const std::string big(8000, 'x');
  auto heavy =
      h.start(R"({"model":"gpt","max_tokens":1000,"messages":[{"role":"user","content":")" + big +
              R"("}]})");
  EXPECT_FALSE(heavy->done);
  h.advance(seconds(5));
  EXPECT_EQ(h.provider("openai").sent.size(), 1u);
  h.advance(seconds(2));
  ASSERT_TRUE(heavy->done);
  EXPECT_EQ(heavy->writer.status, 200);
}

// Scenario 4: isolation. A saturated provider's queue does not hold up a
// request for another provider.
TEST(EngineScenario, ASaturatedProviderDoesNotHoldUpAnother) {
  EngineHarness h(kPoolAndNeighbour);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("anthropic").script = [](const SentRequest&) {
    FakeReply r = FakeReply::json(
        200,
        R"({"id":"m","type":"message","role":"assistant","content":[{"type":"text","text":"hi"}],)"
        R"("stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}})");
    r.head_after = seconds(60);
    return r;
  };
  const std::string claude =
      R"({"model":"claude","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})";
  auto slow1 = h.start(claude, "/v1/messages");
  auto slow2 = h.start(claude, "/v1/messages");  // queued behind the first: limit 1
  auto fast = h.chat("gpt");
  EXPECT_TRUE(fast->done);
  EXPECT_EQ(fast->writer.status, 200);
  EXPECT_FALSE(slow1->done);
  EXPECT_FALSE(slow2->done);
  EXPECT_EQ(h.provider("anthropic").sent.size(), 1u);
}

// Scenario 5: credential pools. A key the provider rate-limits cools for the
// provider's retry-after while the pool's other key serves, and is used
// again once it is over — without the caller seeing a 429.
TEST(EngineScenario, ARateLimitedKeyCoolsForItsRetryAfterWhileTheOtherKeyServes) {
  EngineHarness h(kPoolAndNeighbour);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("openai").script = [](const SentRequest& s) {
    if (s.authorization == "Bearer sk-OA1") {
      return FakeReply::json(
          429,
          R"({"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}})",
          {{"retry-after", "30"}});
    }
    return FakeReply::chat();
  };
  for (int i = 0; i < 4; ++i) {
    auto c = h.chat("gpt");
    ASSERT_TRUE(c->done);
    EXPECT_EQ(c->writer.status, 200) << c->writer.body;
  }
  auto used = keys_used(h.provider("openai"));
  EXPECT_EQ(std::count(used.begin(), used.end(), "Bearer sk-OA1"), 1)
      << ::testing::PrintToString(used);
  EXPECT_EQ(key_status(h, "openai", 0)["cooling_class"], "RATE_LIMIT");
  EXPECT_EQ(key_status(h, "openai", 0)["cooling_s"], 30.0);
  h.provider("openai").script = [](const SentRequest&) { return FakeReply::chat(); };
  h.advance(seconds(30));
  (void)h.chat("gpt");
  (void)h.chat("gpt");
  used = keys_used(h.provider("openai"));
  EXPECT_EQ(std::count(used.begin(), used.end(), "Bearer sk-OA1"), 2)
      << ::testing::PrintToString(used);
}

// A success ends a key's failure streak in the store too, so a restart does
// not double the next cooldown as if the failures had gone on.
TEST(EngineScenario, ASuccessEndsTheStoredFailureStreak) {
  EngineHarness h(kPoolAndNeighbour);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  int n = 0;
  h.provider("openai").script = [&n](const SentRequest&) {
    if (n++ == 0) {
      return FakeReply::json(429, R"({"error":{"message":"Rate limit reached for requests"}})",
                             {{"retry-after", "1"}});
    }
    return FakeReply::chat();
  };
  (void)h.chat("gpt");  // key 1 fails, key 2 serves
  const std::string scope = key_scope(h, "openai", 0);
  ASSERT_EQ(h.store().get_cooldown(scope).value()->consecutive_failures, 1);
  h.advance(seconds(1));
  (void)h.chat("gpt");  // round robin: key 1 again, and it succeeds
  (void)h.chat("gpt");
  EXPECT_EQ(h.store().get_cooldown(scope).value()->consecutive_failures, 0);
}

// Scenario 9: retry storms. A provider failing with 500s is retried with the
// configured backoff and a cap on attempts, then the caller gets one error —
// not a hammering loop.
TEST(EngineScenario, ServerErrorsAreRetriedWithBackoffUpToTheCapThenAnswered) {
  EngineHarness h(
      "state: {backend: memory}\n"
      "providers:\n"
      "  openai: {api: openai, dialect: openai, base_url: \"http://openai.test/v1\", keys: "
      "[env:OA1], max_concurrent: 8}\n"
      "models:\n  gpt: {route: [openai/gpt-4o]}\n"
      "retry: {max_attempts: 3, max_attempts_per_candidate: 3, backoff_base: 1s, backoff_max: "
      "8s}\n");
  ASSERT_TRUE(h.ok()) << h.load_errors();
  h.provider("openai").script = [](const SentRequest&) {
    return FakeReply::json(
        500, R"({"error":{"message":"The server had an error","type":"server_error"}})");
  };
  const TimePoint t0 = h.now();
  auto call = h.chat("gpt");
  h.advance(seconds(30));
  ASSERT_TRUE(call->done);
  EXPECT_EQ(call->writer.status / 100, 5) << call->writer.body;
  const auto times = send_times(h.provider("openai"), t0);
  ASSERT_EQ(times.size(), 3u);
  // Jittered exponential backoff; with the harness's draws all the same, the
  // jitter is the same fraction each time, so the second gap is exactly
  // twice the first, and the first lies within the jittered base.
  EXPECT_GE(times[1], milliseconds(500));
  EXPECT_LE(times[1], seconds(1));
  EXPECT_EQ(times[2] - times[1], 2 * (times[1] - times[0]));
}

// One exit: however a request ends, exactly one log line says how, and the
// counters agree with it.
TEST(EngineScenario, EveryEndingWritesExactlyOneLogLineThatNamesIt) {
  testing::RequestLog log;
  EngineHarness h(kPrimaryAndFallback);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  int n = 0;
  h.provider("zai").script = [&n](const SentRequest&) {
    switch (n++) {
      case 0: return FakeReply::chat();  // ok
      case 1: {                          // cut after its first byte
        FakeReply r = FakeReply::chat_stream({"a"}, milliseconds(10));
        r.body.pop_back();
        r.cut = true;
        return r;
      }
      case 2: return FakeReply::chat_stream({"a", "b", "c"}, milliseconds(10));  // client leaves
      default: return FakeReply::json(400, R"({"error":{"message":"bad request","code":"1214"}})");
    }
  };
  h.provider("kimi").script = [](const SentRequest&) {
    return FakeReply::json(400, R"({"error":{"message":"bad request"}})");
  };
  (void)h.chat("main");
  (void)h.chat("main", R"(,"stream":true)");
  h.advance(seconds(1));
  auto leaving = h.chat("main", R"(,"stream":true)");
  leaving->writer.gone_after_chunks = 1;
  h.advance(seconds(1));
  (void)h.chat("main");  // both candidates refuse it
  const auto lines = log.lines();
  std::vector<std::string> outcomes;
  for (const auto& l : lines) outcomes.push_back(l["outcome"]);
  EXPECT_EQ(outcomes,
            (std::vector<std::string>{"ok", "STREAM_DROP", "CLIENT_DISCONNECT", "FORMAT_ERROR"}));
  const auto counters = status_of(h)["counters"];
  EXPECT_EQ(counters["requests"], 4);
  EXPECT_EQ(counters["requests_ok"], 1);
  EXPECT_EQ(counters["requests_error"], 3);
}

// Conversation reads fail, as a Redis that went away would.
class UnreadableConversations final : public state::test::ForwardingStore {
 public:
  state::Result<std::optional<std::string>> get_conversation(std::string_view, TimePoint) override {
    return state::StoreError{"redis 10.0.0.5:6379: connection refused"};
  }
};

// Every cursor write, as the store saw it.
class CursorWrites final : public state::test::ForwardingStore {
 public:
  std::vector<std::size_t> written;
  state::Status put_cursor(std::string_view p, std::size_t c) override {
    written.push_back(c);
    return inner.put_cursor(p, c);
  }
};

// A round-robin pool's cursor is written at most once a second, not on every
// request: in Redis mode each write was a round trip the io thread waited for.
TEST(EngineScenario, ARoundRobinCursorIsWrittenAtMostOnceASecond) {
  CursorWrites store;
  EngineHarness h(kPoolAndNeighbour, {0.5}, &store);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(h.chat("gpt")->writer.status, 200);
  EXPECT_EQ(store.written.size(), 1u);
  EXPECT_EQ(keys_used(h.provider("openai")).size(), 5u);
  h.advance(milliseconds(999));
  ASSERT_EQ(h.chat("gpt")->writer.status, 200);
  EXPECT_EQ(store.written.size(), 1u);
  h.advance(milliseconds(1));
  ASSERT_EQ(h.chat("gpt")->writer.status, 200);
  ASSERT_EQ(store.written.size(), 2u);
  // What was written is where rotation stood: 7 picks over two keys.
  EXPECT_EQ(store.written.back(), 7u % 2u);
}

// A conversation sluice cannot read is sluice's trouble: a retryable 503,
// not a 400 that tells the client its request was wrong.
TEST(EngineScenario, AStoreThatCannotBeReadIsA503NotTheCallersFault) {
  UnreadableConversations store;
  EngineHarness h(kPrimaryAndFallback, {0.5}, &store);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  auto call =
      h.start(R"({"model":"main","previous_response_id":"resp_x","input":"hi"})", "/v1/responses");
  ASSERT_TRUE(call->done);
  EXPECT_EQ(call->writer.status, 503) << call->writer.body;
  EXPECT_NE(call->writer.body.find("state_unavailable"), std::string::npos);
  EXPECT_EQ(call->writer.header("x-should-retry"), "true");
  EXPECT_TRUE(h.provider("zai").sent.empty());
}

// Redis mode's port, answering only when the test says (as a distant Redis
// would, a round trip later).
class SlowCoordinator final : public state::Coordinator {
 public:
  struct Asked {
    state::AdmissionRequest request;
    std::function<void(state::Admission)> done;
  };
  std::vector<Asked> asked;
  std::vector<std::string> released;

  state::Admission admit(const state::AdmissionRequest&) override { return {}; }
  void admit_async(const state::AdmissionRequest& r,
                   std::function<void(state::Admission)> done) override {
    asked.push_back({r, std::move(done)});
  }
  void release(const state::AdmissionRequest&, const std::string& id, bool) override {
    released.push_back(id);
  }
  void share_snapshot(const state::AdmissionRequest&, const RateLimitSnapshot&) override {}
  void renew() override {}
  Duration lease_ttl() const override { return seconds(10); }

  void grant(std::size_t i, std::string id) {
    state::Admission a;
    a.kind = state::Admission::Kind::kGranted;
    a.lease_id = std::move(id);
    asked[i].done(std::move(a));
  }
};

TEST(EngineScenario, NoRequestWaitsForAnotherRequestsRedisRoundTrip) {
  SlowCoordinator redis;
  EngineHarness h(
      "state: {backend: memory}\n"
      "providers:\n"
      "  a: {api: openai, base_url: \"http://a.test/v1\", keys: [env:A1]}\n"
      "  b: {api: openai, base_url: \"http://b.test/v1\", keys: [env:B1]}\n"
      "models:\n"
      "  first: {route: [a/m]}\n"
      "  second: {route: [b/m]}\n",
      {0.5}, nullptr, &redis);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  auto first = h.chat("first");
  auto second = h.chat("second");
  // Both asked at once: the second did not wait for the first's answer.
  ASSERT_EQ(redis.asked.size(), 2u);
  EXPECT_FALSE(first->done);
  redis.grant(1, "lease-2");
  h.run();
  EXPECT_TRUE(second->done);
  EXPECT_EQ(second->writer.status, 200);
  EXPECT_FALSE(first->done);  // still waiting for its own answer only
  redis.grant(0, "lease-1");
  h.run();
  EXPECT_TRUE(first->done);
  EXPECT_EQ(redis.released, (std::vector<std::string>{"lease-2", "lease-1"}));
}

// Redis mode's port answering inside admit_async, as RedisCoordinator does
// from a spare lease.
class InstantCoordinator final : public state::Coordinator {
 public:
  std::vector<std::string> released;
  state::Admission admit(const state::AdmissionRequest&) override {
    state::Admission a;
    a.kind = state::Admission::Kind::kGranted;
    a.lease_id = "spare-" + std::to_string(++granted_);
    return a;
  }
  void release(const state::AdmissionRequest&, const std::string& id, bool) override {
    released.push_back(id);
  }
  void share_snapshot(const state::AdmissionRequest&, const RateLimitSnapshot&) override {}
  void renew() override {}
  Duration lease_ttl() const override { return seconds(10); }

 private:
  int granted_ = 0;
};

TEST(EngineScenario, AnAdmissionAnsweredAtOnceCostsWhatMemoryModeCosts) {
  EngineHarness memory(kOneProvider, {0.5});
  ASSERT_TRUE(memory.ok());
  const std::size_t before_memory = memory.timers().made();
  auto alone = memory.chat("main");
  memory.run();
  ASSERT_TRUE(alone->done);
  const std::size_t memory_timers = memory.timers().made() - before_memory;

  InstantCoordinator redis;
  EngineHarness shared(kOneProvider, {0.5}, nullptr, &redis);
  ASSERT_TRUE(shared.ok());
  const std::size_t before_shared = shared.timers().made();
  auto call = shared.chat("main");
  shared.run();
  ASSERT_TRUE(call->done);
  EXPECT_EQ(call->writer.status, 200);
  // No admission timer, no wait for a posted answer: the lease was at hand.
  EXPECT_EQ(shared.timers().made() - before_shared, memory_timers);
  EXPECT_EQ(redis.released, (std::vector<std::string>{"spare-1"}));
}

TEST(EngineScenario, AnAdmissionAnsweredAfterItsRequestGaveUpIsGivenBack) {
  SlowCoordinator redis;
  EngineHarness h(kOneProvider, {0.5}, nullptr, &redis);
  ASSERT_TRUE(h.ok());
  auto call = h.chat("main");
  ASSERT_EQ(redis.asked.size(), 1u);
  h.advance(seconds(3));  // no answer within the admission wait: local limits only
  EXPECT_TRUE(call->done);
  EXPECT_EQ(call->writer.status, 200);
  redis.grant(0, "late");
  h.run();
  EXPECT_EQ(redis.released, (std::vector<std::string>{"late"}));
}

// The header's figures: ms to the hundredth, rounded half up, never negative.
TEST(ServerTimingHeader, SaysEachFigureInMsToTheHundredth) {
  using std::chrono::microseconds;
  using std::chrono::nanoseconds;
  EXPECT_EQ(internal::server_timing(microseconds(12'345), microseconds(0), nanoseconds(1'004'999)),
            "sluice;dur=11.34;desc=\"sluice overhead\", queue;dur=0.00, wait;dur=1.00;"
            "desc=\"provider and throttle waits\"");
  EXPECT_EQ(internal::server_timing(nanoseconds(2'005'000), nanoseconds(5'000), microseconds(0)),
            "sluice;dur=2.00;desc=\"sluice overhead\", queue;dur=0.01, wait;dur=0.00;"
            "desc=\"provider and throttle waits\"");
  // A clock that stepped back shows no negative overhead.
  EXPECT_EQ(internal::server_timing(microseconds(10), microseconds(30), microseconds(0)),
            "sluice;dur=0.00;desc=\"sluice overhead\", queue;dur=0.03, wait;dur=0.00;"
            "desc=\"provider and throttle waits\"");
}

}  // namespace
}  // namespace sluice::engine
