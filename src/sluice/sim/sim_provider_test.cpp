#include "sluice/sim/sim_provider.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "sluice/core/headers.hpp"
#include "sluice/core/text.hpp"
#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/ratelimit/header_parser.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"
#include "sluice/sim/test_support.hpp"
#include "sluice/sim/wire_time.hpp"
#include "testing/fake_clock.hpp"
#include "testing/scripted_rng.hpp"

namespace sluice::sim {
namespace {

using nlohmann::json;
using sluice::testing::FakeClock;
using std::chrono::nanoseconds;
using test::classify_plan;
using test::header;
using test::header_list;
using test::stream_bytes;

constexpr std::array<Dialect, 7> kDialects = {
    Dialect::kOpenAI, Dialect::kAzure, Dialect::kAnthropic, Dialect::kOpenRouter,
    Dialect::kGroq,   Dialect::kZai,   Dialect::kKimi};

// Two keys, a 2-second "minute" and a 4-second "day": every window in these
// tests rolls over within a few simulated seconds.
ProviderSimConfig base_config(Dialect d) {
  ProviderSimConfig c;
  c.name = "sim";
  c.dialect = d;
  c.keys = {"k1", "k2"};
  c.limits.window = seconds(2);
  c.limits.daily_window = seconds(4);
  c.seed = 7;
  return c;
}

std::string generation_path(Dialect d) {
  return d == Dialect::kAnthropic ? "/v1/messages" : "/v1/chat/completions";
}

// A small generation request: prompt "hi" (1 token) + max_tokens 16 = cost 17.
SimRequest generation(Dialect d, std::string key = "k1", bool stream = false,
                      std::int64_t max_tokens = 16) {
  json body = {{"model", "sim-model"},
               {"max_tokens", max_tokens},
               {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  if (stream) body["stream"] = true;
  return SimRequest{"POST", generation_path(d), std::move(key), body.dump()};
}

bool has_header(const ResponsePlan& p, std::string_view name) {
  for (const auto& [n, v] : p.headers) {
    if (iequals(n, name)) return true;
  }
  return false;
}

policy::HeaderParseResult parse_headers(Dialect d, const ResponsePlan& p, TimePoint now) {
  const HeaderList h = header_list(p);
  return policy::parse_rate_limit_headers(h.view(), d, now);
}

std::int64_t stat(const SimProvider& sim, const char* group, const char* kind) {
  return sim.stats()[group][kind].get<std::int64_t>();
}

// ---------------------------------------------------------------- limits

// Sends `n` requests 100 ms apart, finishing each at once; returns the
// refused plans.
std::vector<ResponsePlan> send_burst(SimProvider& sim, FakeClock& clock, Dialect d, int n,
                                     std::string key = "k1") {
  std::vector<ResponsePlan> refused;
  for (int i = 0; i < n; ++i) {
    ResponsePlan p = sim.on_request(generation(d, key), clock.now());
    sim.on_finished(p.ticket, clock.now());
    if (p.status != 200) refused.push_back(std::move(p));
    clock.advance(milliseconds(100));
  }
  return refused;
}

TEST(SimLimits, RequestsPerWindowRefuseExactlyTheExcessAndReopenOnTime) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    const TimePoint t0 = clock.now();
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.requests_per_window = 5;
    SimProvider sim(cfg);
    const auto refused = send_burst(sim, clock, d, 5 + 3);
    ASSERT_EQ(refused.size(), 3u);
    for (const auto& p : refused) {
      EXPECT_EQ(p.ticket, 0u);  // nothing admitted, no slot held
      const auto c = classify_plan(d, p, t0);
      EXPECT_EQ(c.cls, ErrorClass::kRateLimit) << c.rule << " " << p.body;
    }
    EXPECT_EQ(stat(sim, "rejections", "rpm"), 3);
    EXPECT_EQ(sim.stats()["keys"]["k1"]["admitted"], 5);

    // The window opened with the first request, at t0; it ends at t0 + 2 s exactly.
    clock.advance_to(t0 + seconds(2) - nanoseconds(1));
    EXPECT_EQ(sim.on_request(generation(d), clock.now()).status, refused.front().status);
    clock.advance_to(t0 + seconds(2));
    EXPECT_EQ(sim.on_request(generation(d), clock.now()).status, 200);
  }
}

TEST(SimLimits, TokensPerWindowRefuseExactlyTheExcessAndReopenOnTime) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    const TimePoint t0 = clock.now();
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.tokens_per_window = 5 * 17;  // five requests of cost 17
    SimProvider sim(cfg);
    const auto refused = send_burst(sim, clock, d, 5 + 4);
    ASSERT_EQ(refused.size(), 4u);
    for (const auto& p : refused) {
      EXPECT_EQ(classify_plan(d, p, t0).cls, ErrorClass::kRateLimit) << p.body;
    }
    EXPECT_EQ(stat(sim, "rejections", "tpm"), 4);
    EXPECT_EQ(sim.stats()["keys"]["k1"]["tokens"], 85);
    clock.advance_to(t0 + seconds(2));
    EXPECT_EQ(sim.on_request(generation(d), clock.now()).status, 200);
  }
}

TEST(SimLimits, DailyQuotaRefusesTheExcessAsQuotaExhaustedAndReopensOnTime) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    const TimePoint t0 = clock.now();
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.daily = 4;
    SimProvider sim(cfg);
    const auto refused = send_burst(sim, clock, d, 4 + 2);
    ASSERT_EQ(refused.size(), 2u);
    for (const auto& p : refused) {
      EXPECT_EQ(classify_plan(d, p, t0).cls, ErrorClass::kQuotaExhausted) << p.body;
    }
    EXPECT_EQ(stat(sim, "rejections", "daily"), 2);
    clock.advance_to(t0 + seconds(4) - milliseconds(1));
    EXPECT_NE(sim.on_request(generation(d), clock.now()).status, 200);
    clock.advance_to(t0 + seconds(4));
    EXPECT_EQ(sim.on_request(generation(d), clock.now()).status, 200);
  }
}

TEST(SimLimits, ARequestLargerThanTheWholeTokenWindowIsNeverAdmitted) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.tokens_per_window = 100;
    SimProvider sim(cfg);
    const ResponsePlan p = sim.on_request(generation(d, "k1", false, 500), clock.now());
    const auto c = classify_plan(d, p, clock.now());
    EXPECT_FALSE(c.traits.retryable) << to_string(c.cls) << " " << p.body;
    EXPECT_EQ(stat(sim, "rejections", "too_large"), 1);
    EXPECT_EQ(sim.on_request(generation(d), clock.now()).status, 200);  // nothing was spent
  }
}

