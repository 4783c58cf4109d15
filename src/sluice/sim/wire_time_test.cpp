#include "sluice/sim/wire_time.hpp"

#include <gtest/gtest.h>

#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::sim {
namespace {

const TimePoint kNoon = *policy::parse_rfc3339("2026-08-22T12:00:00Z");

TEST(WireTime, HttpDateTruncatesToTheSecondAndParsesBack) {
  EXPECT_EQ(format_http_date(kNoon), "Sat, 22 Aug 2026 12:00:00 GMT");
  EXPECT_EQ(format_http_date(kNoon + milliseconds(999)), "Sat, 22 Aug 2026 12:00:00 GMT");
  EXPECT_EQ(policy::parse_http_date(format_http_date(kNoon + seconds(86399))),
            kNoon + seconds(86399));
}

TEST(WireTime, Rfc3339ResetsRoundUpSoClientsNeverRetryEarly) {
  EXPECT_EQ(format_rfc3339_ceil(kNoon), "2026-08-22T12:00:00Z");
  EXPECT_EQ(format_rfc3339_ceil(kNoon + milliseconds(1)), "2026-08-22T12:00:01Z");
  EXPECT_EQ(policy::parse_rfc3339(format_rfc3339_ceil(kNoon + seconds(2))), kNoon + seconds(2));
}

TEST(WireTime, BeijingStampsAreEightHoursAheadWithoutAZone) {
  EXPECT_EQ(format_beijing_time_ceil(kNoon), "2026-08-22 20:00:00");
  EXPECT_EQ(policy::parse_rfc3339(format_beijing_time_ceil(kNoon), std::chrono::hours(8)), kNoon);
}

TEST(WireTime, GoDurationsAreSpelledLikeOpenAIAndGroq) {
  EXPECT_EQ(format_go_duration(Duration::zero()), "0s");
  EXPECT_EQ(format_go_duration(milliseconds(20)), "20ms");
  EXPECT_EQ(format_go_duration(std::chrono::microseconds(1)), "1ms");  // rounded up
  EXPECT_EQ(format_go_duration(seconds(1)), "1s");
  EXPECT_EQ(format_go_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_go_duration(seconds(360)), "6m0s");
  EXPECT_EQ(format_go_duration(milliseconds(5'692'896)), "1h34m52.896s");
  EXPECT_EQ(format_go_duration(milliseconds(-5)), "0s");
}

TEST(WireTime, GoDurationsParseBackWithSluicesParser) {
  for (std::int64_t ms : {0, 1, 20, 999, 1000, 1500, 59'999, 60'000, 3'600'000, 5'692'896}) {
    EXPECT_EQ(policy::parse_go_duration(format_go_duration(milliseconds(ms))), milliseconds(ms))
        << ms;
  }
}

TEST(WireTime, EpochMillisAndSecondsRoundUp) {
  EXPECT_EQ(ceil_seconds(milliseconds(1001)), 2);
  EXPECT_EQ(ceil_seconds(Duration::zero()), 0);
  EXPECT_EQ(ceil_millis(std::chrono::microseconds(1001)), 2);
  EXPECT_EQ(epoch_millis_ceil(TimePoint(std::chrono::microseconds(1'500))), 2);
  EXPECT_EQ(format_utc_date(kNoon), "2026-08-22");
}

}  // namespace
}  // namespace sluice::sim
