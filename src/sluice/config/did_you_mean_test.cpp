#include "sluice/config/did_you_mean.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::config {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("anthropc", "anthropic"), 1u);
  EXPECT_EQ(edit_distance("max_concurent", "max_concurrent"), 1u);
  EXPECT_EQ(edit_distance("fill_frist", "fill_first"), 1u);  // one swap
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("Max_Concurrent", "max_concurrent"), 0u);
}

TEST(ClosestMatch, SuggestsNearTyposOnly) {
  const std::vector<std::string> providers = {"zai", "openrouter", "anthropic"};
  EXPECT_EQ(closest_match("anthropc", providers), "anthropic");
  EXPECT_EQ(closest_match("openrouer", providers), "openrouter");
  EXPECT_EQ(closest_match("za", providers), "zai");
  EXPECT_FALSE(closest_match("mistral", providers).has_value());
  EXPECT_FALSE(closest_match("x", std::vector<std::string>{}).has_value());
}

TEST(ClosestMatch, PrefersTheCloserCandidateThenTheEarlierOne) {
  const std::vector<std::string> names = {"idle", "idle_timeout"};
  EXPECT_EQ(closest_match("idle_timeot", names), "idle_timeout");
  const std::vector<std::string> tie = {"ab", "ac"};
  EXPECT_EQ(closest_match("aa", tie), "ab");
}

TEST(DidYouMean, FormatsASuffixOrNothing) {
  const std::vector<std::string> names = {"max_concurrent"};
  EXPECT_EQ(did_you_mean("max_concurent", names), " (did you mean \"max_concurrent\"?)");
  EXPECT_EQ(did_you_mean("strategy", names), "");
}

}  // namespace
}  // namespace sluice::config