TEST(SimLimits, KeysHaveIndependentBudgets) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.limits.requests_per_window = 2;
  SimProvider sim(cfg);
  EXPECT_EQ(send_burst(sim, clock, Dialect::kOpenAI, 3, "k1").size(), 1u);
  EXPECT_EQ(send_burst(sim, clock, Dialect::kOpenAI, 3, "k2").size(), 1u);
}

TEST(SimLimits, LimitsAreCheckedConcurrencyFirstThenRequestsThenTokensThenDaily) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.limits.concurrency = 1;
  cfg.limits.requests_per_window = 1;
  cfg.limits.tokens_per_window = 17;
  cfg.limits.daily = 1;
  SimProvider sim(cfg);
  const ResponsePlan first = sim.on_request(generation(Dialect::kOpenAI), clock.now());
  ASSERT_EQ(first.status, 200);
  sim.on_request(generation(Dialect::kOpenAI), clock.now());  // slot still held
  EXPECT_EQ(stat(sim, "rejections", "concurrency"), 1);
  sim.on_finished(first.ticket, clock.now());
  sim.on_request(generation(Dialect::kOpenAI), clock.now());
  EXPECT_EQ(stat(sim, "rejections", "rpm"), 1);
  EXPECT_EQ(stat(sim, "rejections", "tpm"), 0);
  EXPECT_EQ(stat(sim, "rejections", "daily"), 0);
}

TEST(SimConcurrency, InFlightNeverExceedsTheCapAndSlotsFreeOnFinish) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.concurrency = 2;
    SimProvider sim(cfg);
    const ResponsePlan a = sim.on_request(generation(d), clock.now());
    const ResponsePlan b = sim.on_request(generation(d), clock.now());
    const ResponsePlan c = sim.on_request(generation(d), clock.now());
    ASSERT_EQ(a.status, 200);
    ASSERT_EQ(b.status, 200);
    EXPECT_NE(a.ticket, 0u);
    EXPECT_NE(a.ticket, b.ticket);
    EXPECT_EQ(c.ticket, 0u);
    EXPECT_EQ(classify_plan(d, c, clock.now()).cls, ErrorClass::kConcurrencyLimit) << c.body;

    sim.on_finished(a.ticket, clock.now());
    sim.on_finished(a.ticket, clock.now());  // idempotent: frees one slot, not two
    sim.on_finished(0, clock.now());         // a refusal's ticket frees nothing
    const ResponsePlan e = sim.on_request(generation(d), clock.now());
    EXPECT_EQ(e.status, 200);
    EXPECT_NE(sim.on_request(generation(d), clock.now()).status, 200);

    const json k1 = sim.stats()["keys"]["k1"];
    EXPECT_EQ(k1["in_flight"], 2);
    EXPECT_EQ(k1["max_in_flight"], 2);
    EXPECT_EQ(stat(sim, "rejections", "concurrency"), 2);
    sim.on_finished(b.ticket, clock.now());
    sim.on_finished(e.ticket, clock.now());
    EXPECT_EQ(sim.stats()["in_flight"], 0);
  }
}

TEST(SimConcurrency, TheCapIsPerKey) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kZai);
  cfg.limits.concurrency = 1;
  SimProvider sim(cfg);
  EXPECT_EQ(sim.on_request(generation(Dialect::kZai, "k1"), clock.now()).status, 200);
  EXPECT_EQ(sim.on_request(generation(Dialect::kZai, "k2"), clock.now()).status, 200);
  EXPECT_EQ(sim.on_request(generation(Dialect::kZai, "k1"), clock.now()).status, 429);
}

// --------------------------------------------------------------- headers

