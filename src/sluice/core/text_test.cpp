#include "sluice/core/text.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace sluice {
namespace {

TEST(Text, IcontainsFindsANeedleInAnyCaseAnywhere) {
  EXPECT_TRUE(icontains("Text/Event-Stream; charset=utf-8", "text/event-stream"));
  EXPECT_TRUE(icontains("application/json, TEXT/EVENT-STREAM", "text/event-stream"));
  EXPECT_TRUE(icontains("abc", ""));
  EXPECT_FALSE(icontains("text/event", "text/event-stream"));
  EXPECT_FALSE(icontains("application/json", "text/event-stream"));
  EXPECT_FALSE(icontains("", "x"));
}

TEST(Text, ContainsFindsBytesAnywhereAndNothingInAnEmptyView) {
  EXPECT_TRUE(contains("{\"error\":{}}", "error"));
  EXPECT_TRUE(contains(std::string(300, 'x') + "error", "error"));
  EXPECT_FALSE(contains(std::string(300, 'x') + "erro", "error"));
  EXPECT_FALSE(contains(std::string_view(), "error"));
  EXPECT_TRUE(contains(std::string_view(), ""));
}

// The vector path tests 16 starts at a time and the rest one by one: every
// position of a match, across and at the edges of those blocks, must agree
// with string_view::find, for needles of 1 to 6 bytes.
TEST(Text, ContainsAgreesWithFindAtEveryPosition) {
  for (std::string_view needle : {"e", "er", "err", "error", "ee", "erroor"}) {
    for (std::size_t size = 0; size <= 70; ++size) {
      for (std::size_t at = 0; at + needle.size() <= size; ++at) {
        std::string hay(size, 'e');  // only partial matches, then one whole one
        for (std::size_t k = 1; k < size; k += 2) hay[k] = 'r';
        if (needle.size() > 1) hay.assign(size, 'x');
        hay.replace(at, needle.size(), needle);
        ASSERT_EQ(contains(hay, needle), hay.find(needle) != std::string::npos)
            << "needle " << needle << " size " << size << " at " << at;
        ASSERT_TRUE(contains(hay, needle));
      }
      const std::string miss(size, needle.size() > 1 ? needle[0] : 'x');
      ASSERT_EQ(contains(miss, needle), miss.find(needle) != std::string::npos)
          << "needle " << needle << " size " << size;
    }
  }
  EXPECT_FALSE(contains(std::string(40, 'e') + "rrox" + std::string(40, 'r'), "error"));
  EXPECT_TRUE(contains(std::string(40, 'e') + "rror" + std::string(40, 'r'), "error"));
}

TEST(Text, JoinPutsTheSeparatorBetweenPartsOnly) {
  EXPECT_EQ(join({}), "");
  EXPECT_EQ(join({"a"}), "a");
  EXPECT_EQ(join({"a", "b", "c"}), "a; b; c");
  EXPECT_EQ(join({"a", "b"}, ", "), "a, b");
}

TEST(Text, Utf8PrefixNeverEndsInsideACharacter) {
  const std::string fu = "\xe6\x9c\x8d";  // 3 bytes
  const std::string s = "ab" + fu + "c";  // a b [fu] c
  EXPECT_EQ(utf8_prefix(s, 10), s);
  EXPECT_EQ(utf8_prefix(s, 6), s);
  EXPECT_EQ(utf8_prefix(s, 5), "ab" + fu);
  EXPECT_EQ(utf8_prefix(s, 4), "ab");  // inside the character: it goes whole
  EXPECT_EQ(utf8_prefix(s, 3), "ab");
  EXPECT_EQ(utf8_prefix(s, 2), "ab");
  EXPECT_EQ(utf8_prefix("\xf0\x9f\x98\x80x", 3), "");  // a 4-byte emoji
  // Not UTF-8 at all: cut where asked.
  EXPECT_EQ(utf8_prefix("ab\xff\xfe", 3), "ab\xff");
  EXPECT_EQ(utf8_prefix(std::string(8, '\x80'), 5).size(), 5u);
}

TEST(Text, AppendScaledPutsThePointWhereThePlacesSay) {
  const auto scaled = [](std::int64_t units, int places) {
    std::string out = "x=";
    append_scaled(out, units, places);
    return out;
  };
  EXPECT_EQ(scaled(0, 2), "x=0.00");
  EXPECT_EQ(scaled(5, 2), "x=0.05");
  EXPECT_EQ(scaled(100, 2), "x=1.00");
  EXPECT_EQ(scaled(1234, 2), "x=12.34");
  EXPECT_EQ(scaled(-5, 2), "x=-0.05");
  EXPECT_EQ(scaled(-1234, 3), "x=-1.234");
  EXPECT_EQ(scaled(42, 0), "x=42");
  EXPECT_EQ(scaled(INT64_MIN, 2), "x=-92233720368547758.08");
  EXPECT_EQ(scaled(INT64_MAX, 18), "x=9.223372036854775807");
  // What printf writes for the same value, over a sweep.
  for (std::int64_t v = -2000; v <= 200000; v += 7) {
    char want[32];
    std::snprintf(want, sizeof want, "x=%s%lld.%02lld", v < 0 ? "-" : "",
                  static_cast<long long>(std::llabs(v) / 100),
                  static_cast<long long>(std::llabs(v) % 100));
    ASSERT_EQ(scaled(v, 2), want) << v;
  }
}

TEST(Text, FixedDecimalWritesWhatPrintfWrites) {
  EXPECT_EQ(fixed_decimal(0.0, 2), "0.00");
  EXPECT_EQ(fixed_decimal(1.005, 2), "1.00");  // 1.00499999... in binary
  EXPECT_EQ(fixed_decimal(0.125, 2), "0.12");  // an exact tie goes to even
  EXPECT_EQ(fixed_decimal(0.375, 2), "0.38");
  EXPECT_EQ(fixed_decimal(-2.5, 0), "-2");
  EXPECT_EQ(fixed_decimal(12345.6789, 3), "12345.679");
  // A sweep of the values the Server-Timing header and log lines carry.
  for (int i = 0; i < 20000; ++i) {
    const double ms = i * 0.0137 + i / 7.0;
    for (const int places : {0, 2, 3}) {
      char want[64];
      std::snprintf(want, sizeof want, "%.*f", places, ms);
      ASSERT_EQ(fixed_decimal(ms, places), want) << ms << " with " << places;
    }
  }
}

}  // namespace
}  // namespace sluice
