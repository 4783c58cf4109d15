#include "sluice/config/gateway_config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "sluice/config/fake_secret_source.hpp"
#include "sluice/policy/limiter/concurrency_defaults.hpp"

namespace sluice::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Distinctive values, so a leak into any output is unmistakable.
constexpr std::string_view kZaiKey = "sk-zai-SECRET-0001";
constexpr std::string_view kZaiFileKey = "sk-zaifile-SECRET-0002";
constexpr std::string_view kOpenRouterKey = "sk-or-v1-SECRET-0003";
constexpr std::string_view kAnthropicKey = "sk-ant-api03-SECRET-0004";
constexpr std::string_view kGatewayKey = "sluice-gw-SECRET-0005";

FakeSecretSource full_environment() {
  FakeSecretSource secrets;
  secrets.env["HOME"] = "/home/tester";
  secrets.env["ZAI_API_KEY"] = std::string(kZaiKey);
  secrets.env["OPENROUTER_API_KEY"] = std::string(kOpenRouterKey);
  secrets.env["ANTHROPIC_API_KEY"] = "  " + std::string(kAnthropicKey) + " ";
  secrets.env["SLUICE_GATEWAY_KEY"] = std::string(kGatewayKey);
  secrets.files["/home/tester/keys/zai-2"] = std::string(kZaiFileKey) + "\n";
  return secrets;
}

// The issue's example, plus the extras users need.
constexpr std::string_view kFullConfig = R"(
server:
  listen: "127.0.0.1:4000"
  max_body_bytes: 16MiB
  request_timeout: 20s
  log_format: json
  gateway_keys: [env:SLUICE_GATEWAY_KEY]
state: { backend: sqlite, path: "~/.local/state/sluice/state.db" }   # memory | sqlite | redis
providers:
  zai:
    api: openai               # wire format: openai | anthropic
    dialect: zai              # header/error dialect; inferred from base_url when absent
    base_url: https://api.z.ai/api/paas/v4/
    keys: [env:ZAI_API_KEY, "file:~/keys/zai-2"]
    max_concurrent: 1         # optional; default from the built-in table
    rpm_throttle_threshold: 2
    strategy: fill_first      # fill_first | round_robin | least_used | random
  openrouter:
    api: openai
    base_url: https://openrouter.ai/api/v1
    keys: [env:OPENROUTER_API_KEY]
    strategy: round_robin
    max_wait: 5s
    max_concurrent_by_model: { z-ai/glm-5.1: 4 }
    timeouts: { connect: 2s, first_byte: 90s }
  anthropic:
    api: anthropic
    base_url: https://api.anthropic.com
    keys: [env:ANTHROPIC_API_KEY]
    rpm_throttle_threshold: 0
    headers: { anthropic-version: "2023-06-01" }
    models: [claude-sonnet-4-5]
models:
  main:
    route: [zai/glm-5.1, openrouter/z-ai/glm-5.1]   # provider/upstream-model; first is primary
  aux:
    route: [zai/glm-4.7]
    priority: background      # default priority of requests to this alias
  claude:
    route: [anthropic/claude-sonnet-4-5]
    queue_timeout: 1.5s
    deadline: 2m
retry:
  max_attempts: 5
  budget_ratio: 0.1
  budget_window: 1m
  backoff_base: 200ms
errors:
  rules:
    - name: proxy-busy
      class: OVERLOADED
      phrases: ["Proxy Busy"]
      dialects: [generic, zai]
      status: [503]
)";

std::string all_text(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.errors) out += "error: " + d.format() + "\n";
  for (const Diagnostic& d : r.warnings) out += "warning: " + d.format() + "\n";
  return out;
}

LoadResult load(std::string_view yaml, FakeSecretSource& secrets) {
  return load_gateway_config(yaml, "config.yaml", secrets);
}

LoadResult load(std::string_view yaml) {
  FakeSecretSource secrets = full_environment();
  return load(yaml, secrets);
}

// The one error whose path is `path`; fails the test when there is not exactly one.
const Diagnostic* only(const std::vector<Diagnostic>& list, std::string_view path) {
  const Diagnostic* found = nullptr;
  int count = 0;
  for (const Diagnostic& d : list) {
    if (d.path == path) {
      found = &d;
      ++count;
    }
  }
  EXPECT_EQ(count, 1) << "diagnostics at " << path;
  return count == 1 ? found : nullptr;
}

// A minimal valid provider block to build cases on; `rest` starts on line 7
// and may continue the provider's fields.
std::string zai_with_keys(std::string_view keys, std::string_view rest = "") {
  return "\nproviders:\n  zai:\n    api: openai\n    base_url: https://api.z.ai/api/paas/v4\n"
         "    keys: " +
         std::string(keys) + "\n" + std::string(rest);
}

std::string with_zai(std::string_view rest) { return zai_with_keys("[env:ZAI_API_KEY]", rest); }