TEST(SimHeaders, RemainingCountsDownAndResetsOnTime) {
  FakeClock clock;
  const TimePoint t0 = clock.now();
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.limits.requests_per_window = 3;
  cfg.limits.tokens_per_window = 1000;
  SimProvider sim(cfg);
  for (int i = 1; i <= 3; ++i) {
    const ResponsePlan p = sim.on_request(generation(Dialect::kOpenAI), clock.now());
    EXPECT_EQ(header(p, "x-ratelimit-remaining-requests"), std::to_string(3 - i));
    EXPECT_EQ(header(p, "x-ratelimit-remaining-tokens"), std::to_string(1000 - 17 * i));
    clock.advance(milliseconds(500));
  }
  // 1.5 s in: the window (opened at t0) is full again at t0 + 2 s.
  const ResponsePlan refused = sim.on_request(generation(Dialect::kOpenAI), clock.now());
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(header(refused, "x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(header(refused, "x-ratelimit-reset-requests"), "500ms");
  EXPECT_EQ(header(refused, "retry-after"), "1");
  clock.advance_to(t0 + seconds(2));
  const ResponsePlan fresh = sim.on_request(generation(Dialect::kOpenAI), clock.now());
  EXPECT_EQ(fresh.status, 200);
  EXPECT_EQ(header(fresh, "x-ratelimit-remaining-requests"), "2");
  EXPECT_EQ(header(fresh, "x-ratelimit-reset-requests"), "2s");
}

TEST(SimHeaders, EveryResponseCarriesADateOfNow) {
  for (Dialect d : kDialects) {
    FakeClock clock;
    clock.advance(milliseconds(1700));
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.requests_per_window = 1;
    SimProvider sim(cfg);
    for (const SimRequest& r :
         {generation(d), generation(d), generation(d, "nope"), SimRequest{"GET", "/x", "k1", ""},
          SimRequest{"POST", generation_path(d), "k1", "{"}}) {
      const ResponsePlan p = sim.on_request(r, clock.now());
      EXPECT_EQ(header(p, "date"), format_http_date(clock.now())) << to_string(d) << p.status;
      EXPECT_EQ(policy::parse_http_date(header(p, "date")), TimePoint(seconds(1'800'000'001)));
    }
  }
}

// Parses the plan's headers with sluice's own parser and compares each bucket
// with the budget the model holds.
void expect_bucket(const policy::HeaderParseResult& parsed, std::string_view name,
                   const BucketReport& held, TimePoint now, Duration tolerance = Duration::zero()) {
  const RateLimitBucket* b = parsed.snapshot.find(name);
  ASSERT_NE(b, nullptr) << name;
  EXPECT_EQ(b->limit, held.limit) << name;
  EXPECT_EQ(b->remaining, held.remaining) << name;
  ASSERT_TRUE(b->reset_after) << name;
  const Duration truth = held.full_at > now ? held.full_at - now : Duration::zero();
  // Never earlier than the truth (a client obeying it never retries early),
  // and late by less than the format's resolution.
  EXPECT_GE(*b->reset_after, truth) << name;
  EXPECT_LE(*b->reset_after, truth + tolerance) << name;
}

TEST(SimHeaders, SluicesParserReadsBackExactlyWhatTheModelHolds) {
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic, Dialect::kGroq, Dialect::kAzure}) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.requests_per_window = 5;
    cfg.limits.tokens_per_window = 1000;
    cfg.limits.daily = 9;
    SimProvider sim(cfg);
    for (int i = 0; i < 3; ++i) {
      const ResponsePlan p = sim.on_request(generation(d), clock.now());
      const auto parsed = parse_headers(d, p, clock.now());
      EXPECT_TRUE(parsed.diagnostics.empty());
      const BudgetReport held = *sim.budget("k1", clock.now());
      if (d == Dialect::kGroq) {
        expect_bucket(parsed, "requests_day", *held.daily, clock.now());  // Groq: per DAY
        EXPECT_EQ(parsed.snapshot.find("requests"), nullptr);
      } else {
        expect_bucket(parsed, "requests", *held.requests, clock.now());
      }
      expect_bucket(parsed, "tokens", *held.tokens, clock.now());
      clock.advance(seconds(1));  // whole seconds: every format is exact
    }
  }
}

TEST(SimHeaders, AtFractionalTimesResetsAreLateByLessThanTheirResolution) {
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic, Dialect::kGroq, Dialect::kAzure}) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    clock.advance(milliseconds(300));
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.requests_per_window = 5;
    cfg.limits.tokens_per_window = 1000;
    cfg.limits.daily = 9;
    SimProvider sim(cfg);
    sim.on_request(generation(d), clock.now());
    clock.advance(milliseconds(1234));
    const ResponsePlan p = sim.on_request(generation(d), clock.now());
    const BudgetReport held = *sim.budget("k1", clock.now());
    const auto parsed = parse_headers(d, p, clock.now());
    // Go durations round to the ms; Azure's integer seconds and Anthropic's
    // RFC 3339 (measured from a whole-second Date) to the second, twice over.
    const Duration tol = (d == Dialect::kOpenAI || d == Dialect::kGroq) ? milliseconds(1)
                         : d == Dialect::kAzure                         ? seconds(1)
                                                                        : seconds(2);
    expect_bucket(parsed, d == Dialect::kGroq ? "requests_day" : "requests",
                  d == Dialect::kGroq ? *held.daily : *held.requests, clock.now(), tol);
    expect_bucket(parsed, "tokens", *held.tokens, clock.now(), tol);
  }
}

TEST(SimHeaders, OpenRouterSendsItsTripleOnlyOnItsOwn429sAndEchoesItInTheBody) {
  FakeClock clock;
  const TimePoint t0 = clock.now();
  ProviderSimConfig cfg = base_config(Dialect::kOpenRouter);
  cfg.limits.requests_per_window = 2;
  SimProvider sim(cfg);
  const ResponsePlan ok = sim.on_request(generation(Dialect::kOpenRouter), clock.now());
  EXPECT_FALSE(has_header(ok, "X-RateLimit-Limit"));
  sim.on_request(generation(Dialect::kOpenRouter), clock.now());
  clock.advance(milliseconds(500));
  const ResponsePlan refused = sim.on_request(generation(Dialect::kOpenRouter), clock.now());
  ASSERT_EQ(refused.status, 429);
  EXPECT_EQ(header(refused, "X-RateLimit-Limit"), "2");
  EXPECT_EQ(header(refused, "X-RateLimit-Remaining"), "0");
  EXPECT_EQ(header(refused, "X-RateLimit-Reset"), std::to_string(to_unix_ms(t0 + seconds(2))));
  EXPECT_EQ(header(refused, "retry-after"), "2");  // 1.5 s, rounded up
  const json body = json::parse(refused.body);
  EXPECT_EQ(body["error"]["metadata"]["headers"]["X-RateLimit-Reset"],
            header(refused, "X-RateLimit-Reset"));
  const auto parsed = parse_headers(Dialect::kOpenRouter, refused, clock.now());
  expect_bucket(parsed, "requests", *sim.budget("k1", clock.now())->requests, clock.now(),
                seconds(1));
  const auto c = classify_plan(Dialect::kOpenRouter, refused, clock.now());
  EXPECT_EQ(c.cls, ErrorClass::kRateLimit);
  EXPECT_EQ(c.wait, seconds(2));
}

TEST(SimHeaders, ZaiAndKimiSendNoRateLimitHeadersAtAll) {
  for (Dialect d : {Dialect::kZai, Dialect::kKimi}) {
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.requests_per_window = 1;
    cfg.limits.tokens_per_window = 1000;
    SimProvider sim(cfg);
    for (int i = 0; i < 2; ++i) {
      const ResponsePlan p = sim.on_request(generation(d), clock.now());
      EXPECT_TRUE(parse_headers(d, p, clock.now()).snapshot.empty()) << to_string(d);
      EXPECT_FALSE(has_header(p, "retry-after"));
    }
  }
}

TEST(SimHeaders, AzureAddsRetryAfterMsOnItsThrottles) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kAzure);
  cfg.limits.requests_per_window = 1;
  SimProvider sim(cfg);
  sim.on_request(generation(Dialect::kAzure), clock.now());
  clock.advance(milliseconds(250));
  const ResponsePlan p = sim.on_request(generation(Dialect::kAzure), clock.now());
  EXPECT_EQ(header(p, "retry-after"), "2");
  EXPECT_EQ(header(p, "retry-after-ms"), "1750");
  EXPECT_EQ(header(p, "x-ratelimit-reset-requests"), "2");
  EXPECT_EQ(parse_headers(Dialect::kAzure, p, clock.now()).snapshot.retry_after,
            milliseconds(1750));
}

TEST(SimHeaders, AnthropicResetsAreRfc3339Instants) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kAnthropic);
  cfg.limits.requests_per_window = 5;
  SimProvider sim(cfg);
  const ResponsePlan p = sim.on_request(generation(Dialect::kAnthropic), clock.now());
  EXPECT_EQ(header(p, "anthropic-ratelimit-requests-reset"),
            format_rfc3339_ceil(clock.now() + seconds(2)));
  EXPECT_EQ(header(p, "anthropic-ratelimit-requests-remaining"), "4");
  EXPECT_FALSE(header(p, "request-id").empty());
}

