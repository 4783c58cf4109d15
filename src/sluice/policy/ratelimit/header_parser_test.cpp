#include "sluice/policy/ratelimit/header_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::policy {
namespace {

// Header blocks below are the real captures and documented examples from
// providers.md §1–§17, copied as fixtures.

struct BucketExpect {
  std::string name;
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> remaining;
  std::optional<double> reset_s;
  std::optional<double> window_s = std::nullopt;
};

struct HeaderRow {
  std::string label;
  Dialect dialect;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<BucketExpect> buckets;
  std::optional<double> retry_after_s = std::nullopt;
  std::size_t diagnostics = 0;
};

void PrintTo(const HeaderRow& r, std::ostream* os) { *os << r.label; }

const TimePoint kNow = from_unix_ms(1'740'435'930'000);  // 2025-02-24T22:25:30Z

HeaderList to_list(const std::vector<std::pair<std::string, std::string>>& h) {
  HeaderList l;
  for (const auto& [n, v] : h) l.add(n, v);
  return l;
}

class HeaderTable : public ::testing::TestWithParam<HeaderRow> {};

TEST_P(HeaderTable, ParsesEveryBucket) {
  const HeaderRow& row = GetParam();
  const HeaderList list = to_list(row.headers);
  const auto result = parse_rate_limit_headers(list.view(), row.dialect, kNow);
  const auto& snap = result.snapshot;
  EXPECT_EQ(snap.buckets.size(), row.buckets.size()) << row.label;
  for (const auto& e : row.buckets) {
    const RateLimitBucket* b = snap.find(e.name);
    ASSERT_NE(b, nullptr) << row.label << ": missing bucket " << e.name;
    EXPECT_EQ(b->limit, e.limit) << row.label << " " << e.name;
    EXPECT_EQ(b->remaining, e.remaining) << row.label << " " << e.name;
    if (e.reset_s) {
      ASSERT_TRUE(b->reset_after) << row.label << " " << e.name;
      EXPECT_NEAR(to_seconds(*b->reset_after), *e.reset_s, 1e-3) << row.label << " " << e.name;
    } else {
      EXPECT_FALSE(b->reset_after) << row.label << " " << e.name;
    }
    if (e.window_s) {
      ASSERT_TRUE(b->window) << row.label << " " << e.name;
      EXPECT_NEAR(to_seconds(*b->window), *e.window_s, 1e-9) << row.label << " " << e.name;
    }
  }
  if (row.retry_after_s) {
    ASSERT_TRUE(snap.retry_after) << row.label;
    EXPECT_NEAR(to_seconds(*snap.retry_after), *row.retry_after_s, 1e-6) << row.label;
  } else {
    EXPECT_FALSE(snap.retry_after) << row.label;
  }
  EXPECT_EQ(result.diagnostics.size(), row.diagnostics) << row.label;
}

std::string label_of(const ::testing::TestParamInfo<HeaderRow>& info) { return info.param.label; }

INSTANTIATE_TEST_SUITE_P(
    Providers, HeaderTable,
    ::testing::Values(
        HeaderRow{"OpenAIDocumentedBlock",
                  Dialect::kOpenAI,
                  {{"x-ratelimit-limit-requests", "5000"},
                   {"x-ratelimit-limit-tokens", "160000"},
                   {"x-ratelimit-remaining-requests", "4999"},
                   {"x-ratelimit-remaining-tokens", "159976"},
                   {"x-ratelimit-reset-requests", "12ms"},
                   {"x-ratelimit-reset-tokens", "9ms"},
                   {"x-request-id", "req_123"},
                   {"openai-processing-ms", "412"}},
                  {{"requests", 5000, 4999, 0.012, 60}, {"tokens", 160000, 159976, 0.009, 60}}},
        HeaderRow{"OpenAIProjectTokens",
                  Dialect::kOpenAI,
                  {{"x-ratelimit-limit-project-tokens", "60000"},
                   {"x-ratelimit-remaining-project-tokens", "59000"},
                   {"x-ratelimit-reset-project-tokens", "3s"}},
                  {{"tokens_project", 60000, 59000, 3.0}}},
        HeaderRow{"OpenAIUsageBasedSuffixTolerated",
                  Dialect::kOpenAI,
                  {{"x-ratelimit-limit-tokens_usage_based", "30000"},
                   {"x-ratelimit-remaining-tokens_usage_based", "29000"},
                   {"x-ratelimit-reset-tokens_usage_based", "2s"}},
                  {{"tokens_usage_based", 30000, 29000, 2.0}}},
        HeaderRow{"OpenAI429WithRetryAfter",
                  Dialect::kOpenAI,
                  {{"retry-after", "20"},
                   {"x-ratelimit-limit-requests", "500"},
                   {"x-ratelimit-remaining-requests", "0"},
                   {"x-ratelimit-reset-requests", "1.898s"}},
                  {{"requests", 500, 0, 1.898}},
                  20.0},
        HeaderRow{"AzureIntegerSeconds",
                  Dialect::kAzure,
                  {{"retry-after", "7"},
                   {"retry-after-ms", "7000"},
                   {"x-ratelimit-remaining-requests", "79"},
                   {"x-ratelimit-remaining-tokens", "0"},
                   {"x-ratelimit-reset-requests", "12"},
                   {"x-ratelimit-reset-tokens", "0"},
                   {"apim-request-id", "0a1b2c3d"},
                   {"x-ms-region", "East US"}},
                  {{"requests", std::nullopt, 79, 12.0}, {"tokens", std::nullopt, 0, 0.0}},
                  7.0},
        HeaderRow{"AzureRetryAfterMsWinsWhateverTheOrder",
                  Dialect::kAzure,
                  {{"retry-after", "9"}, {"retry-after-ms", "1500"}},
                  {},
                  1.5},
        HeaderRow{"AzureRetryAfterMsZeroIsNoHint",
                  Dialect::kAzure,
                  {{"retry-after-ms", "0"}, {"retry-after", "1"}},
                  {},
                  1.0},
        HeaderRow{"AzureFoundryRenewalPeriod",
                  Dialect::kAzure,
                  {{"x-ratelimit-limit-tokens", "60000"},
                   {"x-ratelimit-remaining-tokens", "0"},
                   {"x-ratelimit-renewalperiod-tokens", "60"},
                   {"x-ratelimit-type", "Tokens"}},
                  {{"tokens", 60000, 0, std::nullopt, 60}}},
        HeaderRow{"AzureResponsesMinusOneIsUnknown",
                  Dialect::kAzure,
                  {{"x-ratelimit-limit-tokens", "-1"},
                   {"x-ratelimit-remaining-tokens", "-1"},
                   {"x-ratelimit-reset-tokens", "0"}},
                  {},
                  std::nullopt,
                  2},
        HeaderRow{"AnthropicRealCapture",
                  Dialect::kAnthropic,
                  {{"date", "Mon, 24 Feb 2025 22:25:29 GMT"},
                   {"retry-after", "11"},
                   {"anthropic-ratelimit-requests-limit", "1000"},
                   {"anthropic-ratelimit-requests-remaining", "999"},
                   {"anthropic-ratelimit-requests-reset", "2025-02-24T22:25:30Z"},
                   {"anthropic-ratelimit-tokens-limit", "96000"},
                   {"anthropic-ratelimit-tokens-remaining", "90000"},
                   {"anthropic-ratelimit-tokens-reset", "2025-02-24T22:25:32Z"},
                   {"anthropic-ratelimit-input-tokens-limit", "80000"},
                   {"anthropic-ratelimit-input-tokens-remaining", "78000"},
                   {"anthropic-ratelimit-input-tokens-reset", "2025-02-24T22:25:32Z"},
                   {"anthropic-ratelimit-output-tokens-limit", "16000"},
                   {"anthropic-ratelimit-output-tokens-remaining", "12000"},
                   {"anthropic-ratelimit-output-tokens-reset", "2025-02-24T22:25:47Z"},
                   {"request-id", "req_018EeWyXxfu5pfWkrYcMdjWG"}},
                  // Resets are measured from the Date header, one second before kNow.
                  {{"requests", 1000, 999, 1.0},
                   {"tokens", 96000, 90000, 3.0},
                   {"input_tokens", 80000, 78000, 3.0},
                   {"output_tokens", 16000, 12000, 18.0}},
                  11.0},
        HeaderRow{"AnthropicWithoutDateUsesNow",
                  Dialect::kAnthropic,
                  {{"anthropic-ratelimit-requests-limit", "50"},
                   {"anthropic-ratelimit-requests-remaining", "0"},
                   {"anthropic-ratelimit-requests-reset", "2025-02-24T22:25:40Z"}},
                  {{"requests", 50, 0, 10.0}}},
        HeaderRow{"AnthropicPriorityTier",
                  Dialect::kAnthropic,
                  {{"anthropic-priority-input-tokens-limit", "40000"},
                   {"anthropic-priority-input-tokens-remaining", "39000"},
                   {"anthropic-priority-input-tokens-reset", "2025-02-24T22:25:35Z"}},
                  {{"priority_input_tokens", 40000, 39000, 5.0}}},
        HeaderRow{"AnthropicUnifiedWindowsRfc3339AndEpoch",
                  Dialect::kAnthropic,
                  {{"anthropic-ratelimit-unified-status", "allowed"},
                   {"anthropic-ratelimit-unified-5h-reset", "2025-02-25T00:25:30Z"},
                   {"anthropic-ratelimit-unified-7d-reset", "1741040730"},
                   {"anthropic-ratelimit-unified-fallback-percentage", "0.5"}},
                  {{"unified_5h", std::nullopt, std::nullopt, 7200.0, 5 * 3600},
                   {"unified_7d", std::nullopt, std::nullopt, 604800.0, 7 * 86400}}},
        HeaderRow{"OpenRouterEpochMillis",
                  Dialect::kOpenRouter,
                  {{"X-RateLimit-Limit", "50"},
                   {"X-RateLimit-Remaining", "0"},
                   {"X-RateLimit-Reset", "1740435990000"},
                   {"Retry-After", "60"}},
                  {{"requests", 50, 0, 60.0}},
                  60.0},
        HeaderRow{
            "GroqRequestsArePerDay",
            Dialect::kGroq,
            {{"retry-after", "2"},
             {"x-ratelimit-limit-requests", "14400"},
             {"x-ratelimit-limit-tokens", "18000"},
             {"x-ratelimit-remaining-requests", "14370"},
             {"x-ratelimit-remaining-tokens", "17997"},
             {"x-ratelimit-reset-requests", "2m59.56s"},
             {"x-ratelimit-reset-tokens", "7.66s"}},
            {{"requests_day", 14400, 14370, 179.56, 86400}, {"tokens", 18000, 17997, 7.66, 60}},
            2.0},
        HeaderRow{"GroqFloatRetryAfter", Dialect::kGroq, {{"retry-after", "7.66"}}, {}, 7.66},
        HeaderRow{"NousMinuteAndHourFloatSeconds",
                  Dialect::kNous,
                  {{"x-ratelimit-limit-requests", "800"},
                   {"x-ratelimit-limit-requests-1h", "33600"},
                   {"x-ratelimit-limit-tokens", "8000000"},
                   {"x-ratelimit-limit-tokens-1h", "336000000"},
                   {"x-ratelimit-remaining-requests", "795"},
                   {"x-ratelimit-remaining-requests-1h", "33590"},
                   {"x-ratelimit-remaining-tokens", "7999500"},
                   {"x-ratelimit-remaining-tokens-1h", "335999000"},
                   {"x-ratelimit-reset-requests", "45.5"},
                   {"x-ratelimit-reset-requests-1h", "3500.0"},
                   {"x-ratelimit-reset-tokens", "42.3"},
                   {"x-ratelimit-reset-tokens-1h", "3490.0"}},
                  {{"requests", 800, 795, 45.5},
                   {"requests_1h", 33600, 33590, 3500.0, 3600},
                   {"tokens", 8000000, 7999500, 42.3},
                   {"tokens_1h", 336000000, 335999000, 3490.0, 3600}}},
        HeaderRow{
            "CerebrasMinuteAndDaySuffixes",
            Dialect::kCerebras,
            {{"x-ratelimit-limit-requests-day", "14400"},
             {"x-ratelimit-remaining-requests-day", "14100"},
             {"x-ratelimit-reset-requests-day", "33011.382867"},
             {"x-ratelimit-limit-tokens-minute", "60000"},
             {"x-ratelimit-remaining-tokens-minute", "0"},
             {"x-ratelimit-reset-tokens-minute", "30.2"}},
            {{"requests_day", 14400, 14100, 33011.382867, 86400}, {"tokens", 60000, 0, 30.2, 60}}},
        HeaderRow{"MistralBySize",
                  Dialect::kMistral,
                  {{"x-ratelimitbysize-limit-minute", "500000"},
                   {"x-ratelimitbysize-remaining-minute", "467993"},
                   {"x-ratelimitbysize-limit-month", "1000000000"},
                   {"x-ratelimitbysize-remaining-month", "999000000"},
                   {"ratelimitbysize-reset", "40"},
                   {"ratelimitbysize-query-cost", "32007"}},
                  {{"tokens", 500000, 467993, 40.0},
                   {"tokens_month", 1000000000, 999000000, std::nullopt}}},
        HeaderRow{"TogetherPerSecond",
                  Dialect::kTogether,
                  {{"x-ratelimit-limit", "10"},
                   {"x-ratelimit-remaining", "9"},
                   {"x-ratelimit-reset", "1"},
                   {"x-tokenlimit-limit", "2000"},
                   {"x-tokenlimit-remaining", "1500"}},
                  {{"requests_1s", 10, 9, 1.0, 1}, {"tokens_1s", 2000, 1500, std::nullopt, 1}}},
        HeaderRow{"FireworksPerSecondTokenHeaders",
                  Dialect::kFireworks,
                  {{"X-Ratelimit-Limit-Tokens-Prompt", "500"},
                   {"x-ratelimit-remaining-tokens-prompt", "480"},
                   {"fireworks-prompt-tokens", "31"}},
                  {{"tokens_prompt", 500, 480, std::nullopt}}},
        HeaderRow{"ZaiSendsNoHeaders", Dialect::kZai, {{"content-type", "application/json"}}, {}},
        HeaderRow{"GarbageValuesAreDiagnosedNotFatal",
                  Dialect::kOpenAI,
                  {{"x-ratelimit-limit-requests", "lots"},
                   {"x-ratelimit-remaining-requests", "12"},
                   {"x-ratelimit-reset-requests", "soon"},
                   {"retry-after", "whenever"}},
                  {{"requests", std::nullopt, 12, std::nullopt}},
                  std::nullopt,
                  3},
        HeaderRow{"ShouldRetryIsReadButCarriesNoBucket",
                  Dialect::kAnthropic,
                  {{"x-should-retry", "true"}},
                  {}}),
    label_of);

// The IETF fields (draft-ietf-httpapi-ratelimit-headers): the early drafts'
// RateLimit-Limit / -Remaining / -Reset (reset in delta seconds), and the
// current draft's structured RateLimit-Policy ("name";q=quota;w=window;qu=unit)
// and RateLimit ("name";r=remaining;t=seconds to reset), joined by name.
INSTANTIATE_TEST_SUITE_P(
    Ietf, HeaderTable,
    ::testing::Values(
        HeaderRow{"EarlyDraftTriple",
                  Dialect::kGeneric,
                  {{"RateLimit-Limit", "100"},
                   {"RateLimit-Remaining", "0"},
                   {"RateLimit-Reset", "30"},
                   {"content-type", "application/json"}},
                  {{"requests", 100, 0, 30.0}}},
        HeaderRow{"EarlyDraftLimitCarriesPolicies",
                  Dialect::kGeneric,
                  {{"ratelimit-limit", "10, 10;w=1, 1000;w=3600"},
                   {"ratelimit-remaining", "9"},
                   {"ratelimit-reset", "1"}},
                  {{"requests_1s", 10, 9, 1.0, 1},
                   {"requests_1h", 1000, std::nullopt, std::nullopt, 3600}}},
        HeaderRow{
            "Draft07DictionaryAndIntegerPolicy",
            Dialect::kGeneric,
            {{"RateLimit", "limit=100, remaining=50, reset=30"}, {"RateLimit-Policy", "100;w=60"}},
            {{"requests", 100, 50, 30.0, 60}}},
        HeaderRow{"StructuredDefaultPolicy",
                  Dialect::kGeneric,
                  {{"RateLimit-Policy", "\"default\";q=100;w=60"},
                   {"RateLimit", "\"default\";r=50;t=30"}},
                  {{"requests", 100, 50, 30.0, 60}}},
        HeaderRow{"StructuredSeveralPoliciesInAnyOrder",
                  Dialect::kOpenAI,
                  {{"RateLimit", "\"burst\";r=0;t=12, \"daily\";r=900;t=40000"},
                   {"RateLimit-Policy", "\"burst\";q=100;w=60, \"daily\";q=1000;w=86400"}},
                  {{"requests", 100, 0, 12.0, 60}, {"requests_day", 1000, 900, 40000.0, 86400}}},
        HeaderRow{"StructuredFieldsSplitOverLines",
                  Dialect::kGeneric,
                  {{"RateLimit-Policy", "\"burst\";q=100;w=60"},
                   {"RateLimit-Policy", "\"daily\";q=1000;w=86400;pk=:cHJvamVjdC0x:"},
                   {"RateLimit", "\"daily\";r=1;t=7200"},
                   {"RateLimit", "\"burst\";r=99;t=1"}},
                  {{"requests", 100, 99, 1.0, 60}, {"requests_day", 1000, 1, 7200.0, 86400}}},
        HeaderRow{"StructuredQuotaUnits",
                  Dialect::kGeneric,
                  {{"RateLimit-Policy",
                    "\"tpm\";q=30000;qu=\"tokens\";w=60, rpm;q=500;qu=\"request\";w=60, "
                    "\"bytes\";q=1000000;qu=\"content-bytes\";w=60"},
                   {"RateLimit", "\"tpm\";r=1200;t=7, rpm;r=499;t=7"}},
                  {{"tokens", 30000, 1200, 7.0, 60},
                   {"requests", 500, 499, 7.0, 60},
                   {"content_bytes", 1000000, std::nullopt, std::nullopt, 60}}},
        HeaderRow{"StructuredSameWindowTwoPolicies",
                  Dialect::kGeneric,
                  {{"RateLimit-Policy", "\"a\";q=10;w=60, \"b\";q=20;w=60, \"c\";q=5;w=10"}},
                  {{"requests", 10, std::nullopt, std::nullopt, 60},
                   {"requests_b", 20, std::nullopt, std::nullopt, 60},
                   {"requests_10s", 5, std::nullopt, std::nullopt, 10}}},
        HeaderRow{"StructuredRemainingWithoutPolicy",
                  Dialect::kGeneric,
                  {{"RateLimit", "\"default\";r=3;t=5"}},
                  {{"requests", std::nullopt, 3, 5.0}}},
        HeaderRow{"ProviderHeadersWinOverIetfOnes",
                  Dialect::kOpenAI,
                  {{"x-ratelimit-limit-requests", "5000"},
                   {"x-ratelimit-remaining-requests", "4999"},
                   {"x-ratelimit-reset-requests", "12ms"},
                   {"RateLimit-Policy", "\"default\";q=100;w=60"},
                   {"RateLimit", "\"default\";r=50;t=30"}},
                  {{"requests", 5000, 4999, 0.012, 60}}},
        HeaderRow{"IetfGarbageIsDiagnosedNotFatal",
                  Dialect::kGeneric,
                  {{"RateLimit-Remaining", "lots"},
                   {"RateLimit-Reset", "soon"},
                   {"RateLimit", "\"default\";r=soon;t=5"},
                   {"RateLimit-Policy", "\"default\";q=-1;w=60"}},
                  {{"requests", std::nullopt, std::nullopt, 5.0, 60}},
                  std::nullopt,
                  4}),
    label_of);

// Found by fuzz_header_parser: a window of 4.4e12 seconds overflowed.
TEST(HeaderParser, HugeValuesSaturateInsteadOfOverflowing) {
  HeaderList h{{"x-ratelimit-renewalperiod-tokens", "4412809441280"},
               {"x-ratelimit-remaining-tokens", "1e300"}};
  auto r = parse_rate_limit_headers(h.view(), Dialect::kAzure, kNow);
  const auto* b = r.snapshot.find("tokens");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->window, kMaxDuration);
  EXPECT_EQ(b->remaining, 1'000'000'000'000'000'000);
}

