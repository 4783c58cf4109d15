#include "sluice/policy/ratelimit/header_parser.hpp"

#include <algorithm>
#include <cmath>

#include "sluice/core/text.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::policy {

namespace {

using std::chrono::hours;

enum class Field { kLimit, kRemaining, kReset, kWindow };

// Whether a reset value names an instant (RFC 3339, HTTP-date, epoch seconds
// or milliseconds) rather than a span ("6m0s", "12", "0.5").
bool is_instant(std::string_view value) {
  if (parse_go_duration(value)) return false;
  if (auto n = parse_number(value)) return *n > 1e9;
  return true;
}

// --- IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers) ---------
//
// Early drafts: RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset (delta
// seconds), the limit optionally followed by policies ("10, 10;w=1"); draft 07
// wrote RateLimit as a dictionary ("limit=100, remaining=50, reset=30") beside
// RateLimit-Policy: 100;w=60. The current draft: RateLimit-Policy is a list of
// named policies ("default";q=100;w=60, with qu= the quota unit, "request" by
// default) and RateLimit names the policy each count belongs to
// ("default";r=50;t=30). Both are Structured Field lists (RFC 8941), possibly
// split over several field lines.

struct SfParam {
  std::string_view key;
  std::string_view value;  // quotes stripped, escapes left as sent
};

struct SfMember {
  enum class Kind { kString, kToken, kNumber, kPair } kind = Kind::kToken;
  std::string name;       // a string's or token's text; a pair's key, lower-cased
  std::string_view bare;  // the number, or the pair's value
  std::vector<SfParam> params;

  std::optional<std::string_view> param(std::string_view key) const {
    for (const auto& p : params) {
      if (iequals(p.key, key)) return p.value;
    }
    return std::nullopt;
  }
};

// Calls f(member) for each member of a list; commas inside quoted strings do
// not split. Tolerant: a malformed member comes out as best read, never throws.
template <class F>
void for_each_sf_member(std::string_view v, F&& f) {
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= v.size(); ++i) {
    if (i == v.size() || (!quoted && v[i] == ',')) {
      const std::string_view m = trim(v.substr(start, i - start));
      if (!m.empty()) f(m);
      start = i + 1;
    } else if (quoted && v[i] == '\\' && i + 1 < v.size()) {
      ++i;
    } else if (v[i] == '"') {
      quoted = !quoted;
    }
  }
}

// Reads a quoted string starting after its opening quote; `i` ends past the
// closing quote. Returns the raw text (escapes kept).
std::string_view sf_quoted(std::string_view m, std::size_t& i) {
  const std::size_t from = i;
  while (i < m.size() && m[i] != '"') i += (m[i] == '\\' && i + 1 < m.size()) ? 2 : 1;
  const std::string_view text = m.substr(from, std::min(i, m.size()) - from);
  if (i < m.size()) ++i;
  return text;
}

SfMember parse_sf_member(std::string_view m) {
  SfMember out;
  std::size_t i = 0;
  if (m.front() == '"') {
    out.kind = SfMember::Kind::kString;
    ++i;
    for (char c : sf_quoted(m, i)) {
      if (c != '\\') out.name += c;
    }
  } else {
    const std::size_t end = std::min(m.find_first_of(";="), m.size());
    const std::string_view bare = trim(m.substr(0, end));
    i = end;
    if (i < m.size() && m[i] == '=') {  // a dictionary member: key=value
      out.kind = SfMember::Kind::kPair;
      out.name = ascii_lower(bare);
      const std::size_t value_end = std::min(m.find(';', i + 1), m.size());
      out.bare = trim(m.substr(i + 1, value_end - i - 1));
      i = value_end;
    } else if (parse_number(bare)) {
      out.kind = SfMember::Kind::kNumber;
      out.bare = bare;
    } else {
      out.name = std::string(bare);
    }
  }
  while (i < m.size()) {  // ;key[=value] parameters
    if (m[i] != ';') {
      ++i;
      continue;
    }
    const std::size_t key_from = ++i;
    while (i < m.size() && m[i] != '=' && m[i] != ';') ++i;
    SfParam p{trim(m.substr(key_from, i - key_from)), {}};
    if (i < m.size() && m[i] == '=') {
      ++i;
      while (i < m.size() && m[i] == ' ') ++i;
      if (i < m.size() && m[i] == '"') {
        ++i;
        p.value = sf_quoted(m, i);
      } else {
        const std::size_t value_from = i;
        while (i < m.size() && m[i] != ';') ++i;
        p.value = trim(m.substr(value_from, i - value_from));
      }
    }
    if (!p.key.empty()) out.params.push_back(p);
  }
  return out;
}

