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
  CandidateAvailability free_in(Duration d) { return {clock.now() + d, "cooling"}; }
  CandidateAvailability free_now() { return {clock.now(), ""}; }
  CandidateAvailability never() { return {std::nullopt, "all keys disabled"}; }

  testing::FakeClock clock;
  const Duration max_wait = seconds(5);
};

TEST_F(ChooseCandidate, UsesTheFirstCandidateThatIsFreeNow) {
  const std::vector<CandidateAvailability> c = {free_now(), free_now()};
  const RouteChoice choice = choose_candidate(c, 0, clock.now(), std::nullopt, max_wait);
  ASSERT_TRUE(std::holds_alternative<Use>(choice));
  EXPECT_EQ(std::get<Use>(choice).index, 0u);
}

TEST_F(ChooseCandidate, SkipsACoolingPrimaryAtStartUpWithoutWaiting) {
  // The primary's key was benched for an hour by the previous run.
  const std::vector<CandidateAvailability> c = {free_in(minutes(60)), free_now()};
  const RouteChoice choice = choose_candidate(c, 0, clock.now(), std::nullopt, max_wait);
  ASSERT_TRUE(std::holds_alternative<Use>(choice));
  EXPECT_EQ(std::get<Use>(choice).index, 1u);
}

TEST_F(ChooseCandidate, WaitsBrieflyForAPrimaryThatFreesWithinMaxWait) {
  const std::vector<CandidateAvailability> c = {free_in(seconds(2)), free_now()};
  const RouteChoice choice = choose_candidate(c, 0, clock.now(), std::nullopt, max_wait);
  ASSERT_TRUE(std::holds_alternative<WaitFor>(choice));
  EXPECT_EQ(std::get<WaitFor>(choice).index, 0u);
  EXPECT_EQ(std::get<WaitFor>(choice).until, clock.now() + seconds(2));
}

TEST_F(ChooseCandidate, ReturnsToThePrimaryWhenItsCooldownEnds) {
  const TimePoint primary_free = clock.now() + minutes(10);
  std::vector<CandidateAvailability> c = {{primary_free, "cooling"}, free_now()};
  EXPECT_EQ(std::get<Use>(choose_candidate(c, 0, clock.now(), std::nullopt, max_wait)).index, 1u);
  clock.advance(minutes(10));
  c[1] = free_now();
  EXPECT_EQ(std::get<Use>(choose_candidate(c, 0, clock.now(), std::nullopt, max_wait)).index, 0u);
}

TEST_F(ChooseCandidate, MaxWaitItselfIsStillWorthWaiting) {
  const std::vector<CandidateAvailability> c = {free_in(max_wait), free_now()};
  EXPECT_TRUE(
      std::holds_alternative<WaitFor>(choose_candidate(c, 0, clock.now(), std::nullopt, max_wait)));
  const std::vector<CandidateAvailability> longer = {free_in(max_wait + milliseconds(1)),
                                                     free_now()};
  EXPECT_TRUE(std::holds_alternative<Use>(
      choose_candidate(longer, 0, clock.now(), std::nullopt, max_wait)));
}

TEST_F(ChooseCandidate, DeadlineForcesTheFallback) {
  const std::vector<CandidateAvailability> c = {free_in(seconds(2)), free_now()};
  const TimePoint deadline = clock.now() + seconds(1);
  const RouteChoice choice = choose_candidate(c, 0, clock.now(), deadline, max_wait);
  ASSERT_TRUE(std::holds_alternative<Use>(choice));
  EXPECT_EQ(std::get<Use>(choice).index, 1u);
  // Freeing exactly at the deadline is too late as well.
  EXPECT_TRUE(std::holds_alternative<Use>(
      choose_candidate(c, 0, clock.now(), clock.now() + seconds(2), max_wait)));
}

TEST_F(ChooseCandidate, WaitsForALaterCandidateWhenEarlierOnesCannotBeFreeInTime) {
  const std::vector<CandidateAvailability> c = {free_in(minutes(5)), never(), free_in(seconds(3))};
  const RouteChoice choice = choose_candidate(c, 0, clock.now(), std::nullopt, max_wait);
  ASSERT_TRUE(std::holds_alternative<WaitFor>(choice));
  EXPECT_EQ(std::get<WaitFor>(choice).index, 2u);
}

TEST_F(ChooseCandidate, StartsAtStartIndex) {
  // After the primary failed, the engine continues from the next candidate.
  const std::vector<CandidateAvailability> c = {free_now(), free_in(minutes(1)), free_now()};
  const RouteChoice choice = choose_candidate(c, 1, clock.now(), std::nullopt, max_wait);
  ASSERT_TRUE(std::holds_alternative<Use>(choice));
  EXPECT_EQ(std::get<Use>(choice).index, 2u);
}

TEST_F(ChooseCandidate, ExhaustedReportsTheEarliestFreeTime) {
  const std::vector<CandidateAvailability> c = {free_in(minutes(5)), never(), free_in(minutes(2)),
                                                free_in(minutes(9))};
  const RouteChoice choice = choose_candidate(c, 0, clock.now(), std::nullopt, max_wait);
  ASSERT_TRUE(std::holds_alternative<Exhausted>(choice));
  EXPECT_EQ(std::get<Exhausted>(choice).earliest_free, clock.now() + minutes(2));
}

TEST_F(ChooseCandidate, ExhaustedOnlyConsidersCandidatesFromStartIndex) {
  const std::vector<CandidateAvailability> c = {free_in(minutes(1)), free_in(minutes(7))};
  const RouteChoice choice = choose_candidate(c, 1, clock.now(), std::nullopt, max_wait);
  ASSERT_TRUE(std::holds_alternative<Exhausted>(choice));
  EXPECT_EQ(std::get<Exhausted>(choice).earliest_free, clock.now() + minutes(7));
}

TEST_F(ChooseCandidate, AllDisabledIsExhaustedForever) {
  const std::vector<CandidateAvailability> c = {never(), never()};
  const RouteChoice choice = choose_candidate(c, 0, clock.now(), std::nullopt, max_wait);
  ASSERT_TRUE(std::holds_alternative<Exhausted>(choice));
  EXPECT_EQ(std::get<Exhausted>(choice).earliest_free, std::nullopt);
}

TEST_F(ChooseCandidate, NoCandidatesLeftIsExhaustedForever) {
  const std::vector<CandidateAvailability> c = {free_now()};
  EXPECT_EQ(std::get<Exhausted>(choose_candidate(c, 1, clock.now(), std::nullopt, max_wait))
                .earliest_free,
            std::nullopt);
  EXPECT_EQ(std::get<Exhausted>(choose_candidate({}, 0, clock.now(), std::nullopt, max_wait))
                .earliest_free,
            std::nullopt);
}

}  // namespace
}  // namespace sluice::policy
