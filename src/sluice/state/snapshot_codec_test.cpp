#include "sluice/state/snapshot_codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "sluice/state/test_support.hpp"

namespace sluice::state {
namespace {

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'800'000'000));

TEST(SnapshotCodec, RoundTripsEveryField) {
  const RateLimitSnapshot full = test::full_snapshot(kT0);
  const auto back = decode_snapshot(encode_snapshot(full));
  ASSERT_TRUE(back.has_value());
  test::expect_same_snapshot(*back, full);
}

TEST(SnapshotCodec, IsReadableText) {
  RateLimitSnapshot s;
  s.taken_at = TimePoint(std::chrono::seconds(1));
  RateLimitBucket& b = s.find_or_add("requests", BudgetAxis::kRequests);
  b.limit = 60;
  b.remaining = 0;
  b.reset_after = std::chrono::seconds(20);
  s.limit_type = "a b";
  EXPECT_EQ(encode_snapshot(s),
            "sluice-snapshot/1\n"
            "taken_at 1000000000\n"
            "retry_after -\n"
            "should_retry -\n"
            "limit_type a%20b\n"
            "bucket requests requests 60 0 20000000000 -\n"
            "end\n");
}

TEST(SnapshotCodec, RefusesWhatItDidNotWrite) {
  const std::string good = encode_snapshot(test::full_snapshot(kT0));
  const auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  for (const std::string& bad : {
           std::string(),
           std::string("garbage"),
           replace("sluice-snapshot/1", "sluice-snapshot/2"),
           replace("taken_at ", "taken_at x"),
           replace("retry_after 1500000000", "retry_after 1.5"),
           replace("should_retry 0", "should_retry no"),
           replace("bucket requests requests", "bucket requests sideways"),
           replace("bucket requests requests 60", "bucket requests requests 60 extra"),
           replace("TPM", "T%G1"),
           replace("TPM", "T%4"),
           replace("end\n", "end"),
           replace("end\n", "bucket x tokens - - - -\n"),
           replace("\nlimit_type", "\nbucket x tokens - - - -\nlimit_type"),
       }) {
    EXPECT_EQ(decode_snapshot(bad), std::nullopt) << bad;
  }
}

TEST(SnapshotCodec, NoTruncationDecodes) {
  // A value cut short anywhere, even at a line boundary, is not a snapshot.
  const std::string good = encode_snapshot(test::full_snapshot(kT0));
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(decode_snapshot(std::string_view(good).substr(0, n)), std::nullopt) << n;
  }
}

TEST(SnapshotCodec, ByteFlipsNeverCrashAndNeverReadAsTheOriginal) {
  const std::string good = encode_snapshot(test::full_snapshot(kT0));
  std::uint32_t seed = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string bad = good;
    seed = seed * 1664525u + 1013904223u;
    const std::size_t at = (seed >> 8) % bad.size();
    const char was = bad[at];
    bad[at] = static_cast<char>(seed & 0xff);
    if (bad[at] == was) continue;
    // Must not crash; if it decodes, it decodes to something else.
    const auto got = decode_snapshot(bad);
    if (got) {
      EXPECT_NE(encode_snapshot(*got), good);
    }
  }
}

}  // namespace
}  // namespace sluice::state
