#include "sluice/sim/sim_config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::sim {
namespace {

SimConfig load_ok(std::string_view yaml) {
  auto r = load_sim_config_yaml(yaml);
  EXPECT_TRUE(std::holds_alternative<SimConfig>(r))
      << (std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "");
  return std::holds_alternative<SimConfig>(r) ? std::get<SimConfig>(r) : SimConfig{};
}

std::string load_error(std::string_view yaml) {
  auto r = load_sim_config_yaml(yaml);
  EXPECT_TRUE(std::holds_alternative<std::string>(r)) << yaml;
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
}

TEST(ParseDurationFlag, AcceptsGoDurationsAndZero) {
  EXPECT_EQ(parse_duration_flag("200ms"), milliseconds(200));
  EXPECT_EQ(parse_duration_flag("2s"), seconds(2));
  EXPECT_EQ(parse_duration_flag("1m"), seconds(60));
  EXPECT_EQ(parse_duration_flag("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration_flag("1m30s"), seconds(90));
  EXPECT_EQ(parse_duration_flag(" 0 "), Duration::zero());
}

TEST(ParseDurationFlag, RejectsBareNumbersNegativesAndJunk) {
  for (const char* s : {"200", "", "-1s", "+1s", "2 s", "fast", "1d", "1.s"}) {
    EXPECT_FALSE(parse_duration_flag(s)) << s;
  }
}

TEST(LoadSimConfigYaml, ReadsEveryField) {
  const SimConfig c = load_ok(R"(
providers:
  zai:
    dialect: zai
    listen: "127.0.0.1:8001"
    keys: [k1, k2]
    rpm: 20
    tpm: 40000
    window: 2s
    concurrency: 1
    daily: 500
    daily_window: 10s
    latency: 200ms
    jitter: 50ms
    ttft: 100ms
    per_token: 10ms
    models: [glm-4.6]
    faults: { overload_rate: 0.1, server_error_rate: 0.05, stream_error_rate: 0.1,
              close_mid_stream_rate: 0.1, hang_rate: 0.01, garbage_rate: 0.01,
              slow_headers: 1s, stream_error_after_chunks: 3, billing_after: 100,
              quota_after: 200 }
    seed: 7
  claude:
    dialect: anthropic
    keys: "a1, a2"
)");
  ASSERT_EQ(c.providers.size(), 2u);
  const ProviderSimConfig& z = c.providers[0];
  EXPECT_EQ(z.name, "zai");
  EXPECT_EQ(z.dialect, Dialect::kZai);
  EXPECT_EQ(z.listen, "127.0.0.1:8001");
  EXPECT_EQ(z.keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(z.limits.requests_per_window, 20);
  EXPECT_EQ(z.limits.tokens_per_window, 40000);
  EXPECT_EQ(z.limits.window, seconds(2));
  EXPECT_EQ(z.limits.concurrency, 1);
  EXPECT_EQ(z.limits.daily, 500);
  EXPECT_EQ(z.limits.daily_window, seconds(10));
  EXPECT_EQ(z.latency.fixed, milliseconds(200));
  EXPECT_EQ(z.latency.jitter, milliseconds(50));
  EXPECT_EQ(z.latency.ttft, milliseconds(100));
  EXPECT_EQ(z.latency.per_token, milliseconds(10));
  EXPECT_EQ(z.models, (std::vector<std::string>{"glm-4.6"}));
  EXPECT_DOUBLE_EQ(z.faults.overload_rate, 0.1);
  EXPECT_DOUBLE_EQ(z.faults.server_error_rate, 0.05);
  EXPECT_DOUBLE_EQ(z.faults.hang_rate, 0.01);
  EXPECT_EQ(z.faults.slow_headers, seconds(1));
  EXPECT_EQ(z.faults.stream_error_after_chunks, 3);
  EXPECT_EQ(z.faults.billing_after, 100u);
  EXPECT_EQ(z.faults.quota_after, 200u);
  EXPECT_EQ(z.seed, 7u);
  const ProviderSimConfig& a = c.providers[1];
  EXPECT_EQ(a.dialect, Dialect::kAnthropic);
  EXPECT_EQ(a.keys, (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(a.listen, "127.0.0.1:0");
  EXPECT_FALSE(a.limits.requests_per_window);
  EXPECT_EQ(a.limits.window, seconds(60));
}

TEST(LoadSimConfigYaml, DialectDefaultsToTheProviderNameAndAcceptsAliases) {
  const SimConfig c = load_ok("providers:\n  kimi: {}\n  moon: {dialect: moonshot}\n");
  ASSERT_EQ(c.providers.size(), 2u);
  EXPECT_EQ(c.providers[0].dialect, Dialect::kKimi);
  EXPECT_EQ(c.providers[1].dialect, Dialect::kKimi);
}

TEST(LoadSimConfigYaml, ErrorsNameTheFieldPath) {
  EXPECT_EQ(load_error("providers:\n  zai: {rpm: 0}\n"),
            "providers.zai.rpm: expected a positive integer");
  EXPECT_EQ(load_error("providers:\n  zai: {rpm: lots}\n"),
            "providers.zai.rpm: expected a positive integer");
  EXPECT_EQ(load_error("providers:\n  zai: {dialekt: zai}\n"),
            "providers.zai.dialekt: unknown field");
  EXPECT_EQ(load_error("providers:\n  zai: {window: 2}\n"),
            "providers.zai.window: expected a duration such as 200ms, 2s or 1m");
  EXPECT_EQ(load_error("providers:\n  zai: {faults: {overload_rate: 1.5}}\n"),
            "providers.zai.faults.overload_rate: expected a number between 0 and 1");
  EXPECT_EQ(load_error("providers:\n  zai: {faults: {overlaod_rate: 0.5}}\n"),
            "providers.zai.faults.overlaod_rate: unknown field");
  EXPECT_EQ(load_error("providers:\n  zai: {faults: {hang_rate: 0.6, garbage_rate: 0.6}}\n"),
            "providers.zai.faults: the fault rates sum to more than 1");
  EXPECT_EQ(load_error("providers:\n  zai: {keys: [k1, '']}\n"),
            "providers.zai.keys[1]: expected a non-empty string");
  EXPECT_EQ(load_error("providers:\n  zai: {listen: localhost}\n"),
            "providers.zai.listen: expected host:port, e.g. 127.0.0.1:8001");
  EXPECT_EQ(load_error("providers:\n  zai: {seed: -1}\n"),
            "providers.zai.seed: expected a non-negative integer");
  EXPECT_EQ(load_error("providers:\n  zai: {rpm: [1, 2]}\n"),
            "providers.zai.rpm: expected a single value");
  EXPECT_EQ(load_error("providers:\n  zai: {window: 400d}\n"),
            "providers.zai.window: expected a duration such as 200ms, 2s or 1m");
  EXPECT_EQ(load_error("providers:\n  zai: {window: 9000h}\n"),
            "providers.zai.window: must be longer than 0 and at most 366 days");
}

TEST(LoadSimConfigYaml, DialectMustBeOneTheSimulatorSpeaks) {
  EXPECT_EQ(load_error("providers:\n  g: {dialect: gemini}\n"),
            "providers.g.dialect: unsupported dialect \"gemini\" (supported: openai, anthropic, "
            "openrouter, zai, kimi, groq, azure)");
  EXPECT_EQ(load_error("providers:\n  mine: {rpm: 5}\n"),
            "providers.mine.dialect: missing (the provider's name is not a dialect)");
}

TEST(LoadSimConfigYaml, RejectsTheWrongShapeAndBrokenYaml) {
  EXPECT_EQ(load_error("provders:\n  zai: {}\n"), "provders: unknown field");
  EXPECT_EQ(load_error("providers: {}\n"),
            "providers: expected a mapping of provider names to settings");
  EXPECT_EQ(load_error("- a\n- b\n"), "expected a mapping with a `providers` field");
  EXPECT_EQ(load_error("providers:\n  zai: 5\n"), "providers.zai: expected a mapping of fields");
  EXPECT_EQ(load_error(""), "expected a mapping with a `providers` field");
  EXPECT_EQ(load_error("providers: {zai: {rpm: 1}\n").rfind("yaml: line ", 0), 0u);
}

TEST(LoadSimConfigYaml, TwoProvidersCannotShareAFixedListenAddress) {
  EXPECT_EQ(load_error("providers:\n  openai: {listen: '127.0.0.1:9000'}\n  groq: {listen: "
                       "'127.0.0.1:9000'}\n"),
            "providers.groq.listen: 127.0.0.1:9000 is already used by providers.openai");
  // Port 0 asks the OS for a free port: no clash.
  EXPECT_EQ(load_ok("providers:\n  openai: {}\n  groq: {}\n").providers.size(), 2u);
}

TEST(ValidateProvider, ChecksWhatFlagsCanGetWrong) {
  ProviderSimConfig p;
  p.name = "x";
  EXPECT_FALSE(validate_provider(p, "x"));
  p.limits.window = Duration::zero();
  EXPECT_EQ(validate_provider(p, ""), "window: must be longer than 0 and at most 366 days");
  p.limits.window = seconds(1);
  p.faults.stream_error_after_chunks = -1;
  EXPECT_EQ(validate_provider(p, ""),
            "faults.stream_error_after_chunks: expected a non-negative integer");
  p.faults.stream_error_after_chunks = 0;
  p.dialect = Dialect::kGemini;
  EXPECT_TRUE(validate_provider(p, "x")->starts_with("x.dialect: unsupported dialect"));
}

}  // namespace
}  // namespace sluice::sim
