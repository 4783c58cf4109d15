#include "sluice/policy/ratelimit/reset_value.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::policy {
namespace {

using std::chrono::milliseconds;

struct DurationRow {
  std::string input;
  std::optional<double> seconds;
};

void PrintTo(const DurationRow& r, std::ostream* os) { *os << '"' << r.input << '"'; }

class GoDuration : public ::testing::TestWithParam<DurationRow> {};

TEST_P(GoDuration, ParsesOrRejects) {
  const auto& row = GetParam();
  auto d = parse_go_duration(row.input);
  if (!row.seconds) {
    EXPECT_FALSE(d.has_value()) << row.input;
  } else {
    ASSERT_TRUE(d.has_value()) << row.input;
    EXPECT_NEAR(to_seconds(*d), *row.seconds, 1e-6) << row.input;
  }
}

INSTANTIATE_TEST_SUITE_P(
    ProviderShapes, GoDuration,
    ::testing::Values(DurationRow{"6m0s", 360}, DurationRow{"1s", 1}, DurationRow{"12ms", 0.012},
                      DurationRow{"20ms", 0.020}, DurationRow{"7.66s", 7.66},
                      DurationRow{"2m59.56s", 179.56}, DurationRow{"1h34m52.896s", 5692.896},
                      DurationRow{"9ms", 0.009}, DurationRow{"3s", 3}, DurationRow{"1h", 3600},
                      DurationRow{"1m", 60}, DurationRow{"250us", 0.00025},
                      DurationRow{"12", std::nullopt}, DurationRow{"", std::nullopt},
                      DurationRow{"soon", std::nullopt}, DurationRow{"5x", std::nullopt},
                      DurationRow{"1.s", std::nullopt}, DurationRow{"-1s", std::nullopt},
                      DurationRow{"m", std::nullopt}));

TEST(HttpDate, ParsesImfFixdate) {
  auto t = parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT");
  ASSERT_TRUE(t);
  auto r = parse_rfc3339("2026-10-21T07:28:00Z");
  ASSERT_TRUE(r);
  EXPECT_EQ(*t, *r);
}

TEST(HttpDate, RejectsGarbage) {
  EXPECT_FALSE(parse_http_date("Wed, 21 Foo 2026 07:28:00 GMT"));
  EXPECT_FALSE(parse_http_date("tomorrow"));
  EXPECT_FALSE(parse_http_date("Wed, 31 Feb 2026 07:28:00 GMT"));
}

TEST(Rfc3339, HonoursOffsetsAndFractions) {
  auto z = parse_rfc3339("2025-02-24T22:25:30Z");
  auto plus8 = parse_rfc3339("2025-02-25T06:25:30+08:00");
  auto frac = parse_rfc3339("2025-02-24T22:25:30.5Z");
  ASSERT_TRUE(z && plus8 && frac);
  EXPECT_EQ(*z, *plus8);
  EXPECT_EQ(*frac - *z, milliseconds(500));
}

TEST(Rfc3339, NaiveTimestampsTakeTheDefaultOffset) {
  // z.ai prints Beijing time without a zone.
  auto beijing = parse_rfc3339("2026-08-22 11:16:11", std::chrono::hours(8));
  auto utc = parse_rfc3339("2026-08-22T03:16:11Z");
  ASSERT_TRUE(beijing && utc);
  EXPECT_EQ(*beijing, *utc);
}

TEST(ResetValue, DisambiguatesBareNumbers) {
  const TimePoint ref = from_unix_ms(1'788'825'000'000);
  EXPECT_NEAR(to_seconds(*parse_reset_value("12", ref)), 12, 1e-9);
  EXPECT_NEAR(to_seconds(*parse_reset_value("33011.382867", ref)), 33011.382867, 1e-6);
  // Epoch milliseconds (OpenRouter) and epoch seconds.
  EXPECT_NEAR(to_seconds(*parse_reset_value("1788825600000", ref)), 600, 1e-9);
  EXPECT_NEAR(to_seconds(*parse_reset_value("1788825600", ref)), 600, 1e-9);
  // An instant already past is zero, not negative.
  EXPECT_EQ(*parse_reset_value("1788824000000", ref), Duration::zero());
  EXPECT_FALSE(parse_reset_value("-1", ref));
  EXPECT_FALSE(parse_reset_value("", ref));
  EXPECT_FALSE(parse_reset_value("later", ref));
}

// Found by fuzz_header_parser / fuzz_classifier: values that overflowed the
// 64-bit nanosecond TimePoint. They must be rejected, not converted.
TEST(ResetValue, OutOfRangeInstantsAreRejected) {
  const TimePoint ref = from_unix_ms(1'788'825'000'000);
  EXPECT_FALSE(parse_reset_value("17410407301", ref));  // epoch seconds in the year 2521
  EXPECT_FALSE(parse_rfc3339("9999-12-31T23:59:59Z"));
  EXPECT_FALSE(parse_rfc3339("1525-01-01 00:00:00", std::chrono::hours(8)));
  EXPECT_FALSE(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"));
  EXPECT_FALSE(parse_reset_value("17888825600000", ref));  // epoch ms in the year 2536
  EXPECT_FALSE(parse_reset_value("44128094412800", ref));
  EXPECT_TRUE(parse_reset_value("8999999999", ref));  // 2255: still representable
}

TEST(RetryAfter, SecondsFloatsAndDates) {
  const TimePoint ref = *parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT");
  EXPECT_NEAR(to_seconds(*parse_retry_after("7", ref)), 7, 1e-9);
  EXPECT_NEAR(to_seconds(*parse_retry_after("7.66", ref)), 7.66, 1e-9);
  EXPECT_NEAR(to_seconds(*parse_retry_after("Wed, 21 Oct 2026 07:28:30 GMT", ref)), 30, 1e-9);
  EXPECT_FALSE(parse_retry_after("0", ref));
  EXPECT_FALSE(parse_retry_after("-3", ref));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2026 07:27:00 GMT", ref));
}

}  // namespace
}  // namespace sluice::policy
