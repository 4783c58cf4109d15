#include "sluice/sim/sim_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "sluice/config/yaml_fields.hpp"
#include "sluice/core/text.hpp"

namespace sluice::sim {

namespace {

constexpr std::array<Dialect, 7> kSupported = {
    Dialect::kOpenAI, Dialect::kAnthropic, Dialect::kOpenRouter, Dialect::kZai,
    Dialect::kKimi,   Dialect::kGroq,      Dialect::kAzure};

const config::Names kRootFields = {"providers"};
const config::Names kProviderFields = {
    "dialect",     "listen",    "keys",   "models",       "rpm",          "tpm",
    "concurrency", "daily",     "window", "daily_window", "latency",      "jitter",
    "ttft",        "per_token", "faults", "seed",         "answer_tokens"};
const config::Names kFaultFields = {
    "server_error_rate", "overload_rate", "stream_error_rate", "close_mid_stream_rate",
    "hang_rate",         "garbage_rate",  "slow_headers",      "stream_error_after_chunks",
    "billing_after",     "quota_after"};
// Counts in a config are ints: anything larger is a typo.
constexpr long long kMaxCount = std::numeric_limits<int>::max();
// A million tokens is longer than any model answers.
constexpr long long kMaxAnswerTokens = 1'000'000;

std::optional<std::uint16_t> listen_port(std::string_view listen);

// The simulator's YAML, read like the gateway's config (config::YamlFields):
// the same duration syntax, line and column with every error, every error
// in one run.
class SimLoader : private config::YamlFields {
 public:
  explicit SimLoader(std::string file) : YamlFields(std::move(file)) {}

  std::variant<SimConfig, std::string> run(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      error(e.mark, "", "YAML syntax error: " + e.msg);
      return report();
    }
    try {
      document(root);
    } catch (const YAML::Exception& e) {  // defensive: node access on odd documents
      error(e.mark, "", "cannot read the document: " + e.msg);
    }
    if (!errors().empty()) return report();
    return std::move(out_);
  }

 private:
  std::string report() const {
    std::string text;
    for (const config::Diagnostic& d : errors()) text += (text.empty() ? "" : "\n") + d.format();
    return text;
  }

  void document(const YAML::Node& root) {
    if (!root.IsMap()) {
      error(root, "", "expected a mapping with a `providers` field, got " + config::what_is(root));
      return;
    }
    std::optional<YAML::Node> found;
    each_field(root, "", kRootFields,
               [&](const std::string&, const YAML::Node& v, const std::string&) { found = v; });
    if (!found) {
      error(root, "providers", "missing: the providers to simulate");
      return;
    }
    const YAML::Node& providers = *found;
    if (!providers.IsMap()) {
      error(providers, "providers",
            "expected a mapping of provider names to settings, got " + config::what_is(providers));
      return;
    }
    if (providers.size() == 0) {
      error(providers, "providers", "no providers: name at least one");
      return;
    }
    std::map<std::string, std::string> taken_listens;  // address -> provider, port 0 excluded
    each_entry(providers, "providers",
               [&](const std::string& name, const YAML::Node& v, const std::string& path) {
                 auto p = provider(name, v, path);
                 if (!p) return;
                 if (listen_port(p->listen).value_or(0) != 0) {
                   auto [at, fresh] = taken_listens.emplace(p->listen, name);
                   if (!fresh) {
                     error(v, path + ".listen",
                           p->listen + " is already used by providers." + at->second);
                     return;
                   }
                 }
                 out_.providers.push_back(std::move(*p));
               });
  }

  // "k1,k2" as on the command line, or a list.
  std::optional<std::vector<std::string>> names(const YAML::Node& n, const std::string& path) {
    std::vector<std::string> out;
    bool ok = true;
    for (const ListItem& item : string_list(n, path)) {
      std::string_view rest = item.text;
      do {
        const auto comma = rest.find(',');
        const std::string_view one = trim(rest.substr(0, comma));
        if (one.empty()) {
          error(item.node, item.path, "expected a non-empty string");
          ok = false;
          break;
        }
        out.emplace_back(one);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      } while (!rest.empty());
    }
    if (!ok) return std::nullopt;
    return out;
  }