// One policy, or one report on a policy, as the IETF fields describe it.
struct IetfItem {
  std::string name;  // the policy's name; empty for the unnamed early-draft forms
  bool named = false;
  std::optional<long long> quota, remaining;
  std::optional<Duration> reset, window;
  bool reset_is_instant = false;
  std::string unit;  // qu: "request" when absent

  bool has_data() const { return quota || remaining || reset; }
  void fill_from(const IetfItem& policy) {
    if (!quota) quota = policy.quota;
    if (!window) window = policy.window;
    if (unit.empty()) unit = policy.unit;
  }
};

// Lower-case letters and digits, anything else '_': a fragment of a bucket name.
std::string name_fragment(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 32)) {
    const char l = static_cast<char>(c | 0x20);
    out += (c >= '0' && c <= '9') || (l >= 'a' && l <= 'z') ? l : '_';
  }
  return out;
}

struct Parser {
  Dialect dialect;
  TimePoint now;
  // The server's Date, parsed on first use: only a reset or retry-after
  // needs it, and most responses carry neither.
  std::optional<std::string_view> date;
  std::optional<TimePoint> parsed_reference;
  TimePoint reference() {
    if (!parsed_reference) {
      parsed_reference = now;
      if (date) {
        if (auto t = parse_http_date(*date)) parsed_reference = *t;
      }
    }
    return *parsed_reference;
  }
  HeaderParseResult out;
  std::vector<std::string> unknown_buckets;  // got -1 placeholders (Azure): dropped at the end

  void diag(std::string_view name, std::string_view value, std::string_view why) {
    std::string d(name);
    d += ": ";
    d += why;
    d += " \"";
    d += value.substr(0, 64);
    d += '"';
    out.diagnostics.push_back(std::move(d));
  }

  // Window suffixes: the minute is the default window and gets no suffix.
  static std::optional<Duration> window_of_suffix(std::string_view suffix) {
    if (suffix.empty() || suffix == "minute") return std::chrono::minutes(1);
    if (suffix == "1h" || suffix == "hour") return hours(1);
    if (suffix == "day") return hours(24);
    if (suffix == "month") return hours(24 * 30);
    if (suffix == "second" || suffix == "1s") return std::chrono::seconds(1);
    return std::nullopt;
  }

  static std::string bucket_name(std::string_view axis, std::string_view suffix) {
    std::string name(axis);
    if (suffix.empty() || suffix == "minute") return name;
    name += '_';
    if (suffix == "hour") {
      name += "1h";
    } else if (suffix == "second") {
      name += "1s";
    } else {
      for (char c : suffix) name += (c == '-' ? '_' : c);
    }
    return name;
  }

  void set(std::string_view header, std::string_view value, std::string_view axis_name,
           BudgetAxis axis, std::string_view suffix, Field field,
           std::optional<Duration> window_override = std::nullopt) {
    const std::string name = bucket_name(axis_name, suffix);
    std::optional<long long> integer;
    if (field != Field::kReset) {
      // Clamp before rounding: llround of a value beyond 64 bits is unspecified.
      if (auto n = parse_number(value)) integer = std::llround(std::clamp(*n, -1e18, 1e18));
      if (!integer) return diag(header, value, "unparsable value");
      if (*integer < 0) {  // Azure sends -1 for "unknown"; never read it as exhausted
        if (std::find(unknown_buckets.begin(), unknown_buckets.end(), name) ==
            unknown_buckets.end()) {
          unknown_buckets.push_back(name);
        }
        return diag(header, value, "unknown (negative) value ignored");
      }
    }
    RateLimitBucket& b = out.snapshot.find_or_add(name, axis);
    if (!b.window) b.window = window_override ? window_override : window_of_suffix(suffix);
    switch (field) {
      case Field::kLimit: b.limit = *integer; break;
      case Field::kRemaining: b.remaining = *integer; break;
      case Field::kWindow: b.window = from_seconds(static_cast<double>(*integer)); break;
      case Field::kReset:
        if (auto d = parse_reset_value(value, reference())) {
          b.reset_after = *d;
          // An instant measured from Date (whole seconds, truncated) is late
          // or early by up to a second: two replies of one window can put
          // its end that far apart (snapshot_merge must not take them for
          // two windows).
          if (date && parse_http_date(*date) && is_instant(value)) {
            out.snapshot.reset_uncertainty = std::chrono::seconds(1);
          }
        } else {
          diag(header, value, "unparsable reset");
        }
        break;
    }
  }

