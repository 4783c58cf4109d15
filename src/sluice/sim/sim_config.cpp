#include "sluice/sim/sim_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>

#include "sluice/core/text.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::sim {

namespace {

constexpr std::array<Dialect, 7> kSupported = {
    Dialect::kOpenAI, Dialect::kAnthropic, Dialect::kOpenRouter, Dialect::kZai,
    Dialect::kKimi,   Dialect::kGroq,      Dialect::kAzure};

std::string join_path(std::string_view path, std::string_view field) {
  if (path.empty()) return std::string(field);
  std::string out(path);
  out += '.';
  out += field;
  return out;
}

// A YAML parse that collects the first error and stops reading.
class YamlReader {
 public:
  std::optional<std::string> error;

  bool fail(std::string_view path, std::string_view what) {
    if (!error) error = std::string(path) + ": " + std::string(what);
    return false;
  }

  std::optional<std::string> scalar(const YAML::Node& n, std::string_view path) {
    if (!n.IsScalar()) {
      fail(path, "expected a single value");
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<std::int64_t> positive_int(const YAML::Node& n, std::string_view path) {
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    auto v = parse_integer(*s);
    if (!v || *v <= 0) {
      fail(path, "expected a positive integer");
      return std::nullopt;
    }
    return *v;
  }

  std::optional<std::uint64_t> non_negative_int(const YAML::Node& n, std::string_view path) {
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    auto v = parse_integer(*s);
    if (!v || *v < 0) {
      fail(path, "expected a non-negative integer");
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(*v);
  }

  std::optional<double> rate(const YAML::Node& n, std::string_view path) {
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    auto v = parse_number(*s);
    if (!v || !(*v >= 0.0 && *v <= 1.0)) {
      fail(path, "expected a number between 0 and 1");
      return std::nullopt;
    }
    return *v;
  }

  std::optional<Duration> duration(const YAML::Node& n, std::string_view path) {
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    auto d = parse_duration_flag(*s);
    if (!d) {
      fail(path, "expected a duration such as 200ms, 2s or 1m");
      return std::nullopt;
    }
    return *d;
  }

  std::optional<std::vector<std::string>> string_list(const YAML::Node& n, std::string_view path) {
    std::vector<std::string> out;
    if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i) {
        const std::string item_path = std::string(path) + "[" + std::to_string(i) + "]";
        auto s = scalar(n[i], item_path);
        if (!s) return std::nullopt;
        if (trim(*s).empty()) {
          fail(item_path, "expected a non-empty string");
          return std::nullopt;
        }
        out.emplace_back(trim(*s));
      }
      return out;
    }
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    std::string_view rest = *s;
    while (!rest.empty()) {  // "k1,k2" as on the command line
      const auto comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      if (item.empty()) {
        fail(path, "empty entry in the list");
        return std::nullopt;
      }
      out.emplace_back(item);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    return out;
  }

  // Calls `on_field(name, value, path)` for each entry of a map; unknown
  // names are reported by the callback returning false.
  bool each_field(const YAML::Node& n, std::string_view path,
                  const std::function<bool(const std::string&, const YAML::Node&,
                                           const std::string&)>& on_field) {
    if (!n.IsMap()) return fail(path, "expected a mapping of fields");
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) return fail(path, "field names must be plain strings");
      const std::string name = it->first.Scalar();
      const std::string field_path = join_path(path, name);
      if (!on_field(name, it->second, field_path)) {
        if (!error) fail(field_path, "unknown field");
        return false;
      }
      if (error) return false;
    }
    return true;
  }

  void faults(const YAML::Node& n, std::string_view path, FaultConfig& out) {
    each_field(n, path, [&](const std::string& name, const YAML::Node& v, const std::string& p) {
      const std::map<std::string_view, double*> rates = {
          {"server_error_rate", &out.server_error_rate},
          {"overload_rate", &out.overload_rate},
          {"stream_error_rate", &out.stream_error_rate},
          {"close_mid_stream_rate", &out.close_mid_stream_rate},
          {"hang_rate", &out.hang_rate},
          {"garbage_rate", &out.garbage_rate}};
      if (auto r = rates.find(name); r != rates.end()) {
        if (auto x = rate(v, p)) *r->second = *x;
      } else if (name == "slow_headers") {
        if (auto d = duration(v, p)) out.slow_headers = *d;
      } else if (name == "stream_error_after_chunks") {
        if (auto k = non_negative_int(v, p)) {
          out.stream_error_after_chunks = static_cast<std::int64_t>(*k);
        }
      } else if (name == "billing_after") {
        if (auto k = non_negative_int(v, p)) out.billing_after = *k;
      } else if (name == "quota_after") {
        if (auto k = non_negative_int(v, p)) out.quota_after = *k;
      } else {
        return false;
      }
      return true;
    });
  }