TEST(LoadGatewayConfig, FullConfigLoadsWithTheGivenValuesAndNoDiagnostics) {
  FakeSecretSource secrets = full_environment();
  const LoadResult r = load(kFullConfig, secrets);
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_TRUE(r.warnings.empty()) << all_text(r);
  const GatewayConfig& c = *r.config;

  EXPECT_EQ(c.server.listen, "127.0.0.1:4000");
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 4000);
  EXPECT_TRUE(c.server.loopback);
  EXPECT_EQ(c.server.max_body_bytes, 16u * 1024 * 1024);
  EXPECT_EQ(c.server.request_timeout, seconds(20));
  EXPECT_EQ(c.server.log_format, LogFormat::kJson);
  ASSERT_EQ(c.server.gateway_keys.size(), 1u);
  EXPECT_EQ(c.server.gateway_keys[0].secret.reveal(), kGatewayKey);
  EXPECT_TRUE(c.server.require_gateway_key);

  EXPECT_EQ(c.state.backend, StateBackend::kSqlite);
  EXPECT_EQ(c.state.path, "/home/tester/.local/state/sluice/state.db");

  ASSERT_EQ(c.providers.size(), 3u);
  const ProviderConfig& zai = c.providers[0];
  EXPECT_EQ(zai.name, "zai");
  EXPECT_EQ(zai.api, WireApi::kOpenAI);
  EXPECT_EQ(zai.dialect, Dialect::kZai);
  EXPECT_FALSE(zai.dialect_inferred);
  EXPECT_EQ(zai.base_url, "https://api.z.ai/api/paas/v4");  // trailing slash dropped
  ASSERT_EQ(zai.keys.size(), 2u);
  EXPECT_EQ(zai.keys[0].secret.reveal(), kZaiKey);
  EXPECT_EQ(zai.keys[0].ref.describe(), "env:ZAI_API_KEY");
  EXPECT_EQ(zai.keys[1].secret.reveal(), kZaiFileKey);  // newline trimmed
  EXPECT_EQ(zai.keys[1].ref.describe(), "file:/home/tester/keys/zai-2");
  EXPECT_EQ(zai.max_concurrent, 1);
  EXPECT_EQ(zai.strategy, policy::SelectionStrategy::kFillFirst);
  EXPECT_EQ(zai.max_concurrent_for("glm-4.7"), 1);  // configured beats the table's 2

  const ProviderConfig& openrouter = c.providers[1];
  EXPECT_EQ(openrouter.dialect, Dialect::kOpenRouter);
  EXPECT_TRUE(openrouter.dialect_inferred);
  EXPECT_EQ(openrouter.strategy, policy::SelectionStrategy::kRoundRobin);
  EXPECT_EQ(openrouter.max_wait, seconds(5));
  EXPECT_EQ(openrouter.timeouts.connect, seconds(2));
  EXPECT_EQ(openrouter.timeouts.first_byte, seconds(90));
  EXPECT_EQ(openrouter.timeouts.idle, seconds(120));  // default kept
  EXPECT_EQ(openrouter.max_concurrent_for("z-ai/glm-5.1"), 4);
  EXPECT_EQ(openrouter.max_concurrent_for("Z-AI/GLM-5.1"), 4);
  EXPECT_EQ(openrouter.max_concurrent_for("z-ai/glm-4.7"),
            policy::default_max_concurrent(Dialect::kOpenRouter, "z-ai/glm-4.7"));

  const ProviderConfig& anthropic = c.providers[2];
  EXPECT_EQ(anthropic.api, WireApi::kAnthropic);
  EXPECT_EQ(anthropic.dialect, Dialect::kAnthropic);
  EXPECT_EQ(anthropic.keys.at(0).secret.reveal(), kAnthropicKey);  // spaces trimmed
  EXPECT_EQ(anthropic.rpm_throttle_threshold, 0);
  ASSERT_EQ(anthropic.headers.size(), 1u);
  EXPECT_EQ(anthropic.headers[0].first, "anthropic-version");
  EXPECT_EQ(anthropic.headers[0].second, "2023-06-01");
  EXPECT_EQ(anthropic.models, std::vector<std::string>{"claude-sonnet-4-5"});

  ASSERT_EQ(c.models.size(), 3u);
  const ModelAlias* main = c.find_model("main");
  ASSERT_NE(main, nullptr);
  ASSERT_EQ(main->route.size(), 2u);
  EXPECT_EQ(main->route[0].provider, "zai");
  EXPECT_EQ(main->route[0].upstream_model, "glm-5.1");
  EXPECT_EQ(main->route[1].provider, "openrouter");
  EXPECT_EQ(main->route[1].upstream_model, "z-ai/glm-5.1");
  EXPECT_EQ(main->priority, Priority::kInteractive);
  EXPECT_EQ(main->queue_timeout, seconds(30));
  EXPECT_FALSE(main->deadline.has_value());
  const ModelAlias* aux = c.find_model("aux");
  ASSERT_NE(aux, nullptr);
  EXPECT_EQ(aux->priority, Priority::kBackground);
  EXPECT_EQ(aux->queue_timeout, seconds(10));  // the background default
  const ModelAlias* claude = c.find_model("claude");
  ASSERT_NE(claude, nullptr);
  EXPECT_EQ(claude->queue_timeout, milliseconds(1500));
  EXPECT_EQ(claude->deadline, std::chrono::minutes(2));

  EXPECT_EQ(c.retry.policy.max_attempts_total, 5);
  EXPECT_EQ(c.retry.policy.max_attempts_per_candidate, 2);
  EXPECT_EQ(c.retry.policy.backoff.base, milliseconds(200));
  EXPECT_EQ(c.retry.policy.backoff.max, seconds(8));
  EXPECT_DOUBLE_EQ(c.retry.budget.ratio, 0.1);
  EXPECT_EQ(c.retry.budget.window, seconds(60));

  ASSERT_EQ(c.error_rules.size(), 1u);
  const policy::ErrorRule& rule = c.error_rules[0];
  EXPECT_EQ(rule.name, "config:proxy-busy");
  EXPECT_EQ(rule.cls, ErrorClass::kOverloaded);
  EXPECT_EQ(rule.any_phrases, std::vector<std::string>{"proxy busy"});  // lower-cased
  EXPECT_EQ(rule.dialects, (std::vector<Dialect>{Dialect::kGeneric, Dialect::kZai}));
  EXPECT_EQ(rule.statuses, std::vector<int>{503});
}

TEST(LoadGatewayConfig, MinimalConfigGetsEveryDefault) {
  const LoadResult r = load(with_zai("models:\n  main:\n    route: [zai/glm-5.1]\n"));
  ASSERT_TRUE(r.ok()) << all_text(r);
  const GatewayConfig& c = *r.config;
  EXPECT_EQ(c.server.listen, "127.0.0.1:4000");
  EXPECT_EQ(c.server.max_body_bytes, 32u * 1024 * 1024);
  EXPECT_EQ(c.server.max_header_bytes, 64u * 1024);
  EXPECT_EQ(c.server.log_format, LogFormat::kLogfmt);
  EXPECT_FALSE(c.server.require_gateway_key);
  EXPECT_FALSE(c.server.allow_public_without_keys);
  EXPECT_EQ(c.state.backend, StateBackend::kSqlite);
  EXPECT_EQ(c.state.path, "/home/tester/.local/state/sluice/state.db");
  const ProviderConfig& zai = c.providers.at(0);
  EXPECT_EQ(zai.dialect, Dialect::kZai);  // inferred from api.z.ai
  EXPECT_TRUE(zai.dialect_inferred);
  EXPECT_FALSE(zai.max_concurrent.has_value());
  EXPECT_EQ(zai.max_concurrent_for("glm-5.1"), 1);  // the built-in table
  EXPECT_EQ(zai.rpm_throttle_threshold, 2);
  EXPECT_EQ(zai.strategy, policy::SelectionStrategy::kFillFirst);
  EXPECT_EQ(zai.max_wait, seconds(30));
  EXPECT_EQ(zai.timeouts.connect, seconds(10));
  EXPECT_EQ(zai.timeouts.first_byte, seconds(120));
  EXPECT_EQ(zai.timeouts.idle, seconds(120));
  EXPECT_EQ(c.retry.policy.max_attempts_total, 4);
  EXPECT_EQ(c.retry.policy.max_attempts_per_candidate, 2);
  EXPECT_EQ(c.retry.policy.max_retry_wait, seconds(30));
  EXPECT_DOUBLE_EQ(c.retry.budget.ratio, 0.2);
  EXPECT_EQ(c.retry.budget.min_per_window, 3);
  EXPECT_EQ(c.retry.budget.window, seconds(10));
  EXPECT_EQ(c.retry.policy.backoff.base, milliseconds(500));
  EXPECT_EQ(c.retry.policy.backoff.max, seconds(8));
  EXPECT_TRUE(c.error_rules.empty());
}