// ------------------------------------------------------ errors by dialect

TEST(SimErrors, AWrongKeyIsTheDialectsAuthError) {
  for (Dialect d : kDialects) {
    FakeClock clock;
    SimProvider sim(base_config(d));
    for (const char* key : {"wrong", ""}) {
      const ResponsePlan p = sim.on_request(generation(d, key), clock.now());
      EXPECT_EQ(p.status, 401) << to_string(d);
      EXPECT_EQ(classify_plan(d, p, clock.now()).cls, ErrorClass::kAuth) << p.body;
      EXPECT_EQ(p.ticket, 0u);
    }
    EXPECT_EQ(stat(sim, "rejections", "auth"), 2);
    EXPECT_FALSE(sim.stats()["keys"].contains("wrong"));  // refused keys leave no state
    EXPECT_FALSE(sim.budget("wrong", clock.now()));
  }
}

TEST(SimErrors, AnEmptyKeyListAcceptsAnyKey) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.keys.clear();
  SimProvider sim(cfg);
  EXPECT_EQ(sim.on_request(generation(Dialect::kOpenAI, "whatever"), clock.now()).status, 200);
  EXPECT_EQ(sim.on_request(generation(Dialect::kOpenAI, ""), clock.now()).status, 200);
}

TEST(SimErrors, MalformedRequestsGetTheDialectsOwn400) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    SimProvider sim(base_config(d));
    const std::string path = generation_path(d);
    for (const char* body :
         {"{not json", "", "[]", R"({"messages":[{"role":"user","content":"x"}]})",
          R"({"model":"m"})", R"({"model":"m","messages":"hi"})"}) {
      const ResponsePlan p = sim.on_request({"POST", path, "k1", body}, clock.now());
      EXPECT_EQ(p.status, 400) << body;
      EXPECT_FALSE(json::parse(p.body, nullptr, false).is_discarded());
      EXPECT_EQ(classify_plan(d, p, clock.now()).cls, ErrorClass::kFormatError) << p.body;
    }
    EXPECT_EQ(stat(sim, "rejections", "bad_request"), 6);
  }
}

TEST(SimErrors, UnknownRoutesAre404sInTheDialectsFormat) {
  for (Dialect d : kDialects) {
    FakeClock clock;
    SimProvider sim(base_config(d));
    for (const SimRequest& r : {SimRequest{"POST", "/v2/chat", "k1", "{}"},
                                SimRequest{"GET", generation_path(d), "k1", ""},
                                SimRequest{"POST", "/v1/models", "k1", "{}"}}) {
      const ResponsePlan p = sim.on_request(r, clock.now());
      EXPECT_EQ(p.status, 404) << to_string(d) << " " << r.method << " " << r.path;
      EXPECT_FALSE(json::parse(p.body, nullptr, false).is_discarded());
    }
    EXPECT_EQ(stat(sim, "rejections", "not_found"), 3);
  }
  // Anthropic does not speak the OpenAI routes, and the other way round.
  FakeClock clock;
  SimProvider anthropic(base_config(Dialect::kAnthropic));
  EXPECT_EQ(anthropic.on_request(generation(Dialect::kOpenAI), clock.now()).status, 404);
  SimProvider openai(base_config(Dialect::kOpenAI));
  EXPECT_EQ(openai.on_request(generation(Dialect::kAnthropic), clock.now()).status, 404);
}

TEST(SimErrors, UnlistedModelsAreTheDialectsModelNotFound) {
  for (Dialect d : kDialects) {
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.models = {"only-this-one"};
    SimProvider sim(cfg);
    const ResponsePlan p = sim.on_request(generation(d), clock.now());
    EXPECT_EQ(classify_plan(d, p, clock.now()).cls, ErrorClass::kModelNotFound)
        << to_string(d) << p.body;
    EXPECT_EQ(stat(sim, "rejections", "model_not_found"), 1);
  }
}

TEST(SimFaults, BillingAfterNSuccessesClassifiesAsBillingInEveryDialect) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.faults.billing_after = 3;
    SimProvider sim(cfg);
    const auto refused = send_burst(sim, clock, d, 3 + 2);
    ASSERT_EQ(refused.size(), 2u);
    for (const auto& p : refused) {
      EXPECT_EQ(classify_plan(d, p, clock.now()).cls, ErrorClass::kBilling) << p.body;
    }
    EXPECT_EQ(stat(sim, "rejections", "billing"), 2);
    // Listing models needs no credit.
    EXPECT_EQ(sim.on_request({"GET", "/v1/models", "k1", ""}, clock.now()).status, 200);
  }
}

TEST(SimFaults, QuotaAfterNRequestsClassifiesAsQuotaExhaustedInEveryDialect) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.daily_window = std::chrono::hours(24);
    cfg.faults.quota_after = 2;
    SimProvider sim(cfg);
    const auto refused = send_burst(sim, clock, d, 2 + 3);
    ASSERT_EQ(refused.size(), 3u);
    for (const auto& p : refused) {
      EXPECT_EQ(classify_plan(d, p, clock.now()).cls, ErrorClass::kQuotaExhausted) << p.body;
    }
    EXPECT_EQ(stat(sim, "rejections", "quota"), 3);
  }
}

TEST(SimFaults, OverloadIsTheDialectsCapacityErrorAndSpendsNothing) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.limits.requests_per_window = 1;
    cfg.faults.overload_rate = 1.0;
    SimProvider sim(cfg);
    for (int i = 0; i < 3; ++i) {
      const ResponsePlan p = sim.on_request(generation(d), clock.now());
      EXPECT_EQ(p.ticket, 0u);
      EXPECT_EQ(classify_plan(d, p, clock.now()).cls, ErrorClass::kOverloaded) << p.body;
    }
    EXPECT_EQ(stat(sim, "rejections", "overload"), 3);
    EXPECT_EQ(stat(sim, "rejections", "rpm"), 0);
  }
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kAnthropic);
  cfg.faults.overload_rate = 1.0;
  EXPECT_EQ(SimProvider(cfg).on_request(generation(Dialect::kAnthropic), clock.now()).status, 529);
}

