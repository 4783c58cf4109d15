#include "sluice/policy/errors/outcome_json.hpp"

#include <nlohmann/json.hpp>

#include "sluice/core/text.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::policy {

namespace {

using nlohmann::json;

// Input lines are bounded so one runaway line cannot exhaust memory.
constexpr std::size_t kMaxLine = 8 * 1024 * 1024;

std::string type_error(std::string_view field, std::string_view want, const json& got) {
  return std::string(field) + ": expected " + std::string(want) + ", got " + got.type_name();
}

std::optional<std::string> read_request(const json& r, RequestShape& shape) {
  if (!r.is_object()) return type_error("request", "an object", r);
  for (auto& [key, v] : r.items()) {
    std::int64_t* dst = key == "tokens"           ? &shape.tokens
                        : key == "messages"       ? &shape.messages
                        : key == "context_length" ? &shape.context_length
                                                  : nullptr;
    if (!dst) return "request." + key + ": unknown field (tokens, messages, context_length)";
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
      return "request." + key + ": expected a non-negative integer";
    }
    *dst = v.get<std::int64_t>();
  }
  return std::nullopt;
}

std::optional<std::string> read_stream(const json& s, StreamState& st) {
  if (!s.is_object()) return type_error("stream", "an object", s);
  for (auto& [key, v] : s.items()) {
    bool* dst = key == "first_byte_sent" ? &st.first_byte_sent
                : key == "terminal"      ? &st.terminal_seen
                : key == "data_seen"     ? &st.data_seen
                                         : nullptr;
    if (!dst) return "stream." + key + ": unknown field (first_byte_sent, terminal, data_seen)";
    if (!v.is_boolean()) return type_error("stream." + key, "true or false", v);
    *dst = v.get<bool>();
  }
  return std::nullopt;
}

std::optional<std::string> read_headers(const json& h, HeaderList& out) {
  const auto scalar = [](const json& v) -> std::optional<std::string> {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    if (v.is_number()) return v.dump();
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    return std::nullopt;
  };
  if (h.is_object()) {
    for (auto& [name, v] : h.items()) {
      auto s = scalar(v);
      if (!s) return type_error("headers." + name, "a string or number", v);
      out.add(name, *s);
    }
    return std::nullopt;
  }
  if (h.is_array()) {  // [["name", "value"], ...] keeps duplicates and order
    for (std::size_t i = 0; i < h.size(); ++i) {
      const json& pair = h[i];
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string()) {
        return "headers[" + std::to_string(i) + "]: expected [name, value]";
      }
      auto s = scalar(pair[1]);
      if (!s) return "headers[" + std::to_string(i) + "]: value must be a string or number";
      out.add(pair[0].get<std::string>(), *s);
    }
    return std::nullopt;
  }
  return type_error("headers", "an object or an array of pairs", h);
}

// Any name is accepted: a base URL (or a host) names its dialect, a known
// name or alias is that dialect, and anything else (nvidia, alibaba,
// openai-codex, ...) is classified with the generic rules.
std::optional<std::string> read_provider(const json& v, OutcomeInput& in) {
  if (!v.is_string()) return type_error("provider", "a string", v);
  const std::string s = v.get<std::string>();
  if (auto parsed = dialect_from_string(s)) {
    in.fields.dialect = *parsed;
    in.unknown_provider.clear();
    return std::nullopt;
  }
  const bool url_like = s.find("://") != std::string::npos || s.find('.') != std::string::npos;
  in.fields.dialect = url_like ? infer_dialect(s) : Dialect::kGeneric;
  if (!url_like) in.unknown_provider = s.substr(0, 40);
  return std::nullopt;
}

json bucket_json(const RateLimitBucket& b) {
  json j = json::object();
  j["limit"] = b.limit ? json(*b.limit) : json(nullptr);
  j["remaining"] = b.remaining ? json(*b.remaining) : json(nullptr);
  j["reset_s"] = b.reset_after ? json(to_seconds(*b.reset_after)) : json(nullptr);
  if (b.window) j["window_s"] = to_seconds(*b.window);
  return j;
}

}  // namespace

