#include "sluice/providers/model_facts.hpp"

#include <gtest/gtest.h>

namespace sluice::providers {
namespace {

TEST(ModelFacts, TheLongestFamilyPrefixDecides) {
  EXPECT_EQ(known_context_length("gpt-4o-mini"), 128'000);
  EXPECT_EQ(known_context_length("gpt-4.1-mini"), 1'047'576);
  EXPECT_EQ(known_context_length("gpt-4-0613"), 8'192);
  EXPECT_EQ(known_context_length("claude-sonnet-4-5-20250929"), 200'000);
  EXPECT_EQ(known_context_length("glm-4.6"), 200'000);
  EXPECT_EQ(known_context_length("glm-4.5-air"), 128'000);
}

TEST(ModelFacts, VendorPrefixesAndCaseAreIgnored) {
  EXPECT_EQ(known_context_length("moonshotai/Kimi-K2-Instruct"), 256'000);
  EXPECT_EQ(known_context_length("openai/gpt-4o"), 128'000);
}

TEST(ModelFacts, UnknownModelsHaveNoFigure) {
  EXPECT_EQ(known_context_length("my-finetune"), std::nullopt);
  EXPECT_EQ(known_context_length(""), std::nullopt);
  EXPECT_EQ(known_context_length("gpt"), std::nullopt);
}

}  // namespace
}  // namespace sluice::providers

namespace sluice::providers {
namespace {

TEST(ModelFacts, TheDefaultOutputIsTheModelsMaximumCappedForTheOutputRateLimit) {
  EXPECT_LT(kDefaultOutputCap, 8000);  // below Anthropic's first-tier OTPM
  EXPECT_EQ(default_output_tokens("claude-3-haiku-20240307"), 4096);  // its maximum
  EXPECT_EQ(default_output_tokens("claude-sonnet-4-5-20250929"), kDefaultOutputCap);
  EXPECT_EQ(default_output_tokens("anthropic/claude-3-5-haiku"), kDefaultOutputCap);
  EXPECT_EQ(default_output_tokens("some-new-model"), kDefaultOutputCap);
}

}  // namespace
}  // namespace sluice::providers