TEST(SimFaults, ServerErrorsAreAdmittedRequestsThatFail) {
  for (Dialect d : kDialects) {
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.faults.server_error_rate = 1.0;
    SimProvider sim(cfg);
    const ResponsePlan p = sim.on_request(generation(d), clock.now());
    EXPECT_EQ(p.status, 500);
    EXPECT_NE(p.ticket, 0u);  // it held a slot like any admitted request
    EXPECT_EQ(classify_plan(d, p, clock.now()).cls, ErrorClass::kServerError) << p.body;
    EXPECT_EQ(stat(sim, "faults", "server_error"), 1);
    EXPECT_EQ(sim.stats()["admitted"], 1);
  }
}

TEST(SimFaults, AHangWritesNothingAndHoldsItsSlotUntilFinished) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.limits.concurrency = 1;
  cfg.faults.hang_rate = 1.0;
  cfg.latency.fixed = milliseconds(50);
  SimProvider sim(cfg);
  const ResponsePlan p = sim.on_request(generation(Dialect::kOpenAI, "k1", true), clock.now());
  EXPECT_EQ(p.ending, Ending::kHang);
  EXPECT_EQ(p.status, 0);
  EXPECT_TRUE(p.headers.empty());
  EXPECT_TRUE(p.chunks.empty());
  EXPECT_NE(p.ticket, 0u);
  EXPECT_EQ(sim.on_request(generation(Dialect::kOpenAI), clock.now()).status, 429);
  sim.on_finished(p.ticket, clock.now());  // the client gave up
  EXPECT_EQ(sim.on_request(generation(Dialect::kOpenAI), clock.now()).ending, Ending::kHang);
  EXPECT_EQ(stat(sim, "faults", "hang"), 2);
}

TEST(SimFaults, GarbageIsA200WhoseBodyIsNotJson) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kGroq);
  cfg.faults.garbage_rate = 1.0;
  SimProvider sim(cfg);
  const ResponsePlan p = sim.on_request(generation(Dialect::kGroq), clock.now());
  EXPECT_EQ(p.status, 200);
  EXPECT_TRUE(json::parse(p.body, nullptr, false).is_discarded());
  EXPECT_EQ(header(p, "content-type"), "application/json");
  EXPECT_EQ(stat(sim, "faults", "garbage"), 1);
  EXPECT_EQ(sim.stats()["successes"], 0);
}

TEST(SimFaults, SlowHeadersAndLatencyDelayTheStatusLine) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.latency.fixed = milliseconds(200);
  cfg.latency.jitter = milliseconds(100);
  cfg.latency.ttft = milliseconds(30);
  cfg.latency.per_token = milliseconds(10);
  cfg.faults.slow_headers = seconds(1);
  sluice::testing::ScriptedRng rng({0.5});
  SimProvider sim(cfg, rng);
  // Refusals: fixed + jitter + slow_headers.
  EXPECT_EQ(sim.on_request(generation(Dialect::kOpenAI, "bad"), clock.now()).delay_before_headers,
            milliseconds(1250));
  // A non-streaming answer also waits for its generation: ttft + 6 × per_token (7 tokens).
  EXPECT_EQ(sim.on_request(generation(Dialect::kOpenAI), clock.now()).delay_before_headers,
            milliseconds(1250 + 30 + 60));
  // A stream's status line comes first; its tokens are paced by the chunks.
  EXPECT_EQ(
      sim.on_request(generation(Dialect::kOpenAI, "k1", true), clock.now()).delay_before_headers,
      milliseconds(1250));
}

// ------------------------------------------------------------- streaming

TEST(SimStreaming, StreamsEndWithTheTerminalEventAndClassifyAsSuccess) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.latency.ttft = milliseconds(100);
    cfg.latency.per_token = milliseconds(10);
    SimProvider sim(cfg);
    const ResponsePlan p = sim.on_request(generation(d, "k1", true), clock.now());
    ASSERT_TRUE(p.streaming);
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(p.ending, Ending::kComplete);
    EXPECT_EQ(header(p, "content-type"), "text/event-stream; charset=utf-8");
    ASSERT_FALSE(p.chunks.empty());
    if (d == Dialect::kAnthropic) {
      EXPECT_EQ(p.chunks.back().data, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
      EXPECT_TRUE(p.chunks.front().data.starts_with("event: message_start\n"));
      EXPECT_NE(stream_bytes(p).find("event: ping\n"), std::string::npos);
      EXPECT_NE(stream_bytes(p).find("\"output_tokens\":7"), std::string::npos);
    } else {
      EXPECT_EQ(p.chunks.back().data, "data: [DONE]\n\n");
      EXPECT_NE(stream_bytes(p).find("\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":7"),
                std::string::npos);
    }
    if (d == Dialect::kOpenRouter) {
      EXPECT_EQ(p.chunks.front().data, ": OPENROUTER PROCESSING\n\n");
    }
    const auto c = classify_plan(d, p, clock.now());
    EXPECT_TRUE(c.ok) << to_string(c.cls) << " " << c.rule;

    // ttft before the first token, per_token between the rest, framing at once.
    Duration total{};
    int paced = 0;
    for (const auto& chunk : p.chunks) {
      total += chunk.delay;
      if (chunk.delay > Duration::zero()) ++paced;
    }
    EXPECT_EQ(paced, 7);
    EXPECT_EQ(total, milliseconds(100 + 6 * 10));
    EXPECT_EQ(sim.stats()["successes"], 1);
  }
}

// A long answer for stream benchmarks: answer_tokens events, cut by max_tokens.
TEST(SimStreaming, AnswerTokensMakeTheStreamThatLongUpToMaxTokens) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.answer_tokens = 300;
  cfg.latency.per_token = milliseconds(1);
  SimProvider sim(cfg);
  const auto paced = [](const ResponsePlan& p) {
    int n = 0;
    for (const auto& chunk : p.chunks) n += chunk.delay > Duration::zero() ? 1 : 0;
    return n;
  };
  const ResponsePlan whole =
      sim.on_request(generation(Dialect::kOpenAI, "k1", true, 1000), clock.now());
  EXPECT_EQ(paced(whole), 299);  // the first token comes after ttft (0 here), the rest paced
  EXPECT_NE(stream_bytes(whole).find("\"completion_tokens\":300"), std::string::npos);
  EXPECT_NE(stream_bytes(whole).find("\"finish_reason\":\"stop\""), std::string::npos);
  const ResponsePlan cut =
      sim.on_request(generation(Dialect::kOpenAI, "k1", true, 50), clock.now());
  EXPECT_NE(stream_bytes(cut).find("\"completion_tokens\":50"), std::string::npos);
  EXPECT_NE(stream_bytes(cut).find("\"finish_reason\":\"length\""), std::string::npos);
}