std::variant<OutcomeInput, std::string> parse_outcome_json(std::string_view line, TimePoint now) {
  if (line.size() > kMaxLine) return std::string("line longer than 8 MiB");
  json j;
  try {
    j = json::parse(line);
  } catch (const json::parse_error& e) {
    return std::string("malformed JSON: ") + e.what();
  }
  if (!j.is_object()) return type_error("line", "a JSON object", j);

  OutcomeInput in;
  in.fields.now = now;
  std::string error_text;  // from "error" / "message" / a worded "transport"
  for (auto& [key, v] : j.items()) {
    std::optional<std::string> err;
    if (key == "provider" || key == "dialect" || key == "base_url") {
      err = read_provider(v, in);
    } else if (key == "status") {
      if (v.is_null()) continue;
      if (!v.is_number_integer() || v.get<std::int64_t>() < 100 || v.get<std::int64_t>() > 999) {
        err = "status: expected an HTTP status (100-999) or null";
      } else {
        in.fields.status = v.get<int>();
      }
    } else if (key == "headers") {
      err = read_headers(v, in.headers);
    } else if (key == "body") {
      if (v.is_string()) {
        in.body = v.get<std::string>();
      } else if (!v.is_null()) {
        in.body = v.dump();  // a JSON body given as JSON, for convenience
      }
    } else if (key == "transport") {
      if (!v.is_string()) {
        err = type_error("transport", "a string", v);
      } else if (auto t = transport_from_string(v.get<std::string>())) {
        in.fields.transport = *t;
      } else if (auto from_text = transport_from_text(ascii_lower(v.get<std::string>()))) {
        // The failure as a client library worded it ("Connection reset by peer").
        in.fields.transport = *from_text;
        if (error_text.empty()) error_text = v.get<std::string>();
      } else {
        err = "transport: unknown value \"" + v.get<std::string>().substr(0, 40) +
              "\" (connect, timeout, reset, eof, tls, or a client's error message)";
      }
    } else if (key == "error" || key == "message") {
      // A client's own report of the failure (Python's str(exc), an SDK's
      // error message); read as the body when there is none.
      if (v.is_string()) {
        error_text = v.get<std::string>();
      } else if (!v.is_null()) {
        error_text = v.dump();
      }
    } else if (key == "stream") {
      StreamState st;
      err = read_stream(v, st);
      in.fields.stream = st;
    } else if (key == "request") {
      err = read_request(v, in.fields.request);
    } else if (key == "now") {
      std::optional<TimePoint> t;
      if (v.is_string()) t = parse_rfc3339(v.get<std::string>());
      if (v.is_number_integer()) t = from_unix_ms(v.get<std::int64_t>());
      if (!t) {
        err = "now: expected an RFC 3339 time or epoch milliseconds";
      } else {
        in.fields.now = *t;
      }
    } else if (key == "label" || key == "id") {
      in.label = v.is_string() ? v.get<std::string>() : v.dump();
    } else if (key == "expect" || key == "comment") {
      // Test fixtures carry their expectations; ignored here.
    } else {
      err = key +
            ": unknown field (provider, status, headers, body, error, message, transport, "
            "stream, request, now, label)";
    }
    if (err) return *err;
  }
  if (in.body.empty()) in.body = std::move(error_text);
  return in;
}

json classification_to_json(const Classification& c) {
  json j = json::object();
  if (c.ok) {
    j["class"] = nullptr;
    j["ok"] = true;
  } else {
    j["class"] = std::string(to_string(c.cls));
    j["retryable"] = c.traits.retryable;
    j["rotate_key"] = c.traits.rotate_key;
    j["cool_key"] = c.traits.cool_key;
    j["cooldown_s"] = c.cooldown ? json(to_seconds(*c.cooldown)) : json(nullptr);
    j["disable_key"] = c.traits.disable_key;
    j["lower_limit"] = c.traits.lower_limit;
    j["fallback"] = c.traits.fallback;
    j["client_status"] = c.traits.client_status;
    j["wait_s"] = c.wait ? json(to_seconds(*c.wait)) : json(nullptr);
    if (!c.wait_source.empty()) j["wait_source"] = c.wait_source;
    j["rule"] = c.rule;
    if (!c.message.empty()) j["message"] = c.message;
  }
  json rl = json::object();
  for (const auto& b : c.ratelimit.buckets) rl[b.name] = bucket_json(b);
  if (c.ratelimit.retry_after) rl["retry_after_s"] = to_seconds(*c.ratelimit.retry_after);
  j["ratelimit"] = std::move(rl);
  if (!c.diagnostics.empty()) j["diagnostics"] = c.diagnostics;
  return j;
}

