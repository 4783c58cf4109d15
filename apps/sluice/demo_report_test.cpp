#include "apps/sluice/demo_report.hpp"

#include <gtest/gtest.h>

namespace sluice::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

double secs(Duration d) { return to_seconds(d); }

TEST(SdkRetry, RetriesTransportFailuresTimeoutsConflictsRateLimitsAndServerErrors) {
  for (int s : {0, 408, 409, 429, 500, 502, 503, 529}) EXPECT_TRUE(sdk_retries_status(s)) << s;
  for (int s : {200, 400, 401, 403, 404, 413, 422}) EXPECT_FALSE(sdk_retries_status(s)) << s;
}

TEST(SdkRetry, WithoutAHintBacksOffHalfASecondDoublingToEightWithDownwardJitter) {
  const std::optional<std::string> none;
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(0, none, none, 0.0)), 0.5);
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(1, none, none, 0.0)), 1.0);
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(2, none, none, 0.0)), 2.0);
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(4, none, none, 0.0)), 8.0);
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(9, none, none, 0.0)), 8.0);  // capped
  // Jitter takes off up to a quarter, never adds.
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(1, none, none, 0.5)), 0.875);
  EXPECT_NEAR(secs(sdk_retry_delay(1, none, none, 0.999999)), 0.75, 1e-6);
}

TEST(SdkRetry, HonoursRetryAfterUpToSixtySeconds) {
  const std::optional<std::string> none;
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(0, none, "2", 0.9)), 2.0);
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(1, none, " 60 ", 0.9)), 60.0);
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(0, "1750", "2", 0.0)), 1.75);  // -ms wins
  // Out of range or unreadable: the SDK falls back to its own schedule.
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(0, none, "61", 0.0)), 0.5);
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(0, none, "0", 0.0)), 0.5);
  EXPECT_DOUBLE_EQ(secs(sdk_retry_delay(1, "soon", "later", 0.0)), 1.0);
}

TEST(Percentile, NearestRank) {
  EXPECT_FALSE(percentile({}, 50).has_value());
  EXPECT_EQ(percentile({7}, 99), 7);
  EXPECT_EQ(percentile({5, 1, 4, 2, 3}, 50), 3);
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(i);
  EXPECT_EQ(percentile(hundred, 50), 50);
  EXPECT_EQ(percentile(hundred, 99), 99);
  EXPECT_EQ(percentile(hundred, 100), 100);
  EXPECT_EQ(percentile({1, 2, 3, 1000}, 99), 1000);  // a tail is never averaged away
}

TEST(Allowed, TheTighterOfConcurrencyAtLatencyAndTheRequestWindows) {
  // z.ai-like: one in flight, 300 ms each: 100 in 30 s.
  EXPECT_EQ(allowed_requests({.concurrency = 1, .latency = milliseconds(300)}, seconds(30)), 100);
  // OpenAI-like: 20 per 2 s window, each window that starts counts in full.
  const KeyCapacity oa{.requests_per_window = 20, .window = seconds(2)};
  EXPECT_EQ(allowed_requests(oa, seconds(30)), 300);
  EXPECT_EQ(allowed_requests(oa, milliseconds(30500)), 320);
  // Both limits: the tighter one wins.
  EXPECT_EQ(allowed_requests({.concurrency = 4,
                              .latency = milliseconds(100),
                              .requests_per_window = 20,
                              .window = seconds(2)},
                             seconds(10)),
            100);
  EXPECT_FALSE(allowed_requests({}, seconds(30)).has_value());
}

TEST(Allowed, ADailyBudgetCapsTheRunAndAFaultPlanScalesWhatIsAnswered) {
  // 20 per 2 s would allow 100 in 10 s; a daily budget of 30 allows 30.
  EXPECT_EQ(allowed_requests({.requests_per_window = 20,
                              .window = seconds(2),
                              .daily = 30,
                              .daily_window = std::chrono::hours(24)},
                             seconds(10)),
            30);
  // A daily budget alone is a limit too.
  EXPECT_EQ(allowed_requests({.daily = 30}, seconds(10)), 30);
  // 60% overloaded: 40% of the window is answered; an outage answers nothing.
  const KeyCapacity storm{.requests_per_window = 20, .window = seconds(2), .answered_share = 0.4};
  EXPECT_DOUBLE_EQ(*allowed_requests(storm, seconds(10)), 40);
  const KeyCapacity outage{.requests_per_window = 20, .window = seconds(2), .answered_share = 0};
  EXPECT_DOUBLE_EQ(*allowed_requests(outage, seconds(10)), 0);
}

