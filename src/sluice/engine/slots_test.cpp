// The policy mode under a fake clock: slots taken by a caller that sends its
// own requests share the engine's limits with the engine's own requests,
// honour deadlines and cancellation exactly, and what the caller reports is
// learned as an attempt's outcome is.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "sluice/config/secret.hpp"
#include "testing/engine_harness.hpp"

namespace sluice::engine {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::EngineHarness;
using json = nlohmann::json;

constexpr const char* kTwoSlots =
    "state: {backend: memory}\n"
    "providers:\n"
    "  zai: {api: openai, dialect: zai, base_url: \"http://zai.test/api/paas/v4\", keys: "
    "[env:ZAI1], max_concurrent: 2}\n"
    "  pool: {api: openai, base_url: \"http://pool.test/v1\", keys: [env:P1, env:P2]}\n"
    "models:\n"
    "  main: {route: [zai/glm-4.6], queue_timeout: 30s}\n";

SlotRequest zai(Priority priority = Priority::kInteractive,
                std::optional<TimePoint> deadline = std::nullopt) {
  return SlotRequest{.provider = "zai",
                     .key_fingerprint = {},
                     .model = "glm-4.6",
                     .priority = priority,
                     .deadline = deadline,
                     .estimated_tokens = 0};
}

json limiter_of(EngineHarness& h) {
  const json st = json::parse(h.engine().status_json());
  for (const auto& p : st["providers"]) {
    if (p["name"] == "zai") return p["keys"].at(0).at("limiters").at("glm-4.6");  // z.ai: per model
  }
  return nullptr;
}

Learning outcome(std::string provider, std::string model, int status, HeaderList& headers,
                 std::string_view body) {
  Learning l;
  l.provider = std::move(provider);
  l.model = std::move(model);
  l.outcome.status = status;
  l.outcome.headers = headers.view();
  l.outcome.body = body;
  return l;
}

TEST(EngineSlots, SlotsAndTheEnginesOwnRequestsShareOneLimit) {
  EngineHarness h(kTwoSlots);
  ASSERT_TRUE(h.ok()) << h.load_errors();
  auto a = h.slot(zai());
  auto b = h.slot(zai());
  ASSERT_TRUE(a->slot && a->slot->granted);
  ASSERT_TRUE(b->slot && b->slot->granted);
  EXPECT_EQ(a->slot->key_fingerprint, config::fingerprint_of("sk-ZAI1"));
  // The gateway's own request waits for the slots held in-process.
  auto call = h.chat("main");
  EXPECT_FALSE(call->done);
  EXPECT_EQ(limiter_of(h)["in_flight"], 2);
  EXPECT_EQ(limiter_of(h)["queued"], 1);
  h.advance(seconds(3));
  EXPECT_TRUE(h.provider("zai").sent.empty());
  const TimePoint released = h.now();
  a->slot.reset();  // the caller is done: its permit goes to the waiting request at once
  h.run();
  ASSERT_EQ(h.provider("zai").sent.size(), 1u);
  EXPECT_EQ(h.provider("zai").sent[0].at, released);
  EXPECT_TRUE(call->done);
}

TEST(EngineSlots, AWaitingSlotIsGivenTheFreedPermitByPriority) {
  EngineHarness h(kTwoSlots);
  ASSERT_TRUE(h.ok());
  auto a = h.slot(zai());
  auto b = h.slot(zai());
  auto background = h.slot(zai(Priority::kBackground));
  auto interactive = h.slot(zai(Priority::kInteractive));
  EXPECT_FALSE(background->slot);
  EXPECT_FALSE(interactive->slot);
  EXPECT_EQ(limiter_of(h)["queued_by_priority"]["background"], 1);
  h.advance(seconds(1));
  a->slot.reset();
  h.run();
  ASSERT_TRUE(interactive->slot);  // queued after the background one, served first
  EXPECT_TRUE(interactive->slot->granted);
  EXPECT_EQ(interactive->decided_at, h.now());
  EXPECT_FALSE(background->slot);
}

TEST(EngineSlots, ASlotNotFreeBeforeItsDeadlineIsRefusedAtTheDeadline) {
  EngineHarness h(kTwoSlots);
  ASSERT_TRUE(h.ok());
  auto a = h.slot(zai());
  auto b = h.slot(zai());
  const TimePoint deadline = h.now() + milliseconds(2500);
  auto late = h.slot(zai(Priority::kInteractive, deadline));
  h.advance(seconds(10));
  ASSERT_TRUE(late->slot);
  EXPECT_FALSE(late->slot->granted);
  EXPECT_EQ(late->slot->code, "no_slot");
  EXPECT_EQ(late->decided_at, deadline);
  EXPECT_EQ(limiter_of(h)["queued"], 0);
  EXPECT_EQ(limiter_of(h)["in_flight"], 2);
}

TEST(EngineSlots, ACancelledWaitLeavesNothingQueuedAndNoPermitBehind) {
  EngineHarness h(kTwoSlots);
  ASSERT_TRUE(h.ok());
  auto a = h.slot(zai());
  auto b = h.slot(zai());
  auto cancelled = h.slot(zai());
  auto next = h.slot(zai());
  EXPECT_EQ(limiter_of(h)["queued"], 2);
  const TimePoint at = h.now() + seconds(1);
  h.advance(seconds(1));
  cancelled->cancel->cancel();
  h.run();
  ASSERT_TRUE(cancelled->slot);
  EXPECT_FALSE(cancelled->slot->granted);
  EXPECT_EQ(cancelled->slot->code, "cancelled");
  EXPECT_EQ(cancelled->decided_at, at);
  EXPECT_EQ(limiter_of(h)["queued"], 1);
  a->slot.reset();
  h.run();
  ASSERT_TRUE(next->slot && next->slot->granted);  // the permit went past the cancelled waiter
  EXPECT_EQ(limiter_of(h)["in_flight"], 2);
}

TEST(EngineSlots, ALearned429CoolsTheKeyForItsRetryAfterForSlotsAndRequests) {
  EngineHarness h(kTwoSlots);
  ASSERT_TRUE(h.ok());
  HeaderList headers;
  headers.add("retry-after", "30");
  const std::string body =
      R"({"error":{"message":"Rate limit reached for requests","type":"requests"}})";
  const json verdict = json::parse(h.engine().learn(outcome("pool", "gpt-4o", 429, headers, body)));
  // Two keys and none named: the engine cannot guess which one was used.
  EXPECT_NE(verdict["error"].get<std::string>().find("say which one"), std::string::npos);

  Learning l = outcome("pool", "gpt-4o", 429, headers, body);
  l.key_fingerprint = config::fingerprint_of("sk-P1");
  const json v = json::parse(h.engine().learn(l));
  EXPECT_EQ(v["class"], "RATE_LIMIT") << v.dump();
  EXPECT_DOUBLE_EQ(v["key_cooling_s"].get<double>(), 30.0);

  // The pool now picks the other key; asking for the benched one waits for it.
  SlotRequest any{.provider = "pool", .model = "gpt-4o"};
  auto other = h.slot(any);
  ASSERT_TRUE(other->slot && other->slot->granted);
  EXPECT_EQ(other->slot->key_fingerprint, config::fingerprint_of("sk-P2"));
  SlotRequest benched = any;
  benched.key_fingerprint = config::fingerprint_of("sk-P1");
  benched.deadline = h.now() + seconds(10);
  auto refused = h.slot(benched);
  ASSERT_TRUE(refused->slot);
  EXPECT_EQ(refused->slot->code, "keys_cooling");
  EXPECT_EQ(refused->slot->retry_after, seconds(30));
  const TimePoint cooled = h.now() + seconds(30);
  benched.deadline.reset();
  auto waits = h.slot(benched);
  h.advance(seconds(31));
  ASSERT_TRUE(waits->slot && waits->slot->granted);
  EXPECT_EQ(waits->decided_at, cooled);
}

TEST(EngineSlots, ASpentBudgetInLearnedHeadersHoldsTheNextSlotToItsReset) {
  EngineHarness h(kTwoSlots);
  ASSERT_TRUE(h.ok());
  auto s = h.slot(zai());
  ASSERT_TRUE(s->slot && s->slot->granted);
  HeaderList headers;
  headers.add("x-ratelimit-limit-requests", "60");
  headers.add("x-ratelimit-remaining-requests", "0");
  headers.add("x-ratelimit-reset-requests", "20s");
  Learning l = outcome("zai", "glm-4.6", 200, headers, R"({"choices":[]})");
  l.slot = &*s->slot;
  const json v = json::parse(h.engine().learn(l));
  EXPECT_EQ(v["ok"], true) << v.dump();
  s->slot.reset();
  h.run();
  const TimePoint reset = h.now() + seconds(20);
  auto next = h.slot(zai());
  h.advance(seconds(19));
  EXPECT_FALSE(next->slot);
  h.advance(seconds(2));
  ASSERT_TRUE(next->slot && next->slot->granted);
  EXPECT_EQ(next->decided_at, reset);
  // A deadline before the reset is told at once when to come back.
  HeaderList again = headers;
  Learning l2 = outcome("zai", "glm-4.6", 200, again, R"({"choices":[]})");
  l2.slot = &*next->slot;
  h.engine().learn(l2);
  next->slot.reset();
  h.run();
  auto hurried = h.slot(zai(Priority::kInteractive, h.now() + seconds(5)));
  ASSERT_TRUE(hurried->slot);
  EXPECT_EQ(hurried->slot->code, "budget_spent");
  EXPECT_EQ(hurried->slot->retry_after, seconds(20));
}

TEST(EngineSlots, AConcurrencyLimitReportLowersTheSharedLimit) {
  EngineHarness h(kTwoSlots);
  ASSERT_TRUE(h.ok());
  auto a = h.slot(zai());
  auto b = h.slot(zai());
  HeaderList none;
  Learning l = outcome("zai", "glm-4.6", 429, none,
                       R"({"error":{"code":"1302","message":"High concurrency usage of this )"
                       R"(API, please reduce concurrency or contact customer service"}})");
  l.slot = &*b->slot;
  const json v = json::parse(h.engine().learn(l));
  EXPECT_EQ(v["class"], "CONCURRENCY_LIMIT") << v.dump();
  EXPECT_EQ(v["limit"], 1);
  EXPECT_TRUE(v["key_cooling_s"].is_null());  // the key is fine: too many at once
  EXPECT_EQ(limiter_of(h)["limit"], 1);
}

TEST(EngineSlots, BadRequestsAreRefusedWithTheirReason) {
  EngineHarness h(kTwoSlots);
  ASSERT_TRUE(h.ok());
  auto unknown = h.slot(SlotRequest{.provider = "nope", .model = "m"});
  ASSERT_TRUE(unknown->slot);
  EXPECT_EQ(unknown->slot->code, "unknown_provider");
  EXPECT_NE(unknown->slot->message.find("pool, zai"), std::string::npos);
  auto key = h.slot(SlotRequest{.provider = "zai", .key_fingerprint = "sk-...beef", .model = "m"});
  EXPECT_EQ(key->slot->code, "unknown_key");
  auto model = h.slot(SlotRequest{.provider = "zai"});  // z.ai: limits per model
  EXPECT_EQ(model->slot->code, "missing_model");
  auto any_model = h.slot(SlotRequest{.provider = "pool"});  // one limit per key
  EXPECT_TRUE(any_model->slot->granted);
  HeaderList none;
  const json v = json::parse(h.engine().learn(outcome("nope", "m", 200, none, "")));
  EXPECT_TRUE(v.contains("error"));
}

}  // namespace
}  // namespace sluice::engine
