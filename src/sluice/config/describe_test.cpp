#include <gtest/gtest.h>

#include <string>

#include "sluice/config/fake_secret_source.hpp"
#include "sluice/config/gateway_config.hpp"

namespace sluice::config {
namespace {

constexpr std::string_view kZaiKey = "sk-zai-SECRET-0001";
constexpr std::string_view kZaiFileKey = "sk-zaifile-SECRET-0002";
constexpr std::string_view kOpenRouterKey = "sk-or-v1-SECRET-0003";
constexpr std::string_view kGatewayKey = "sluice-gw-SECRET-0005";
constexpr std::string_view kLiteralKey = "sk-literal-SECRET-0006";
constexpr std::string_view kRedisPassword = "hunter2-SECRET-0007";
constexpr std::string_view kHeaderValue = "beta-token-SECRET-0008";

constexpr std::string_view kConfig = R"(
server:
  listen: "0.0.0.0:4000"
  gateway_keys: [env:SLUICE_GATEWAY_KEY]
state: { backend: redis, url: "redis://:hunter2-SECRET-0007@10.0.0.2:6379/0" }
providers:
  zai:
    api: openai
    base_url: https://api.z.ai/api/paas/v4
    keys: [env:ZAI_API_KEY, file:/run/keys/zai, env:ZAI_UNSET]
  openrouter:
    api: openai
    base_url: https://openrouter.ai/api/v1
    keys: [env:OPENROUTER_API_KEY, sk-literal-SECRET-0006]
    strategy: round_robin
    max_concurrent: 8
    max_concurrent_by_model: { z-ai/glm-5.1: 4 }
  anthropic:
    api: anthropic
    base_url: https://api.anthropic.com
    keys: [env:ANTHROPIC_API_KEY]
    headers: { anthropic-beta: beta-token-SECRET-0008 }
models:
  main:
    route: [zai/glm-5.1, openrouter/z-ai/glm-5.1, openrouter/z-ai/glm-4.7]
  aux:
    route: [zai/glm-4.7]
    priority: background
  claude:
    route: [anthropic/claude-sonnet-4-5]
    deadline: 2m
errors:
  rules:
    - { name: proxy-busy, class: OVERLOADED, phrases: [proxy busy] }
)";

class Describe : public ::testing::Test {
 protected:
  void SetUp() override {
    secrets_.env["HOME"] = "/home/tester";
    secrets_.env["ZAI_API_KEY"] = std::string(kZaiKey);
    secrets_.env["OPENROUTER_API_KEY"] = std::string(kOpenRouterKey);
    secrets_.env["SLUICE_GATEWAY_KEY"] = std::string(kGatewayKey);
    secrets_.files["/run/keys/zai"] = std::string(kZaiFileKey) + "\n";
    result_ = load_gateway_config(kConfig, "config.yaml", secrets_);
    ASSERT_TRUE(result_.ok());
    text_ = describe(*result_.config);
  }

  bool has(std::string_view needle) const { return text_.find(needle) != std::string::npos; }

  FakeSecretSource secrets_;
  LoadResult result_;
  std::string text_;
};

TEST_F(Describe, NeverContainsASecretValue) {
  for (std::string_view secret : {kZaiKey, kZaiFileKey, kOpenRouterKey, kGatewayKey, kLiteralKey,
                                  kRedisPassword, kHeaderValue}) {
    EXPECT_FALSE(has(secret)) << secret << " leaked in:\n" << text_;
  }
  // Nor do the load diagnostics of this config (literal key, unset variables).
  for (const Diagnostic& d : result_.warnings) {
    EXPECT_EQ(d.format().find("SECRET"), std::string::npos) << d.format();
  }
}

TEST_F(Describe, ShowsKeysAsFingerprintsWithTheirSourcesAndCounts) {
  EXPECT_TRUE(has("keys (fill_first): 2 usable of 3: " + fingerprint_of(kZaiKey) +
                  " (env:ZAI_API_KEY), " + fingerprint_of(kZaiFileKey) + " (file:/run/keys/zai)"))
      << text_;
  EXPECT_TRUE(has("unusable: env:ZAI_UNSET")) << text_;
  EXPECT_TRUE(has("keys (round_robin): 2 usable of 2: " + fingerprint_of(kOpenRouterKey) +
                  " (env:OPENROUTER_API_KEY), " + fingerprint_of(kLiteralKey) + " (literal)"))
      << text_;
  EXPECT_TRUE(has("gateway key(s): " + fingerprint_of(kGatewayKey))) << text_;
}

TEST_F(Describe, ShowsEachProvidersDialectAndWhereItCameFrom) {
  EXPECT_TRUE(
      has("zai: openai API, dialect zai (inferred from base_url), "
          "https://api.z.ai/api/paas/v4"))
      << text_;
  EXPECT_TRUE(has("anthropic: anthropic API, dialect anthropic")) << text_;
}

TEST_F(Describe, ResolvesTheConcurrencyLimitOfEveryRoutedModel) {
  EXPECT_TRUE(has("      glm-5.1: 1 (built-in for zai)\n")) << text_;
  EXPECT_TRUE(has("      glm-4.7: 2 (built-in for zai)\n")) << text_;
  EXPECT_TRUE(has("      z-ai/glm-5.1: 4 (max_concurrent_by_model)\n")) << text_;
  EXPECT_TRUE(has("      z-ai/glm-4.7: 8 (max_concurrent)\n")) << text_;
}

TEST_F(Describe, ShowsEachAliasRouteInOrder) {
  EXPECT_TRUE(
      has("  main (interactive, queue timeout 30s)\n"
          "    1. zai/glm-5.1 (primary), max_concurrent 1, translated for messages/responses "
          "callers\n"
          "    2. openrouter/z-ai/glm-5.1 (fallback), max_concurrent 4, translated for "
          "messages/responses callers\n"
          "    3. openrouter/z-ai/glm-4.7 (fallback), max_concurrent 8, translated for "
          "messages/responses callers\n"))
      << text_;
  EXPECT_TRUE(has("  aux (background, queue timeout 10s)\n")) << text_;
  EXPECT_TRUE(has("  claude (interactive, queue timeout 30s, deadline 2m)\n")) << text_;
}

TEST_F(Describe, MarksCandidatesWithoutAUsableKeyAsSkipped) {
  EXPECT_TRUE(
      has("1. anthropic/claude-sonnet-4-5 (primary), max_concurrent 64, translated for "
          "chat/responses callers, skipped: no usable key"))
      << text_;
  EXPECT_TRUE(has("no usable key: route candidates on anthropic are skipped")) << text_;
}

TEST_F(Describe, NamesHeadersAndRedactsTheRedisPassword) {
  EXPECT_TRUE(has("extra headers: anthropic-beta\n")) << text_;
  EXPECT_TRUE(has("redis at redis://***@10.0.0.2:6379/0")) << text_;
}

TEST_F(Describe, ShowsRetryPolicyAndOperatorRules) {
  EXPECT_TRUE(has("at most 4 attempts per request (2 per candidate)")) << text_;
  EXPECT_TRUE(has("budget: retries <= 20% of requests + 3 per 10s")) << text_;
  EXPECT_TRUE(has("config:proxy-busy -> OVERLOADED")) << text_;
}

}  // namespace
}  // namespace sluice::config
