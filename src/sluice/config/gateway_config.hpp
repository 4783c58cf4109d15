#pragma once
// The gateway's configuration: one YAML file turned into validated, typed
// values. Loading never throws and never stops at the first problem: every
// error and warning comes back with its file position and field path, so one
// `sluice check-config` run shows everything to fix.
//
// Keys that cannot be resolved (environment variable unset, file unreadable)
// are warnings, not errors: the gateway must start and serve from the
// fallback candidates of a route whose primary has no usable key.
//
// Field names follow the gateway issue; see README.md for the whole schema.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/config/diagnostic.hpp"
#include "sluice/config/secret.hpp"
#include "sluice/core/dialect.hpp"
#include "sluice/core/priority.hpp"
#include "sluice/core/time.hpp"
#include "sluice/policy/credentials/credential_pool.hpp"
#include "sluice/policy/errors/rules.hpp"
#include "sluice/policy/retry/retry_budget.hpp"
#include "sluice/policy/retry/retry_decision.hpp"
#include "sluice/policy/routing/route.hpp"

namespace sluice::config {

// The JSON a provider speaks on the wire (its header/error dialect is separate).
// A provider's API: OpenAI's Chat Completions (with its other endpoints),
// Anthropic Messages, or OpenAI's Responses API only (a model or server that
// has no Chat Completions). As a caller's API, kOpenAI covers /v1/responses.
enum class WireApi : std::uint8_t { kOpenAI, kAnthropic, kResponses };
enum class LogFormat : std::uint8_t { kLogfmt, kJson };
enum class StateBackend : std::uint8_t { kMemory, kSqlite, kRedis };
// Every value, in order: the config reads each enum by its to_string name.
inline constexpr std::array kWireApis = {WireApi::kOpenAI, WireApi::kAnthropic,
                                         WireApi::kResponses};
inline constexpr std::array kLogFormats = {LogFormat::kLogfmt, LogFormat::kJson};
inline constexpr std::array kStateBackends = {StateBackend::kMemory, StateBackend::kSqlite,
                                              StateBackend::kRedis};

std::string_view to_string(WireApi api);           // "openai", "anthropic", "responses"
std::string_view to_string(LogFormat format);      // "logfmt", "json"
std::string_view to_string(StateBackend backend);  // "memory", "sqlite", "redis"

// A resolved key and how it was given (for messages).
struct ApiKey {
  SecretRef ref;
  Secret secret;
};

// A key clients present, and what the client holding it may do: a CI job's
// key can be held to background priority and a few requests at a time, so it
// never crowds out the people using the same providers.
struct GatewayKey : ApiKey {
  std::string name;                  // in logs and metrics; default: the key's fingerprint
  bool background_only = false;      // priority: background — asks for interactive are lowered
  std::optional<int> max_in_flight;  // beyond it: 429 gateway_key_busy, at once
};

struct ServerConfig {
  std::string listen = "127.0.0.1:4000";
  std::string host = "127.0.0.1";  // from listen; IPv6 without brackets; "" never
  std::uint16_t port = 4000;       // 0: any free port
  bool loopback = true;            // host is 127.0.0.0/8, ::1 or localhost
  std::size_t max_body_bytes = 32 * 1024 * 1024;
  std::size_t max_header_bytes = 64 * 1024;
  // Time allowed to receive a client's request head and body (not the
  // upstream call: that is bounded by the provider timeouts and deadlines).
  Duration request_timeout = std::chrono::seconds(30);
  Duration idle_timeout = std::chrono::seconds(75);  // between keep-alive requests
  // SIGTERM: how long in-flight requests and streams may finish before exit.
  Duration drain_timeout = std::chrono::seconds(30);
  LogFormat log_format = LogFormat::kLogfmt;
  // Keys clients must present. Only the usable ones are here; when the config
  // lists any, require_gateway_key is set even if none resolved, so a typo
  // in a variable name closes the gateway instead of opening it.
  std::vector<GatewayKey> gateway_keys;
  bool require_gateway_key = false;
  bool allow_public_without_keys = false;
  // SO_REUSEPORT: several `sluice serve` processes (one per core) share the
  // listen port and the kernel spreads connections over them. Their limits
  // are shared only through state.backend redis (docs/decisions/0017).
  bool reuse_port = false;
};

struct StateConfig {
  StateBackend backend = StateBackend::kSqlite;
  std::string path;  // sqlite file, ~ expanded; default ~/.local/state/sluice/state.db
  std::string url = "redis://127.0.0.1:6379";  // redis; may hold a password: never print whole
  // Redis: a killed gateway's concurrency slots come back after this long.
  Duration lease_ttl = std::chrono::seconds(10);
  std::string key_prefix = "sluice:";  // Redis keys; one prefix per sluice deployment
  // How long a Responses API conversation (previous_response_id) is kept for
  // turns sluice served by translation; 0: not kept. OpenAI keeps 30 days.
  Duration conversations = std::chrono::hours(24 * 30);
};

struct ProviderTimeouts {
  Duration connect = std::chrono::seconds(10);
  Duration first_byte = std::chrono::seconds(120);
  Duration idle = std::chrono::seconds(120);  // between bytes of a streamed answer
};

struct ProviderConfig {
  std::string name;
  WireApi api = WireApi::kOpenAI;
  Dialect dialect = Dialect::kGeneric;
  bool dialect_inferred = false;  // from base_url, not configured
  std::string base_url;           // http(s)://host[:port][/path], no trailing slash
  std::vector<ApiKey> keys;       // usable keys, in config order
  // Configured keys that could not be resolved at load (unset variable,
  // unreadable or empty file); reloading the config retries them.
  std::vector<SecretRef> unusable_keys;
  // No `keys` configured at all: the upstream takes requests without an auth
  // header (vLLM, llama.cpp, Ollama). Not the same as "all keys unusable".
  bool keyless = false;
  std::optional<int> max_concurrent;
  std::vector<std::pair<std::string, int>> max_concurrent_by_model;  // exact model ids
  int rpm_throttle_threshold = 2;
  policy::SelectionStrategy strategy = policy::SelectionStrategy::kFillFirst;
  // Longest pre-emptive wait (cooldown, throttle) before trying the next candidate.
  Duration max_wait = std::chrono::seconds(30);
  ProviderTimeouts timeouts;
  std::vector<std::pair<std::string, std::string>> headers;  // extra upstream headers
  std::vector<std::string> models;                           // informational