  void faults(const YAML::Node& n, const std::string& path, FaultConfig& out) {
    each_field(n, path, kFaultFields,
               [&](const std::string& name, const YAML::Node& v, const std::string& p) {
                 const std::map<std::string_view, double*> rates = {
                     {"server_error_rate", &out.server_error_rate},
                     {"overload_rate", &out.overload_rate},
                     {"stream_error_rate", &out.stream_error_rate},
                     {"close_mid_stream_rate", &out.close_mid_stream_rate},
                     {"hang_rate", &out.hang_rate},
                     {"garbage_rate", &out.garbage_rate}};
                 if (auto r = rates.find(name); r != rates.end()) {
                   if (auto x = fraction(v, p)) *r->second = *x;
                 } else if (name == "slow_headers") {
                   if (auto d = duration(v, p, true)) out.slow_headers = *d;
                 } else if (name == "stream_error_after_chunks") {
                   if (auto k = integer(v, p, 0, kMaxCount)) out.stream_error_after_chunks = *k;
                 } else if (name == "billing_after") {
                   if (auto k = integer(v, p, 0, kMaxCount)) out.billing_after = *k;
                 } else if (name == "quota_after") {
                   if (auto k = integer(v, p, 0, kMaxCount)) out.quota_after = *k;
                 }
               });
  }

  std::optional<ProviderSimConfig> provider(const std::string& name, const YAML::Node& n,
                                            const std::string& path) {
    const std::size_t errors_before = errors().size();
    ProviderSimConfig out;
    out.name = name;
    bool dialect_given = false;
    const auto count = [&](const YAML::Node& v, const std::string& p) {
      const auto k = integer(v, p, 1, kMaxCount);
      return k ? std::optional<std::int64_t>(*k) : std::nullopt;
    };
    each_field(n, path, kProviderFields,
               [&](const std::string& field, const YAML::Node& v, const std::string& p) {
                 if (field == "dialect") {
                   const auto s = string_value(v, p);
                   if (!s) return;
                   const auto d = dialect_from_string(*s);
                   if (!d || !sim_supports(*d)) {
                     error(v, p,
                           "unsupported dialect " + config::quoted(*s) +
                               " (supported: " + supported_dialect_list() + ")");
                     return;
                   }
                   out.dialect = *d;
                   dialect_given = true;
                 } else if (field == "listen") {
                   if (auto s = string_value(v, p)) out.listen = std::string(trim(*s));
                 } else if (field == "keys") {
                   if (auto k = names(v, p)) out.keys = std::move(*k);
                 } else if (field == "models") {
                   if (auto m = names(v, p)) out.models = std::move(*m);
                 } else if (field == "rpm") {
                   out.limits.requests_per_window = count(v, p);
                 } else if (field == "tpm") {
                   out.limits.tokens_per_window = count(v, p);
                 } else if (field == "concurrency") {
                   out.limits.concurrency = count(v, p);
                 } else if (field == "daily") {
                   out.limits.daily = count(v, p);
                 } else if (field == "window") {
                   if (auto d = duration(v, p, false)) out.limits.window = *d;
                 } else if (field == "daily_window") {
                   if (auto d = duration(v, p, false)) out.limits.daily_window = *d;
                 } else if (field == "latency") {
                   if (auto d = duration(v, p, true)) out.latency.fixed = *d;
                 } else if (field == "jitter") {
                   if (auto d = duration(v, p, true)) out.latency.jitter = *d;
                 } else if (field == "ttft") {
                   if (auto d = duration(v, p, true)) out.latency.ttft = *d;
                 } else if (field == "per_token") {
                   if (auto d = duration(v, p, true)) out.latency.per_token = *d;
                 } else if (field == "faults") {
                   faults(v, p, out.faults);
                 } else if (field == "answer_tokens") {
                   if (auto k = integer(v, p, 1, kMaxAnswerTokens)) out.answer_tokens = *k;
                 } else if (field == "seed") {
                   if (auto s = integer(v, p, 0, std::numeric_limits<long long>::max()))
                     out.seed = *s;
                 }
               });
    if (!n.IsMap() || errors().size() > errors_before) return std::nullopt;
    if (!dialect_given) {
      // A provider named after its dialect ("zai:") needs no dialect field.
      const auto d = dialect_from_string(ascii_lower(name));
      if (!d || !sim_supports(*d)) {
        error(n, path + ".dialect", "missing (the provider's name is not a dialect)");
        return std::nullopt;
      }
      out.dialect = *d;
    }
    // What the fields' types cannot say (the sum of the fault rates, a
    // listen address): checked as for the command line's flags.
    if (auto why = validate_provider(out, path)) {
      error(n, "", std::move(*why));
      return std::nullopt;
    }
    return out;
  }