TEST(LoadGatewayConfig, DurationsAcceptEveryDocumentedForm) {
  const LoadResult r = load(with_zai(R"(    max_wait: 200ms
    timeouts: { connect: 2s, first_byte: 1.5s, idle: 1m }
models:
  main: { route: [zai/glm-5.1], deadline: 1h, queue_timeout: 45 }
)"));
  ASSERT_TRUE(r.ok()) << all_text(r);
  const ProviderConfig& zai = r.config->providers.at(0);
  EXPECT_EQ(zai.max_wait, milliseconds(200));
  EXPECT_EQ(zai.timeouts.connect, seconds(2));
  EXPECT_EQ(zai.timeouts.first_byte, milliseconds(1500));
  EXPECT_EQ(zai.timeouts.idle, seconds(60));
  EXPECT_EQ(r.config->models.at(0).deadline, std::chrono::hours(1));
  EXPECT_EQ(r.config->models.at(0).queue_timeout, seconds(45));
}

TEST(LoadGatewayConfig, UnknownProviderInARouteNamesThePathAndTheClosestProvider) {
  const std::string yaml = R"(providers:
  anthropic:
    api: anthropic
    base_url: https://api.anthropic.com
    keys: [env:ANTHROPIC_API_KEY]
models:
  main:
    route: [anthropic/claude-sonnet-4-5, anthropc/claude-haiku-4-5]
)";
  const LoadResult r = load(yaml);
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << all_text(r);
  EXPECT_EQ(r.errors[0].format(),
            "config.yaml:8:42: models.main.route[1]: unknown provider \"anthropc\" (did you mean "
            "\"anthropic\"?)");
}

TEST(LoadGatewayConfig, UnknownProviderWithoutACloseMatchListsTheProviders) {
  const LoadResult r = load(with_zai("models:\n  main:\n    route: [mistral/large]\n"));
  const Diagnostic* d = only(r.errors, "models.main.route[0]");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->message, "unknown provider \"mistral\" (providers: zai)");
}

TEST(LoadGatewayConfig, UnknownFieldNamesItsPathAndTheClosestField) {
  const LoadResult r = load(with_zai("    max_concurent: 1\n"));
  const Diagnostic* d = only(r.errors, "providers.zai.max_concurent");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->message, "unknown field (did you mean \"max_concurrent\"?)");
  EXPECT_EQ(d->line, 7);
  EXPECT_EQ(d->column, 5);  // the key, not its value
}

TEST(LoadGatewayConfig, UnknownFieldsAreCaughtAtEveryLevel) {
  const LoadResult r = load(with_zai(R"(    timeouts: { conect: 1s }
sever: {}
models:
  main: { route: [zai/glm-5.1], priorty: background }
retry: { max_attempt: 3 }
errors: { rules: [ { class: RATE_LIMIT, codes: [x], dialect: [zai] } ] }
state: { backnd: memory }
)"));
  EXPECT_NE(only(r.errors, "providers.zai.timeouts.conect"), nullptr);
  EXPECT_NE(only(r.errors, "sever"), nullptr);
  EXPECT_NE(only(r.errors, "models.main.priorty"), nullptr);
  EXPECT_NE(only(r.errors, "retry.max_attempt"), nullptr);
  EXPECT_NE(only(r.errors, "errors.rules[0].dialect"), nullptr);
  EXPECT_NE(only(r.errors, "state.backnd"), nullptr);
  EXPECT_EQ(r.errors.size(), 6u) << all_text(r);
  EXPECT_EQ(only(r.errors, "sever")->message, "unknown field (did you mean \"server\"?)");
}

TEST(LoadGatewayConfig, UnknownFieldFarFromAnyNameListsTheFields) {
  const LoadResult r = load(with_zai("retry: { colour: blue }\n"));
  const Diagnostic* d = only(r.errors, "retry.colour");
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->message.find("expected one of: max_attempts, "), std::string::npos) << d->message;
}

TEST(LoadGatewayConfig, WrongTypesSayWhatWasExpected) {
  const LoadResult r = load(with_zai(R"(    max_concurrent: [1]
    rpm_throttle_threshold: lots
    headers: [anthropic-version]
    timeouts: 5s
server: "127.0.0.1:4000"
models:
  main: { route: { primary: zai/glm-5.1 } }
)"));
  EXPECT_EQ(only(r.errors, "providers.zai.max_concurrent")->message,
            "expected an integer, got a list");
  EXPECT_EQ(only(r.errors, "providers.zai.rpm_throttle_threshold")->message,
            "expected an integer, got \"lots\"");
  EXPECT_EQ(only(r.errors, "providers.zai.headers")->message, "expected a mapping, got a list");
  EXPECT_EQ(only(r.errors, "providers.zai.timeouts")->message, "expected a mapping, got \"5s\"");
  EXPECT_EQ(only(r.errors, "server")->message, "expected a mapping, got \"127.0.0.1:4000\"");
  EXPECT_EQ(only(r.errors, "models.main.route")->message,
            "expected a list of strings, got a mapping");
  EXPECT_EQ(r.errors.size(), 6u) << all_text(r);
}

TEST(LoadGatewayConfig, OutOfRangeNumbersNameTheBound) {
  const LoadResult r = load(with_zai(R"(    max_concurrent: 0
    max_concurrent_by_model: { glm-5.1: -2 }
retry: { budget_ratio: 1.5, max_attempts: 0 }
server: { listen: "127.0.0.1:70000" }
)"));
  EXPECT_EQ(only(r.errors, "providers.zai.max_concurrent")->message, "must be at least 1, got 0");
  EXPECT_EQ(only(r.errors, "providers.zai.max_concurrent_by_model.glm-5.1")->message,
            "must be at least 1, got -2");
  EXPECT_EQ(only(r.errors, "retry.budget_ratio")->message, "must be between 0 and 1, got 1.5");
  EXPECT_EQ(only(r.errors, "retry.max_attempts")->message, "must be between 1 and 100, got 0");
  EXPECT_NE(only(r.errors, "server.listen"), nullptr);
  EXPECT_EQ(r.errors.size(), 5u) << all_text(r);
}

TEST(LoadGatewayConfig, BadDurationNamesTheForms) {
  const LoadResult r = load(with_zai("    max_wait: 5 sec\n"));
  const Diagnostic* d = only(r.errors, "providers.zai.max_wait");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->message,
            "expected a duration such as 200ms, 2s, 1.5s, 1m or 1h (at most 8760h), got \"5 sec\"");
}

TEST(LoadGatewayConfig, ZeroTimeoutIsRejectedButZeroWaitIsAllowed) {
  const LoadResult r = load(with_zai("    max_wait: 0\n    timeouts: { connect: 0s }\n"));
  EXPECT_EQ(only(r.errors, "providers.zai.timeouts.connect")->message, "must be longer than 0");
  EXPECT_EQ(r.errors.size(), 1u) << all_text(r);
}

TEST(LoadGatewayConfig, BadStrategySuggestsTheClosestOne) {
  const LoadResult r = load(with_zai("    strategy: fill_frist\n"));
  const Diagnostic* d = only(r.errors, "providers.zai.strategy");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->message, "unknown strategy \"fill_frist\" (did you mean \"fill_first\"?)");
}

