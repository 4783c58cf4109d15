#include "sluice/config/gateway_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <set>

#include "sluice/config/did_you_mean.hpp"
#include "sluice/config/duration_text.hpp"
#include "sluice/config/yaml_fields.hpp"
#include "sluice/core/error_class.hpp"
#include "sluice/core/text.hpp"
#include "sluice/policy/limiter/concurrency_defaults.hpp"

namespace sluice::config {

std::string_view to_string(WireApi api) {
  switch (api) {
    case WireApi::kOpenAI: return "openai";
    case WireApi::kAnthropic: return "anthropic";
    case WireApi::kResponses: return "responses";
  }
  return "openai";
}

std::string_view to_string(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "logfmt";
}

std::string_view to_string(StateBackend backend) {
  switch (backend) {
    case StateBackend::kMemory: return "memory";
    case StateBackend::kRedis: return "redis";
    case StateBackend::kSqlite: break;
  }
  return "sqlite";
}

std::string ProviderConfig::limiter_bucket(std::string_view model) const {
  return dialect == Dialect::kZai ? std::string(model) : std::string();
}

int ProviderConfig::max_concurrent_for(std::string_view model) const {
  for (const auto& [id, limit] : max_concurrent_by_model) {
    if (iequals(id, model)) return limit;
  }
  return policy::resolve_max_concurrent(max_concurrent, dialect, model);
}

const ProviderConfig* GatewayConfig::find_provider(std::string_view name) const {
  for (const ProviderConfig& p : providers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const ModelAlias* GatewayConfig::find_model(std::string_view alias) const {
  for (const ModelAlias& m : models) {
    if (m.name == alias) return &m;
  }
  return nullptr;
}

namespace {

constexpr std::string_view kDefaultStatePath = "~/.local/state/sluice/state.db";

const Names kRootFields = {"server", "state", "providers", "models", "retry", "errors"};
const Names kServerFields = {
    "listen",     "max_body_bytes", "max_header_bytes",          "request_timeout", "idle_timeout",
    "log_format", "gateway_keys",   "allow_public_without_keys", "drain_timeout",   "reuse_port"};
const Names kGatewayKeyFields = {"key", "name", "priority", "max_in_flight"};
const Names kStateFields = {"backend", "path", "url", "lease_ttl", "key_prefix", "conversations"};
const Names kProviderFields = {"api",
                               "dialect",
                               "base_url",
                               "keys",
                               "max_concurrent",
                               "max_concurrent_by_model",
                               "rpm_throttle_threshold",
                               "strategy",
                               "max_wait",
                               "timeouts",
                               "headers",
                               "models"};
const Names kTimeoutFields = {"connect", "first_byte", "idle"};
const Names kModelFields = {"route",          "priority",    "queue_timeout",     "deadline",
                            "context_length", "translation", "default_max_tokens"};
const Names kRetryFields = {"max_attempts",          "max_attempts_per_candidate",
                            "max_retry_wait",        "budget_ratio",
                            "budget_min_per_window", "budget_window",
                            "backoff_base",          "backoff_max"};
const Names kErrorsFields = {"rules"};
const Names kRuleFields = {"name",        "class",  "codes",    "phrases",
                           "all_phrases", "unless", "dialects", "status"};

// Headers the gateway sets itself. Auth headers come from the credential pool
// (a key in a header map would dodge the secret handling); the framing
// headers belong to the HTTP layer.
const Names kManagedHeaders = {"authorization", "x-api-key",      "api-key",    "x-goog-api-key",
                               "host",          "content-length", "connection", "transfer-encoding",
                               "upgrade"};

// Dialects whose servers commonly run without any key.
bool is_self_hosted(Dialect d) {
  return d == Dialect::kGeneric || d == Dialect::kVllm || d == Dialect::kLlamaCpp ||
         d == Dialect::kOllama;
}

Names dialect_names() {
  Names out;
  for (const Dialect d : kDialects) out.emplace_back(to_string(d));
  return out;
}

Names error_class_names() {
  Names out;
  for (const ErrorClass c : kAllErrorClasses) out.emplace_back(to_string(c));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Provider names are the first part of a route target, so no '/'; the rest
// keeps them readable in paths, logs and metrics labels.
bool is_provider_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// RFC 9110 token characters.
bool is_header_name(std::string_view name) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

bool is_loopback_host(std::string_view host) {
  if (iequals(host, "localhost") || host == "::1") return true;
  // 127.0.0.0/8: four dot-separated numbers, the first 127.
  if (!host.starts_with("127.")) return false;
  int parts = 0;
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const auto n = parse_integer(host.substr(start, dot - start));
    if (!n || *n < 0 || *n > 255 || dot == start) return false;
    ++parts;
    start = dot + 1;
  }
  return parts == 4;
}

struct HostPort {
  std::string host;
  std::string port;
};

// "host:port" or "[v6]:port"; nullopt when the shape is wrong.
std::optional<HostPort> split_host_port(std::string_view text) {
  if (text.starts_with("[")) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    return HostPort{std::string(text.substr(1, close - 1)), std::string(text.substr(close + 2))};
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6: needs brackets
  return HostPort{std::string(host), std::string(text.substr(colon + 1))};
}

// "http://host..." with a host other than this machine.
bool is_remote_plain_http(std::string_view base_url) {
  if (!istarts_with(base_url, "http://")) return false;
  const std::string_view rest = base_url.substr(7);
  const std::string_view authority = rest.substr(0, rest.find('/'));
  const auto host_port = split_host_port(authority);
  const std::string host = host_port ? host_port->host : std::string(authority);
  return !is_loopback_host(host) && host != "[::1]";
}

// One load: the document walk, the diagnostics found so far and the config
// being built. Every check reports and carries on, so one run finds everything.
class Loader : private YamlFields {
 public:
  Loader(std::string_view file_name, SecretSource& secrets)
      : YamlFields(std::string(file_name)), secrets_(secrets) {}

  LoadResult run(std::string_view text, std::string_view listen_override = {});
  // What was found, and the config when nothing was wrong.
  LoadResult finish() {
    result_.errors = std::move(errors_);
    result_.warnings = std::move(warnings_);
    if (result_.errors.empty()) result_.config = std::move(config_);
    return std::move(result_);
  }
  // Sets server.listen/host/port/loopback; the error text when malformed.
  std::optional<std::string> set_listen(std::string_view text);

 private:
  // ---- secrets ----
  // "~" and "~/x" from HOME; nullopt (with `why`) when HOME is needed but unset.
  std::optional<std::string> expand_home(std::string_view path, std::string& why) {
    if (!path.starts_with("~")) return std::string(path);
    if (path != "~" && !path.starts_with("~/")) {
      why = "only ~/ is expanded (from HOME), not ~user";
      return std::nullopt;
    }
    const auto home = secrets_.get_env("HOME");
    if (!home || home->empty()) {
      why = "starts with ~ but HOME is not set";
      return std::nullopt;
    }
    std::string base = *home;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    return base + std::string(path.substr(1));
  }

  // One key of a list: a usable key, or nullopt (the reason is an error when
  // the config itself is wrong, a warning when the outside world is).
  std::optional<ApiKey> resolve_key(const YAML::Node& node, const std::string& path,
                                    std::string_view text_in, std::vector<SecretRef>* unusable) {
    const std::string_view text = trim(text_in);
    SecretRef ref;
    std::optional<std::string> value;
    std::string problem;
    if (text.starts_with("env:")) {
      ref.kind = SecretRef::Kind::kEnv;
      ref.name = std::string(trim(text.substr(4)));
      if (!is_env_name(ref.name)) {
        error(node, path, "expected env:VARIABLE_NAME (letters, digits and _)");
        return std::nullopt;
      }
      value = secrets_.get_env(ref.name);
      if (!value) problem = "environment variable " + ref.name + " is not set";
    } else if (text.starts_with("file:")) {
      ref.kind = SecretRef::Kind::kFile;
      const std::string_view file = trim(text.substr(5));
      if (file.empty()) {
        error(node, path, "expected file:PATH");
        return std::nullopt;
      }
      std::string why;
      if (auto expanded = expand_home(file, why)) {
        ref.name = *expanded;
        value = secrets_.read_file(ref.name);
        if (!value) problem = "file " + ref.name + " cannot be read";
      } else {
        ref.name = std::string(file);
        problem = "file " + ref.name + ": " + why;
      }
    } else {
      ref.kind = SecretRef::Kind::kLiteral;
      if (text.empty()) {
        error(node, path, "empty key");
        return std::nullopt;
      }
      if (has_control_or_space(text)) {
        // Never quote it: it is a secret.
        error(node, path, "the literal key contains spaces or control characters");
        return std::nullopt;
      }
      warning(node, path, "literal key in the config file; prefer env:VAR");
      value = std::string(text);
    }
    if (value) {
      // Key files end with a newline; variables sometimes carry stray spaces.
      const std::string trimmed(trim(*value));
      if (trimmed.empty()) {
        problem = ref.kind == SecretRef::Kind::kEnv
                      ? "environment variable " + ref.name + " is empty"
                      : "file " + ref.name + " is empty";
      } else if (has_control_or_space(trimmed)) {
        // A newline would split the auth header; more than one token is not a key.
        problem =
            ref.describe() + " holds spaces, line breaks or control characters; a key has none";
      } else {
        return ApiKey{ref, Secret(trimmed)};
      }
    }
    warning(node, path, problem);
    if (unusable != nullptr) unusable->push_back(ref);
    return std::nullopt;
  }

  std::vector<ApiKey> key_list(const YAML::Node& node, const std::string& path,
                               std::vector<SecretRef>* unusable, bool& any_configured) {
    std::vector<ApiKey> keys;
    std::vector<std::string> key_paths;
    const auto items = string_list(node, path);
    any_configured = !items.empty() || (node.IsSequence() && node.size() > 0);
    for (const ListItem& item : items) {
      auto key = resolve_key(item.node, item.path, item.text, unusable);
      if (!key) continue;
      for (std::size_t k = 0; k < keys.size(); ++k) {
        if (keys[k].secret == key->secret) {
          warning(item.node, item.path,
                  "same key as " + key_paths[k].substr(key_paths[k].rfind('.') + 1) +
                      "; the pool treats them as one");
        }
      }
      keys.push_back(std::move(*key));
      key_paths.push_back(item.path);
    }
    return keys;
  }

  // server.gateway_keys: each entry a key reference, or a map with the key
  // and the limits of the client holding it.
  std::vector<GatewayKey> gateway_key_list(const YAML::Node& node, const std::string& path,
                                           bool& any_configured) {
    std::vector<GatewayKey> keys;
    if (!node.IsSequence()) {
      // One scalar stands for a list of one, as for provider keys.
      std::vector<ApiKey> plain = key_list(node, path, nullptr, any_configured);
      for (ApiKey& k : plain) keys.push_back(GatewayKey{std::move(k), {}, false, std::nullopt});
      for (GatewayKey& k : keys) k.name = k.secret.fingerprint();
      return keys;
    }
    any_configured = node.size() > 0;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      const std::string item_path = element(path, i);
      std::optional<ApiKey> key;
      struct {
        std::string name;
        bool background_only = false;
        std::optional<int> max_in_flight;
      } limits;
      if (item.IsScalar()) {
        key = resolve_key(item, item_path, item.Scalar(), nullptr);
      } else if (item.IsMap()) {
        bool has_key = false;
        each_field(
            item, item_path, kGatewayKeyFields,
            [&](const std::string& field, const YAML::Node& value, const std::string& field_path) {
              if (field == "key") {
                has_key = true;
                if (auto text = string_value(value, field_path)) {
                  key = resolve_key(value, field_path, *text, nullptr);
                }
              } else if (field == "name") {
                if (auto n = string_value(value, field_path)) limits.name = *n;
              } else if (field == "priority") {
                if (auto c = enum_choice(value, field_path, "priority", kPriorities)) {
                  limits.background_only = *c == Priority::kBackground;
                }
              } else if (field == "max_in_flight") {
                limits.max_in_flight = int_value(value, field_path, 1);
              }
            });
        if (!has_key) error(item, item_path, "a gateway key entry needs key: (e.g. env:CI_KEY)");
      } else {
        error(item, item_path, "expected a key reference or a map with key:, got " + what_is(item));
      }
      if (!key) continue;
      for (const GatewayKey& other : keys) {
        if (other.secret == key->secret) {
          error(item, item_path, "the same key as " + other.name + ": a key has one set of limits");
        }
      }
      if (limits.name.empty()) limits.name = key->secret.fingerprint();
      keys.push_back(GatewayKey{std::move(*key), std::move(limits.name), limits.background_only,
                                limits.max_in_flight});
    }
    return keys;
  }

  // ---- sections ----
  void load_server(const YAML::Node& node);
  void load_state(const std::optional<YAML::Node>& node);
  void load_provider(const std::string& name, const YAML::Node& node, const std::string& path);
  void load_base_url(const YAML::Node& node, const std::string& path, ProviderConfig& provider);
  void load_model(const std::string& name, const YAML::Node& node, const std::string& path);
  void load_retry(const YAML::Node& node);
  void load_rule(const YAML::Node& node, const std::string& path, std::size_t index);
  void check_reachability();

  SecretSource& secrets_;
  LoadResult result_;
  GatewayConfig config_;
  // Marks rather than nodes: assigning to a yaml-cpp Node that already refers
  // to a node rewrites the document, so nodes are only ever copy-constructed.
  YAML::Mark root_mark_ = YAML::Mark::null_mark();
  bool listen_from_flag_ = false;  // server.listen came from --listen
  std::optional<YAML::Mark> listen_mark_;
  std::optional<YAML::Mark> reuse_port_mark_;
  std::vector<YAML::Mark> provider_marks_;  // parallel to config_.providers
  std::vector<YAML::Mark> model_marks_;     // parallel to config_.models
  // Where each route target was written, parallel to each alias's route.
  std::vector<std::vector<std::pair<YAML::Mark, std::string>>> route_places_;
  Names provider_names_;
};

std::optional<std::string> Loader::set_listen(std::string_view text) {
  ServerConfig& server = config_.server;
  const auto parts = split_host_port(trim(text));
  const auto port = parts ? parse_integer(parts->port) : std::optional<long long>{};
  if (!parts || !port || *port < 0 || *port > 65535 || has_control_or_space(parts->host) ||
      parts->host.find('/') != std::string::npos) {
    return "expected host:port such as 127.0.0.1:4000 or [::1]:4000, got " + quoted(text);
  }
  server.listen = std::string(trim(text));
  // An empty host (":4000") means every interface.
  server.host = parts->host.empty() ? "0.0.0.0" : parts->host;
  server.port = static_cast<std::uint16_t>(*port);
  server.loopback = is_loopback_host(server.host);
  return std::nullopt;
}

void Loader::load_server(const YAML::Node& node) {
  ServerConfig& server = config_.server;
  each_field(node, "server", kServerFields,
             [&](const std::string& key, const YAML::Node& value, const std::string& path) {
               if (key == "listen") {
                 listen_mark_ = value.Mark();
                 const auto text = string_value(value, path);
                 if (!text) return;
                 if (auto why = set_listen(*text)) error(value, path, *why);
               } else if (key == "max_body_bytes") {
                 if (auto v = byte_size(value, path)) {
                   server.max_body_bytes = *v;
                 }
               } else if (key == "max_header_bytes") {
                 if (auto v = byte_size(value, path)) {
                   server.max_header_bytes = *v;
                 }
               } else if (key == "request_timeout") {
                 if (auto d = duration(value, path, false)) server.request_timeout = *d;
               } else if (key == "idle_timeout") {
                 if (auto d = duration(value, path, false)) server.idle_timeout = *d;
               } else if (key == "log_format") {
                 if (auto f = enum_choice(value, path, "log format", kLogFormats)) {
                   server.log_format = *f;
                 }
               } else if (key == "gateway_keys") {
                 bool configured = false;
                 server.gateway_keys = gateway_key_list(value, path, configured);
                 server.require_gateway_key = configured;
                 if (configured && server.gateway_keys.empty()) {
                   warning(value, path,
                           "no gateway key could be resolved; every client request will be "
                           "refused (401) until one is");
                 }
               } else if (key == "allow_public_without_keys") {
                 if (auto b = boolean(value, path)) server.allow_public_without_keys = *b;
               } else if (key == "drain_timeout") {
                 if (auto d = duration(value, path, true)) server.drain_timeout = *d;
               } else if (key == "reuse_port") {
                 if (auto b = boolean(value, path)) server.reuse_port = *b;
                 reuse_port_mark_ = value.Mark();
               }
             });
}

void Loader::load_state(const std::optional<YAML::Node>& node) {
  StateConfig& state = config_.state;
  const YAML::Mark state_mark = node ? node->Mark() : root_mark_;
  std::optional<YAML::Mark> path_mark, url_mark;
  if (node) {
    each_field(*node, "state", kStateFields,
               [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                 if (key == "backend") {
                   if (auto b = enum_choice(value, path, "backend", kStateBackends)) {
                     state.backend = *b;
                   }
                 } else if (key == "path") {
                   if (auto text = string_value(value, path)) {
                     path_mark = value.Mark();
                     state.path = *text;
                   }
                 } else if (key == "url") {
                   if (auto text = string_value(value, path)) {
                     url_mark = value.Mark();
                     state.url = std::string(trim(*text));
                   }
                 } else if (key == "lease_ttl") {
                   if (auto d = duration(value, path, false)) {
                     if (*d < std::chrono::milliseconds(100)) {
                       error(value.Mark(), path, "must be at least 100ms");
                     } else {
                       state.lease_ttl = *d;
                     }
                   }
                 } else if (key == "key_prefix") {
                   if (auto text = string_value(value, path)) state.key_prefix = *text;
                 } else if (key == "conversations") {
                   // 0 turns Responses state off: nothing users wrote is kept.
                   if (auto d = duration(value, path, true)) state.conversations = *d;
                 }
               });
  }
  if (state.backend == StateBackend::kSqlite) {
    const bool configured = !state.path.empty();
    const std::string raw = configured ? state.path : std::string(kDefaultStatePath);
    std::string why;
    if (auto expanded = expand_home(raw, why)) {
      state.path = *expanded;
    } else if (configured) {
      error(*path_mark, "state.path", why);
    } else {
      error(state_mark, "state.path",
            "HOME is not set, so the default " + std::string(kDefaultStatePath) +
                " cannot be used; set state.path");
    }
  } else if (path_mark) {
    warning(*path_mark, "state.path",
            "ignored: backend is " + std::string(to_string(state.backend)));
  }
  if (state.backend == StateBackend::kRedis) {
    const bool known_scheme =
        istarts_with(state.url, "redis://") || istarts_with(state.url, "unix://");
    if (istarts_with(state.url, "rediss://")) {
      error(url_mark.value_or(state_mark), "state.url",
            "rediss:// (TLS) is not supported: Debian's hiredis is built without TLS; use "
            "redis:// on a private network, unix:///path, or a TLS tunnel");
    } else if (!known_scheme || has_control_or_space(state.url)) {
      // Not quoted: a redis URL may carry a password.
      error(url_mark.value_or(state_mark), "state.url",
            "expected redis://[:password@]host:port[/db] or unix:///path");
    }
  } else if (url_mark) {
    warning(*url_mark, "state.url", "ignored: backend is " + std::string(to_string(state.backend)));
  }
}

void Loader::load_base_url(const YAML::Node& node, const std::string& path,
                           ProviderConfig& provider) {
  const auto text = string_value(node, path);
  if (!text) return;
  std::string url(trim(*text));
  const bool https = istarts_with(url, "https://");
  const bool http = istarts_with(url, "http://");
  if (!https && !http) {
    error(node, path, "expected an http:// or https:// URL, got " + quoted(url));
    return;
  }
  const std::size_t scheme_end = url.find("://") + 3;
  const std::size_t host_end = std::min(url.find('/', scheme_end), url.size());
  const std::string authority = url.substr(scheme_end, host_end - scheme_end);
  if (authority.find('@') != std::string::npos) {
    // Not quoted: the user-info part is a credential.
    error(node, path, "credentials in base_url; put the key in keys (env:VAR or file:PATH)");
    return;
  }
  if (authority.empty() || has_control_or_space(url) ||
      url.find_first_of("?#") != std::string::npos) {
    error(node, path,
          "expected scheme://host[:port][/path] without query or fragment, got " + quoted(url));
    return;
  }
  while (url.size() > scheme_end && url.back() == '/') url.pop_back();
  provider.base_url = url;
}

void Loader::load_provider(const std::string& name, const YAML::Node& node,
                           const std::string& path) {
  provider_names_.push_back(name);
  ProviderConfig provider;
  provider.name = name;
  if (!is_provider_name(name)) {
    error(node, path,
          "a provider name may hold letters, digits, '_', '-' and '.' only (it is the first part "
          "of provider/model)");
  }
  bool has_api = false, has_base_url = false, has_dialect = false, has_keys = false;
  std::optional<YAML::Mark> keys_mark, base_url_mark;
  if (!expect_map(node, path)) {
    config_.providers.push_back(std::move(provider));
    provider_marks_.push_back(node.Mark());
    return;
  }
  each_field(
      node, path, kProviderFields,
      [&](const std::string& key, const YAML::Node& value, const std::string& field_path) {
        if (key == "api") {
          has_api = true;
          if (auto api = enum_choice(value, field_path, "api", kWireApis)) provider.api = *api;
        } else if (key == "dialect") {
          has_dialect = true;
          const auto text = string_value(value, field_path);
          if (!text) return;
          if (auto d = dialect_from_string(*text)) {
            provider.dialect = *d;
          } else {
            const Names known = dialect_names();
            const std::string hint = did_you_mean(*text, known);
            error(value, field_path,
                  "unknown dialect " + quoted(*text) +
                      (hint.empty() ? " (expected one of: " + join(known, ", ") + ")" : hint));
          }
        } else if (key == "base_url") {
          has_base_url = true;
          base_url_mark = value.Mark();
          load_base_url(value, field_path, provider);
        } else if (key == "keys") {
          keys_mark = value.Mark();
          provider.keys = key_list(value, field_path, &provider.unusable_keys, has_keys);
        } else if (key == "max_concurrent") {
          provider.max_concurrent = int_value(value, field_path, 1);
        } else if (key == "max_concurrent_by_model") {
          each_entry(value, field_path,
                     [&](const std::string& model, const YAML::Node& limit,
                         const std::string& model_path) {
                       if (auto v = int_value(limit, model_path, 1)) {
                         provider.max_concurrent_by_model.emplace_back(model, *v);
                       }
                     });
        } else if (key == "rpm_throttle_threshold") {
          if (auto v = int_value(value, field_path, 0)) provider.rpm_throttle_threshold = *v;
        } else if (key == "strategy") {
          if (auto s = enum_choice(value, field_path, "strategy", policy::kSelectionStrategies)) {
            provider.strategy = *s;
          }
        } else if (key == "max_wait") {
          if (auto d = duration(value, field_path, true)) provider.max_wait = *d;
        } else if (key == "timeouts") {
          each_field(
              value, field_path, kTimeoutFields,
              [&](const std::string& which, const YAML::Node& v, const std::string& timeout_path) {
                const auto d = duration(v, timeout_path, false);
                if (!d) return;
                if (which == "connect") provider.timeouts.connect = *d;
                if (which == "first_byte") provider.timeouts.first_byte = *d;
                if (which == "idle") provider.timeouts.idle = *d;
              });
        } else if (key == "headers") {
          each_entry(
              value, field_path,
              [&](const std::string& header, const YAML::Node& v, const std::string& header_path) {
                if (!is_header_name(header)) {
                  error(v, header_path, "not a valid HTTP header name");
                  return;
                }
                const std::string lower = ascii_lower(header);
                if (std::find(kManagedHeaders.begin(), kManagedHeaders.end(), lower) !=
                    kManagedHeaders.end()) {
                  error(v, header_path,
                        "set by sluice itself (auth comes from keys: env:VAR or "
                        "file:PATH)");
                  return;
                }
                if (!v.IsScalar()) {
                  error(v, header_path, "expected a string, got " + what_is(v));
                  return;
                }
                if (has_control(v.Scalar())) {
                  error(v, header_path,
                        "the value holds line breaks or control "
                        "characters");
                  return;
                }
                provider.headers.emplace_back(header, std::string(trim(v.Scalar())));
              });
        } else if (key == "models") {
          for (const ListItem& item : string_list(value, field_path)) {
            provider.models.push_back(item.text);
          }
        }
      });
  if (!has_api) {
    error(node, path + ".api", "missing required field (openai, anthropic or responses)");
  }
  if (!has_base_url) {
    error(node, path + ".base_url", "missing required field (e.g. https://api.openai.com/v1)");
  }
  if (!has_dialect && !provider.base_url.empty()) {
    provider.dialect = infer_dialect(provider.base_url);
    provider.dialect_inferred = true;
  }
  provider.keyless = !has_keys;
  if (has_keys && base_url_mark && is_remote_plain_http(provider.base_url)) {
    warning(*base_url_mark, path + ".base_url",
            "plain http to a remote host: keys and prompts travel unencrypted");
  }
  if (provider.keyless && has_base_url && !is_self_hosted(provider.dialect)) {
    warning(node, path + ".keys",
            "no keys configured: requests go upstream without an auth header");
  }
  config_.providers.push_back(std::move(provider));
  provider_marks_.push_back(keys_mark.value_or(node.Mark()));
}

void Loader::load_model(const std::string& name, const YAML::Node& node, const std::string& path) {
  ModelAlias alias;
  alias.name = name;
  if (name.empty() || name.find('/') != std::string::npos || has_control_or_space(name)) {
    error(node, path,
          "an alias may not be empty or hold '/' or spaces (provider/model addresses a provider "
          "directly)");
  }
  bool has_route = false, has_queue_timeout = false;
  std::vector<std::pair<YAML::Mark, std::string>> target_places;
  if (!expect_map(node, path)) return;
  each_field(
      node, path, kModelFields,
      [&](const std::string& key, const YAML::Node& value, const std::string& field_path) {
        if (key == "route") {
          has_route = true;
          if (value.IsSequence() && value.size() == 0) {
            error(value, field_path, "empty route; list at least one provider/upstream-model");
            return;
          }
          for (const ListItem& list_item : string_list(value, field_path)) {
            const YAML::Node& item = list_item.node;
            const std::string& text = list_item.text;
            const std::string& item_path = list_item.path;
            const auto target = policy::parse_route_target(trim(text));
            if (!target) {
              error(item, item_path, "expected provider/upstream-model, got " + quoted(text));
              continue;
            }
            if (std::find(provider_names_.begin(), provider_names_.end(), target->provider) ==
                provider_names_.end()) {
              const std::string hint = did_you_mean(target->provider, provider_names_);
              std::string message = "unknown provider " + quoted(target->provider);
              if (!hint.empty()) {
                message += hint;
              } else if (provider_names_.empty()) {
                message += " (no providers are configured)";
              } else {
                message += " (providers: " + join(provider_names_, ", ") + ")";
              }
              error(item, item_path, message);
              continue;
            }
            for (const policy::RouteTarget& earlier : alias.route) {
              if (earlier.provider == target->provider &&
                  earlier.upstream_model == target->upstream_model) {
                warning(item, item_path, "listed twice in the route");
              }
            }
            alias.route.push_back(*target);
            target_places.emplace_back(item.Mark(), item_path);
          }
        } else if (key == "priority") {
          if (auto pr = enum_choice(value, field_path, "priority", kPriorities)) {
            alias.priority = *pr;
          }
        } else if (key == "queue_timeout") {
          has_queue_timeout = true;
          if (auto d = duration(value, field_path, true)) alias.queue_timeout = *d;
        } else if (key == "deadline") {
          alias.deadline = duration(value, field_path, false);
        } else if (key == "context_length") {
          if (auto n = int_value(value, field_path, 1)) alias.context_length = *n;
        } else if (key == "default_max_tokens") {
          if (auto n = int_value(value, field_path, 1)) alias.default_max_tokens = *n;
        } else if (key == "translation") {
          if (auto i = choice(value, field_path, "translation", {"lossy", "strict"})) {
            alias.strict_translation = *i == 1;
          }
        }
      });
  if (!has_route) {
    error(node, path + ".route", "missing required field (a list of provider/upstream-model)");
  }
  if (!has_queue_timeout && alias.priority == Priority::kBackground) {
    // Background work yields quickly: it should move to another candidate or
    // get a 429 rather than hold a queue slot an interactive turn could use.
    alias.queue_timeout = std::chrono::seconds(10);
  }
  config_.models.push_back(std::move(alias));
  model_marks_.push_back(node.Mark());
  route_places_.push_back(std::move(target_places));
}

void Loader::load_retry(const YAML::Node& node) {
  RetrySettings& retry = config_.retry;
  std::optional<YAML::Mark> backoff_max_mark;
  each_field(node, "retry", kRetryFields,
             [&](const std::string& key, const YAML::Node& value, const std::string& path) {
               if (key == "max_attempts") {
                 if (auto v = int_value(value, path, 1, 100)) retry.policy.max_attempts_total = *v;
               } else if (key == "max_attempts_per_candidate") {
                 if (auto v = int_value(value, path, 1, 100)) {
                   retry.policy.max_attempts_per_candidate = *v;
                 }
               } else if (key == "max_retry_wait") {
                 if (auto d = duration(value, path, true)) retry.policy.max_retry_wait = *d;
               } else if (key == "budget_ratio") {
                 if (auto v = fraction(value, path)) retry.budget.ratio = *v;
               } else if (key == "budget_min_per_window") {
                 if (auto v = int_value(value, path, 0, 1'000'000))
                   retry.budget.min_per_window = *v;
               } else if (key == "budget_window") {
                 if (auto d = duration(value, path, false)) retry.budget.window = *d;
               } else if (key == "backoff_base") {
                 if (auto d = duration(value, path, false)) retry.policy.backoff.base = *d;
               } else if (key == "backoff_max") {
                 backoff_max_mark = value.Mark();
                 if (auto d = duration(value, path, false)) retry.policy.backoff.max = *d;
               }
             });
  if (retry.policy.backoff.max < retry.policy.backoff.base) {
    error(backoff_max_mark.value_or(node.Mark()), "retry.backoff_max",
          "must be at least backoff_base (" + format_duration(retry.policy.backoff.base) + ")");
  }
}

void Loader::load_rule(const YAML::Node& node, const std::string& path, std::size_t index) {
  if (!expect_map(node, path)) return;
  policy::ErrorRule rule;
  rule.name = "config:" + std::to_string(index);
  bool has_class = false;
  each_field(node, path, kRuleFields,
             [&](const std::string& key, const YAML::Node& value, const std::string& field_path) {
               const auto lower_strings = [&](std::vector<std::string>& out) {
                 for (const ListItem& item : string_list(value, field_path)) {
                   if (trim(item.text).empty()) {
                     error(item.node, item.path, "expected a non-empty string");
                     continue;
                   }
                   out.push_back(ascii_lower(item.text));
                 }
               };
               if (key == "name") {
                 if (auto text = string_value(value, field_path)) rule.name = "config:" + *text;
               } else if (key == "class") {
                 has_class = true;
                 const auto text = string_value(value, field_path);
                 if (!text) return;
                 if (auto cls = error_class_from_string(upper(trim(*text)))) {
                   rule.cls = *cls;
                   return;
                 }
                 const Names known = error_class_names();
                 const std::string hint = did_you_mean(*text, known);
                 error(value, field_path,
                       "unknown class " + quoted(*text) +
                           (hint.empty() ? " (expected one of: " + join(known, ", ") + ")" : hint));
               } else if (key == "codes") {
                 lower_strings(rule.codes);
               } else if (key == "phrases") {
                 lower_strings(rule.any_phrases);
               } else if (key == "all_phrases") {
                 lower_strings(rule.all_phrases);
               } else if (key == "unless") {
                 lower_strings(rule.unless);
               } else if (key == "dialects") {
                 const Names known = dialect_names();
                 for (const ListItem& item : string_list(value, field_path)) {
                   if (auto d = dialect_from_string(item.text)) {
                     rule.dialects.push_back(*d);
                     continue;
                   }
                   const std::string hint = did_you_mean(item.text, known);
                   error(
                       item.node, item.path,
                       "unknown dialect " + quoted(item.text) +
                           (hint.empty() ? " (expected one of: " + join(known, ", ") + ")" : hint));
                 }
               } else if (key == "status") {
                 const auto one = [&](const YAML::Node& item, const std::string& item_path) {
                   if (auto v = int_value(item, item_path, 100, 599)) rule.statuses.push_back(*v);
                 };
                 if (value.IsSequence()) {
                   for (std::size_t i = 0; i < value.size(); ++i) {
                     one(value[i], element(field_path, i));
                   }
                 } else {
                   one(value, field_path);
                 }
               }
             });
  if (!has_class) error(node, path + ".class", "missing required field (e.g. RATE_LIMIT)");
  if (!rule.valid()) {
    error(node, path, "a rule needs codes, phrases or all_phrases to match on");
  }
  config_.error_rules.push_back(std::move(rule));
}

// Cross-field checks that need every section loaded.
void Loader::check_reachability() {
  const ServerConfig& server = config_.server;
  if (!server.loopback && !server.require_gateway_key && !server.allow_public_without_keys) {
    error(listen_mark_.value_or(root_mark_), listen_from_flag_ ? "--listen" : "server.listen",
          quoted(server.listen) +
              " is reachable from other machines and no gateway key is required, so anyone who "
              "can reach it would spend your provider keys; set server.gateway_keys (e.g. "
              "[env:SLUICE_GATEWAY_KEY]) or, if something in front already authenticates, "
              "server.allow_public_without_keys: true");
  }
  if (config_.providers.empty()) {
    warning(root_mark_, "providers", "no providers configured; every request will fail");
  }
  for (std::size_t i = 0; i < config_.providers.size(); ++i) {
    const ProviderConfig& provider = config_.providers[i];
    if (provider.has_usable_key()) continue;
    std::string routed;
    for (const ModelAlias& alias : config_.models) {
      for (const policy::RouteTarget& target : alias.route) {
        if (target.provider != provider.name) continue;
        if (!routed.empty()) routed += ", ";
        routed += target.provider + "/" + target.upstream_model + " (models." + alias.name + ")";
      }
    }
    warning(provider_marks_[i], "providers." + provider.name + ".keys",
            "no usable key; " +
                (routed.empty() ? std::string("requests addressed to it will fail")
                                : "its route candidates " + routed + " will be skipped") +
                " until a key is available (fix the key and reload)");
  }
  for (std::size_t i = 0; i < config_.models.size(); ++i) {
    const ModelAlias& alias = config_.models[i];
    if (alias.route.empty()) continue;
    bool any_usable = false;
    for (std::size_t c = 0; c < alias.route.size(); ++c) {
      const ProviderConfig* provider = config_.find_provider(alias.route[c].provider);
      if (provider == nullptr) continue;
      any_usable = any_usable || provider->has_usable_key();
    }
    if (!any_usable) {
      warning(model_marks_[i], "models." + alias.name,
              "no candidate has a usable key; requests to this alias will fail until one does");
    }
  }
}

LoadResult Loader::run(std::string_view text, std::string_view listen_override) {
  std::optional<YAML::Node> document;
  try {
    document.emplace(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    errors_.push_back(at(e.mark, "", "YAML syntax error: " + e.msg));
    return finish();
  }
  try {
    const YAML::Node& root = *document;
    if (!root.IsNull() && !root.IsMap()) {
      error(root, "",
            "expected a mapping of server, state, providers, models, retry, errors; got " +
                what_is(root));
      return finish();
    }
    root_mark_ = root.Mark();
    std::optional<YAML::Node> server, state, providers, models, retry, errors;
    if (root.IsMap()) {
      each_field(root, "", kRootFields,
                 [&](const std::string& key, const YAML::Node& value, const std::string&) {
                   if (key == "server") server.emplace(value);
                   if (key == "state") state.emplace(value);
                   if (key == "providers") providers.emplace(value);
                   if (key == "models") models.emplace(value);
                   if (key == "retry") retry.emplace(value);
                   if (key == "errors") errors.emplace(value);
                 });
    }
    if (server) load_server(*server);
    load_state(state);
    // Providers before models: routes are checked against the provider names.
    if (providers) {
      each_entry(*providers, "providers",
                 [&](const std::string& name, const YAML::Node& value, const std::string& path) {
                   load_provider(name, value, path);
                 });
    }
    if (models) {
      each_entry(*models, "models",
                 [&](const std::string& name, const YAML::Node& value, const std::string& path) {
                   load_model(name, value, path);
                 });
    }
    if (retry) load_retry(*retry);
    if (errors) {
      each_field(*errors, "errors", kErrorsFields,
                 [&](const std::string&, const YAML::Node& value, const std::string& path) {
                   if (!value.IsSequence()) {
                     error(value, path, "expected a list of rules, got " + what_is(value));
                     return;
                   }
                   for (std::size_t i = 0; i < value.size(); ++i) {
                     load_rule(value[i], element(path, i), i);
                   }
                 });
    }
    // A --listen flag replaces server.listen before the reachability check,
    // so the flag cannot open the gateway to other machines without keys.
    if (!listen_override.empty()) {
      if (auto why = set_listen(listen_override)) {
        errors_.push_back(at(root_mark_, "--listen", *why));
      } else {
        listen_mark_.reset();
        listen_from_flag_ = true;
      }
    }
    if (config_.server.reuse_port && config_.state.backend != StateBackend::kRedis) {
      warning(*reuse_port_mark_, "server.reuse_port",
              "processes sharing the port keep their own concurrency limits, queues and budgets "
              "unless state.backend is redis");
    }
    check_reachability();
  } catch (const YAML::Exception& e) {
    // Defensive: node access on an odd document. Keep what was found so far.
    errors_.push_back(at(e.mark, "", "cannot read the document: " + e.msg));
  } catch (const std::exception& e) {
    errors_.push_back(at(YAML::Mark::null_mark(), "", std::string("internal error: ") + e.what()));
  }
  return finish();
}

}  // namespace

LoadResult load_gateway_config(std::string_view yaml_text, std::string_view file_name,
                               SecretSource& secrets, std::string_view listen_override) {
  try {
    Loader loader(file_name, secrets);
    return loader.run(yaml_text, listen_override);
  } catch (...) {
    // Out of memory or a bug: the public API promises not to throw.
    LoadResult failed;
    Diagnostic d;
    d.file = std::string(file_name);
    d.message = "internal error while loading the config";
    failed.errors.push_back(std::move(d));
    return failed;
  }
}

}  // namespace sluice::config
