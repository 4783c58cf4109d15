#include "sluice/policy/routing/route.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "testing/fake_clock.hpp"

namespace sluice::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(RouteTarget, SplitsAtTheFirstSlash) {
  const auto t = parse_route_target("openrouter/z-ai/glm-5.1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->provider, "openrouter");
  EXPECT_EQ(t->upstream_model, "z-ai/glm-5.1");

  const auto plain = parse_route_target("zai/glm-5.1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->provider, "zai");
  EXPECT_EQ(plain->upstream_model, "glm-5.1");
}

TEST(RouteTarget, RejectsMissingParts) {
  EXPECT_FALSE(parse_route_target("glm-5.1"));
  EXPECT_FALSE(parse_route_target("/glm-5.1"));
  EXPECT_FALSE(parse_route_target("zai/"));
  EXPECT_FALSE(parse_route_target(""));
  EXPECT_FALSE(parse_route_target("/"));
}

class ChooseCandidate : public ::testing::Test {
 protected:
  using Kind = CandidateAvailability::Kind;
  CandidateAvailability untried() { return {}; }
  CandidateAvailability cooling_for(Duration d) {
    return {Kind::kCooling, clock.now() + d, max_wait};
  }
  CandidateAvailability spent_for(Duration d) { return {Kind::kSpent, clock.now() + d}; }
  CandidateAvailability busy_for(Duration d) { return {Kind::kBusy, clock.now() + d}; }
  CandidateAvailability never() { return {Kind::kNever}; }
  RouteChoice choose(const std::vector<CandidateAvailability>& c, std::size_t start,
                     std::optional<TimePoint> deadline = std::nullopt) {
    return choose_candidate(c, start, clock.now(), deadline);
  }

  testing::FakeClock clock;
  const Duration max_wait = seconds(5);
};

TEST_F(ChooseCandidate, TriesTheNextCandidateNotTriedYet) {
  const std::vector<CandidateAvailability> c = {cooling_for(minutes(60)), untried(), untried()};
  const RouteChoice choice = choose(c, 1);
  ASSERT_TRUE(std::holds_alternative<Use>(choice));
  EXPECT_EQ(std::get<Use>(choice).index, 1u);
}

TEST_F(ChooseCandidate, SkipsACoolingPrimaryWithoutWaitingWhileAFallbackMayServe) {
  // Cooling for 2 s, well within max_wait: a fallback not tried yet still
  // comes first (DESIGN capability 4: skipped without waiting).
  const std::vector<CandidateAvailability> c = {cooling_for(seconds(2)), untried()};
  const RouteChoice choice = choose(c, 1);
  ASSERT_TRUE(std::holds_alternative<Use>(choice));
  EXPECT_EQ(std::get<Use>(choice).index, 1u);
}

TEST_F(ChooseCandidate, SkipsCandidatesThatCannotServeThisRequest) {
  const std::vector<CandidateAvailability> c = {cooling_for(minutes(1)), never(), untried()};
  EXPECT_EQ(std::get<Use>(choose(c, 1)).index, 2u);
}

TEST_F(ChooseCandidate, ACandidateWhoseTimeHasPassedIsUsableAgain) {
  std::vector<CandidateAvailability> c = {untried(), cooling_for(seconds(10)),
                                          spent_for(seconds(40)), busy_for(seconds(1))};
  ASSERT_TRUE(std::holds_alternative<Exhausted>(choose(c, 1)));
  clock.advance(seconds(1));
  EXPECT_EQ(std::get<Use>(choose(c, 1)).index, 3u);  // asked again for a slot
  clock.advance(seconds(9));
  EXPECT_EQ(std::get<Use>(choose(c, 1)).index, 1u);  // cooled down
}

TEST_F(ChooseCandidate, WhenNothingElseCanServeWaitsForTheCoolingCandidateThatFreesFirst) {
  // The primary cools for 3 s, the last candidate for 4 s: the primary is
  // waited for, though the walk is at the end of the chain.
  const std::vector<CandidateAvailability> c = {cooling_for(seconds(3)), never(),
                                                cooling_for(seconds(4))};
  const RouteChoice choice = choose(c, 3);
  ASSERT_TRUE(std::holds_alternative<WaitFor>(choice));
  EXPECT_EQ(std::get<WaitFor>(choice).index, 0u);
  EXPECT_EQ(std::get<WaitFor>(choice).until, clock.now() + seconds(3));
}

TEST_F(ChooseCandidate, MaxWaitItselfIsStillWorthWaiting) {
  const std::vector<CandidateAvailability> c = {cooling_for(max_wait)};
  EXPECT_TRUE(std::holds_alternative<WaitFor>(choose(c, 1)));
  const std::vector<CandidateAvailability> longer = {cooling_for(max_wait + milliseconds(1))};
  EXPECT_TRUE(std::holds_alternative<Exhausted>(choose(longer, 1)));
}

TEST_F(ChooseCandidate, EachCandidateIsWaitedForOnlyWithinWhatItMayStillWait) {
  CandidateAvailability waited_already = cooling_for(seconds(3));
  waited_already.max_wait = seconds(2);  // 3 s of its 5 s were spent waiting
  const std::vector<CandidateAvailability> c = {waited_already, cooling_for(seconds(4))};
  EXPECT_EQ(std::get<WaitFor>(choose(c, 2)).index, 1u);
}

TEST_F(ChooseCandidate, ASpentBudgetOrAMissingSlotIsNotWaitedForHere) {
  // The throttle waits for near resets itself; what reaches here was too far.
  const std::vector<CandidateAvailability> c = {spent_for(seconds(1)), busy_for(seconds(1))};
  const RouteChoice choice = choose(c, 2);
  ASSERT_TRUE(std::holds_alternative<Exhausted>(choice));
  EXPECT_EQ(std::get<Exhausted>(choice).earliest_free, clock.now() + seconds(1));
}

TEST_F(ChooseCandidate, TheDeadlineRulesOutAWait) {
  const std::vector<CandidateAvailability> c = {cooling_for(seconds(2))};
  EXPECT_TRUE(std::holds_alternative<Exhausted>(choose(c, 1, clock.now() + seconds(1))));
  // Freeing exactly at the deadline is too late as well.
  EXPECT_TRUE(std::holds_alternative<Exhausted>(choose(c, 1, clock.now() + seconds(2))));
  EXPECT_TRUE(std::holds_alternative<WaitFor>(choose(c, 1, clock.now() + seconds(3))));
}

TEST_F(ChooseCandidate, ExhaustedReportsTheEarliestFreeTimeOfAnyCandidate) {
  const std::vector<CandidateAvailability> c = {cooling_for(minutes(5)), never(),
                                                spent_for(minutes(2)), cooling_for(minutes(9))};
  const RouteChoice choice = choose(c, 4);
  ASSERT_TRUE(std::holds_alternative<Exhausted>(choice));
  EXPECT_EQ(std::get<Exhausted>(choice).earliest_free, clock.now() + minutes(2));
}

TEST_F(ChooseCandidate, DisabledKeysAndUnusableCandidatesAreExhaustedForever) {
  const std::vector<CandidateAvailability> c = {{Kind::kCooling, std::nullopt, max_wait}, never()};
  const RouteChoice choice = choose(c, 2);
  ASSERT_TRUE(std::holds_alternative<Exhausted>(choice));
  EXPECT_EQ(std::get<Exhausted>(choice).earliest_free, std::nullopt);
  EXPECT_EQ(std::get<Exhausted>(choose({}, 0)).earliest_free, std::nullopt);
}

}  // namespace
}  // namespace sluice::policy
