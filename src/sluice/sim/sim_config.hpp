#pragma once
// The typed configuration of `sluice sim`: one ProviderSimConfig per simulated
// provider, loaded from YAML or built from command-line flags. Loading never
// throws; every error names the offending field path and its line, so a typo
// in a long file is found at once.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sluice/core/dialect.hpp"
#include "sluice/core/time.hpp"

namespace sluice::sim {

struct LatencyConfig {
  Duration fixed = Duration::zero();      // before the status line of every response
  Duration jitter = Duration::zero();     // plus a uniform extra in [0, jitter)
  Duration ttft = Duration::zero();       // generation: before the first token
  Duration per_token = Duration::zero();  // generation: between tokens
};

// Rates are probabilities per request, drawn from the provider's seeded
// generator with ONE roll per request, so the kinds are mutually exclusive
// and their rates must sum to at most 1.
struct FaultConfig {
  double server_error_rate = 0;              // 500 in the dialect's format
  double overload_rate = 0;                  // the dialect's provider-wide capacity error
  double stream_error_rate = 0;              // 200 stream with an in-band error event
  double close_mid_stream_rate = 0;          // stream cut without its terminal event
  double hang_rate = 0;                      // never answer at all
  double garbage_rate = 0;                   // 200 with a body that is not JSON
  Duration slow_headers = Duration::zero();  // extra delay before every status line
  // Stream faults strike after this many SSE events (clamped so the terminal
  // event is never sent).
  std::int64_t stream_error_after_chunks = 2;
  // Scheduled faults: after N fully successful generations every generation
  // request gets the dialect's billing error; after N admitted generation
  // requests, its daily-quota error (QUOTA_EXHAUSTED).
  std::optional<std::uint64_t> billing_after;
  std::optional<std::uint64_t> quota_after;
};

// Per-key budgets; each is optional (absent = unlimited).
struct LimitsConfig {
  std::optional<std::int64_t> requests_per_window;
  std::optional<std::int64_t> tokens_per_window;   // prompt estimate + max_tokens per request
  std::optional<std::int64_t> concurrency;         // admitted requests in flight
  std::optional<std::int64_t> daily;               // requests per daily window
  Duration window = std::chrono::seconds(60);      // the "minute"; tests use 2 s
  Duration daily_window = std::chrono::hours(24);  // the "day"; tests shorten it too
};

struct ProviderSimConfig {
  std::string name;
  Dialect dialect = Dialect::kOpenAI;
  std::string listen = "127.0.0.1:0";
  std::vector<std::string> keys;  // empty: every key (even none) is accepted
  LimitsConfig limits;
  LatencyConfig latency;
  FaultConfig faults;
  std::uint64_t seed = 1;
  // How many tokens (stream events) an answer has, at most max_tokens: the
  // default is one sentence; long-stream benchmarks ask for hundreds.
  std::int64_t answer_tokens = 7;
  // Models the provider serves. Empty: any model name is accepted and
  // GET /v1/models lists "sim-model". Otherwise other names get the dialect's
  // model-not-found error.
  std::vector<std::string> models;
};

struct SimConfig {
  std::vector<ProviderSimConfig> providers;
};

// The dialects the simulator speaks.
bool sim_supports(Dialect d);
// "openai, anthropic, openrouter, zai, kimi, groq, azure", for error messages.
std::string supported_dialect_list();

// Checks ranges that types cannot express. `path` prefixes messages, e.g.
// "providers.zai" or "--rpm"-style callers may pass "".
std::optional<std::string> validate_faults(const FaultConfig& faults, std::string_view path);
std::optional<std::string> validate_provider(const ProviderSimConfig& provider,
                                             std::string_view path);

// YAML:
//   providers:
//     zai:
//       dialect: zai              # defaults to the provider's name when that is a dialect
//       listen: "127.0.0.1:8001"
//       keys: [k1, k2]            # or "k1,k2"
//       rpm: 20                   # requests per window
//       tpm: 40000                # tokens per window
//       window: 2s
//       concurrency: 1
//       daily: 500                # requests per daily window
//       daily_window: 24h
//       latency: 200ms
//       jitter: 50ms
//       ttft: 100ms
//       per_token: 10ms
//       models: [glm-4.6]
//       faults: { overload_rate: 0.1, slow_headers: 1s, billing_after: 100, ... }
//       seed: 7
//       answer_tokens: 300       # stream events per answer (default 7), at most max_tokens
// Read like the gateway's config (config::YamlFields): durations as there
// ("200ms", "1.5s", "1m30s", a bare number of seconds), unknown fields with a
// did-you-mean. Returns the config, or every error found, one per line, each
// as "file:line:column: path: message".
std::variant<SimConfig, std::string> load_sim_config_yaml(std::string_view text,
                                                          std::string_view file = "sim.yaml");

}  // namespace sluice::sim
