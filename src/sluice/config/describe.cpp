// describe(): the `sluice check-config` explanation of a loaded config.
// Keys appear only as fingerprints and references (env:VAR, file:PATH);
// header values and redis passwords are left out, since either may be a
// credential.
#include <algorithm>

#include "sluice/config/duration_text.hpp"
#include "sluice/config/gateway_config.hpp"
#include "sluice/core/text.hpp"

namespace sluice::config {

namespace {

std::string byte_size_text(std::size_t bytes) {
  constexpr std::size_t kKiB = 1024, kMiB = 1024 * 1024, kGiB = kMiB * 1024;
  if (bytes >= kGiB && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "GiB";
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "MiB";
  if (bytes >= kKiB && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "KiB";
  return std::to_string(bytes) + " bytes";
}

// redis://user:password@host -> redis://***@host
std::string redact_url(const std::string& url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const std::size_t authority_start = scheme_end + 3;
  const std::size_t authority_end = std::min(url.find('/', authority_start), url.size());
  const std::size_t at = url.rfind('@', authority_end);
  if (at == std::string::npos || at < authority_start) return url;
  return url.substr(0, authority_start) + "***" + url.substr(at);
}

std::string gateway_key_text(const std::vector<GatewayKey>& keys) {
  std::string out;
  for (const GatewayKey& key : keys) {
    if (!out.empty()) out += ", ";
    out += key.name + " (" + key.ref.describe();
    if (key.background_only) out += ", background only";
    if (key.max_in_flight) out += ", at most " + std::to_string(*key.max_in_flight) + " in flight";
    out += ")";
  }
  return out;
}

std::string key_list_text(const std::vector<ApiKey>& keys) {
  std::string out;
  for (const ApiKey& key : keys) {
    if (!out.empty()) out += ", ";
    out += key.secret.fingerprint() + " (" + key.ref.describe() + ")";
  }
  return out;
}

std::string unusable_text(const std::vector<SecretRef>& refs) {
  std::string out;
  for (const SecretRef& ref : refs) {
    if (!out.empty()) out += ", ";
    out += ref.describe();
  }
  return out;
}

// Every upstream model the gateway may send to this provider: routed ones
// first (they matter most), then the informational list and the overrides.
std::vector<std::string> models_of(const GatewayConfig& config, const ProviderConfig& provider) {
  std::vector<std::string> out;
  const auto add = [&](const std::string& model) {
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&](const std::string& m) { return iequals(m, model); });
    if (!seen) out.push_back(model);
  };
  for (const ModelAlias& alias : config.models) {
    for (const policy::RouteTarget& target : alias.route) {
      if (target.provider == provider.name) add(target.upstream_model);
    }
  }
  for (const std::string& model : provider.models) add(model);
  for (const auto& [model, limit] : provider.max_concurrent_by_model) add(model);
  return out;
}

std::string limit_source(const ProviderConfig& provider, std::string_view model) {
  for (const auto& [id, limit] : provider.max_concurrent_by_model) {
    if (iequals(id, model)) return "max_concurrent_by_model";
  }
  if (provider.max_concurrent) return "max_concurrent";
  return "built-in for " + std::string(to_string(provider.dialect));
}

void describe_server(const ServerConfig& server, std::string& out) {
  out += "server\n";
  out += "  listen " + server.listen +
         (server.loopback ? " (loopback only)\n" : " (reachable from other machines)\n");
  if (!server.gateway_keys.empty()) {
    out += "  clients must present one of " + std::to_string(server.gateway_keys.size()) +
           " gateway key(s): " + gateway_key_text(server.gateway_keys) + "\n";
  } else if (server.require_gateway_key) {
    out += "  gateway keys configured but none usable: every client request is refused\n";
  } else {
    out += std::string("  no gateway key required") +
           (server.loopback ? "" : " (allow_public_without_keys)") + "\n";
  }
  out += "  limits: body " + byte_size_text(server.max_body_bytes) + ", headers " +
         byte_size_text(server.max_header_bytes) + "; request timeout " +
         format_duration(server.request_timeout) + ", idle timeout " +
         format_duration(server.idle_timeout) + "; logs " +
         std::string(to_string(server.log_format)) + "\n";
}

void describe_state(const StateConfig& state, std::string& out) {
  out += "state\n";
  switch (state.backend) {
    case StateBackend::kMemory:
      out += "  memory: cooldowns and learned limits are lost on restart\n";
      break;
    case StateBackend::kSqlite: out += "  sqlite at " + state.path + "\n"; break;
    case StateBackend::kRedis: out += "  redis at " + redact_url(state.url) + "\n"; break;
  }
}

void describe_provider(const GatewayConfig& config, const ProviderConfig& p, std::string& out) {
  out += "  " + p.name + ": " + std::string(to_string(p.api)) + " API, dialect " +
         std::string(to_string(p.dialect)) +
         (p.dialect_inferred ? " (inferred from base_url)" : "") + ", " + p.base_url + "\n";
  if (p.keyless) {
    out += "    keys: none configured (requests go without an auth header)\n";
  } else {
    const std::size_t configured = p.keys.size() + p.unusable_keys.size();
    out += "    keys (" + std::string(to_string(p.strategy)) +
           "): " + std::to_string(p.keys.size()) + " usable of " + std::to_string(configured);
    if (!p.keys.empty()) out += ": " + key_list_text(p.keys);
    out += "\n";
    if (!p.unusable_keys.empty()) {
      out += "    unusable: " + unusable_text(p.unusable_keys) + "\n";
    }
    if (p.keys.empty())
      out += "    no usable key: route candidates on " + p.name + " are skipped\n";
  }
  out += "    throttle at <= " + std::to_string(p.rpm_throttle_threshold) +
         " remaining requests (at most 10% of the announced limit); wait at most " +
         format_duration(p.max_wait) + " before trying the next candidate\n";
  out += "    timeouts: connect " + format_duration(p.timeouts.connect) + ", first byte " +
         format_duration(p.timeouts.first_byte) + ", idle " + format_duration(p.timeouts.idle) +
         "\n";
  const std::vector<std::string> models = models_of(config, p);
  if (models.empty()) {
    out += "    max_concurrent per key: " + std::to_string(p.max_concurrent_for("")) + " (" +
           limit_source(p, "") + ")\n";
  } else {
    out += "    max_concurrent per key:\n";
    for (const std::string& model : models) {
      out += "      " + model + ": " + std::to_string(p.max_concurrent_for(model)) + " (" +
             limit_source(p, model) + ")\n";
    }
  }
  if (!p.headers.empty()) {
    std::string names;
    for (const auto& [name, value] : p.headers) names += (names.empty() ? "" : ", ") + name;
    out += "    extra headers: " + names + "\n";
  }
}

void describe_model(const GatewayConfig& config, const ModelAlias& alias, std::string& out) {
  out += "  " + alias.name + " (" + std::string(to_string(alias.priority)) + ", queue timeout " +
         format_duration(alias.queue_timeout) +
         (alias.deadline ? ", deadline " + format_duration(*alias.deadline) : std::string()) +
         (alias.strict_translation ? ", translation strict" : "") + ")\n";
  for (std::size_t i = 0; i < alias.route.size(); ++i) {
    const policy::RouteTarget& target = alias.route[i];
    out += "    " + std::to_string(i + 1) + ". " + target.provider + "/" + target.upstream_model;
    out += i == 0 ? " (primary)" : " (fallback)";
    if (const ProviderConfig* p = config.find_provider(target.provider)) {
      out += ", max_concurrent " + std::to_string(p->max_concurrent_for(target.upstream_model));
      // Which callers reach this candidate through translation.
      if (p->api == WireApi::kAnthropic) {
        out += ", translated for chat/responses callers";
      } else if (p->api == WireApi::kResponses) {
        out += ", translated for chat/messages callers";
      } else if (p->dialect == Dialect::kOpenAI || p->dialect == Dialect::kAzure) {
        out += ", translated for messages callers";
      } else {
        out += ", translated for messages/responses callers";
      }
      if (!p->has_usable_key()) out += ", skipped: no usable key";
    }
    out += "\n";
  }
}

void describe_retry(const RetrySettings& retry, std::string& out) {
  const policy::RetryConfig& r = retry.policy;
  out += "retry\n";
  out += "  at most " + std::to_string(r.max_attempts_total) + " attempts per request (" +
         std::to_string(r.max_attempts_per_candidate) + " per candidate); waits up to " +
         format_duration(r.max_retry_wait) + "; backoff " + format_duration(r.backoff.base) +
         " doubling to " + format_duration(r.backoff.max) + "\n";
  out +=
      "  budget: retries <= " + std::to_string(static_cast<int>(retry.budget.ratio * 100 + 0.5)) +
      "% of requests + " + std::to_string(retry.budget.min_per_window) + " per " +
      format_duration(retry.budget.window) + "\n";
}

}  // namespace

std::string describe(const GatewayConfig& config) {
  std::string out;
  describe_server(config.server, out);
  describe_state(config.state, out);
  out += "providers (" + std::to_string(config.providers.size()) + ")\n";
  for (const ProviderConfig& p : config.providers) describe_provider(config, p, out);
  out += "models (" + std::to_string(config.models.size()) + ")\n";
  for (const ModelAlias& alias : config.models) describe_model(config, alias, out);
  describe_retry(config.retry, out);
  if (!config.error_rules.empty()) {
    out += "errors.rules (" + std::to_string(config.error_rules.size()) +
           ", checked before the built-in rules)\n";
    for (const policy::ErrorRule& rule : config.error_rules) {
      out += "  " + rule.name + " -> " + std::string(to_string(rule.cls)) + "\n";
    }
  }
  return out;
}

}  // namespace sluice::config