TEST(SimStreaming, AnInBandErrorAfterKChunksClassifiesAsItsClass) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.faults.stream_error_rate = 1.0;
    cfg.faults.stream_error_after_chunks = 3;
    SimProvider sim(cfg);
    const ResponsePlan p = sim.on_request(generation(d, "k1", true), clock.now());
    ASSERT_TRUE(p.streaming);
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(p.ending, Ending::kComplete);
    const std::string bytes = stream_bytes(p);
    EXPECT_EQ(bytes.find("message_stop"), std::string::npos);
    const auto c = classify_plan(d, p, clock.now());
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.cls, d == Dialect::kAnthropic ? ErrorClass::kOverloaded : ErrorClass::kServerError)
        << c.rule << "\n"
        << bytes;
    EXPECT_EQ(stat(sim, "faults", "stream_error"), 1);
    EXPECT_EQ(sim.stats()["successes"], 0);
  }
  // Non-streaming requests are untouched by stream faults.
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.faults.stream_error_rate = 1.0;
  EXPECT_EQ(SimProvider(cfg).on_request(generation(Dialect::kOpenAI), clock.now()).status, 200);
}

TEST(SimStreaming, ACloseMidStreamSendsKChunksAndNoTerminalEvent) {
  for (Dialect d : kDialects) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = base_config(d);
    cfg.faults.close_mid_stream_rate = 1.0;
    cfg.faults.stream_error_after_chunks = 4;
    SimProvider sim(cfg);
    const ResponsePlan p = sim.on_request(generation(d, "k1", true), clock.now());
    EXPECT_EQ(p.ending, Ending::kCloseMidStream);
    EXPECT_EQ(p.chunks.size(), 4u);
    EXPECT_EQ(classify_plan(d, p, clock.now()).cls, ErrorClass::kStreamDrop);
    // Without the transport signal the missing terminal event says the same.
    policy::UpstreamOutcome o;
    o.dialect = d;
    o.status = 200;
    const std::string bytes = stream_bytes(p);
    o.body = bytes;
    EXPECT_EQ(policy::classify(o).cls, ErrorClass::kStreamDrop);
    EXPECT_EQ(stat(sim, "faults", "close_mid_stream"), 1);
  }
}

TEST(SimStreaming, StreamFaultsNeverLetTheTerminalEventOut) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.faults.close_mid_stream_rate = 1.0;
  cfg.faults.stream_error_after_chunks = 1000;
  SimProvider sim(cfg);
  const ResponsePlan p = sim.on_request(generation(Dialect::kOpenAI, "k1", true), clock.now());
  ASSERT_FALSE(p.chunks.empty());
  EXPECT_NE(p.chunks.back().data, "data: [DONE]\n\n");
  EXPECT_EQ(classify_plan(Dialect::kOpenAI, p, clock.now()).cls, ErrorClass::kStreamDrop);
}

// ------------------------------------------------------------ success bodies

TEST(SimBodies, OpenAIChatCompletionEchoesTheModelAndCountsUsage) {
  FakeClock clock;
  SimProvider sim(base_config(Dialect::kOpenAI));
  const ResponsePlan p = sim.on_request(generation(Dialect::kOpenAI), clock.now());
  const json j = json::parse(p.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "sim-model");
  EXPECT_TRUE(j["id"].get<std::string>().starts_with("chatcmpl-"));
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "This is a simulated answer from sim.");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 1);
  EXPECT_EQ(j["usage"]["completion_tokens"], 7);
  EXPECT_EQ(j["usage"]["total_tokens"], 8);
  EXPECT_EQ(header(p, "content-type"), "application/json");
}

TEST(SimBodies, MaxTokensCutsTheAnswerShort) {
  FakeClock clock;
  SimProvider sim(base_config(Dialect::kOpenAI));
  const json j =
      json::parse(sim.on_request(generation(Dialect::kOpenAI, "k1", false, 2), clock.now()).body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "This is");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  SimProvider claude(base_config(Dialect::kAnthropic));
  const json a = json::parse(
      claude.on_request(generation(Dialect::kAnthropic, "k1", false, 2), clock.now()).body);
  EXPECT_EQ(a["stop_reason"], "max_tokens");
}

TEST(SimBodies, AnthropicMessageAndCountTokens) {
  FakeClock clock;
  SimProvider sim(base_config(Dialect::kAnthropic));
  const json m = json::parse(sim.on_request(generation(Dialect::kAnthropic), clock.now()).body);
  EXPECT_EQ(m["type"], "message");
  EXPECT_EQ(m["role"], "assistant");
  EXPECT_EQ(m["model"], "sim-model");
  EXPECT_EQ(m["content"][0]["type"], "text");
  EXPECT_EQ(m["content"][0]["text"], "This is a simulated answer from sim.");
  EXPECT_EQ(m["stop_reason"], "end_turn");
  EXPECT_EQ(m["usage"]["input_tokens"], 1);
  EXPECT_EQ(m["usage"]["output_tokens"], 7);
  const ResponsePlan count =
      sim.on_request({"POST", "/v1/messages/count_tokens", "k1",
                      R"({"model":"c","messages":[{"role":"user","content":"twelve bytes"}]})"},
                     clock.now());
  EXPECT_EQ(json::parse(count.body), json({{"input_tokens", 3}}));
  EXPECT_EQ(count.ticket, 0u);  // counting tokens is free
}

TEST(SimBodies, CompletionsEmbeddingsAndModelsSpeakTheOpenAIShapes) {
  FakeClock clock;
  SimProvider sim(base_config(Dialect::kOpenAI));
  const json c = json::parse(
      sim.on_request({"POST", "/v1/completions", "k1", R"({"model":"m","prompt":"hi"})"},
                     clock.now())
          .body);
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["choices"][0]["text"], "This is a simulated answer from sim.");
  const json e = json::parse(
      sim.on_request({"POST", "/v1/embeddings", "k1", R"({"model":"e","input":["a","b"]})"},
                     clock.now())
          .body);
  EXPECT_EQ(e["object"], "list");
  ASSERT_EQ(e["data"].size(), 2u);
  EXPECT_EQ(e["data"][1]["index"], 1);
  EXPECT_EQ(e["data"][0]["embedding"].size(), 8u);
  EXPECT_NE(e["data"][0]["embedding"], e["data"][1]["embedding"]);
  const json models =
      json::parse(sim.on_request({"GET", "/v1/models", "k1", ""}, clock.now()).body);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "sim-model");
}

