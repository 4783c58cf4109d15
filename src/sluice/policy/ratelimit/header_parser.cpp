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

  void header(std::string_view name, std::string_view value) {
    // Every name read below begins with r, x or a (either case): the rest
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
  return std::move(p.out);
}

}  // namespace sluice::policy