  static std::optional<Field> take_field(std::string_view& rest) {
    static constexpr std::pair<std::string_view, Field> kFields[] = {
        {"limit", Field::kLimit},
        {"remaining", Field::kRemaining},
        {"reset", Field::kReset},
        {"renewalperiod", Field::kWindow}};
    for (const auto& [word, field] : kFields) {
      if (rest == word) {
        rest = {};
        return field;
      }
      if (rest.size() > word.size() && rest.starts_with(word) && rest[word.size()] == '-') {
        rest.remove_prefix(word.size() + 1);
        return field;
      }
    }
    return std::nullopt;
  }

  // x-ratelimit-{limit,remaining,reset,renewalperiod}[-{requests,tokens}[-suffix]]
  void openai_family(std::string_view header, std::string_view rest, std::string_view value) {
    auto field = take_field(rest);
    if (!field) return;
    if (rest.empty()) {
      // Unsuffixed triple: OpenRouter/Moonshot count requests (reset in epoch
      // ms); Together counts requests per second.
      if (dialect == Dialect::kTogether) {
        return set(header, value, "requests", BudgetAxis::kRequests, "1s", *field);
      }
      return set(header, value, "requests", BudgetAxis::kRequests, "", *field);
    }
    // OpenAI's project-scoped buckets put the scope before the axis:
    // x-ratelimit-limit-project-tokens.
    const bool project = rest.starts_with("project-");
    if (project) rest.remove_prefix(8);
    std::string_view axis_name;
    BudgetAxis axis;
    if (rest.starts_with("requests")) {
      axis_name = "requests", axis = BudgetAxis::kRequests;
    } else if (rest.starts_with("tokens")) {
      axis_name = "tokens", axis = BudgetAxis::kTokens;
    } else {
      return;
    }
    rest.remove_prefix(axis_name.size());
    if (!rest.empty() && rest.front() != '-' && rest.front() != '_') return;
    std::string_view suffix = rest.empty() ? rest : rest.substr(1);
    if (project) suffix = "project";
    // Groq's request headers are per day, whatever their name says.
    if (dialect == Dialect::kGroq && axis == BudgetAxis::kRequests && suffix.empty()) {
      suffix = "day";
    }
    set(header, value, axis_name, axis, suffix, *field);
  }

  // anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}
  // anthropic-ratelimit-unified-[<window>-]{limit,remaining,reset,status,...}
  // anthropic-priority-{input,output}-tokens-{limit,remaining,reset}
  void anthropic_family(std::string_view header, std::string_view rest, std::string_view value,
                        bool priority) {
    const auto dash = rest.rfind('-');
    if (dash == std::string_view::npos) return;
    std::string_view field_word = rest.substr(dash + 1);
    std::string_view bucket = rest.substr(0, dash);
    std::optional<Field> field;
    if (field_word == "limit") field = Field::kLimit;
    if (field_word == "remaining") field = Field::kRemaining;
    if (field_word == "reset") field = Field::kReset;
    if (!field) return;  // status, utilization, fallback-percentage: informational
    if (bucket.starts_with("unified")) {
      std::string_view window = bucket.substr(7);
      if (!window.empty() && window.front() == '-') window.remove_prefix(1);
      std::optional<Duration> w;
      if (window == "5h") w = hours(5);
      if (window == "7d" || window.starts_with("7d-")) w = hours(24 * 7);
      return set(header, value, "unified", BudgetAxis::kOther, window, *field, w);
    }
    std::string_view axis_name;
    BudgetAxis axis;
    if (bucket == "requests") {
      axis_name = "requests", axis = BudgetAxis::kRequests;
    } else if (bucket == "tokens") {
      axis_name = "tokens", axis = BudgetAxis::kTokens;
    } else if (bucket == "input-tokens") {
      axis_name = "input_tokens", axis = BudgetAxis::kInputTokens;
    } else if (bucket == "output-tokens") {
      axis_name = "output_tokens", axis = BudgetAxis::kOutputTokens;
    } else {
      return;
    }
    if (priority) {
      // Priority Tier buckets are reported beside the standard ones; keep them apart.
      const std::string name = std::string("priority_") + std::string(axis_name);
      return set(header, value, name, BudgetAxis::kOther, "", *field);
    }
    set(header, value, axis_name, axis, "", *field);
  }

