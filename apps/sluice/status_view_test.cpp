#include "apps/sluice/status_view.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::cli {
namespace {

using nlohmann::json;

// The shape GET /status returns (docs/operations.md), with one benched key.
const char* kStatus = R"({
  "now_ms": 1732350000000,
  "providers": [
    {"name": "zai", "dialect": "zai", "base_url": "https://api.z.ai/api/paas/v4",
     "keys": [{"fingerprint": "key:1a2b3c4d", "uses": 12, "disabled": false,
               "cooling_s": 41.24, "cooling_class": "RATE_LIMIT",
               "cooling_reason": "RATE_LIMIT via code 1302",
               "limiters": {"glm-5.1": {"limit": 1, "in_flight": 1, "queued": 3,
                                        "queued_by_priority": {"interactive": 1, "background": 2}}},
               "budgets": [{"model": "glm-5.1", "bucket": "requests", "remaining": 3,
                            "limit": 60, "reset_s": 12.5}]}]},
    {"name": "openai", "dialect": "openai", "base_url": "https://api.openai.com/v1",
     "keys": [{"fingerprint": "key:99887766", "uses": 0, "disabled": false}]}
  ],
  "counters": {"requests": 40, "requests_ok": 38, "requests_error": 1, "requests_refused": 1,
               "upstream_attempts": 44, "upstream_rate_limited": 2, "retries": 3,
               "fallbacks": 5, "throttle_waits": 7},
  "recent": [
    {"age_s": 3.2, "kind": "fallback", "alias": "main", "where": "openai/gpt-4o-mini",
     "class": "none", "detail": "zai/glm-5.1: OVERLOADED"},
    {"age_s": 75, "kind": "cooldown", "alias": "", "where": "zai", "class": "RATE_LIMIT",
     "detail": "line\nbreak"},
    {"age_s": 80, "kind": "rejection", "alias": "main", "where": "-", "class": "AUTH",
     "detail": "oldest"}
  ]
})";

std::vector<std::string> lines() { return render_status(json::parse(kStatus), 2); }

std::string find_line(const std::vector<std::string>& ls, const std::string& needle) {
  for (const auto& l : ls) {
    if (l.find(needle) != std::string::npos) return l;
  }
  return {};
}

TEST(StatusView, OneRowPerKeyAndLimiterWithLimitQueueAndState) {
  const auto ls = lines();
  ASSERT_FALSE(ls.empty());
  EXPECT_EQ(ls[0], "PROVIDER  KEY           LIMITER  IN FLIGHT/LIMIT  QUEUED INT/BG  STATE");
  EXPECT_EQ(ls[1],
            "zai       key:1a2b3c4d  glm-5.1  1/1              1/2            "
            "cooling RATE_LIMIT 41.2s");
  // A key not used yet has no limiter: dashes, and it is ready.
  EXPECT_EQ(ls[2], "openai    key:99887766  -        -                -              ready");
}

TEST(StatusView, BudgetsShowRemainingOfLimitAndTheResetCountdown) {
  const auto ls = lines();
  EXPECT_EQ(find_line(ls, "RESETS IN"),
            "PROVIDER  KEY           MODEL    BUDGET    REMAINING/LIMIT  RESETS IN");
  EXPECT_EQ(find_line(ls, "requests  3/60"),
            "zai       key:1a2b3c4d  glm-5.1  requests  3/60             12.5s");
}

TEST(StatusView, BenchedKeysShowClassTimeLeftAndReason) {
  const auto ls = lines();
  EXPECT_EQ(find_line(ls, "code 1302"),
            "zai       key:1a2b3c4d  cooling RATE_LIMIT 41.2s  RATE_LIMIT via code 1302");
  EXPECT_EQ(find_line(ls, "key:99887766  ready").find("cooling"), std::string::npos);
}

TEST(StatusView, CountersAndOnlyTheNewestEvents) {
  const auto ls = lines();
  EXPECT_EQ(find_line(ls, "requests 40"),
            "requests 40 (ok 38, error 1, refused 1)  upstream sends 44  upstream 429s 2  "
            "retries 3  fallbacks 5  429s avoided 7");
  EXPECT_EQ(find_line(ls, "events"), "latest 2 of 3 events (newest first):");
  EXPECT_EQ(find_line(ls, "3.2s ago"),
            "3.2s ago   fallback  main   openai/gpt-4o-mini  none        zai/glm-5.1: OVERLOADED");
  // Upstream text stays on one line; an empty alias shows as a dash.
  EXPECT_EQ(find_line(ls, "1m15s ago"),
            "1m15s ago  cooldown  -      zai                 RATE_LIMIT  line break");
  EXPECT_EQ(find_line(ls, "oldest"), "");
}

TEST(StatusView, DisabledKeysAndEmptyStatus) {
  json s = json::parse(kStatus);
  s["providers"][1]["keys"][0]["disabled"] = true;
  s["providers"][1]["keys"][0]["cooling_class"] = "AUTH";
  s["providers"][1]["keys"][0]["cooling_reason"] = "401 invalid key";
  const auto ls = render_status(s);
  EXPECT_EQ(find_line(ls, "ready"), "");
  EXPECT_EQ(find_line(ls, "-                -              disabled AUTH"),
            "openai    key:99887766  -        -                -              disabled AUTH");
  EXPECT_EQ(find_line(ls, "401 invalid key"),
            "openai    key:99887766  disabled AUTH             401 invalid key");

  const auto empty = render_status(json::object());
  EXPECT_EQ(empty.front(), "no providers");
  EXPECT_EQ(empty.back(), "no recent events");
  EXPECT_NE(find_line(empty, "requests - (ok -"), "");
}

TEST(StatusView, CountdownFormats) {
  EXPECT_EQ(format_countdown(json(0.04)), "0.0s");
  EXPECT_EQ(format_countdown(json(-3)), "0.0s");
  EXPECT_EQ(format_countdown(json(59.94)), "59.9s");
  EXPECT_EQ(format_countdown(json(125)), "2m05s");
  EXPECT_EQ(format_countdown(json(7260)), "2h01m");
  EXPECT_EQ(format_countdown(json(nullptr)), "-");
}

TEST(StatusView, TableWidthCountsCodePointsNotBytes) {
  const auto t = format_table({"A", "B"}, {{"并发", "x"}, {"ab", "y"}});
  EXPECT_EQ(t[1], "并发  x");
  EXPECT_EQ(t[2], "ab  y");
}

}  // namespace
}  // namespace sluice::cli
