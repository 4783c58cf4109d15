#include "sluice/engine/metrics.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace sluice::engine {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, EscapesLabelValuesPerTheExpositionFormat) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value(R"(a\b)"), R"(a\\b)");
  EXPECT_EQ(escape_label_value(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(escape_label_value("two\nlines"), R"(two\nlines)");
  PromText t;
  t.sample("m", {{"reason", "x\"y\\z\n"}}, 1);
  EXPECT_EQ(t.text(), "m{reason=\"x\\\"y\\\\z\\n\"} 1\n");
}

TEST(Metrics, FormatsValuesAsTheFormatSpellsThem) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(-2), "-2");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Metrics, WritesHelpTypeAndLabelledSamples) {
  PromText t;
  t.family("sluice_in_flight", "gauge", "In flight.\nSecond line with \\.");
  t.sample("sluice_in_flight", {{"provider", "zai"}, {"key", "sk-…abcd"}}, 2);
  t.sample("sluice_up", {}, 1);
  EXPECT_EQ(t.text(),
            "# HELP sluice_in_flight In flight.\\nSecond line with \\\\.\n"
            "# TYPE sluice_in_flight gauge\n"
            "sluice_in_flight{provider=\"zai\",key=\"sk-…abcd\"} 2\n"
            "sluice_up 1\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Histogram h({0.5, 1});
  h.observe(0.25);
  h.observe(0.5);  // on the bound: le is inclusive
  h.observe(0.75);
  h.observe(7);
  PromText t;
  t.histogram("lat_seconds", {{"provider", "oa"}}, h);
  EXPECT_EQ(t.text(),
            "lat_seconds_bucket{provider=\"oa\",le=\"0.5\"} 2\n"
            "lat_seconds_bucket{provider=\"oa\",le=\"1\"} 3\n"
            "lat_seconds_bucket{provider=\"oa\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{provider=\"oa\"} 8.5\n"
            "lat_seconds_count{provider=\"oa\"} 4\n");
}

TEST(Metrics, RendersEveryCounterFamily) {
  Metrics m;
  m.request_finished("/v1/chat/completions", "ok", "none");
  m.request_finished("/v1/chat/completions", "ok", "none");
  m.request_finished("/v1/messages", "error", "AUTH");
  m.request_finished("/v1/chat/completions", "refused", "none");
  m.upstream_attempt("zai", "OK", 0.2);
  m.upstream_attempt("zai", "RATE_LIMIT", 0.01);
  m.queue_wait(0);
  m.retry();
  m.fallback();
  m.fallback();
  m.throttle_wait();
  EXPECT_EQ(m.requests_total(), 4U);
  EXPECT_EQ(m.requests_with_outcome("ok"), 2U);
  EXPECT_EQ(m.upstream_with_class("RATE_LIMIT"), 1U);
  PromText t;
  m.render(t);
  const std::string& s = t.text();
  EXPECT_TRUE(has_line(s, "# TYPE sluice_requests_total counter")) << s;
  EXPECT_TRUE(has_line(
      s, R"(sluice_requests_total{route="/v1/chat/completions",outcome="ok",class="none"} 2)"))
      << s;
  EXPECT_TRUE(
      has_line(s, R"(sluice_requests_total{route="/v1/messages",outcome="error",class="AUTH"} 1)"))
      << s;
  EXPECT_TRUE(has_line(s, R"(sluice_upstream_attempts_total{provider="zai",class="RATE_LIMIT"} 1)"))
      << s;
  EXPECT_TRUE(has_line(s, "# TYPE sluice_upstream_latency_seconds histogram")) << s;
  EXPECT_TRUE(has_line(s, R"(sluice_upstream_latency_seconds_count{provider="zai"} 2)")) << s;
  EXPECT_TRUE(has_line(s, R"(sluice_upstream_latency_seconds_bucket{provider="zai",le="0.01"} 1)"))
      << s;
  EXPECT_TRUE(has_line(s, R"(sluice_queue_wait_seconds_bucket{le="0.001"} 1)")) << s;
  EXPECT_TRUE(has_line(s, "sluice_queue_wait_seconds_count 1")) << s;
  EXPECT_TRUE(has_line(s, "sluice_retries_total 1")) << s;
  EXPECT_TRUE(has_line(s, "sluice_fallbacks_total 2")) << s;
  EXPECT_TRUE(has_line(s, "sluice_throttle_waits_total 1")) << s;
}

TEST(Metrics, KeepsOnlyTheMostRecentEvents) {
  Metrics m;
  for (std::size_t i = 0; i < Metrics::kRecentEvents + 5; ++i) {
    m.event({.kind = "fallback", .detail = std::to_string(i)});
  }
  ASSERT_EQ(m.recent().size(), Metrics::kRecentEvents);
  EXPECT_EQ(m.recent().front().detail, "5");
  EXPECT_EQ(m.recent().back().detail, std::to_string(Metrics::kRecentEvents + 4));
}

}  // namespace
}  // namespace sluice::engine