TEST(HeaderParser, ReadsXShouldRetry) {
  HeaderList h{{"x-should-retry", "false"}};
  auto r = parse_rate_limit_headers(h.view(), Dialect::kAnthropic, kNow);
  ASSERT_TRUE(r.snapshot.should_retry);
  EXPECT_FALSE(*r.snapshot.should_retry);
}

TEST(HeaderParser, RecordsAzureLimitType) {
  HeaderList h{{"x-ratelimit-type", "Tokens"}};
  auto r = parse_rate_limit_headers(h.view(), Dialect::kAzure, kNow);
  EXPECT_EQ(r.snapshot.limit_type, "tokens");
}

TEST(HeaderParser, NamesAreCaseInsensitive) {
  HeaderList h{{"X-RATELIMIT-REMAINING-REQUESTS", "3"}, {"X-RateLimit-Reset-Requests", "6m0s"}};
  auto r = parse_rate_limit_headers(h.view(), Dialect::kOpenAI, kNow);
  const auto* b = r.snapshot.find("requests");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->remaining, 3);
  EXPECT_NEAR(to_seconds(*b->reset_after), 360, 1e-9);
}

// The fast path drops names that cannot be a rate-limit header at their
// first byte; the IETF names, in any case, must get through it.
TEST(HeaderParser, IetfNamesPassTheFirstByteGateInAnyCase) {
  for (const char* policy : {"RateLimit-Policy", "ratelimit-policy", "RATELIMIT-POLICY"}) {
    for (const char* current : {"RateLimit", "ratelimit", "RATELIMIT"}) {
      HeaderList h{{policy, "\"default\";q=100;w=60"}, {current, "\"default\";r=0;t=30"}};
      auto r = parse_rate_limit_headers(h.view(), Dialect::kGeneric, kNow);
      const auto* b = r.snapshot.find("requests");
      ASSERT_NE(b, nullptr) << policy << " / " << current;
      EXPECT_EQ(b->axis, BudgetAxis::kRequests);
      EXPECT_EQ(b->limit, 100);
      EXPECT_EQ(b->remaining, 0);
      ASSERT_TRUE(b->reset_after);
      EXPECT_NEAR(to_seconds(*b->reset_after), 30, 1e-9);
      EXPECT_EQ(r.snapshot.most_exhausted(), b);
    }
  }
}

TEST(HeaderParser, MostExhaustedPicksTheLongestEmptyBucket) {
  HeaderList h{{"anthropic-ratelimit-requests-remaining", "0"},
               {"anthropic-ratelimit-requests-reset", "2025-02-24T22:25:31Z"},
               {"anthropic-ratelimit-input-tokens-remaining", "0"},
               {"anthropic-ratelimit-input-tokens-reset", "2025-02-24T22:25:50Z"},
               {"anthropic-ratelimit-output-tokens-remaining", "100"}};
  auto r = parse_rate_limit_headers(h.view(), Dialect::kAnthropic, kNow);
  const auto* b = r.snapshot.most_exhausted();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "input_tokens");
}

}  // namespace
}  // namespace sluice::policy