std::variant<std::vector<ErrorRule>, std::string> parse_rules_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    return std::string("rules: malformed JSON: ") + e.what();
  }
  if (!j.is_array()) return type_error("rules", "an array", j);
  std::vector<ErrorRule> rules;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string at = "rules[" + std::to_string(i) + "]";
    const json& r = j[i];
    if (!r.is_object()) return type_error(at, "an object", r);
    ErrorRule rule;
    rule.name = "config:" + std::to_string(i);
    bool has_class = false;
    for (const auto& item : r.items()) {
      // Named references, not a structured binding: the lambda below captures them.
      const std::string& key = item.key();
      const json& v = item.value();
      const std::string path = at + "." + key;
      const auto strings = [&](std::vector<std::string>& dst) -> std::optional<std::string> {
        if (!v.is_array()) return type_error(path, "an array of strings", v);
        for (const auto& s : v) {
          if (!s.is_string() || s.get<std::string>().empty()) {
            return path + ": expected non-empty strings";
          }
          dst.push_back(ascii_lower(s.get<std::string>()));
        }
        return std::nullopt;
      };
      std::optional<std::string> err;
      if (key == "name") {
        if (!v.is_string()) return type_error(path, "a string", v);
        rule.name = "config:" + v.get<std::string>();
      } else if (key == "class") {
        auto cls = v.is_string() ? error_class_from_string(v.get<std::string>()) : std::nullopt;
        if (!cls) return path + ": unknown class " + v.dump() + " (RATE_LIMIT, OVERLOADED, ...)";
        rule.cls = *cls;
        has_class = true;
      } else if (key == "codes") {
        err = strings(rule.codes);
      } else if (key == "phrases") {
        err = strings(rule.any_phrases);
      } else if (key == "all_phrases") {
        err = strings(rule.all_phrases);
      } else if (key == "unless") {
        err = strings(rule.unless);
      } else if (key == "dialects") {
        std::vector<std::string> names;
        err = strings(names);
        for (const auto& n : names) {
          auto d = dialect_from_string(n);
          if (!d) return path + ": unknown dialect \"" + n + "\"";
          rule.dialects.push_back(*d);
        }
      } else if (key == "status") {
        if (!v.is_array()) return type_error(path, "an array of status codes", v);
        for (const auto& s : v) {
          if (!s.is_number_integer()) return path + ": expected integers";
          rule.statuses.push_back(s.get<int>());
        }
      } else {
        return path +
               ": unknown field (name, class, codes, phrases, all_phrases, unless, "
               "dialects, status)";
      }
      if (err) return *err;
    }
    if (!has_class) return at + ".class: missing";
    if (!rule.valid()) return at + ": needs codes, phrases or all_phrases";
    rules.push_back(std::move(rule));
  }
  return rules;
}

json classify_json(std::string_view outcome, const RuleTable& rules, TimePoint now) {
  auto parsed = parse_outcome_json(outcome, now);
  if (auto* err = std::get_if<std::string>(&parsed)) return json{{"error", *err}};
  const auto& input = std::get<OutcomeInput>(parsed);
  json result = classification_to_json(classify(input.view(), rules));
  if (!input.label.empty()) result["label"] = input.label;
  if (!input.unknown_provider.empty()) {
    result["dialect"] = "generic";
    result["note"] =
        "unknown provider \"" + input.unknown_provider + "\": classified with the generic rules";
  }
  return result;
}

}  // namespace sluice::policy