  SimConfig out_;
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

std::string supported_dialect_list() {
  std::vector<std::string> names;
  for (const Dialect d : kSupported) names.emplace_back(to_string(d));
  return join(names, ", ");
}

std::optional<std::string> validate_faults(const FaultConfig& f, std::string_view path) {
  const std::string faults_path = config::child(std::string(path), "faults");
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
      return config::child(faults_path, name) + ": expected a number between 0 and 1";
    }
    sum += r;
  }
  // One roll decides the fault, so the kinds cannot overlap.
  if (sum > 1.0 + 1e-9) return faults_path + ": the fault rates sum to more than 1";
  if (f.slow_headers < Duration::zero()) {
    return config::child(faults_path, "slow_headers") + ": must not be negative";
  }
  if (f.stream_error_after_chunks < 0) {
    return config::child(faults_path, "stream_error_after_chunks") +
           ": expected a non-negative integer";
  }
  return std::nullopt;
}

std::optional<std::string> validate_provider(const ProviderSimConfig& p, std::string_view path) {
  if (!sim_supports(p.dialect)) {
    return config::child(std::string(path), "dialect") + ": unsupported dialect \"" +
           std::string(to_string(p.dialect)) + "\" (supported: " + supported_dialect_list() + ")";
  }
  if (!listen_port(p.listen)) {
    return config::child(std::string(path), "listen") + ": expected host:port, e.g. 127.0.0.1:8001";
  }
  const std::array<std::pair<std::string_view, const std::optional<std::int64_t>*>, 4> limits = {{
      {"rpm", &p.limits.requests_per_window},
      {"tpm", &p.limits.tokens_per_window},
      {"concurrency", &p.limits.concurrency},
      {"daily", &p.limits.daily},
  }};
  for (const auto& [name, v] : limits) {
    if (*v && **v <= 0)
      return config::child(std::string(path), name) + ": expected a positive integer";
  }
  // A year bounds the windows, so window arithmetic on TimePoints cannot overflow.
  constexpr Duration kMaxWindow = std::chrono::hours(24 * 366);
  for (const auto& [name, w] : {std::pair<std::string_view, Duration>{"window", p.limits.window},
                                {"daily_window", p.limits.daily_window}}) {
    if (w <= Duration::zero() || w > kMaxWindow) {
      return config::child(std::string(path), name) +
             ": must be longer than 0 and at most 366 days";
    }
  }
  const std::array<std::pair<std::string_view, Duration>, 4> latencies = {{
      {"latency", p.latency.fixed},
      {"jitter", p.latency.jitter},
      {"ttft", p.latency.ttft},
      {"per_token", p.latency.per_token},
  }};
  for (const auto& [name, d] : latencies) {
    if (d < Duration::zero())
      return config::child(std::string(path), name) + ": must not be negative";
  }
  for (const auto& k : p.keys) {
    if (k.empty()) return config::child(std::string(path), "keys") + ": empty key";
  }
  return validate_faults(p.faults, path);
}

std::variant<SimConfig, std::string> load_sim_config_yaml(std::string_view text,
                                                          std::string_view file) {
  try {
    return SimLoader(std::string(file)).run(text);
  } catch (...) {
    // Out of memory or a bug: loading promises not to throw.
    return std::string(file) + ": internal error while loading the config";
  }
}

}  // namespace sluice::sim
