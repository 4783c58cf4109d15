// The Store conformance suite: one set of behaviours every backend must show,
// run unchanged on each. The memory store is the reference; a backend joins
// by adding one entry to kBackends. The write-behind store runs it in front
// of the backends it is used with.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sluice/policy/ratelimit/throttle.hpp"
#include "sluice/state/memory_store.hpp"
#include "sluice/state/redis/redis_store.hpp"
#include "sluice/state/sqlite/sqlite_store.hpp"
#include "sluice/state/store.hpp"
#include "sluice/state/test_support.hpp"
#include "sluice/state/write_behind_store.hpp"
#include "testing/redis_server.hpp"

namespace sluice::state {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

struct Backend {
  std::string name;
  // Opens an empty store whose files, if any, live in `dir`.
  std::function<std::unique_ptr<Store>(const std::string& dir)> open;
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

std::unique_ptr<Store> open_sqlite(const std::string& dir) {
  auto opened = SqliteStore::open({.path = dir + "/state.db"});
  if (!opened) {
    ADD_FAILURE() << opened.error().message;
    return nullptr;
  }
  return std::move(opened.value().store);
}

std::unique_ptr<Store> open_redis(const std::string&) {
  // One redis-server for the suite; each test gets a prefix of its own.
  static testing::RedisServer server;
  static int next = 0;
  if (!server.ok()) {
    ADD_FAILURE() << server.error();
    return nullptr;
  }
  auto opened = RedisStore::open(
      {.url = server.url(), .prefix = "conformance" + std::to_string(next++) + ":"});
  if (!opened) {
    ADD_FAILURE() << opened.error().message;
    return nullptr;
  }
  return std::move(opened.value());
}

// The same backend with its writes made behind the caller's back: the
// suite's reads must still see them.
std::function<std::unique_ptr<Store>(const std::string&)> behind(
    std::unique_ptr<Store> (*open)(const std::string&)) {
  return [open](const std::string& dir) -> std::unique_ptr<Store> {
    auto backend = open(dir);
    if (!backend) return nullptr;
    return std::make_unique<WriteBehindStore>(std::move(backend), WriteBehindStore::Options{});
  };
}

// A name is the backend info() reports, then what is in front of it.
const std::vector<Backend>& backends() {
  static const std::vector<Backend> kBackends = {
      {"memory", [](const std::string&) { return std::make_unique<MemoryStore>(); }},
      {"sqlite", open_sqlite},
      {"redis", open_redis},
      {"sqlite_write_behind", behind(open_sqlite)},
      {"redis_write_behind", behind(open_redis)},
  };
  return kBackends;
}

const TimePoint kT0 = TimePoint(seconds(1'800'000'000));

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    store_ = GetParam().open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  Store& store() { return *store_; }

  void put(const KeyCooldown& c) {
    const Status s = store().put_cooldown(c);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  std::optional<KeyCooldown> get(std::string_view scope) {
    auto r = store().get_cooldown(scope);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : std::nullopt;
  }
  std::vector<std::string> scopes_of(const Result<std::vector<KeyCooldown>>& r) {
    EXPECT_TRUE(r.ok()) << r.error().message;
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& c : r.value()) out.push_back(c.key_scope);
    }
    return out;
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

KeyCooldown cooling(std::string scope, TimePoint until, ErrorClass cls = ErrorClass::kRateLimit) {
  return KeyCooldown{.key_scope = std::move(scope),
                     .cooling_until = until,
                     .cooling_class = cls,
                     .reason = std::string(to_string(cls)) + " via test",
                     .consecutive_failures = 1};
}

TEST_P(StoreConformance, AnEmptyStoreReadsAsAbsentNotAsAnError) {
  EXPECT_EQ(get("https://api.z.ai|key:0000"), std::nullopt);
  EXPECT_EQ(scopes_of(store().list_cooldowns()), std::vector<std::string>{});
  EXPECT_EQ(scopes_of(store().list_active_cooldowns(kT0)), std::vector<std::string>{});
  EXPECT_TRUE(store().erase_cooldown("nothing here").ok());

  auto cursor = store().get_cursor("zai");
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor.value(), std::nullopt);
  auto limit = store().get_adaptive_limit("k", "");
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(limit.value(), std::nullopt);
  auto snapshot = store().get_snapshot("k", "gpt-4o");
  ASSERT_TRUE(snapshot.ok());
  EXPECT_FALSE(snapshot.value().has_value());
  auto usage = store().get_usage({"k", "gpt-4o", "2027-01-15"});
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage.value(), UsageCounts{});

  const StoreInfo info = store().info();
  EXPECT_EQ(info.backend, GetParam().name.substr(0, GetParam().name.find('_')));
  EXPECT_EQ(info.last_error, "");
}

TEST_P(StoreConformance, ACooldownRoundTripsEveryField) {
  const KeyCooldown full{.key_scope = "https://api.openai.com/v1|key:1a2b3c4d",
                         .cooling_until = kT0 + std::chrono::nanoseconds(123'456'789),
                         .cooling_class = ErrorClass::kQuotaExhausted,
                         .reason = "QUOTA_EXHAUSTED via openai.insufficient_quota",
                         .consecutive_failures = 7,
                         .disabled = false};
  // A finished cooldown still carries its streak: the next backoff doubles from it.
  const KeyCooldown streak_only{.key_scope = "https://api.openai.com/v1|key:5e6f7a8b",
                                .consecutive_failures = 3};
  put(full);
  put(streak_only);
  EXPECT_EQ(get(full.key_scope), full);
  EXPECT_EQ(get(streak_only.key_scope), streak_only);
}

TEST_P(StoreConformance, EveryErrorClassRoundTrips) {
  for (const ErrorClass cls : kAllErrorClasses) {
    put(cooling(std::string(to_string(cls)), kT0, cls));
  }
  for (const ErrorClass cls : kAllErrorClasses) {
    const auto got = get(to_string(cls));
    ASSERT_TRUE(got.has_value()) << to_string(cls);
    EXPECT_EQ(got->cooling_class, cls);
  }
}

TEST_P(StoreConformance, PuttingACooldownReplacesTheWholeRecord) {
  put(KeyCooldown{.key_scope = "k",
                  .cooling_until = kT0 + minutes(5),
                  .cooling_class = ErrorClass::kBilling,
                  .reason = "BILLING via test",
                  .consecutive_failures = 4,
                  .disabled = true});
  // A later state of the same key, with fields cleared: nothing of the old one may linger.
  const KeyCooldown cleared{.key_scope = "k", .reason = ""};
  put(cleared);
  EXPECT_EQ(get("k"), cleared);
  EXPECT_EQ(scopes_of(store().list_cooldowns()), std::vector<std::string>{"k"});
}

TEST_P(StoreConformance, EraseRemovesOnlyThatKey) {
  put(cooling("a", kT0));
  put(cooling("b", kT0));
  ASSERT_TRUE(store().erase_cooldown("a").ok());
  EXPECT_EQ(get("a"), std::nullopt);
  EXPECT_TRUE(get("b").has_value());
  ASSERT_TRUE(store().erase_cooldown("a").ok());  // twice is fine
}

TEST_P(StoreConformance, ListsAreOrderedByKeyScopeBytewise) {
  for (const char* scope : {"b|2", "a|1", "\xc3\xa9|3", "B|0", "a|10"}) put(cooling(scope, kT0));
  EXPECT_EQ(scopes_of(store().list_cooldowns()),
            (std::vector<std::string>{"B|0", "a|1", "a|10", "b|2", "\xc3\xa9|3"}));
}

TEST_P(StoreConformance, ListActiveHonoursNowAndExpiredCooldownsStayReadable) {
  put(cooling("ends-at-t", kT0));
  put(cooling("ends-later", kT0 + minutes(1)));
  put(KeyCooldown{.key_scope = "never-cooled"});

  EXPECT_EQ(scopes_of(store().list_active_cooldowns(kT0 - std::chrono::nanoseconds(1))),
            (std::vector<std::string>{"ends-at-t", "ends-later"}));
  // A cooldown ends at its instant, as policy::is_available has it.
  EXPECT_EQ(scopes_of(store().list_active_cooldowns(kT0)), std::vector<std::string>{"ends-later"});
  EXPECT_EQ(scopes_of(store().list_active_cooldowns(kT0 + hours(1))), std::vector<std::string>{});

  // Nothing was dropped: the caller decides what an old cooldown means.
  EXPECT_EQ(scopes_of(store().list_cooldowns()),
            (std::vector<std::string>{"ends-at-t", "ends-later", "never-cooled"}));
  EXPECT_EQ(get("ends-at-t"), cooling("ends-at-t", kT0));
}

TEST_P(StoreConformance, DisabledKeysAreActiveWithOrWithoutACooldown) {
  put(KeyCooldown{.key_scope = "barred",
                  .cooling_class = ErrorClass::kAuthPermanent,
                  .reason = "AUTH_PERMANENT via test",
                  .disabled = true});
  KeyCooldown expired_but_disabled = cooling("expired", kT0 - hours(1), ErrorClass::kAuth);
  expired_but_disabled.disabled = true;
  put(expired_but_disabled);
  put(cooling("plain-expired", kT0 - hours(1)));

  EXPECT_EQ(scopes_of(store().list_active_cooldowns(kT0 + hours(24 * 365))),
            (std::vector<std::string>{"barred", "expired"}));
  const auto barred = get("barred");
  ASSERT_TRUE(barred.has_value());
  EXPECT_TRUE(barred->disabled);
  EXPECT_EQ(barred->cooling_until, std::nullopt);
}

TEST_P(StoreConformance, CursorsRoundTripPerPoolAndOverwrite) {
  ASSERT_TRUE(store().put_cursor("zai", 2).ok());
  ASSERT_TRUE(store().put_cursor("openai", 0).ok());
  ASSERT_TRUE(store().put_cursor("huge", std::numeric_limits<std::size_t>::max()).ok());
  ASSERT_TRUE(store().put_cursor("zai", 5).ok());
  EXPECT_EQ(store().get_cursor("zai").value(), 5u);
  EXPECT_EQ(store().get_cursor("openai").value(), 0u);
  EXPECT_EQ(store().get_cursor("huge").value(), std::numeric_limits<std::size_t>::max());
  EXPECT_EQ(store().get_cursor("anthropic").value(), std::nullopt);
}

TEST_P(StoreConformance, AdaptiveLimitsAreKeyedByScopeAndBucket) {
  ASSERT_TRUE(store().put_adaptive_limit("zai|key:1", "", 8).ok());
  ASSERT_TRUE(store().put_adaptive_limit("zai|key:1", "glm-4.7", 2).ok());
  ASSERT_TRUE(store().put_adaptive_limit("zai|key:2", "glm-4.7", INT_MAX).ok());
  ASSERT_TRUE(store().put_adaptive_limit("zai|key:1", "glm-4.7", 1).ok());
  ASSERT_TRUE(store().put_adaptive_limit("odd", "neg", INT_MIN).ok());  // the caller clamps
  EXPECT_EQ(store().get_adaptive_limit("zai|key:1", "").value(), 8);
  EXPECT_EQ(store().get_adaptive_limit("zai|key:1", "glm-4.7").value(), 1);
  EXPECT_EQ(store().get_adaptive_limit("zai|key:2", "glm-4.7").value(), INT_MAX);
  EXPECT_EQ(store().get_adaptive_limit("odd", "neg").value(), INT_MIN);
  EXPECT_EQ(store().get_adaptive_limit("zai|key:2", "").value(), std::nullopt);
}

TEST_P(StoreConformance, ASnapshotRoundTripsEveryField) {
  const RateLimitSnapshot full = test::full_snapshot(kT0 + std::chrono::nanoseconds(42));
  ASSERT_TRUE(store().put_snapshot("https://api.openai.com/v1|key:1", "gpt-4o", full).ok());
  const auto got = store().get_snapshot("https://api.openai.com/v1|key:1", "gpt-4o");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got.value().has_value());
  test::expect_same_snapshot(*got.value(), full);

