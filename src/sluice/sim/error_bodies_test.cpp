#include "sluice/sim/error_bodies.hpp"

#include <gtest/gtest.h>

#include <array>
#include <nlohmann/json.hpp>

#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::sim {
namespace {

constexpr std::array<Dialect, 7> kDialects = {
    Dialect::kOpenAI, Dialect::kAzure, Dialect::kAnthropic, Dialect::kOpenRouter,
    Dialect::kGroq,   Dialect::kZai,   Dialect::kKimi};

const TimePoint kNow = *policy::parse_rfc3339("2026-08-22T00:00:00Z");

RefusalFacts facts() {
  RefusalFacts f;
  f.method = "POST";
  f.path = "/v1/nowhere";
  f.model = "sim-model";
  f.api_key = "sk-wrong-key-123456";
  f.bad = BadRequest{BadRequest::Why::kMissing, "model"};
  f.limit = 5;
  f.used = 5;
  f.requested = 17;
  f.wait = milliseconds(1500);
  f.now = kNow;
  f.reset_at = kNow + seconds(3600);
  f.request_id = "req_sim_1";
  return f;
}

policy::Classification classify_reply(Dialect d, const ErrorReply& r) {
  policy::UpstreamOutcome o;
  o.dialect = d;
  o.status = r.status;
  o.body = r.body;
  o.now = kNow;
  return policy::classify(o);
}

struct Expectation {
  Refusal refusal;
  ErrorClass cls;
};

// The class sluice's own classifier must give each refusal, in every dialect.
TEST(ErrorBodies, EveryRefusalClassifiesAsItsKindInEveryDialect) {
  const std::array<Expectation, 11> table = {{
      {Refusal::kBadRequest, ErrorClass::kFormatError},
      {Refusal::kAuth, ErrorClass::kAuth},
      {Refusal::kModelNotFound, ErrorClass::kModelNotFound},
      {Refusal::kConcurrency, ErrorClass::kConcurrencyLimit},
      {Refusal::kRequestsPerWindow, ErrorClass::kRateLimit},
      {Refusal::kTokensPerWindow, ErrorClass::kRateLimit},
      {Refusal::kDaily, ErrorClass::kQuotaExhausted},
      {Refusal::kQuota, ErrorClass::kQuotaExhausted},
      {Refusal::kBilling, ErrorClass::kBilling},
      {Refusal::kOverload, ErrorClass::kOverloaded},
      {Refusal::kServerError, ErrorClass::kServerError},
  }};
  for (Dialect d : kDialects) {
    for (const auto& [refusal, cls] : table) {
      const ErrorReply reply = render_refusal(d, refusal, facts());
      const auto c = classify_reply(d, reply);
      EXPECT_FALSE(c.ok);
      EXPECT_EQ(c.cls, cls) << to_string(d) << " " << stats_name(refusal) << " -> "
                            << to_string(c.cls) << " by " << c.rule << ": " << reply.body;
    }
  }
}

TEST(ErrorBodies, ARequestLargerThanTheWholeWindowIsNeverRetryable) {
  for (Dialect d : kDialects) {
    const ErrorReply reply = render_refusal(d, Refusal::kTooLarge, facts());
    const auto c = classify_reply(d, reply);
    EXPECT_TRUE(c.cls == ErrorClass::kPayloadTooLarge || c.cls == ErrorClass::kContextOverflow)
        << to_string(d) << ": " << to_string(c.cls) << " " << reply.body;
    EXPECT_FALSE(c.traits.retryable) << to_string(d);
  }
  EXPECT_EQ(render_refusal(Dialect::kGroq, Refusal::kTooLarge, facts()).status, 413);
}

TEST(ErrorBodies, StatusCodesFollowTheProviders) {
  auto status = [](Dialect d, Refusal r) { return render_refusal(d, r, facts()).status; };
  EXPECT_EQ(status(Dialect::kAnthropic, Refusal::kOverload), 529);
  EXPECT_EQ(status(Dialect::kOpenAI, Refusal::kOverload), 503);
  EXPECT_EQ(status(Dialect::kGroq, Refusal::kOverload), 498);
  EXPECT_EQ(status(Dialect::kZai, Refusal::kOverload), 429);
  EXPECT_EQ(status(Dialect::kKimi, Refusal::kOverload), 429);
  EXPECT_EQ(status(Dialect::kOpenRouter, Refusal::kOverload), 503);
  EXPECT_EQ(status(Dialect::kAnthropic, Refusal::kBilling), 400);
  EXPECT_EQ(status(Dialect::kOpenAI, Refusal::kBilling), 429);
  EXPECT_EQ(status(Dialect::kOpenRouter, Refusal::kBilling), 402);
  EXPECT_EQ(status(Dialect::kZai, Refusal::kBilling), 429);
  for (Dialect d : kDialects) {
    EXPECT_EQ(status(d, Refusal::kNotFound), 404) << to_string(d);
    EXPECT_EQ(status(d, Refusal::kAuth), 401) << to_string(d);
    EXPECT_EQ(status(d, Refusal::kBadRequest), 400) << to_string(d);
    EXPECT_EQ(status(d, Refusal::kServerError), 500) << to_string(d);
  }
}

TEST(ErrorBodies, EnvelopesAreEachProvidersOwn) {
  using nlohmann::json;
  auto body = [](Dialect d, Refusal r) { return json::parse(render_refusal(d, r, facts()).body); };
  const json openai = body(Dialect::kOpenAI, Refusal::kRequestsPerWindow);
  EXPECT_EQ(openai["error"]["code"], "rate_limit_exceeded");
  EXPECT_EQ(openai["error"]["type"], "requests");
  EXPECT_NE(openai["error"]["message"].get<std::string>().find("(RPM): Limit 5, Used 5"),
            std::string::npos);
  EXPECT_NE(openai["error"]["message"].get<std::string>().find("Please try again in 1.5s."),
            std::string::npos);
  const json anthropic = body(Dialect::kAnthropic, Refusal::kOverload);
  EXPECT_EQ(anthropic["type"], "error");
  EXPECT_EQ(anthropic["error"]["type"], "overloaded_error");
  EXPECT_EQ(anthropic["request_id"], "req_sim_1");
  const json zai = body(Dialect::kZai, Refusal::kConcurrency);
  EXPECT_EQ(zai["error"]["code"], "1302");  // a string of digits
  const json kimi = body(Dialect::kKimi, Refusal::kConcurrency);
  EXPECT_EQ(kimi["error"]["type"], "rate_limit_reached_error");
  EXPECT_NE(kimi["error"]["message"].get<std::string>().find("max concurrency: 5"),
            std::string::npos);
  const json openrouter = body(Dialect::kOpenRouter, Refusal::kAuth);
  EXPECT_EQ(openrouter["error"]["code"], 401);
  EXPECT_EQ(body(Dialect::kAzure, Refusal::kModelNotFound)["error"]["code"], "DeploymentNotFound");
  const json zai_quota = body(Dialect::kZai, Refusal::kQuota);
  EXPECT_EQ(zai_quota["error"]["code"], "1308");
  // Reset stamps in Beijing time: 01:00 UTC is 09:00 in Beijing.
  EXPECT_NE(zai_quota["error"]["message"].get<std::string>().find("2026-08-22 09:00:00"),
            std::string::npos);
}

TEST(ErrorBodies, OpenRouterEchoesItsRateLimitHeadersInTheBody) {
  RefusalFacts f = facts();
  f.echoed_headers = {{"X-RateLimit-Limit", "5"},
                      {"X-RateLimit-Remaining", "0"},
                      {"X-RateLimit-Reset", "1787356800000"}};
  const auto j =
      nlohmann::json::parse(render_refusal(Dialect::kOpenRouter, Refusal::kDaily, f).body);
  EXPECT_EQ(j["error"]["metadata"]["headers"]["X-RateLimit-Reset"], "1787356800000");
  EXPECT_EQ(j["error"]["metadata"]["limit_source"], "openrouter_free_tier_daily");
}

TEST(ErrorBodies, InBandStreamErrorsClassifyAsTheirClass) {
  for (Dialect d : kDialects) {
    std::string stream =
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
    if (d == Dialect::kAnthropic) {
      stream = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
    }
    for (const auto& e : render_stream_error(d, "chatcmpl-1", "m", kNow)) stream += e;
    policy::UpstreamOutcome o;
    o.dialect = d;
    o.status = 200;
    o.body = stream;
    o.now = kNow;
    const auto c = policy::classify(o);
    EXPECT_FALSE(c.ok) << to_string(d);
    EXPECT_EQ(c.cls, d == Dialect::kAnthropic ? ErrorClass::kOverloaded : ErrorClass::kServerError)
        << to_string(d) << " " << to_string(c.cls) << " by " << c.rule;
  }
}

TEST(ErrorBodies, GarbageIsNotJson) {
  EXPECT_TRUE(nlohmann::json::parse(garbage_body(), nullptr, false).is_discarded());
}

}  // namespace
}  // namespace sluice::sim