TEST(LoadGatewayConfig, StrategyFarFromAnyNameListsTheChoices) {
  const LoadResult r = load(with_zai("    strategy: fastest\n"));
  EXPECT_EQ(only(r.errors, "providers.zai.strategy")->message,
            "unknown strategy \"fastest\" (expected one of: fill_first, round_robin, least_used, "
            "random)");
}

TEST(LoadGatewayConfig, StrategyAndEnumValuesIgnoreCase) {
  const LoadResult r = load(with_zai("    strategy: Least_Used\n    api: OpenAI\n"));
  // api given twice is a duplicate; the strategy itself is fine.
  EXPECT_EQ(only(r.errors, "providers.zai.api")->message,
            "duplicate key; the earlier one would be ignored");
  EXPECT_EQ(r.errors.size(), 1u) << all_text(r);
}

TEST(LoadGatewayConfig, BadDialectSuggestsTheClosestOne) {
  const LoadResult r = load(with_zai("    dialect: openroutr\n"));
  EXPECT_EQ(only(r.errors, "providers.zai.dialect")->message,
            "unknown dialect \"openroutr\" (did you mean \"openrouter\"?)");
}

TEST(LoadGatewayConfig, BadClassInAnErrorRuleNamesItsPath) {
  const LoadResult r = load(with_zai(R"(errors:
  rules:
    - { name: ok, class: rate_limit, codes: [x] }
    - { name: typo, class: RATE_LIMITED, codes: [y] }
    - { name: nothing-to-match, class: OVERLOADED }
    - { name: bad-dialect, class: OVERLOADED, phrases: [busy], dialects: [zia], status: [42] }
)"));
  EXPECT_EQ(only(r.errors, "errors.rules[1].class")->message,
            "unknown class \"RATE_LIMITED\" (did you mean \"RATE_LIMIT\"?)");
  EXPECT_EQ(only(r.errors, "errors.rules[2]")->message,
            "a rule needs codes, phrases or all_phrases to match on");
  EXPECT_EQ(only(r.errors, "errors.rules[3].dialects[0]")->message,
            "unknown dialect \"zia\" (did you mean \"zai\"?)");
  EXPECT_EQ(only(r.errors, "errors.rules[3].status[0]")->message,
            "must be between 100 and 599, got 42");
  EXPECT_EQ(r.errors.size(), 4u) << all_text(r);
}

TEST(LoadGatewayConfig, ErrorRuleWithoutClassIsAnError) {
  const LoadResult r = load(with_zai("errors: { rules: [ { codes: [x] } ] }\n"));
  EXPECT_EQ(only(r.errors, "errors.rules[0].class")->message,
            "missing required field (e.g. RATE_LIMIT)");
}

TEST(LoadGatewayConfig, EmptyRouteIsAnError) {
  const LoadResult r = load(with_zai("models:\n  main:\n    route: []\n"));
  const Diagnostic* d = only(r.errors, "models.main.route");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->message, "empty route; list at least one provider/upstream-model");
}

TEST(LoadGatewayConfig, MissingRouteAndMalformedTargetsAreErrors) {
  const LoadResult r = load(with_zai(R"(models:
  main: { priority: background }
  other: { route: [glm-5.1, zai/] }
  bad/alias: { route: [zai/glm-5.1] }
)"));
  EXPECT_EQ(only(r.errors, "models.main.route")->message,
            "missing required field (a list of provider/upstream-model)");
  EXPECT_EQ(only(r.errors, "models.other.route[0]")->message,
            "expected provider/upstream-model, got \"glm-5.1\"");
  EXPECT_EQ(only(r.errors, "models.other.route[1]")->message,
            "expected provider/upstream-model, got \"zai/\"");
  EXPECT_NE(only(r.errors, "models.bad/alias"), nullptr);
  EXPECT_EQ(r.errors.size(), 4u) << all_text(r);
}

TEST(LoadGatewayConfig, MissingRequiredProviderFieldsAreErrors) {
  const LoadResult r = load("providers:\n  zai:\n    keys: [env:ZAI_API_KEY]\n");
  EXPECT_EQ(only(r.errors, "providers.zai.api")->message,
            "missing required field (openai, anthropic or responses)");
  EXPECT_NE(only(r.errors, "providers.zai.base_url"), nullptr);
  EXPECT_EQ(r.errors.size(), 2u) << all_text(r);
}

TEST(LoadGatewayConfig, BaseUrlMustBeHttpOrHttpsWithoutCredentials) {
  FakeSecretSource secrets = full_environment();
  const LoadResult r = load(R"(providers:
  a: { api: openai, base_url: "ftp://example.com" }
  b: { api: openai, base_url: "https://user:pw-SECRET-9@example.com/v1" }
  c: { api: openai, base_url: "https://example.com/v1?x=1" }
  d: { api: openai, base_url: "http://10.0.0.5:8000/v1", keys: [env:ZAI_API_KEY] }
  e: { api: openai, base_url: "http://localhost:8000/v1/" }
)",
                            secrets);
  EXPECT_EQ(only(r.errors, "providers.a.base_url")->message,
            "expected an http:// or https:// URL, got \"ftp://example.com\"");
  EXPECT_EQ(only(r.errors, "providers.b.base_url")->message,
            "credentials in base_url; put the key in keys (env:VAR or file:PATH)");
  EXPECT_NE(only(r.errors, "providers.c.base_url"), nullptr);
  EXPECT_EQ(r.errors.size(), 3u) << all_text(r);
  EXPECT_EQ(only(r.warnings, "providers.d.base_url")->message,
            "plain http to a remote host: keys and prompts travel unencrypted");
  EXPECT_EQ(all_text(r).find("pw-SECRET-9"), std::string::npos) << all_text(r);
}

TEST(LoadGatewayConfig, AuthAndFramingHeadersCannotBeConfigured) {
  const LoadResult r = load(
      with_zai("    headers: { Authorization: \"Bearer sk-x\", x-api-key: k, \"bad header\": v, "
               "anthropic-beta: tools }\n"));
  EXPECT_NE(only(r.errors, "providers.zai.headers.Authorization"), nullptr);
  EXPECT_NE(only(r.errors, "providers.zai.headers.x-api-key"), nullptr);
  EXPECT_EQ(only(r.errors, "providers.zai.headers.bad header")->message,
            "not a valid HTTP header name");
  EXPECT_EQ(r.errors.size(), 3u) << all_text(r);
}