  // Mistral: x-ratelimitbysize-{limit,remaining}-{minute,month},
  // ratelimitbysize-{limit,remaining,reset}
  void mistral_family(std::string_view header, std::string_view rest, std::string_view value) {
    auto field = take_field(rest);
    if (!field) return;
    set(header, value, "tokens", BudgetAxis::kTokens, rest, *field);
  }

  // --- the IETF fields, gathered while scanning, resolved by finish_ietf ---
  bool ietf_seen = false;
  IetfItem ietf_legacy;                 // RateLimit-Limit/-Remaining/-Reset, draft-07 RateLimit
  std::vector<IetfItem> ietf_policies;  // RateLimit-Policy (and RateLimit-Limit's extra members)
  std::vector<IetfItem> ietf_reports;   // RateLimit: "name";r=..;t=..

  std::optional<long long> ietf_count(std::string_view header, std::string_view text) {
    const auto n = parse_number(text);
    if (!n || *n < 0) {
      diag(header, text, n ? "negative value ignored" : "unparsable value");
      return std::nullopt;
    }
    return std::llround(std::min(*n, 1e18));
  }

  // Delta seconds (t=, draft-07 reset=); a window (w=) must be longer than zero.
  std::optional<Duration> ietf_seconds(std::string_view header, std::string_view text,
                                       bool window) {
    const auto n = parse_number(text);
    if (n && *n >= 0) {
      const Duration d = from_seconds(*n);
      if (!window || d > Duration::zero()) return d;
    }
    diag(header, text, window ? "unparsable window" : "unparsable seconds");
    return std::nullopt;
  }

  // A policy item of RateLimit-Policy (or an integer member of RateLimit-Limit).
  void ietf_policy(std::string_view header, const SfMember& m) {
    IetfItem p;
    if (m.kind == SfMember::Kind::kNumber) {
      p.quota = ietf_count(header, m.bare);
    } else if (m.kind != SfMember::Kind::kPair) {
      p.name = m.name;
      p.named = true;
      if (auto q = m.param("q")) p.quota = ietf_count(header, *q);
    } else {
      return;
    }
    if (auto w = m.param("w")) p.window = ietf_seconds(header, *w, true);
    if (auto qu = m.param("qu")) p.unit = ascii_lower(*qu);
    ietf_policies.push_back(std::move(p));
  }

  void ietf_field(std::string_view header, std::string_view rest, std::string_view value) {
    ietf_seen = true;
    if (rest.empty()) {  // RateLimit
      for_each_sf_member(value, [&](std::string_view text) {
        const SfMember m = parse_sf_member(text);
        if (m.kind == SfMember::Kind::kPair) {  // draft 07: limit=, remaining=, reset=
          if (m.name == "limit") ietf_legacy.quota = ietf_count(header, m.bare);
          if (m.name == "remaining") ietf_legacy.remaining = ietf_count(header, m.bare);
          if (m.name == "reset") ietf_legacy.reset = ietf_seconds(header, m.bare, false);
          return;
        }
        if (m.kind == SfMember::Kind::kNumber) return;
        IetfItem report;
        report.name = m.name;
        report.named = true;
        if (auto r = m.param("r")) report.remaining = ietf_count(header, *r);
        if (auto t = m.param("t")) report.reset = ietf_seconds(header, *t, false);
        ietf_reports.push_back(std::move(report));
      });
    } else if (rest == "-policy") {
      for_each_sf_member(
          value, [&](std::string_view text) { ietf_policy(header, parse_sf_member(text)); });
    } else if (rest == "-limit") {
      // "100", or early drafts' "100, 100;w=60, 1000;w=3600": the first member
      // is the limit in force, the rest are the policies.
      bool first = true;
      for_each_sf_member(value, [&](std::string_view text) {
        const SfMember m = parse_sf_member(text);
        if (first) {
          first = false;
          ietf_legacy.quota = ietf_count(header, m.kind == SfMember::Kind::kNumber ? m.bare : text);
          if (auto w = m.param("w")) ietf_legacy.window = ietf_seconds(header, *w, true);
          return;
        }
        ietf_policy(header, m);
      });
    } else if (rest == "-remaining") {
      ietf_legacy.remaining = ietf_count(header, trim(value));
    } else if (rest == "-reset") {
      if (auto d = parse_reset_value(value, reference())) {
        ietf_legacy.reset = *d;
        ietf_legacy.reset_is_instant = is_instant(value);
      } else {
        diag(header, value, "unparsable reset");
      }
    }
  }

