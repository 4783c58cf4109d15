#include "sluice/state/snapshot_codec.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

namespace sluice::state {

namespace {

constexpr std::string_view kHeader = "sluice-snapshot/1";
constexpr std::string_view kNone = "-";
// The last line, so a value cut short at a line boundary is not mistaken for
// a snapshot with fewer buckets.
constexpr std::string_view kEnd = "end";

constexpr std::array<BudgetAxis, 5> kAxes = {BudgetAxis::kRequests, BudgetAxis::kTokens,
                                             BudgetAxis::kInputTokens, BudgetAxis::kOutputTokens,
                                             BudgetAxis::kOther};

bool needs_escape(unsigned char c) { return c <= 0x20 || c == 0x7f || c == '%'; }

void append_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (needs_escape(c)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
}

std::optional<std::string> unescape(std::string_view text) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      if (needs_escape(static_cast<unsigned char>(text[i]))) return std::nullopt;
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;  // a '%' needs two hex digits
    const int hi = hex(text[i + 1]);
    const int lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

void append_int(std::string& out, std::int64_t v) { out += std::to_string(v); }

void append_optional(std::string& out, const std::optional<std::int64_t>& v) {
  if (v) {
    append_int(out, *v);
  } else {
    out += kNone;
  }
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return v;
}

// "-" -> engaged-but-empty; a number -> its value; anything else -> nullopt.
std::optional<std::optional<std::int64_t>> parse_optional(std::string_view text) {
  if (text == kNone) return std::optional<std::int64_t>{};
  auto v = parse_int(text);
  if (!v) return std::nullopt;
  return std::optional<std::int64_t>{*v};
}

std::optional<Duration> to_duration(const std::optional<std::int64_t>& ns) {
  if (!ns) return std::nullopt;
  return Duration(*ns);
}

std::optional<std::int64_t> from_duration(const std::optional<Duration>& d) {
  if (!d) return std::nullopt;
  return d->count();
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

std::optional<BudgetAxis> axis_from_string(std::string_view name) {
  for (const BudgetAxis a : kAxes) {
    if (to_string(a) == name) return a;
  }
  return std::nullopt;
}

std::optional<RateLimitBucket> decode_bucket(const std::vector<std::string_view>& f) {
  if (f.size() != 7) return std::nullopt;
  RateLimitBucket b;
  auto name = unescape(f[1]);
  auto axis = axis_from_string(f[2]);
  auto limit = parse_optional(f[3]);
  auto remaining = parse_optional(f[4]);
  auto reset_after = parse_optional(f[5]);
  auto window = parse_optional(f[6]);
  if (!name || !axis || !limit || !remaining || !reset_after || !window) return std::nullopt;
  b.name = std::move(*name);
  b.axis = *axis;
  b.limit = *limit;
  b.remaining = *remaining;
  b.reset_after = to_duration(*reset_after);
  b.window = to_duration(*window);
  return b;
}

}  // namespace

std::string encode_snapshot(const RateLimitSnapshot& s) {
  std::string out(kHeader);
  out += "\ntaken_at ";
  append_int(out, s.taken_at.time_since_epoch().count());
  out += "\nretry_after ";
  append_optional(out, from_duration(s.retry_after));
  out += "\nshould_retry ";
  out += s.should_retry ? (*s.should_retry ? "1" : "0") : kNone;
  out += "\nlimit_type ";
  append_escaped(out, s.limit_type);
  for (const auto& b : s.buckets) {
    out += "\nbucket ";
    append_escaped(out, b.name);
    out += ' ';
    out += to_string(b.axis);
    out += ' ';
    append_optional(out, b.limit);
    out += ' ';
    append_optional(out, b.remaining);
    out += ' ';
    append_optional(out, from_duration(b.reset_after));
    out += ' ';
    append_optional(out, from_duration(b.window));
  }
  out += "\n";
  out += kEnd;
  out += '\n';
  return out;
}

std::optional<RateLimitSnapshot> decode_snapshot(std::string_view text) {
  if (text.empty() || text.back() != '\n') return std::nullopt;
  text.remove_suffix(1);
  const auto lines = split(text, '\n');
  // The four scalar lines come first, in order, exactly once; then buckets.
  if (lines.size() < 6 || lines[0] != kHeader || lines.back() != kEnd) return std::nullopt;
  RateLimitSnapshot s;

  const auto field = [&](std::size_t line,
                         std::string_view tag) -> std::optional<std::string_view> {
    const auto f = split(lines[line], ' ');
    if (f.size() != 2 || f[0] != tag) return std::nullopt;
    return f[1];
  };
  const auto taken_at = field(1, "taken_at");
  const auto retry_after = field(2, "retry_after");
  const auto should_retry = field(3, "should_retry");
  const auto limit_type = field(4, "limit_type");
  if (!taken_at || !retry_after || !should_retry || !limit_type) return std::nullopt;

  const auto taken_ns = parse_int(*taken_at);
  const auto retry_ns = parse_optional(*retry_after);
  auto limit_text = unescape(*limit_type);
  if (!taken_ns || !retry_ns || !limit_text) return std::nullopt;
  s.taken_at = TimePoint(Duration(*taken_ns));
  s.retry_after = to_duration(*retry_ns);
  if (*should_retry == "1") {
    s.should_retry = true;
  } else if (*should_retry == "0") {
    s.should_retry = false;
  } else if (*should_retry != kNone) {
    return std::nullopt;
  }
  s.limit_type = std::move(*limit_text);

  for (std::size_t i = 5; i + 1 < lines.size(); ++i) {
    const auto f = split(lines[i], ' ');
    if (f[0] != "bucket") return std::nullopt;
    auto b = decode_bucket(f);
    if (!b) return std::nullopt;
    s.buckets.push_back(std::move(*b));
  }
  return s;
}

}  // namespace sluice::state