TEST(LoadGatewayConfig, NonLoopbackListenWithoutGatewayKeysIsAnError) {
  const LoadResult r = load(with_zai("server: { listen: \"0.0.0.0:4000\" }\n"));
  const Diagnostic* d = only(r.errors, "server.listen");
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->message.find("\"0.0.0.0:4000\" is reachable from other machines"), std::string::npos)
      << d->message;
  EXPECT_NE(d->message.find("server.gateway_keys"), std::string::npos);
  EXPECT_NE(d->message.find("allow_public_without_keys"), std::string::npos);
  EXPECT_EQ(d->line, 7);
}

TEST(LoadGatewayConfig, NonLoopbackListenIsFineWithKeysOrAnExplicitOptOut) {
  for (std::string_view server :
       {"server: { listen: \"0.0.0.0:4000\", gateway_keys: [env:SLUICE_GATEWAY_KEY] }\n",
        "server: { listen: \"[::]:4000\", allow_public_without_keys: true }\n",
        "server: { listen: \":8080\", allow_public_without_keys: yes }\n",
        "server: { listen: \"[::1]:4000\" }\n", "server: { listen: \"localhost:0\" }\n",
        "server: { listen: \"127.0.0.2:4000\" }\n"}) {
    const LoadResult r = load(with_zai(server));
    EXPECT_TRUE(r.ok()) << server << all_text(r);
  }
}

TEST(LoadGatewayConfig, ListenAddressesAreSplitAndClassified) {
  const LoadResult v6 = load(with_zai("server: { listen: \"[::1]:4100\" }\n"));
  ASSERT_TRUE(v6.ok()) << all_text(v6);
  EXPECT_EQ(v6.config->server.host, "::1");
  EXPECT_EQ(v6.config->server.port, 4100);
  EXPECT_TRUE(v6.config->server.loopback);
  const LoadResult any =
      load(with_zai("server: { listen: \":8080\", allow_public_without_keys: true }\n"));
  ASSERT_TRUE(any.ok()) << all_text(any);
  EXPECT_EQ(any.config->server.host, "0.0.0.0");
  EXPECT_FALSE(any.config->server.loopback);
  for (std::string_view bad : {"4000", "127.0.0.1", "127.0.0.1:http", "::1:4000", "[::1]4000"}) {
    const LoadResult r = load(with_zai("server: { listen: \"" + std::string(bad) + "\" }\n"));
    EXPECT_NE(only(r.errors, "server.listen"), nullptr) << bad;
  }
}

TEST(LoadGatewayConfig, GatewayKeysThatDoNotResolveCloseTheGatewayRatherThanOpenIt) {
  FakeSecretSource secrets = full_environment();
  secrets.env.erase("SLUICE_GATEWAY_KEY");
  const LoadResult r = load(
      with_zai("server: { listen: \"0.0.0.0:4000\", gateway_keys: [env:SLUICE_GATEWAY_KEY] }\n"),
      secrets);
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_TRUE(r.config->server.require_gateway_key);
  EXPECT_TRUE(r.config->server.gateway_keys.empty());
  EXPECT_NE(only(r.warnings, "server.gateway_keys"), nullptr);
}

TEST(LoadGatewayConfig, GatewayKeysCarryTheLimitsOfTheClientHoldingThem) {
  FakeSecretSource secrets = full_environment();
  secrets.env["CI_KEY"] = "ci-key-value";
  const LoadResult r = load(with_zai("server:\n  gateway_keys:\n    - env:SLUICE_GATEWAY_KEY\n"
                                     "    - {key: env:CI_KEY, name: ci, priority: background, "
                                     "max_in_flight: 3}\n"),
                            secrets);
  ASSERT_TRUE(r.ok()) << all_text(r);
  const auto& keys = r.config->server.gateway_keys;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].name, keys[0].secret.fingerprint());
  EXPECT_FALSE(keys[0].background_only);
  EXPECT_FALSE(keys[0].max_in_flight.has_value());
  EXPECT_EQ(keys[1].secret.reveal(), "ci-key-value");
  EXPECT_EQ(keys[1].name, "ci");
  EXPECT_TRUE(keys[1].background_only);
  EXPECT_EQ(keys[1].max_in_flight, 3);
}

TEST(LoadGatewayConfig, GatewayKeyEntriesReportTheirBadFieldsByPath) {
  const LoadResult r = load(
      with_zai("server:\n  gateway_keys:\n    - {key: env:SLUICE_GATEWAY_KEY, max_inflight: 3}\n"
               "    - {name: no-key}\n    - {key: env:SLUICE_GATEWAY_KEY, priority: urgent}\n"
               "    - [nested]\n    - {key: env:SLUICE_GATEWAY_KEY, max_in_flight: 0}\n"));
  const Diagnostic* typo = only(r.errors, "server.gateway_keys[0].max_inflight");
  ASSERT_NE(typo, nullptr) << all_text(r);
  EXPECT_NE(typo->message.find("max_in_flight"), std::string::npos) << typo->message;
  EXPECT_NE(only(r.errors, "server.gateway_keys[1]"), nullptr) << all_text(r);
  EXPECT_NE(only(r.errors, "server.gateway_keys[2].priority"), nullptr) << all_text(r);
  EXPECT_NE(only(r.errors, "server.gateway_keys[3]"), nullptr) << all_text(r);
  EXPECT_NE(only(r.errors, "server.gateway_keys[4].max_in_flight"), nullptr) << all_text(r);
  EXPECT_EQ(all_text(r).find(kGatewayKey), std::string::npos) << "no secret in diagnostics";
}

TEST(LoadGatewayConfig, EveryErrorIsReportedNotJustTheFirst) {
  const LoadResult r = load(R"(server: { listen: "0.0.0.0:4000", log_format: yaml }
state: { backend: postgres }
providers:
  zai:
    api: opanai
    base_url: https://api.z.ai/api/paas/v4
    keys: [env:ZAI_API_KEY]
    max_concurent: 2
    strategy: fill_frist
models:
  main: { route: [za/glm-5.1] }
  aux: { route: [] , priority: low }
retry: { backoff_base: 10s, backoff_max: 1s }
)");
  EXPECT_FALSE(r.config.has_value());
  for (std::string_view path :
       {"server.listen", "server.log_format", "state.backend", "providers.zai.api",
        "providers.zai.max_concurent", "providers.zai.strategy", "models.main.route[0]",
        "models.aux.route", "models.aux.priority", "retry.backoff_max"}) {
    EXPECT_NE(only(r.errors, path), nullptr) << path;
  }
  EXPECT_EQ(r.errors.size(), 10u) << all_text(r);
  EXPECT_EQ(only(r.errors, "providers.zai.api")->message,
            "unknown api \"opanai\" (did you mean \"openai\"?)");
  EXPECT_EQ(only(r.errors, "models.main.route[0]")->message,
            "unknown provider \"za\" (did you mean \"zai\"?)");
  EXPECT_EQ(only(r.errors, "retry.backoff_max")->message, "must be at least backoff_base (10s)");
  for (const Diagnostic& d : r.errors) {
    EXPECT_GT(d.line, 0) << d.format();
    EXPECT_GT(d.column, 0) << d.format();
  }
}

