#include "sluice/policy/ratelimit/snapshot_merge.hpp"

#include <gtest/gtest.h>

#include "sluice/core/headers.hpp"
#include "sluice/policy/ratelimit/header_parser.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint(seconds(1'800'000'000));

RateLimitSnapshot snap(TimePoint at, std::int64_t remaining, Duration reset_after) {
  RateLimitSnapshot s;
  s.taken_at = at;
  RateLimitBucket& b = s.find_or_add("requests", BudgetAxis::kRequests);
  b.limit = 10;
  b.remaining = remaining;
  b.reset_after = reset_after;
  return s;
}

TEST(MergeSameWindow, AnOvertakenReplyCannotGiveBackSpentBudget) {
  // Reply B (remaining 4) was handled first; reply A (remaining 5), produced
  // earlier by the provider, arrives 3 ms later with the same reset instant.
  const RateLimitSnapshot b = snap(kT0, 4, milliseconds(800));
  const RateLimitSnapshot a = snap(kT0 + milliseconds(3), 5, milliseconds(797));
  const RateLimitSnapshot merged = merge_same_window(&b, a);
  EXPECT_EQ(merged.find("requests")->remaining, 4);
  EXPECT_EQ(merged.taken_at, a.taken_at);
}

TEST(MergeSameWindow, ALowerCountInTheSameWindowIsTakenAsItIs) {
  const RateLimitSnapshot first = snap(kT0, 6, milliseconds(800));
  const RateLimitSnapshot later = snap(kT0 + milliseconds(50), 3, milliseconds(750));
  EXPECT_EQ(merge_same_window(&first, later).find("requests")->remaining, 3);
}

TEST(MergeSameWindow, ANewWindowStartsAfresh) {
  const RateLimitSnapshot spent = snap(kT0, 0, milliseconds(100));
  const RateLimitSnapshot refilled = snap(kT0 + milliseconds(150), 9, milliseconds(950));
  EXPECT_EQ(merge_same_window(&spent, refilled).find("requests")->remaining, 9);
}

TEST(MergeSameWindow, AReplyFromTheLastWindowHandledLateDoesNotReplaceTheCurrentOne) {
  // The current window (reset at +900 ms) has 2 left; then a reply the
  // provider produced before its reset arrives, saying 0 left, resetting now.
  const RateLimitSnapshot current = snap(kT0, 2, milliseconds(900));
  const RateLimitSnapshot stale = snap(kT0 + milliseconds(20), 0, milliseconds(0));
  const RateLimitSnapshot merged = merge_same_window(&current, stale);
  const RateLimitBucket* b = merged.find("requests");
  EXPECT_EQ(b->remaining, 2);
  EXPECT_EQ(merged.taken_at + *b->reset_after, kT0 + milliseconds(900)) << "same reset instant";
}

// Anthropic: resets are whole-second RFC 3339 instants and Date is a
// whole-second HTTP-date, so replies of one window put its end up to a second
// apart. The provider said 2, then 1, then 0 left; each must be believed.
TEST(MergeSameWindow, AnthropicCountsGoDownAlthoughWholeSecondResetsDrift) {
  const auto reply = [](std::string_view date, std::string_view remaining, TimePoint now) {
    HeaderList h;
    h.add("date", date);
    h.add("anthropic-ratelimit-requests-limit", "3");
    h.add("anthropic-ratelimit-requests-remaining", remaining);
    h.add("anthropic-ratelimit-requests-reset", "2027-01-15T08:01:00Z");
    RateLimitSnapshot s = parse_rate_limit_headers(h.view(), Dialect::kAnthropic, now).snapshot;
    s.taken_at = now;
    return s;
  };
  const TimePoint at = *parse_rfc3339("2027-01-15T08:00:10Z");
  // Date truncates 10.9 s to 10 s, then says 11 s at 11.0 s: the first reply
  // puts the reset 0.9 s later than the second does.
  RateLimitSnapshot held = reply("Fri, 15 Jan 2027 08:00:10 GMT", "2", at + milliseconds(900));
  held = merge_same_window(&held, reply("Fri, 15 Jan 2027 08:00:11 GMT", "1", at + seconds(1)));
  EXPECT_EQ(held.find("requests")->remaining, 1);
  held = merge_same_window(&held,
                           reply("Fri, 15 Jan 2027 08:00:11 GMT", "0", at + milliseconds(1950)));
  EXPECT_EQ(held.find("requests")->remaining, 0);
  // And an overtaken reply of that window still cannot raise the count.
  held = merge_same_window(&held,
                           reply("Fri, 15 Jan 2027 08:00:10 GMT", "2", at + milliseconds(1990)));
  EXPECT_EQ(held.find("requests")->remaining, 0);
}

TEST(MergeSameWindow, NothingToCompareLeavesTheNewSnapshotAlone) {
  const RateLimitSnapshot only = snap(kT0, 7, milliseconds(500));
  EXPECT_EQ(merge_same_window(nullptr, only).find("requests")->remaining, 7);
  RateLimitSnapshot no_reset = snap(kT0, 2, milliseconds(500));
  no_reset.buckets[0].reset_after.reset();
  EXPECT_EQ(merge_same_window(&no_reset, only).find("requests")->remaining, 7);
  RateLimitSnapshot other;
  other.taken_at = kT0;
  other.find_or_add("tokens", BudgetAxis::kTokens).remaining = 0;
  EXPECT_EQ(merge_same_window(&other, only).find("requests")->remaining, 7);
}

}  // namespace
}  // namespace sluice::policy