  bool has_usable_key() const { return keyless || !keys.empty(); }
  // The concurrency limit per key for one upstream model:
  // max_concurrent_by_model (exact id, ASCII case-insensitive) >
  // max_concurrent > the built-in table (resolve_max_concurrent).
  int max_concurrent_for(std::string_view model) const;
  // The concurrency bucket `model` shares on one key: z.ai limits each model
  // on its own (a model id), every other provider the key as a whole ("").
  std::string limiter_bucket(std::string_view model) const;
};

struct ModelAlias {
  std::string name;
  std::vector<policy::RouteTarget> route;  // first is the primary; never empty
  Priority priority = Priority::kInteractive;
  Duration queue_timeout = std::chrono::seconds(30);  // 10s by default for background
  std::optional<Duration> deadline;
  // Tokens, for model discovery; unset: the smallest known window of the
  // route's upstream models (providers::known_context_length).
  std::optional<std::int64_t> context_length;
  // `translation: strict`: a candidate of another API that cannot carry
  // every field of a request is not used for it (a 400 naming the fields
  // when no candidate can); `lossy` (the default) drops them and says so.
  bool strict_translation = false;
  // max_tokens for a request without one that goes to an Anthropic candidate
  // (which requires it); unset: providers::default_output_tokens.
  std::optional<std::int64_t> default_max_tokens;
};

// The alias named "*" serves any model name that is neither an alias nor
// provider/model (for clients that insist on their own model names).
inline constexpr std::string_view kCatchAllAlias = "*";

struct RetrySettings {
  // max_attempts -> max_attempts_total; backoff_base/backoff_max -> backoff.
  policy::RetryConfig policy;
  // budget_ratio, budget_min_per_window, budget_window.
  policy::RetryBudgetConfig budget;
};

struct GatewayConfig {
  ServerConfig server;
  StateConfig state;
  std::vector<ProviderConfig> providers;  // config order
  std::vector<ModelAlias> models;         // config order
  RetrySettings retry;
  // Operator classifier rules (errors.rules), to prepend to the built-in table;
  // names are prefixed "config:".
  std::vector<policy::ErrorRule> error_rules;

  const ProviderConfig* find_provider(std::string_view name) const;
  // Exact alias names only; the catch-all is not matched here.
  const ModelAlias* find_model(std::string_view alias) const;
  const ModelAlias* catch_all() const { return find_model(kCatchAllAlias); }
};

struct LoadResult {
  std::optional<GatewayConfig> config;  // set exactly when errors is empty
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;

  bool ok() const { return errors.empty() && config.has_value(); }
};

// Parses and validates `yaml_text`. `file_name` only labels diagnostics.
// `secrets` resolves env:VAR and file:PATH keys and HOME for `~`.
// `listen_override` (a --listen flag) replaces server.listen and is checked
// like it (malformed, or reachable from other machines without gateway keys,
// is an error on "--listen"). Never throws.
LoadResult load_gateway_config(std::string_view yaml_text, std::string_view file_name,
                               SecretSource& secrets, std::string_view listen_override = {});

// A human explanation of a loaded config for `sluice check-config`: providers
// with dialect, key fingerprints and counts, the concurrency limit of every
// routed model, each alias's route. Never contains a secret.
std::string describe(const GatewayConfig& config);

}  // namespace sluice::config
