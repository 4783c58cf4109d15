#include "sluice/policy/limiter/concurrency_defaults.hpp"

#include <gtest/gtest.h>

namespace sluice::policy {
namespace {

TEST(ConcurrencyDefaults, ZaiModelsUseTheLongestMatchingPrefix) {
  struct Case {
    std::string_view model;
    int limit;
  };
  const Case cases[] = {
      {"glm-5.1", 1},
      {"glm-5-turbo", 1},
      {"glm-5", 2},
      {"glm-5-air", 2},
      {"glm-4.7-flash", 1},
      {"glm-4.7", 2},
      {"glm-4.6", 3},
      {"glm-4.5", 10},
      {"glm-4.5-air", 10},
      {"glm-4-air", 10},
      {"glm-4-flash", 10},
      {"glm-4-long", 10},
      {"embedding-3", 10},
      {"cogview-4", 2},
      {"cogvideox-3", 5},
      {"glm-z1", 10},
      {"", 10},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(default_max_concurrent(Dialect::kZai, c.model), c.limit) << c.model;
  }
}

TEST(ConcurrencyDefaults, MatchingIgnoresCase) {
  EXPECT_EQ(default_max_concurrent(Dialect::kZai, "GLM-5.1"), 1);
  EXPECT_EQ(default_max_concurrent(Dialect::kZai, "Glm-4.7-Flash"), 1);
}

TEST(ConcurrencyDefaults, VendorPrefixedModelIdsMatchOnTheirLastSegment) {
  EXPECT_EQ(default_max_concurrent(Dialect::kZai, "z-ai/glm-5.1"), 1);
  EXPECT_EQ(default_max_concurrent(Dialect::kZai, "zai/glm-5"), 2);
  EXPECT_EQ(default_max_concurrent(Dialect::kZai, "vendor/sub/glm-4.6"), 3);
}

TEST(ConcurrencyDefaults, KimiAllowsOneForEveryModel) {
  EXPECT_EQ(default_max_concurrent(Dialect::kKimi, "kimi-k2"), 1);
  EXPECT_EQ(default_max_concurrent(Dialect::kKimi, "moonshot-v1-8k"), 1);
  EXPECT_EQ(default_max_concurrent(Dialect::kKimi, ""), 1);
}

TEST(ConcurrencyDefaults, OtherDialectsAreEffectivelyUnlimited) {
  EXPECT_EQ(default_max_concurrent(Dialect::kOpenAI, "gpt-4o"), 64);
  EXPECT_EQ(default_max_concurrent(Dialect::kOpenRouter, "z-ai/glm-5.1"), 64);
  EXPECT_EQ(default_max_concurrent(Dialect::kGeneric, "glm-5.1"), 64);
}

TEST(ConcurrencyDefaults, ConfiguredLimitWinsWhenPositive) {
  EXPECT_EQ(resolve_max_concurrent(4, Dialect::kZai, "glm-5.1"), 4);
  EXPECT_EQ(resolve_max_concurrent(1, Dialect::kOpenAI, "gpt-4o"), 1);
  EXPECT_EQ(resolve_max_concurrent(0, Dialect::kZai, "glm-5.1"), 1);
  EXPECT_EQ(resolve_max_concurrent(-2, Dialect::kZai, "glm-5"), 2);
  EXPECT_EQ(resolve_max_concurrent(std::nullopt, Dialect::kKimi, "kimi-k2"), 1);
}

TEST(ConcurrencyDefaults, TableEntriesArePositiveAndLowerCase) {
  for (const ConcurrencyDefault& entry : concurrency_defaults()) {
    EXPECT_GE(entry.limit, 1);
    for (char ch : entry.model_prefix) EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << entry.model_prefix;
  }
}

}  // namespace
}  // namespace sluice::policy
