#include "sluice/config/duration_text.hpp"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, ReadsEveryUnitAndBareSeconds) {
  struct Case {
    std::string_view text;
    Duration want;
  };
  const Case cases[] = {
      {"200ms", milliseconds(200)}, {"2s", seconds(2)},      {"1.5s", milliseconds(1500)},
      {"1m", minutes(1)},           {"1h", hours(1)},        {"30", seconds(30)},
      {"0.25", milliseconds(250)},  {"0", Duration::zero()}, {"1m30s", seconds(90)},
      {"1h0m5s", seconds(3605)},    {" 10s ", seconds(10)},  {"0ms", Duration::zero()},
  };
  for (const Case& c : cases) {
    const auto got = parse_duration(c.text);
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseDuration, RejectsNegativeUnknownAndMalformedText) {
  for (std::string_view text : {"", "-1", "-1s", "5 sec", "s", "1x", "1.2.3s", "1s-", ".5s", "ms",
                                "1d", "abc", "1S", "nan", "inf"}) {
    EXPECT_FALSE(parse_duration(text).has_value()) << text;
  }
}

TEST(ParseDuration, RejectsValuesAboveAYear) {
  EXPECT_TRUE(parse_duration("8760h").has_value());
  EXPECT_FALSE(parse_duration("8761h").has_value());
  EXPECT_FALSE(parse_duration("1e300").has_value());
}

TEST(FormatDuration, UsesTheShortestReadableSpelling) {
  EXPECT_EQ(format_duration(Duration::zero()), "0s");
  EXPECT_EQ(format_duration(milliseconds(200)), "200ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(milliseconds(1250)), "1.25s");
  EXPECT_EQ(format_duration(seconds(30)), "30s");
  EXPECT_EQ(format_duration(seconds(90)), "1m30s");
  EXPECT_EQ(format_duration(minutes(2)), "2m");
  EXPECT_EQ(format_duration(hours(1) + seconds(5)), "1h5s");
  EXPECT_EQ(format_duration(hours(8760)), "8760h");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (const Duration d : {Duration(milliseconds(1)), Duration(milliseconds(999)),
                           Duration(milliseconds(61'001)), Duration(hours(25) + minutes(1))}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
  }
}

}  // namespace
}  // namespace sluice::config