  // Turns the gathered IETF items into buckets: each report joined with the
  // policy of its name, the early drafts' fields with the policy of their
  // limit, then the policies nothing reported on. Headers of the provider's
  // own family (x-ratelimit-*, ...) win: IETF values fill only what is unset.
  void finish_ietf() {
    if (!ietf_seen) return;
    std::vector<bool> used(ietf_policies.size(), false);
    std::vector<std::string> given;  // bucket names handed out below
    for (auto& report : ietf_reports) {
      for (std::size_t i = 0; i < ietf_policies.size(); ++i) {
        if (!used[i] && ietf_policies[i].named && ietf_policies[i].name == report.name) {
          report.fill_from(ietf_policies[i]);
          used[i] = true;
          break;
        }
      }
      ietf_bucket(report, given, false);
    }
    if (ietf_legacy.has_data()) {
      std::optional<std::size_t> match;
      for (std::size_t i = 0; i < ietf_policies.size() && !match; ++i) {
        if (!used[i] && ietf_legacy.quota && ietf_policies[i].quota == ietf_legacy.quota) match = i;
      }
      if (!match && !ietf_legacy.quota && ietf_reports.empty() && ietf_policies.size() == 1) {
        match = 0;
      }
      if (match) {
        ietf_legacy.fill_from(ietf_policies[*match]);
        used[*match] = true;
      }
      ietf_bucket(ietf_legacy, given, true);
    }
    for (std::size_t i = 0; i < ietf_policies.size(); ++i) {
      if (!used[i]) ietf_bucket(ietf_policies[i], given, false);
    }
  }

  // The bucket an item fills: its quota unit's axis ("requests" unless the
  // policy says otherwise), suffixed by its window as the other dialects are
  // (none for a minute or an unknown window, "_1s", "_1h", "_day", else
  // "_<w>s"); a second policy of the same axis and window adds its name.
  void ietf_bucket(const IetfItem& item, std::vector<std::string>& given, bool merge) {
    if (!item.has_data()) return;
    std::string name;
    BudgetAxis axis = BudgetAxis::kOther;
    const std::string_view unit = item.unit;
    if (unit.empty() || unit == "request" || unit == "requests") {
      name = "requests", axis = BudgetAxis::kRequests;
    } else if (unit == "token" || unit == "tokens") {
      name = "tokens", axis = BudgetAxis::kTokens;
    } else if (unit == "input-tokens" || unit == "input_tokens") {
      name = "input_tokens", axis = BudgetAxis::kInputTokens;
    } else if (unit == "output-tokens" || unit == "output_tokens") {
      name = "output_tokens", axis = BudgetAxis::kOutputTokens;
    } else {
      name = name_fragment(unit);
    }
    if (item.window && *item.window != std::chrono::minutes(1)) {
      const double w = to_seconds(*item.window);
      name += '_';
      if (*item.window == std::chrono::seconds(1)) {
        name += "1s";
      } else if (*item.window == hours(1)) {
        name += "1h";
      } else if (*item.window == hours(24)) {
        name += "day";
      } else {
        name += std::to_string(std::llround(std::min(w, 1e15))) + "s";
      }
    }
    if (!merge && std::find(given.begin(), given.end(), name) != given.end()) {
      name += '_';
      name += item.named && !item.name.empty() ? name_fragment(item.name)
                                               : std::to_string(given.size() + 1);
    }
    given.push_back(name);
    RateLimitBucket& b = out.snapshot.find_or_add(name, axis);
    if (!b.limit) b.limit = item.quota;
    if (!b.remaining) b.remaining = item.remaining;
    if (!b.reset_after && item.reset) {
      b.reset_after = item.reset;
      if (item.reset_is_instant && date && parse_http_date(*date)) {
        out.snapshot.reset_uncertainty = std::chrono::seconds(1);
      }
    }
    if (!b.window) b.window = item.window;
  }