TEST(SimBodies, ListingModelsIsNeverRateLimited) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kAnthropic);
  cfg.limits.requests_per_window = 1;
  cfg.limits.concurrency = 1;
  cfg.models = {"claude-a", "claude-b"};
  SimProvider sim(cfg);
  for (int i = 0; i < 5; ++i) {
    const ResponsePlan p = sim.on_request({"GET", "/v1/models", "k1", ""}, clock.now());
    ASSERT_EQ(p.status, 200);
    EXPECT_EQ(p.ticket, 0u);
    EXPECT_EQ(json::parse(p.body)["last_id"], "claude-b");
  }
  EXPECT_EQ(sim.budget("k1", clock.now())->requests->remaining, 1);
}

// ----------------------------------------------------------------- routes

TEST(SimRoutes, ProvidersAlsoServeTheirOwnPrefixes) {
  FakeClock clock;
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"x"}]})";
  struct Case {
    Dialect dialect;
    const char* path;
  };
  for (const Case& c : {Case{Dialect::kZai, "/api/paas/v4/chat/completions"},
                        Case{Dialect::kZai, "/api/coding/paas/v4/chat/completions"},
                        Case{Dialect::kOpenRouter, "/api/v1/chat/completions"},
                        Case{Dialect::kGroq, "/openai/v1/chat/completions"},
                        Case{Dialect::kAzure, "/openai/v1/chat/completions"},
                        Case{Dialect::kAzure, "/v1/chat/completions?api-version=2024-10-21"},
                        Case{Dialect::kKimi, "/v1/chat/completions"}}) {
    SimProvider sim(base_config(c.dialect));
    EXPECT_EQ(sim.on_request({"POST", c.path, "k1", body}, clock.now()).status, 200) << c.path;
  }
}

TEST(SimRoutes, AzureDeploymentRoutesNameTheModelInThePath) {
  FakeClock clock;
  SimProvider sim(base_config(Dialect::kAzure));
  const ResponsePlan p = sim.on_request(
      {"POST", "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21", "k1",
       R"({"messages":[{"role":"user","content":"x"}]})"},
      clock.now());
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(json::parse(p.body)["model"], "gpt-4o-prod");
  EXPECT_FALSE(header(p, "apim-request-id").empty());
  EXPECT_EQ(
      sim.on_request({"POST", "/openai/deployments//chat/completions", "k1", "{}"}, clock.now())
          .status,
      404);
}

// ------------------------------------------------- determinism and control

ProviderSimConfig noisy_config() {
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.latency.fixed = milliseconds(20);
  cfg.latency.jitter = milliseconds(80);
  cfg.faults.overload_rate = 0.2;
  cfg.faults.server_error_rate = 0.2;
  cfg.faults.stream_error_rate = 0.2;
  cfg.faults.close_mid_stream_rate = 0.2;
  cfg.limits.requests_per_window = 20;
  return cfg;
}

std::vector<ResponsePlan> run_script(SimProvider& sim) {
  FakeClock clock;
  std::vector<ResponsePlan> plans;
  for (int i = 0; i < 60; ++i) {
    plans.push_back(
        sim.on_request(generation(Dialect::kOpenAI, i % 3 ? "k1" : "k2", i % 2 == 0), clock.now()));
    if (i % 4 == 0) sim.on_finished(plans.back().ticket, clock.now());
    clock.advance(milliseconds(37));
  }
  return plans;
}

// Tickets keep counting across reset() (a stale ticket must not free a new
// slot), so a replay after reset compares whether a ticket was issued.
bool same(const ResponsePlan& a, const ResponsePlan& b, bool exact_tickets = true) {
  const bool tickets_match =
      exact_tickets ? a.ticket == b.ticket : (a.ticket == 0) == (b.ticket == 0);
  if (!tickets_match || a.delay_before_headers != b.delay_before_headers || a.status != b.status ||
      a.headers != b.headers || a.body != b.body || a.streaming != b.streaming ||
      a.ending != b.ending || a.chunks.size() != b.chunks.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.chunks.size(); ++i) {
    if (a.chunks[i].delay != b.chunks[i].delay || a.chunks[i].data != b.chunks[i].data) {
      return false;
    }
  }
  return true;
}

TEST(SimDeterminism, TheSameSeedAndRequestsGiveTheSamePlans) {
  SimProvider a(noisy_config());
  SimProvider b(noisy_config());
  const auto pa = run_script(a);
  const auto pb = run_script(b);
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(same(pa[i], pb[i])) << i;
  EXPECT_EQ(a.stats(), b.stats());
  // Every fault kind fired, so the comparison covered them.
  EXPECT_GT(a.stats()["rejections"]["overload"], 0);
  EXPECT_GT(a.stats()["faults"]["server_error"], 0);
  EXPECT_GT(a.stats()["faults"]["stream_error"], 0);
  EXPECT_GT(a.stats()["faults"]["close_mid_stream"], 0);

  // After reset the model replays the same run.
  a.reset();
  const auto again = run_script(a);
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(same(pa[i], again[i], false)) << i;
}

TEST(SimDeterminism, ADifferentSeedGivesADifferentRun) {
  ProviderSimConfig other = noisy_config();
  other.seed = 8;
  SimProvider a(noisy_config());
  SimProvider b(other);
  const auto pa = run_script(a);
  const auto pb = run_script(b);
  bool differs = false;
  for (std::size_t i = 0; i < pa.size(); ++i) differs = differs || !same(pa[i], pb[i]);
  EXPECT_TRUE(differs);
}

