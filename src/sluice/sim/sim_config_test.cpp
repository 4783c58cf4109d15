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

TEST(LoadSimConfigYaml, ReadsDurationsLikeTheGatewayConfig) {
  // One syntax for both files: units, combinations, a bare number of seconds.
  const SimConfig c = load_ok(
      "providers:\n  zai: {window: 1m30s, daily_window: 2, latency: 1.5s, ttft: 0, per_token: "
      "20ms}\n");
  const auto& z = c.providers.at(0);
  EXPECT_EQ(z.limits.window, seconds(90));
  EXPECT_EQ(z.limits.daily_window, seconds(2));
  EXPECT_EQ(z.latency.fixed, milliseconds(1500));
  EXPECT_EQ(z.latency.ttft, Duration::zero());
  EXPECT_EQ(z.latency.per_token, milliseconds(20));
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

TEST(LoadSimConfigYaml, ErrorsNameTheFileLineAndFieldPath) {
  EXPECT_EQ(load_error("providers:\n  zai: {rpm: 0}\n"),
            "sim.yaml:2:14: providers.zai.rpm: must be at least 1, got 0");
  EXPECT_EQ(load_error("providers:\n  zai: {rpm: lots}\n"),
            "sim.yaml:2:14: providers.zai.rpm: expected an integer, got \"lots\"");
  EXPECT_EQ(load_error("providers:\n  zai: {dialekt: zai}\n"),
            "sim.yaml:2:9: providers.zai.dialekt: unknown field (did you mean \"dialect\"?)");
  EXPECT_EQ(load_error("providers:\n  zai: {window: 2m3}\n"),
            "sim.yaml:2:17: providers.zai.window: expected a duration such as 200ms, 2s, 1.5s, 1m "
            "or 1h (at most 8760h), got \"2m3\"");
  EXPECT_EQ(load_error("providers:\n  zai: {window: 0s}\n"),
            "sim.yaml:2:17: providers.zai.window: must be longer than 0");
  EXPECT_EQ(load_error("providers:\n  zai: {faults: {overload_rate: 1.5}}\n"),
            "sim.yaml:2:33: providers.zai.faults.overload_rate: must be between 0 and 1, got 1.5");
  EXPECT_EQ(load_error("providers:\n  zai: {faults: {overlaod_rate: 0.5}}\n"),
            "sim.yaml:2:18: providers.zai.faults.overlaod_rate: unknown field (did you mean "
            "\"overload_rate\"?)");
  EXPECT_EQ(load_error("providers:\n  zai: {faults: {hang_rate: 0.6, garbage_rate: 0.6}}\n"),
            "sim.yaml:2:8: providers.zai.faults: the fault rates sum to more than 1");
  EXPECT_EQ(load_error("providers:\n  zai: {keys: [k1, '']}\n"),
            "sim.yaml:2:20: providers.zai.keys[1]: expected a non-empty string");
  EXPECT_EQ(load_error("providers:\n  zai: {keys: 'k1,,k2'}\n"),
            "sim.yaml:2:15: providers.zai.keys[0]: expected a non-empty string");
  EXPECT_EQ(load_error("providers:\n  zai: {listen: localhost}\n"),
            "sim.yaml:2:8: providers.zai.listen: expected host:port, e.g. 127.0.0.1:8001");
  EXPECT_EQ(load_error("providers:\n  zai: {seed: -1}\n"),
            "sim.yaml:2:15: providers.zai.seed: must be between 0 and 9223372036854775807, got -1");
  EXPECT_EQ(load_error("providers:\n  zai: {rpm: [1, 2]}\n"),
            "sim.yaml:2:14: providers.zai.rpm: expected an integer, got a list");
  EXPECT_EQ(load_error("providers:\n  zai: {window: 400d}\n"),
            "sim.yaml:2:17: providers.zai.window: expected a duration such as 200ms, 2s, 1.5s, 1m "
            "or 1h (at most 8760h), got \"400d\"");
}

TEST(LoadSimConfigYaml, EveryErrorIsReportedInOneRun) {
  EXPECT_EQ(load_error("providers:\n"
                       "  zai: {rpm: 0, ttft: soon}\n"
                       "  kimi: {concurency: 1}\n"),
            "sim.yaml:2:14: providers.zai.rpm: must be at least 1, got 0\n"
            "sim.yaml:2:23: providers.zai.ttft: expected a duration such as 200ms, 2s, 1.5s, 1m "
            "or 1h (at most 8760h), got \"soon\"\n"
            "sim.yaml:3:10: providers.kimi.concurency: unknown field (did you mean "
            "\"concurrency\"?)");
}

TEST(LoadSimConfigYaml, DialectMustBeOneTheSimulatorSpeaks) {
  EXPECT_EQ(load_error("providers:\n  g: {dialect: gemini}\n"),
            "sim.yaml:2:16: providers.g.dialect: unsupported dialect \"gemini\" (supported: "
            "openai, anthropic, openrouter, zai, kimi, groq, azure)");
  EXPECT_EQ(load_error("providers:\n  mine: {rpm: 5}\n"),
            "sim.yaml:2:9: providers.mine.dialect: missing (the provider's name is not a dialect)");
}

TEST(LoadSimConfigYaml, RejectsTheWrongShapeAndBrokenYaml) {
  EXPECT_EQ(load_error("provders:\n  zai: {}\n"),
            "sim.yaml:1:1: provders: unknown field (did you mean \"providers\"?)\n"
            "sim.yaml:1:1: providers: missing: the providers to simulate");
  EXPECT_EQ(load_error("providers: {}\n"),
            "sim.yaml:1:12: providers: no providers: name at least one");
  EXPECT_EQ(load_error("providers: [zai]\n"),
            "sim.yaml:1:12: providers: expected a mapping of provider names to settings, got a "
            "list");
  EXPECT_EQ(load_error("- a\n- b\n"),
            "sim.yaml:1:1: expected a mapping with a `providers` field, got a list");
  EXPECT_EQ(load_error("providers:\n  zai: 5\n"),
            "sim.yaml:2:8: providers.zai: expected a mapping, got \"5\"");
  EXPECT_EQ(load_error(""), "sim.yaml: expected a mapping with a `providers` field, got nothing");
  EXPECT_EQ(load_error("providers: {zai: {rpm: 1}\n").rfind("sim.yaml:2:1: YAML syntax error: ", 0),
            0u);
}

TEST(LoadSimConfigYaml, TwoProvidersCannotShareAFixedListenAddress) {
  EXPECT_EQ(load_error("providers:\n  openai: {listen: '127.0.0.1:9000'}\n  groq: {listen: "
                       "'127.0.0.1:9000'}\n"),
            "sim.yaml:3:9: providers.groq.listen: 127.0.0.1:9000 is already used by "
            "providers.openai");
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