  std::optional<ProviderSimConfig> provider(const std::string& name, const YAML::Node& n,
                                            const std::string& path) {
    ProviderSimConfig out;
    out.name = name;
    bool dialect_given = false;
    each_field(n, path, [&](const std::string& field, const YAML::Node& v, const std::string& p) {
      if (field == "dialect") {
        auto s = scalar(v, p);
        if (!s) return true;
        auto d = dialect_from_string(ascii_lower(trim(*s)));
        if (!d || !sim_supports(*d)) {
          fail(p, "unsupported dialect \"" + *s +
                      "\" (supported: " + std::string(supported_dialect_list()) + ")");
          return true;
        }
        out.dialect = *d;
        dialect_given = true;
      } else if (field == "listen") {
        if (auto s = scalar(v, p)) out.listen = std::string(trim(*s));
      } else if (field == "keys") {
        if (auto k = string_list(v, p)) out.keys = std::move(*k);
      } else if (field == "models") {
        if (auto m = string_list(v, p)) out.models = std::move(*m);
      } else if (field == "rpm") {
        out.limits.requests_per_window = positive_int(v, p);
      } else if (field == "tpm") {
        out.limits.tokens_per_window = positive_int(v, p);
      } else if (field == "concurrency") {
        out.limits.concurrency = positive_int(v, p);
      } else if (field == "daily") {
        out.limits.daily = positive_int(v, p);
      } else if (field == "window") {
        if (auto d = duration(v, p)) out.limits.window = *d;
      } else if (field == "daily_window") {
        if (auto d = duration(v, p)) out.limits.daily_window = *d;
      } else if (field == "latency") {
        if (auto d = duration(v, p)) out.latency.fixed = *d;
      } else if (field == "jitter") {
        if (auto d = duration(v, p)) out.latency.jitter = *d;
      } else if (field == "ttft") {
        if (auto d = duration(v, p)) out.latency.ttft = *d;
      } else if (field == "per_token") {
        if (auto d = duration(v, p)) out.latency.per_token = *d;
      } else if (field == "faults") {
        faults(v, p, out.faults);
      } else if (field == "seed") {
        if (auto s = non_negative_int(v, p)) out.seed = *s;
      } else {
        return false;
      }
      return true;
    });
    if (error) return std::nullopt;
    if (!dialect_given) {
      // A provider named after its dialect ("zai:") needs no dialect field.
      auto d = dialect_from_string(ascii_lower(name));
      if (!d || !sim_supports(*d)) {
        fail(join_path(path, "dialect"), "missing (the provider's name is not a dialect)");
        return std::nullopt;
      }
      out.dialect = *d;
    }
    if (auto err = validate_provider(out, path)) {
      error = std::move(err);
      return std::nullopt;
    }
    return out;
  }
};

std::optional<std::uint16_t> listen_port(std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto port = parse_integer(listen.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(*port);
}

}  // namespace

bool sim_supports(Dialect d) {
  return std::find(kSupported.begin(), kSupported.end(), d) != kSupported.end();
}

std::string_view supported_dialect_list() {
  return "openai, anthropic, openrouter, zai, kimi, groq, azure";
}

std::optional<Duration> parse_duration_flag(std::string_view text) {
  text = trim(text);
  if (text == "0") return Duration::zero();
  if (text.empty() || text.front() == '-' || text.front() == '+') return std::nullopt;
  // Go-duration syntax, shared with the rate-limit header parser.
  return policy::parse_go_duration(text);
}

std::optional<std::string> validate_faults(const FaultConfig& f, std::string_view path) {
  const std::string faults_path = join_path(path, "faults");
  const std::array<std::pair<std::string_view, double>, 6> rates = {{
      {"server_error_rate", f.server_error_rate},
      {"overload_rate", f.overload_rate},
      {"stream_error_rate", f.stream_error_rate},
      {"close_mid_stream_rate", f.close_mid_stream_rate},
      {"hang_rate", f.hang_rate},
      {"garbage_rate", f.garbage_rate},
  }};
  double sum = 0;
  for (const auto& [name, r] : rates) {
    if (!(r >= 0.0 && r <= 1.0)) {
      return join_path(faults_path, name) + ": expected a number between 0 and 1";
    }
    sum += r;
  }
  // One roll decides the fault, so the kinds cannot overlap.
  if (sum > 1.0 + 1e-9) return faults_path + ": the fault rates sum to more than 1";
  if (f.slow_headers < Duration::zero()) {
    return join_path(faults_path, "slow_headers") + ": must not be negative";
  }
  if (f.stream_error_after_chunks < 0) {
    return join_path(faults_path, "stream_error_after_chunks") +
           ": expected a non-negative integer";
  }
  return std::nullopt;
}

std::optional<std::string> validate_provider(const ProviderSimConfig& p, std::string_view path) {
  if (!sim_supports(p.dialect)) {
    return join_path(path, "dialect") + ": unsupported dialect \"" +
           std::string(to_string(p.dialect)) +
           "\" (supported: " + std::string(supported_dialect_list()) + ")";
  }
  if (!listen_port(p.listen)) {
    return join_path(path, "listen") + ": expected host:port, e.g. 127.0.0.1:8001";
  }
  const std::array<std::pair<std::string_view, const std::optional<std::int64_t>*>, 4> limits = {{
      {"rpm", &p.limits.requests_per_window},
      {"tpm", &p.limits.tokens_per_window},
      {"concurrency", &p.limits.concurrency},
      {"daily", &p.limits.daily},
  }};
  for (const auto& [name, v] : limits) {
    if (*v && **v <= 0) return join_path(path, name) + ": expected a positive integer";
  }
  // A year bounds the windows, so window arithmetic on TimePoints cannot overflow.
  constexpr Duration kMaxWindow = std::chrono::hours(24 * 366);
  for (const auto& [name, w] : {std::pair<std::string_view, Duration>{"window", p.limits.window},
                                {"daily_window", p.limits.daily_window}}) {
    if (w <= Duration::zero() || w > kMaxWindow) {
      return join_path(path, name) + ": must be longer than 0 and at most 366 days";
    }
  }
  const std::array<std::pair<std::string_view, Duration>, 4> latencies = {{
      {"latency", p.latency.fixed},
      {"jitter", p.latency.jitter},
      {"ttft", p.latency.ttft},
      {"per_token", p.latency.per_token},
  }};
  for (const auto& [name, d] : latencies) {
    if (d < Duration::zero()) return join_path(path, name) + ": must not be negative";
  }
  for (const auto& k : p.keys) {
    if (k.empty()) return join_path(path, "keys") + ": empty key";
  }
  return validate_faults(p.faults, path);
}

std::variant<SimConfig, std::string> load_sim_config_yaml(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return "yaml: line " + std::to_string(e.mark.line + 1) + ": " + e.msg;
  }
  YamlReader r;
  SimConfig out;
  try {
    if (!root.IsMap()) return std::string("expected a mapping with a `providers` field");
    YAML::Node providers;
    r.each_field(root, "", [&](const std::string& name, const YAML::Node& v, const std::string&) {
      if (name != "providers") return false;
      providers = v;
      return true;
    });
    if (r.error) return *r.error;
    if (!providers || providers.IsNull()) return std::string("providers: missing");
    if (!providers.IsMap() || providers.size() == 0) {
      return std::string("providers: expected a mapping of provider names to settings");
    }
    std::map<std::string, std::string> taken_listens;  // address -> provider, port 0 excluded
    for (auto it = providers.begin(); it != providers.end(); ++it) {
      if (!it->first.IsScalar() || it->first.Scalar().empty()) {
        return std::string("providers: provider names must be non-empty strings");
      }
      const std::string name = it->first.Scalar();
      const std::string path = "providers." + name;
      auto p = r.provider(name, it->second, path);
      if (!p) return r.error.value_or(path + ": invalid");
      if (listen_port(p->listen).value_or(0) != 0) {
        auto [at, fresh] = taken_listens.emplace(p->listen, name);
        if (!fresh) {
          return path + ".listen: " + p->listen + " is already used by providers." + at->second;
        }
      }
      out.providers.push_back(std::move(*p));
    }
  } catch (const YAML::Exception& e) {  // defensive: node access on odd documents
    return "yaml: " + e.msg;
  }
  return out;
}

}  // namespace sluice::sim