  RateLimitSnapshot bare;  // nothing known but when
  bare.taken_at = kT0;
  bare.should_retry = true;
  ASSERT_TRUE(store().put_snapshot("k", "", bare).ok());
  const auto got_bare = store().get_snapshot("k", "");
  ASSERT_TRUE(got_bare.ok() && got_bare.value().has_value());
  test::expect_same_snapshot(*got_bare.value(), bare);
}

TEST_P(StoreConformance, SnapshotsAreKeyedByScopeAndModelAndReplaced) {
  const RateLimitSnapshot first = test::full_snapshot(kT0);
  RateLimitSnapshot later;
  later.taken_at = kT0 + seconds(5);
  later.find_or_add("requests", BudgetAxis::kRequests).remaining = 59;
  ASSERT_TRUE(store().put_snapshot("k", "gpt-4o", first).ok());
  ASSERT_TRUE(store().put_snapshot("k", "gpt-4o-mini", first).ok());
  ASSERT_TRUE(store().put_snapshot("k", "gpt-4o", later).ok());

  test::expect_same_snapshot(*store().get_snapshot("k", "gpt-4o").value(), later);
  test::expect_same_snapshot(*store().get_snapshot("k", "gpt-4o-mini").value(), first);
  EXPECT_FALSE(store().get_snapshot("other", "gpt-4o").value().has_value());
}

// The restart case: the last snapshot said "empty until +20 s", and the
// gateway comes back an hour later. The restored snapshot must not hold
// requests back, yet within its window it must still mean what it said.
TEST_P(StoreConformance, ARestoredSnapshotWhoseResetsArePastDoesNotThrottle) {
  RateLimitSnapshot empty_bucket;
  empty_bucket.taken_at = kT0;
  empty_bucket.retry_after = seconds(20);
  RateLimitBucket& b = empty_bucket.find_or_add("requests", BudgetAxis::kRequests);
  b.limit = 60;
  b.remaining = 0;
  b.reset_after = seconds(20);
  ASSERT_TRUE(store().put_snapshot("k", "m", empty_bucket).ok());
  const auto restored = store().get_snapshot("k", "m");
  ASSERT_TRUE(restored.ok() && restored.value().has_value());

  policy::ThrottleInput soon{.snapshot = &*restored.value(), .now = kT0 + seconds(1)};
  EXPECT_NE(policy::decide_throttle(soon).kind, policy::ThrottleDecision::Kind::kSendNow);
  policy::ThrottleInput after_restart{.snapshot = &*restored.value(), .now = kT0 + hours(1)};
  EXPECT_EQ(policy::decide_throttle(after_restart).kind, policy::ThrottleDecision::Kind::kSendNow);
}

TEST_P(StoreConformance, UsageCountersAddUpPerScopeModelAndDay) {
  const UsageKey today{"k", "gpt-4o", utc_day(kT0)};
  const UsageKey tomorrow{"k", "gpt-4o", utc_day(kT0 + hours(24))};
  const UsageKey other_model{"k", "gpt-4o-mini", utc_day(kT0)};
  std::int64_t tokens = 0;
  for (int i = 1; i <= 50; ++i) {
    const auto total = store().add_usage(today, {.requests = 1, .tokens = i * 100});
    ASSERT_TRUE(total.ok()) << total.error().message;
    tokens += i * 100;
    EXPECT_EQ(total.value(), (UsageCounts{.requests = i, .tokens = tokens}));
  }
  ASSERT_TRUE(store().add_usage(tomorrow, {.requests = 2, .tokens = 7}).ok());
  ASSERT_TRUE(store().add_usage(other_model, {.requests = 0, .tokens = 0}).ok());

  EXPECT_EQ(store().get_usage(today).value(), (UsageCounts{.requests = 50, .tokens = 127'500}));
  EXPECT_EQ(store().get_usage(tomorrow).value(), (UsageCounts{.requests = 2, .tokens = 7}));
  EXPECT_EQ(store().get_usage(other_model).value(), UsageCounts{});
  EXPECT_EQ(today.day, "2027-01-15");
  EXPECT_EQ(tomorrow.day, "2027-01-16");
}

TEST_P(StoreConformance, UsageRefusesNegativeDeltasAndSaturatesInsteadOfWrapping) {
  const UsageKey key{"k", "m", "2027-01-15"};
  ASSERT_TRUE(store().add_usage(key, {.requests = 3, .tokens = 3}).ok());
  const auto negative = store().add_usage(key, {.requests = -1, .tokens = 0});
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("usage only grows"), std::string::npos);
  EXPECT_EQ(store().get_usage(key).value(), (UsageCounts{.requests = 3, .tokens = 3}));

  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const auto near_max = store().add_usage(key, {.requests = kMax - 4, .tokens = kMax});
  ASSERT_TRUE(near_max.ok()) << near_max.error().message;
  EXPECT_EQ(near_max.value(), (UsageCounts{.requests = kMax - 1, .tokens = kMax}));
  const auto over = store().add_usage(key, {.requests = 5, .tokens = 1});
  ASSERT_TRUE(over.ok()) << over.error().message;
  EXPECT_EQ(over.value(), (UsageCounts{.requests = kMax, .tokens = kMax}));
}

TEST_P(StoreConformance, ManyKeys) {
  constexpr int kKeys = 1000;
  for (int i = 0; i < kKeys; ++i) {
    char scope[64];
    std::snprintf(scope, sizeof scope, "https://proxy.example/v1|key:%08x", i);
    // Even keys cool until a minute from now, odd ones cooled in the past.
    put(cooling(scope, i % 2 == 0 ? kT0 + minutes(1) : kT0 - minutes(1)));
    ASSERT_TRUE(store().put_adaptive_limit(scope, "", i).ok());
  }
  const auto all = store().list_cooldowns();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().size(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(all.value().front().key_scope, "https://proxy.example/v1|key:00000000");
  EXPECT_EQ(all.value().back().key_scope, "https://proxy.example/v1|key:000003e7");
  const auto active = store().list_active_cooldowns(kT0);
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active.value().size(), static_cast<std::size_t>(kKeys / 2));
  EXPECT_EQ(store().get_adaptive_limit("https://proxy.example/v1|key:000001f4", "").value(), 500);
}

TEST_P(StoreConformance, OddBytesInKeysAndTextSurvive) {
  const std::vector<std::string> texts = {
      "并发数过高 (z.ai 1302)",         "emoji \xF0\x9F\x9A\xA6 and quotes ' \" ` and 100% and \\n",
      std::string("embedded\0nul", 12), "invalid utf-8 \xff\xfe\xc3",
      "line\nbreaks\r\nand\ttabs",      "",
      std::string(64 * 1024, 'x'),
  };
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::string scope = "https://例え.jp/v1|key:" + std::to_string(i) + texts[i];
    KeyCooldown c = cooling(scope, kT0);
    c.reason = texts[i];
    put(c);
    EXPECT_EQ(get(scope), c) << "text " << i;

    RateLimitSnapshot s;
    s.taken_at = kT0;
    s.limit_type = texts[i];
    s.find_or_add(texts[i], BudgetAxis::kTokens).remaining = static_cast<std::int64_t>(i);
    ASSERT_TRUE(store().put_snapshot(scope, texts[i], s).ok());
    const auto got = store().get_snapshot(scope, texts[i]);
    ASSERT_TRUE(got.ok() && got.value().has_value()) << "text " << i;
    test::expect_same_snapshot(*got.value(), s);

    ASSERT_TRUE(store().put_cursor(texts[i], i).ok());
    EXPECT_EQ(store().get_cursor(texts[i]).value(), i);
    const UsageKey usage{scope, texts[i], texts[i]};
    ASSERT_TRUE(store().add_usage(usage, {.requests = 1, .tokens = 2}).ok());
    EXPECT_EQ(store().get_usage(usage).value(), (UsageCounts{.requests = 1, .tokens = 2}));
  }
  // Keys that differ only after a NUL, or by a trailing byte, stay apart.
  put(cooling(std::string("a\0b", 3), kT0));
  put(cooling(std::string("a\0c", 3), kT0 + seconds(1)));
  EXPECT_EQ(get(std::string("a\0b", 3))->cooling_until, kT0);
  EXPECT_EQ(get(std::string("a\0c", 3))->cooling_until, kT0 + seconds(1));
  EXPECT_EQ(get("a"), std::nullopt);
}

std::optional<std::string> conversation(Store& store, std::string_view id, TimePoint now) {
  auto r = store.get_conversation(id, now);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? r.value() : std::nullopt;
}

TEST_P(StoreConformance, AConversationIsKeptUntilItExpiresAndNotAfter) {
  const std::string text = R"([{"type":"message","role":"user","content":"hi\n\u0000"}])";
  ASSERT_TRUE(store().put_conversation("resp_1", text, kT0, kT0 + hours(1)).ok());
  EXPECT_EQ(conversation(store(), "resp_1", kT0), text);
  EXPECT_EQ(conversation(store(), "resp_1", kT0 + minutes(59)), text);
  EXPECT_EQ(conversation(store(), "resp_1", kT0 + hours(1)), std::nullopt);
  EXPECT_EQ(conversation(store(), "resp_2", kT0), std::nullopt);
  EXPECT_EQ(conversation(store(), "resp_", kT0), std::nullopt);

  // A second put replaces the first, expiry included.
  ASSERT_TRUE(store().put_conversation("resp_1", "[]", kT0, kT0 + hours(2)).ok());
  EXPECT_EQ(conversation(store(), "resp_1", kT0 + minutes(90)), "[]");
  // Already expired: not kept, and an earlier record under the id is gone.
  ASSERT_TRUE(store().put_conversation("resp_3", "[]", kT0, kT0).ok());
  EXPECT_EQ(conversation(store(), "resp_3", kT0 - seconds(1)), std::nullopt);
  ASSERT_TRUE(store().put_conversation("resp_1", "[]", kT0, kT0).ok());
  EXPECT_EQ(conversation(store(), "resp_1", kT0), std::nullopt);
}

TEST_P(StoreConformance, ConversationsOfAnySizeAndBytesRoundTrip) {
  std::string big(300 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>(i % 256);
  ASSERT_TRUE(store().put_conversation("resp_big", big, kT0, kT0 + hours(1)).ok());
  EXPECT_EQ(conversation(store(), "resp_big", kT0), big);
  const std::string odd_id("resp\0\n|x", 9);
  ASSERT_TRUE(store().put_conversation(odd_id, "odd", kT0, kT0 + hours(1)).ok());
  EXPECT_EQ(conversation(store(), odd_id, kT0), "odd");
  EXPECT_EQ(conversation(store(), "resp", kT0), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace sluice::state