TEST(LoadGatewayConfig, KeysResolveFromEnvironmentFilesAndLiterals) {
  FakeSecretSource secrets;
  secrets.env["HOME"] = "/home/tester";
  secrets.env["ZAI_API_KEY"] = std::string(kZaiKey);
  secrets.files["/run/keys/zai"] = std::string(kZaiFileKey) + "\r\n";
  const LoadResult r =
      load(zai_with_keys("[env:ZAI_API_KEY, file:/run/keys/zai, sk-literal-SECRET-0006]"), secrets);
  ASSERT_TRUE(r.ok()) << all_text(r);
  const ProviderConfig& zai = r.config->providers.at(0);
  ASSERT_EQ(zai.keys.size(), 3u);
  EXPECT_EQ(zai.keys[0].secret.reveal(), kZaiKey);
  EXPECT_EQ(zai.keys[1].secret.reveal(), kZaiFileKey);
  EXPECT_EQ(zai.keys[2].secret.reveal(), "sk-literal-SECRET-0006");
  EXPECT_EQ(zai.keys[2].ref.kind, SecretRef::Kind::kLiteral);
  EXPECT_EQ(secrets.files_read, std::vector<std::string>{"/run/keys/zai"});
  ASSERT_EQ(r.warnings.size(), 1u) << all_text(r);
  EXPECT_EQ(r.warnings[0].path, "providers.zai.keys[2]");
  EXPECT_EQ(r.warnings[0].message, "literal key in the config file; prefer env:VAR");
}

TEST(LoadGatewayConfig, AMissingEnvironmentVariableIsAWarningAndTheKeyIsLeftOut) {
  FakeSecretSource secrets = full_environment();
  secrets.env.erase("ZAI_API_KEY");
  const LoadResult r = load(zai_with_keys("[env:ZAI_API_KEY, env:ZAI_API_KEY_2, file:/missing/key]",
                                          "models: { main: { route: [zai/glm-5.1] } }\n"),
                            secrets);
  ASSERT_TRUE(r.ok()) << all_text(r);
  const ProviderConfig& zai = r.config->providers.at(0);
  EXPECT_TRUE(zai.keys.empty());
  ASSERT_EQ(zai.unusable_keys.size(), 3u);
  EXPECT_EQ(zai.unusable_keys[2].describe(), "file:/missing/key");
  EXPECT_FALSE(zai.has_usable_key());
  EXPECT_EQ(only(r.warnings, "providers.zai.keys[0]")->format(),
            "config.yaml:6:12: providers.zai.keys[0]: environment variable ZAI_API_KEY is not set");
  EXPECT_EQ(only(r.warnings, "providers.zai.keys[1]")->message,
            "environment variable ZAI_API_KEY_2 is not set");
  EXPECT_EQ(only(r.warnings, "providers.zai.keys[2]")->message, "file /missing/key cannot be read");
  const Diagnostic* skipped = only(r.warnings, "providers.zai.keys");
  ASSERT_NE(skipped, nullptr);
  EXPECT_NE(skipped->message.find("zai/glm-5.1 (models.main) will be skipped"), std::string::npos)
      << skipped->message;
  EXPECT_EQ(only(r.warnings, "models.main")->message,
            "no candidate has a usable key; requests to this alias will fail until one does");
}

TEST(LoadGatewayConfig, AFallbackChainStillLoadsWhenThePrimaryHasNoKey) {
  FakeSecretSource secrets = full_environment();
  secrets.env.erase("ZAI_API_KEY");
  const LoadResult r = load(kFullConfig, secrets);
  ASSERT_TRUE(r.ok()) << all_text(r);
  // keys[0] unset: a warning; keys[1] (the file) still resolves.
  EXPECT_EQ(r.config->providers.at(0).keys.size(), 1u);
  EXPECT_EQ(r.warnings.size(), 1u) << all_text(r);
}

TEST(LoadGatewayConfig, ASingleKeyStringIsAListOfOne) {
  const LoadResult r = load(zai_with_keys("env:ZAI_API_KEY"));
  ASSERT_TRUE(r.ok()) << all_text(r);
  ASSERT_EQ(r.config->providers.at(0).keys.size(), 1u);
  EXPECT_EQ(r.config->providers.at(0).keys[0].secret.reveal(), kZaiKey);
}

TEST(LoadGatewayConfig, PlainHttpIsOnlyWarnedAboutWhenKeysWouldTravelOverIt) {
  const LoadResult r = load(R"(providers:
  vllm: { api: openai, base_url: "http://gpu-box:8000/v1" }
  proxy: { api: openai, base_url: "http://gpu-box:8001/v1", keys: [env:ZAI_API_KEY] }
)");
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_NE(only(r.warnings, "providers.proxy.base_url"), nullptr);
  EXPECT_EQ(r.warnings.size(), 1u) << all_text(r);
}

TEST(LoadGatewayConfig, EmptyOrMalformedKeySourcesAreWarnings) {
  FakeSecretSource secrets = full_environment();
  secrets.env["EMPTY"] = "  ";
  secrets.env["TWO_LINES"] = "sk-a\nsk-b";
  secrets.files["/keys/empty"] = "\n";
  const LoadResult r = load(
      "providers:\n  p:\n    api: openai\n    base_url: https://api.openai.com/v1\n"
      "    keys: [env:EMPTY, env:TWO_LINES, file:/keys/empty, \"file:~other/key\"]\n",
      secrets);
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_EQ(only(r.warnings, "providers.p.keys[0]")->message,
            "environment variable EMPTY is empty");
  EXPECT_EQ(only(r.warnings, "providers.p.keys[1]")->message,
            "env:TWO_LINES holds spaces, line breaks or control characters; a key has none");
  EXPECT_EQ(only(r.warnings, "providers.p.keys[2]")->message, "file /keys/empty is empty");
  EXPECT_EQ(only(r.warnings, "providers.p.keys[3]")->message,
            "file ~other/key: only ~/ is expanded (from HOME), not ~user");
}

TEST(LoadGatewayConfig, MalformedKeyReferencesAreErrors) {
  const LoadResult r = load(zai_with_keys(R"(["env:", "env:1BAD", "file:", ""])"));
  EXPECT_EQ(only(r.errors, "providers.zai.keys[0]")->message,
            "expected env:VARIABLE_NAME (letters, digits and _)");
  EXPECT_NE(only(r.errors, "providers.zai.keys[1]"), nullptr);
  EXPECT_EQ(only(r.errors, "providers.zai.keys[2]")->message, "expected file:PATH");
  EXPECT_EQ(only(r.errors, "providers.zai.keys[3]")->message, "empty key");
}