TEST(Summary, OneRowPerFigureOneColumnPerRun) {
  RunTotals gw{.label = "through sluice",
               .requests = 380,
               .ok = 372,
               .failed = 0,
               .upstream_429 = 0,
               .upstream_attempts = 380,
               .fallbacks = 210,
               .allowed = 400,
               .interactive_wait_s = {0.3, 0.31, 0.62}};
  RunTotals direct{.label = "straight to z.ai",
                   .requests = 118,
                   .ok = 61,
                   .failed = 57,
                   .unfinished = 2,
                   .upstream_429 = 412,
                   .upstream_attempts = 530,
                   .allowed = 100,
                   .interactive_wait_s = {0.35, 3.1}};
  const auto lines = render_summary({gw, direct});
  ASSERT_EQ(lines.size(), 9U);
  EXPECT_EQ(lines[0], "                                  through sluice    straight to z.ai");
  EXPECT_EQ(lines[1], "upstream 429s                     0                 412");
  EXPECT_EQ(lines[2], "goodput (ok / providers allowed)  93% (372 of 400)  61% (61 of 100)");
  EXPECT_EQ(lines[3], "interactive wait p50 / p99        0.31 s / 0.62 s   0.35 s / 3.10 s");
  EXPECT_EQ(lines[4], "fallbacks                         210               -");
  EXPECT_EQ(lines[5], "client-visible failures           0                 57");
  EXPECT_EQ(lines[6], "requests answered ok              372               61");
  EXPECT_EQ(lines[7], "still retrying at the end         0                 2");
  EXPECT_EQ(lines[8], "upstream attempts                 380               530");
  EXPECT_EQ(format_goodput(5, 0), "-");
  EXPECT_EQ(format_wait({}), "-");
}

ScenarioResult scenario_meeting_every_target() {
  ScenarioResult s{.name = "storm",
                   .description = "overloaded primary, fallback",
                   .rate_headers = true,
                   .has_fallback = true,
                   .service_s = 0.2};
  s.direct = {.label = "direct", .ok = 50, .failed = 10, .upstream_429 = 3, .allowed = 100};
  s.gateway = {.label = "sluice",
               .requests = 98,
               .ok = 98,
               .upstream_attempts = 120,
               .allowed = 100,
               .interactive_wait_s = {0.2, 0.25, 0.4}};
  return s;
}

TEST(Targets, NoMissWhenTheGatewayRunMeetsEveryTarget) {
  EXPECT_TRUE(target_misses(scenario_meeting_every_target()).empty());
}

TEST(Targets, NamesEachMissOfTheGatewayRunOnly) {
  ScenarioResult s = scenario_meeting_every_target();
  s.gateway.upstream_429 = 2;
  s.gateway.ok = 96;  // below 97 of 100
  s.gateway.interactive_wait_s = {0.2, 0.41};
  s.gateway.failed = 1;
  s.gateway.unfinished = 1;
  const auto misses = target_misses(s);
  ASSERT_EQ(misses.size(), 4U);
  EXPECT_EQ(misses[0], "storm: 2 upstream 429s (target 0)");
  EXPECT_EQ(misses[1], "storm: goodput 96% (96 of 100) (target >= 97%)");
  EXPECT_EQ(misses[2],
            "storm: interactive p99 wait 0.41 s, 0.21 s beyond the 0.20 s service time "
            "(target <= 0.20 s)");
  EXPECT_EQ(misses[3],
            "storm: 1 client-visible failures and 1 still retrying with a fallback (target 0)");
}

TEST(Targets, The429AndFailureTargetsApplyOnlyWithHeadersAndAFallback) {
  ScenarioResult s = scenario_meeting_every_target();
  s.rate_headers = false;
  s.has_fallback = false;
  s.gateway.upstream_429 = 5;
  s.gateway.failed = 3;
  EXPECT_TRUE(target_misses(s).empty());
  s.gateway.allowed = 0;  // nothing allowed: no goodput target either
  s.gateway.ok = 0;
  EXPECT_TRUE(target_misses(s).empty());
}

TEST(Markdown, ATablePerScenarioDirectThenSluice) {
  const auto md = render_markdown(scenario_meeting_every_target());
  ASSERT_EQ(md.size(), 14U);
  EXPECT_EQ(md[0], "### storm");
  EXPECT_EQ(md[2], "overloaded primary, fallback");
  EXPECT_EQ(md[4], "| | direct | sluice |");
  EXPECT_EQ(md[5], "|---|---|---|");
  EXPECT_EQ(md[6], "| upstream 429s | 3 | 0 |");
  EXPECT_EQ(md[7], "| goodput (ok / providers allowed) | 50% (50 of 100) | 98% (98 of 100) |");
  EXPECT_EQ(md[13], "| upstream attempts | 0 | 120 |");
}

TEST(LiveLine, ShowsRateInFlightQueueFallbacksAnd429s) {
  LiveSample s{.elapsed_s = 5.4,
               .seconds = 30,
               .requests_per_s = 12,
               .ok = 60,
               .failed = 1,
               .in_flight = "zai 1/1  openai 3/64",
               .queued_interactive = 0,
               .queued_background = 3,
               .fallbacks = 20,
               .upstream_429 = 0};
  EXPECT_EQ(render_live_line(s),
            "[  5s/30s] 12.0 req/s  ok 60  failed 1  in flight/limit zai 1/1  openai 3/64  "
            "queued 0 int/3 bg  fallbacks 20  upstream 429s 0");
  LiveSample direct{
      .elapsed_s = 12, .seconds = 30, .in_flight = "zai 1/1", .upstream_429 = 40, .backing_off = 4};
  EXPECT_EQ(render_live_line(direct),
            "[ 12s/30s] 0.0 req/s  ok 0  failed 0  in flight/limit zai 1/1  backing off 4  "
            "upstream 429s 40");
}

}  // namespace
}  // namespace sluice::cli