TEST(SimControl, SetFaultsPatchesOnlyTheNamedFields) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.faults.hang_rate = 0.1;
  SimProvider sim(cfg);
  EXPECT_FALSE(sim.set_faults(json{{"overload_rate", 1.0}, {"hang_rate", 0}}));
  EXPECT_DOUBLE_EQ(sim.config().faults.overload_rate, 1.0);
  EXPECT_DOUBLE_EQ(sim.config().faults.hang_rate, 0.0);
  EXPECT_EQ(sim.on_request(generation(Dialect::kOpenAI), clock.now()).status, 503);

  EXPECT_FALSE(sim.set_faults(json{{"overload_rate", 0},
                                   {"slow_headers", "250ms"},
                                   {"stream_error_after_chunks", 1},
                                   {"billing_after", 0},
                                   {"quota_after", 5}}));
  EXPECT_EQ(sim.config().faults.slow_headers, milliseconds(250));
  EXPECT_EQ(sim.config().faults.stream_error_after_chunks, 1);
  EXPECT_EQ(sim.config().faults.quota_after, 5u);
  const ResponsePlan billing = sim.on_request(generation(Dialect::kOpenAI), clock.now());
  EXPECT_EQ(classify_plan(Dialect::kOpenAI, billing, clock.now()).cls, ErrorClass::kBilling);
  EXPECT_EQ(billing.delay_before_headers, milliseconds(250));
  EXPECT_FALSE(sim.set_faults(json{{"billing_after", nullptr}}));
  EXPECT_FALSE(sim.config().faults.billing_after);
  EXPECT_EQ(sim.on_request(generation(Dialect::kOpenAI), clock.now()).status, 200);
}

TEST(SimControl, SetFaultsRejectsBadInputAndChangesNothing) {
  SimProvider sim(base_config(Dialect::kOpenAI));
  const FaultConfig before = sim.config().faults;
  EXPECT_EQ(sim.set_faults(json::array()), "faults: expected a JSON object");
  EXPECT_EQ(sim.set_faults(json{{"overload_rate", 0.5}, {"hang_rate", 2}}),
            "faults.hang_rate: expected a number between 0 and 1");
  EXPECT_EQ(sim.set_faults(json{{"overload_rate", "0.5"}}),
            "faults.overload_rate: expected a number between 0 and 1");
  EXPECT_EQ(sim.set_faults(json{{"overload_rate", 0.6}, {"server_error_rate", 0.6}}),
            "faults: the fault rates sum to more than 1");
  EXPECT_EQ(sim.set_faults(json{{"slow_headers", "soon"}}),
            "faults.slow_headers: expected a duration such as \"200ms\" or \"2s\"");
  EXPECT_EQ(sim.set_faults(json{{"stream_error_after_chunks", -1}}),
            "faults.stream_error_after_chunks: expected a non-negative integer");
  EXPECT_EQ(sim.set_faults(json{{"billing_after", "3"}}),
            "faults.billing_after: expected a non-negative integer or null");
  EXPECT_EQ(sim.set_faults(json{{"overload", 1}}), "faults.overload: unknown field");
  EXPECT_DOUBLE_EQ(sim.config().faults.overload_rate, before.overload_rate);
  EXPECT_DOUBLE_EQ(sim.config().faults.hang_rate, before.hang_rate);
}

TEST(SimControl, StatsCountEveryOutcome) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.limits.requests_per_window = 2;
  cfg.limits.concurrency = 5;
  SimProvider sim(cfg);
  const ResponsePlan held = sim.on_request(generation(Dialect::kOpenAI), clock.now());
  sim.on_request(generation(Dialect::kOpenAI, "k1", true), clock.now());
  sim.on_request(generation(Dialect::kOpenAI), clock.now());                 // rpm
  sim.on_request(generation(Dialect::kOpenAI, "x"), clock.now());            // auth
  sim.on_request({"POST", "/nope", "k1", ""}, clock.now());                  // not_found
  sim.on_request({"POST", "/v1/chat/completions", "k2", "{"}, clock.now());  // bad_request
  sim.on_request({"GET", "/v1/models", "k2", ""}, clock.now());
  const json s = sim.stats();
  EXPECT_EQ(s["provider"], "sim");
  EXPECT_EQ(s["dialect"], "openai");
  EXPECT_EQ(s["requests"], 7);
  EXPECT_EQ(s["successes"], 3);
  EXPECT_EQ(s["admitted"], 2);
  EXPECT_EQ(s["in_flight"], 2);
  EXPECT_EQ(s["rejections"]["rpm"], 1);
  EXPECT_EQ(s["rejections"]["auth"], 1);
  EXPECT_EQ(s["rejections"]["not_found"], 1);
  EXPECT_EQ(s["rejections"]["bad_request"], 1);
  for (const char* kind : {"tpm", "concurrency", "daily", "overload", "billing", "quota",
                           "too_large", "model_not_found"}) {
    EXPECT_EQ(s["rejections"][kind], 0) << kind;
  }
  for (const char* kind : {"server_error", "garbage", "hang", "stream_error", "close_mid_stream"}) {
    EXPECT_EQ(s["faults"][kind], 0) << kind;
  }
  const json k1 = s["keys"]["k1"];
  EXPECT_EQ(k1["requests"], 4);
  EXPECT_EQ(k1["admitted"], 2);
  EXPECT_EQ(k1["successes"], 2);
  EXPECT_EQ(k1["in_flight"], 2);
  EXPECT_EQ(k1["max_in_flight"], 2);
  EXPECT_EQ(k1["tokens"], 34);
  EXPECT_EQ(s["keys"]["k2"]["requests"], 2);
  EXPECT_FALSE(s["keys"].contains("x"));
  sim.on_finished(held.ticket, clock.now());
  EXPECT_EQ(sim.stats()["keys"]["k1"]["in_flight"], 1);
}

TEST(SimControl, ResetZeroesCountersWindowsAndSlots) {
  FakeClock clock;
  ProviderSimConfig cfg = base_config(Dialect::kOpenAI);
  cfg.limits.requests_per_window = 1;
  cfg.limits.concurrency = 1;
  SimProvider sim(cfg);
  const ResponsePlan held = sim.on_request(generation(Dialect::kOpenAI), clock.now());
  EXPECT_EQ(sim.on_request(generation(Dialect::kOpenAI), clock.now()).status, 429);
  sim.reset();
  const json s = sim.stats();
  EXPECT_EQ(s["requests"], 0);
  EXPECT_EQ(s["rejections"]["concurrency"], 0);
  EXPECT_EQ(s["keys"]["k1"]["in_flight"], 0);
  EXPECT_EQ(s["keys"]["k1"]["max_in_flight"], 0);
  const ResponsePlan fresh = sim.on_request(generation(Dialect::kOpenAI), clock.now());
  EXPECT_EQ(fresh.status, 200);
  // A ticket from before the reset cannot free the new request's slot.
  sim.on_finished(held.ticket, clock.now());
  EXPECT_EQ(sim.stats()["keys"]["k1"]["in_flight"], 1);
  EXPECT_EQ(header(fresh, "x-ratelimit-remaining-requests"), "0");
}

}  // namespace
}  // namespace sluice::sim