TEST(LoadGatewayConfig, TheSameKeyTwiceIsAWarning) {
  FakeSecretSource secrets = full_environment();
  secrets.env["ZAI_COPY"] = std::string(kZaiKey);
  const LoadResult r = load(zai_with_keys("[env:ZAI_API_KEY, env:ZAI_COPY]"), secrets);
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_EQ(only(r.warnings, "providers.zai.keys[1]")->message,
            "same key as keys[0]; the pool treats them as one");
}

TEST(LoadGatewayConfig, ProvidersWithoutKeysAreKeylessAndOnlyHostedOnesAreWarnedAbout) {
  const LoadResult r = load(R"(providers:
  local: { api: openai, base_url: "http://127.0.0.1:8000/v1" }
  openai: { api: openai, base_url: "https://api.openai.com/v1" }
)");
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_TRUE(r.config->providers[0].keyless);
  EXPECT_TRUE(r.config->providers[0].has_usable_key());
  EXPECT_EQ(only(r.warnings, "providers.openai.keys")->message,
            "no keys configured: requests go upstream without an auth header");
  EXPECT_EQ(r.warnings.size(), 1u) << all_text(r);
}

// A candidate of another API is translated, so a mixed route is no mistake.
TEST(LoadGatewayConfig, RoutesMixingWireApisAreAccepted) {
  const LoadResult r = load(R"(providers:
  zai: { api: openai, base_url: "https://api.z.ai/api/paas/v4", keys: [env:ZAI_API_KEY] }
  anthropic: { api: anthropic, base_url: "https://api.anthropic.com", keys: [env:ANTHROPIC_API_KEY] }
models:
  main: { route: [zai/glm-5.1, anthropic/claude-sonnet-4-5] }
)");
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_TRUE(r.warnings.empty()) << all_text(r);
}

TEST(LoadGatewayConfig, TranslationIsLossyOrStrict) {
  const std::string base = R"(providers:
  zai: { api: openai, base_url: "https://api.z.ai/api/paas/v4", keys: [env:ZAI_API_KEY] }
models:
)";
  const LoadResult strict = load(base + "  main: { route: [zai/glm-5.1], translation: strict }\n");
  ASSERT_TRUE(strict.ok()) << all_text(strict);
  EXPECT_TRUE(strict.config->models[0].strict_translation);
  const LoadResult lossy = load(base + "  main: { route: [zai/glm-5.1] }\n");
  ASSERT_TRUE(lossy.ok()) << all_text(lossy);
  EXPECT_FALSE(lossy.config->models[0].strict_translation);
  const LoadResult typo = load(base + "  main: { route: [zai/glm-5.1], translation: strikt }\n");
  EXPECT_NE(only(typo.errors, "models.main.translation"), nullptr) << all_text(typo);
}

TEST(LoadGatewayConfig, StatePathNeedsHomeOnlyForSqlite) {
  FakeSecretSource no_home = full_environment();
  no_home.env.erase("HOME");
  const LoadResult sqlite = load(with_zai(""), no_home);
  EXPECT_EQ(only(sqlite.errors, "state.path")->message,
            "HOME is not set, so the default ~/.local/state/sluice/state.db cannot be used; set "
            "state.path");
  const LoadResult memory = load(with_zai("state: { backend: memory }\n"), no_home);
  EXPECT_TRUE(memory.ok()) << all_text(memory);
  const LoadResult absolute =
      load(with_zai("state: { path: /var/lib/sluice/state.db }\n"), no_home);
  ASSERT_TRUE(absolute.ok()) << all_text(absolute);
  EXPECT_EQ(absolute.config->state.path, "/var/lib/sluice/state.db");
}

TEST(LoadGatewayConfig, RedisNeedsARedisUrl) {
  const LoadResult good =
      load(with_zai("state: { backend: redis, url: \"redis://:pw@10.0.0.2:6379/0\" }\n"));
  ASSERT_TRUE(good.ok()) << all_text(good);
  EXPECT_EQ(good.config->state.backend, StateBackend::kRedis);
  const LoadResult bad = load(with_zai("state: { backend: redis, url: \"http://10.0.0.2\" }\n"));
  EXPECT_EQ(only(bad.errors, "state.url")->message,
            "expected redis://[:password@]host:port[/db] or unix:///path");
  const LoadResult tls =
      load(with_zai("state: { backend: redis, url: \"rediss://:pw@10.0.0.2:6380\" }\n"));
  EXPECT_NE(only(tls.errors, "state.url")->message.find("not supported"), std::string::npos);
  EXPECT_EQ(all_text(tls).find(":pw@"), std::string::npos);  // the password is never echoed
}

TEST(LoadGatewayConfig, RedisLeaseTtlAndKeyPrefix) {
  const LoadResult good =
      load(with_zai("state: { backend: redis, url: \"redis://127.0.0.1:6379\", lease_ttl: 3s, "
                    "key_prefix: \"team-a:\" }\n"));
  ASSERT_TRUE(good.ok()) << all_text(good);
  EXPECT_EQ(good.config->state.lease_ttl, std::chrono::seconds(3));
  EXPECT_EQ(good.config->state.key_prefix, "team-a:");
  const LoadResult tiny = load(with_zai("state: { backend: redis, lease_ttl: 10ms }\n"));
  EXPECT_EQ(only(tiny.errors, "state.lease_ttl")->message, "must be at least 100ms");
}

TEST(LoadGatewayConfig, AListenFlagReplacesServerListenAndIsCheckedLikeIt) {
  FakeSecretSource secrets = full_environment();
  const LoadResult local = load_gateway_config(with_zai(""), "c.yaml", secrets, "127.0.0.1:5001");
  ASSERT_TRUE(local.ok()) << all_text(local);
  EXPECT_EQ(local.config->server.port, 5001);
  EXPECT_TRUE(local.config->server.loopback);
  // The flag cannot open the gateway to other machines without gateway keys.
  const LoadResult open = load_gateway_config(with_zai(""), "c.yaml", secrets, "0.0.0.0:4000");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(only(open.errors, "--listen")->message.find("reachable from other machines"),
            std::string::npos);
  const LoadResult bad = load_gateway_config(with_zai(""), "c.yaml", secrets, "no-port");
  EXPECT_NE(only(bad.errors, "--listen")->message.find("expected host:port"), std::string::npos);
}

TEST(LoadGatewayConfig, YamlSyntaxErrorReportsLineAndColumn) {
  const LoadResult r = load("providers:\n  zai:\n    api: openai\n    keys: [env:X\nmodels: {}\n");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  const Diagnostic& d = r.errors[0];
  EXPECT_GT(d.line, 0);
  EXPECT_GT(d.column, 0);
  EXPECT_EQ(d.format().rfind("config.yaml:" + std::to_string(d.line) + ":" +
                                 std::to_string(d.column) + ": YAML syntax error: ",
                             0),
            0u)
      << d.format();
}