  void header(std::string_view name, std::string_view value) {
    // Every name read below begins with r (retry-after*, the IETF RateLimit
    // fields, Mistral's ratelimitbysize-*), x or a (either case): the rest
    // (content-type, date, ...) end here, before any copying.
    const char first = name.empty() ? '\0' : static_cast<char>(name.front() | 0x20);
    if (first != 'r' && first != 'x' && first != 'a') return;
    // Lower-cased in place for the usual name: every field of every
    // response passes here, and a string each was an allocation each.
    char buf[96];
    std::string long_name;
    std::string_view n;
    if (name.size() <= sizeof buf) {
      for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
      }
      n = std::string_view(buf, name.size());
    } else {
      long_name = ascii_lower(name);
      n = long_name;
    }
    if (n == "retry-after-ms") {
      if (auto v = parse_number(value); v && *v > 0) {
        out.snapshot.retry_after = from_seconds(*v / 1000.0);
        retry_after_ms_seen = true;
      }
      return;
    }
    if (n == "retry-after") {
      // retry-after-ms is more precise and is read first by the official SDKs.
      if (retry_after_ms_seen) return;
      if (auto d = parse_retry_after(value, reference())) {
        out.snapshot.retry_after = *d;
      } else if (!parse_number(value)) {
        diag(name, value, "unparsable retry-after");
      }
      return;
    }
    if (n == "x-should-retry") {
      if (iequals(trim(value), "true")) out.snapshot.should_retry = true;
      if (iequals(trim(value), "false")) out.snapshot.should_retry = false;
      return;
    }
    if (n == "x-ratelimit-type") {
      out.snapshot.limit_type = ascii_lower(trim(value));
      return;
    }
    if (n.starts_with("x-ratelimit-")) return openai_family(name, n.substr(12), value);
    if (n.starts_with("ratelimit") && (n.size() == 9 || n[9] == '-')) {
      return ietf_field(name, n.substr(9), value);
    }
    if (n.starts_with("anthropic-ratelimit-")) {
      return anthropic_family(name, n.substr(20), value, false);
    }
    if (n.starts_with("anthropic-priority-")) {
      return anthropic_family(name, n.substr(19), value, true);
    }
    if (n.starts_with("x-ratelimitbysize-")) return mistral_family(name, n.substr(18), value);
    if (n.starts_with("ratelimitbysize-")) return mistral_family(name, n.substr(16), value);
    if (n.starts_with("x-tokenlimit-")) {  // Together: tokens per second
      std::string_view rest = n.substr(13);
      if (auto field = take_field(rest); field && rest.empty()) {
        set(name, value, "tokens", BudgetAxis::kTokens, "1s", *field);
      }
    }
  }

  bool retry_after_ms_seen = false;
};

}  // namespace

HeaderParseResult parse_rate_limit_headers(HeaderView headers, Dialect dialect, TimePoint now) {
  Parser p{dialect, now, headers.get("date"), {}, {}, {}};
  p.out.snapshot.taken_at = now;
  // retry-after-ms must win whatever the header order; scan it first.
  if (auto ms = headers.get("retry-after-ms")) p.header("retry-after-ms", *ms);
  for (const auto& f : headers.fields()) {
    if (iequals(f.name, "retry-after-ms")) continue;
    p.header(f.name, f.value);
  }
  auto& buckets = p.out.snapshot.buckets;
  for (const auto& name : p.unknown_buckets) {
    std::erase_if(buckets, [&](const RateLimitBucket& b) { return b.name == name; });
  }
  p.finish_ietf();
  return std::move(p.out);
}

}  // namespace sluice::policy