TEST(LoadGatewayConfig, TabIndentationIsASyntaxErrorWithAPosition) {
  const LoadResult r = load("providers:\n\tzai: {}\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_text(r);
  EXPECT_EQ(r.errors[0].line, 2);
}

TEST(LoadGatewayConfig, TopLevelMustBeAMapping) {
  const LoadResult r = load("- providers\n- models\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_EQ(r.errors[0].line, 1);
}

TEST(LoadGatewayConfig, AnEmptyDocumentLoadsWithAWarning) {
  const LoadResult r = load("");
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_EQ(only(r.warnings, "providers")->message,
            "no providers configured; every request will fail");
}

TEST(LoadGatewayConfig, NullValuesMeanTheDefault) {
  const LoadResult r = load(with_zai("    max_wait:\n    strategy: ~\nretry:\n"));
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_EQ(r.config->providers.at(0).max_wait, seconds(30));
}

TEST(LoadGatewayConfig, SizesAcceptBinaryAndDecimalUnits) {
  const LoadResult r =
      load(with_zai("server: { max_body_bytes: 1048576, max_header_bytes: 16 KiB }\n"));
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_EQ(r.config->server.max_body_bytes, 1048576u);
  EXPECT_EQ(r.config->server.max_header_bytes, 16u * 1024);
  const LoadResult bad = load(with_zai("server: { max_body_bytes: 12 bananas }\n"));
  EXPECT_NE(only(bad.errors, "server.max_body_bytes"), nullptr);
  const LoadResult tiny = load(with_zai("server: { max_header_bytes: 10 }\n"));
  EXPECT_EQ(only(tiny.errors, "server.max_header_bytes")->message, "must be between 1KiB and 4GiB");
}

TEST(LoadGatewayConfig, ProviderNamesCannotHoldASlash) {
  const LoadResult r =
      load("providers:\n  \"a/b\": { api: openai, base_url: \"http://127.0.0.1\" }\n");
  EXPECT_NE(only(r.errors, "providers.a/b"), nullptr);
}

TEST(LoadGatewayConfig, SecretsNeverAppearInDiagnostics) {
  FakeSecretSource secrets = full_environment();
  secrets.env["TWO_LINES"] = "sk-first-SECRET-0007\nsk-second";
  const LoadResult r = load(R"(server:
  listen: "0.0.0.0:4000"
  gateway_keys: [sluice-gw-SECRET-0005]
providers:
  zai:
    api: openai
    base_url: https://api.z.ai/api/paas/v4
    keys: [sk-zai-SECRET-0001, "sk spaced SECRET-0008", env:TWO_LINES, sk-zai-SECRET-0001]
    max_concurrent: sk-or-v1-SECRET-0003x
    headers: { x-custom: { nested: sk-ant-api03-SECRET-0004 } }
)",
                            secrets);
  const std::string text = all_text(r);
  EXPECT_FALSE(r.errors.empty());
  EXPECT_FALSE(r.warnings.empty());
  for (std::string_view secret :
       {kZaiKey, kGatewayKey, kAnthropicKey, std::string_view("SECRET-0007"),
        std::string_view("SECRET-0008")}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " leaked in:\n" << text;
  }
}

TEST(Diagnostic, FormatLeavesOutWhatIsUnknown) {
  EXPECT_EQ((Diagnostic{"c.yaml", "models.main", "bad", 3, 5}.format()),
            "c.yaml:3:5: models.main: bad");
  EXPECT_EQ((Diagnostic{"c.yaml", "", "bad", 3, 5}.format()), "c.yaml:3:5: bad");
  EXPECT_EQ((Diagnostic{"c.yaml", "x", "bad", 0, 0}.format()), "c.yaml: x: bad");
  EXPECT_EQ((Diagnostic{"", "x", "bad", 0, 0}.format()), "x: bad");
}

TEST(LoadGatewayConfig, NeverThrowsOnHostileInput) {
  for (std::string_view text :
       {"{", "[", "\"", "&a [*a]", "providers: &p { x: *p }", "? [a, b]\n: c\n", "%YAML 9.9\n---\n",
        "providers:\n  - a\n  - b\n", "models: [1, 2]", "errors: { rules: {} }",
        "providers: { zai: 3 }", "\xff\xfe\x00", "a: !!binary 12"}) {
    FakeSecretSource secrets;
    EXPECT_NO_THROW({ (void)load_gateway_config(text, "f.yaml", secrets); }) << text;
  }
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

TEST(LoadGatewayConfig, AResponsesOnlyProviderAndTheNewAliasAndStateFieldsLoad) {
  const LoadResult r = load(
      "state: {backend: memory, conversations: 24h}\n"
      "providers:\n  codex:\n    api: responses\n    base_url: https://api.openai.com/v1\n"
      "    keys: [env:OPENAI_API_KEY]\n"
      "models:\n  c: {route: [codex/gpt-5-codex], default_max_tokens: 2000}\n");
  ASSERT_TRUE(r.ok()) << all_text(r);
  EXPECT_EQ(r.config->providers[0].api, WireApi::kResponses);
  EXPECT_EQ(to_string(r.config->providers[0].api), "responses");
  EXPECT_EQ(r.config->state.conversations, std::chrono::hours(24));
  EXPECT_EQ(r.config->models[0].default_max_tokens, 2000);

  const LoadResult typo = load(
      "providers:\n  codex:\n    api: respones\n    base_url: https://api.openai.com/v1\n"
      "    keys: [env:OPENAI_API_KEY]\n");
  EXPECT_FALSE(typo.ok());
  EXPECT_NE(all_text(typo).find("responses"), std::string::npos) << all_text(typo);
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

TEST(ProviderConfig, ZaiLimitsEachModelAloneOthersTheWholeKey) {
  ProviderConfig zai;
  zai.dialect = Dialect::kZai;
  EXPECT_EQ(zai.limiter_bucket("glm-4.6"), "glm-4.6");
  ProviderConfig kimi;
  kimi.dialect = Dialect::kKimi;
  EXPECT_EQ(kimi.limiter_bucket("kimi-k2"), "");
}

TEST(LoadGatewayConfig, ReusePortWithoutRedisWarnsThatLimitsAreNotShared) {
  const std::string models = "\nmodels:\n  m: {route: [zai/glm-4.6]}\n";
  const LoadResult alone = load("server: {reuse_port: true}\nstate: {backend: memory}" +
                                zai_with_keys("[env:ZAI_API_KEY]") + models);
  ASSERT_TRUE(alone.config) << all_text(alone);
  EXPECT_TRUE(alone.config->server.reuse_port);
  const Diagnostic* w = only(alone.warnings, "server.reuse_port");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->line, 1);
  EXPECT_NE(w->message.find("unless state.backend is redis"), std::string::npos);

  const LoadResult shared = load("server: {reuse_port: true}\nstate: {backend: redis}" +
                                 zai_with_keys("[env:ZAI_API_KEY]") + models);
  ASSERT_TRUE(shared.config) << all_text(shared);
  for (const Diagnostic& d : shared.warnings) EXPECT_NE(d.path, "server.reuse_port");
}

}  // namespace
}  // namespace sluice::config
