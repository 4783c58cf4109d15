#include "sluice/policy/ratelimit/reset_value.hpp"

#include <array>
#include <cmath>

#include "sluice/core/text.hpp"

namespace sluice::policy {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads "123" or "123.456" at the front of s; advances s.
std::optional<double> take_decimal(std::string_view& s) {
  std::size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == 0) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    std::size_t j = i + 1;
    while (j < s.size() && is_digit(s[j])) ++j;
    if (j == i + 1) return std::nullopt;
    i = j;
  }
  auto v = parse_number(s.substr(0, i));
  s.remove_prefix(i);
  return v;
}

// Reads exactly n digits.
std::optional<int> take_digits(std::string_view& s, std::size_t n) {
  if (s.size() < n) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_digit(s[i])) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  s.remove_prefix(n);
  return v;
}

bool take_char(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

struct ClockTime {
  int h, mi, sec;
};

// "HH:MM:SS", shared by the HTTP-date and RFC 3339 parsers.
std::optional<ClockTime> take_clock(std::string_view& s) {
  auto h = take_digits(s, 2);
  if (!h || !take_char(s, ':')) return std::nullopt;
  auto mi = take_digits(s, 2);
  if (!mi || !take_char(s, ':')) return std::nullopt;
  auto sec = take_digits(s, 2);
  if (!sec) return std::nullopt;
  return ClockTime{*h, *mi, *sec};
}

std::optional<TimePoint> make_time(int y, int mo, int d, int h, int mi, int sec, double frac) {
  using namespace std::chrono;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // TimePoint counts nanoseconds in 64 bits: years outside ~1678..2262 do
  // not fit. No provider reset lies outside this window.
  if (y < 1971 || y > 2200) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  TimePoint t = time_point_cast<Duration>(sys_days{ymd});
  t += hours(h) + minutes(mi) + std::chrono::seconds(sec);
  t += from_seconds(frac);
  return t;
}

}  // namespace

std::optional<Duration> parse_go_duration(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  double total_s = 0;
  bool any = false;
  while (!s.empty()) {
    auto v = take_decimal(s);
    if (!v) return std::nullopt;
    double scale = 0;
    if (s.starts_with("ms")) {
      scale = 1e-3, s.remove_prefix(2);
    } else if (s.starts_with("us")) {
      scale = 1e-6, s.remove_prefix(2);
    } else if (s.starts_with("\xC2\xB5s")) {  // "µs"
      scale = 1e-6, s.remove_prefix(3);
    } else if (s.starts_with("ns")) {
      scale = 1e-9, s.remove_prefix(2);
    } else if (s.starts_with("h")) {
      scale = 3600, s.remove_prefix(1);
    } else if (s.starts_with("m")) {
      scale = 60, s.remove_prefix(1);
    } else if (s.starts_with("s")) {
      scale = 1, s.remove_prefix(1);
    } else {
      return std::nullopt;  // a bare number or an unknown unit
    }
    total_s += *v * scale;
    any = true;
  }
  if (!any) return std::nullopt;
  return from_seconds(total_s);
}

std::optional<Duration> parse_proto_duration(std::string_view s) {
  s = trim(s);
  if (s.size() < 2 || s.back() != 's') return std::nullopt;
  auto v = parse_number(s.substr(0, s.size() - 1));
  if (!v || *v < 0) return std::nullopt;
  return from_seconds(*v);
}

std::optional<TimePoint> parse_http_date(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  s = trim(s);
  if (auto comma = s.find(','); comma != std::string_view::npos && comma <= 9) {
    s.remove_prefix(comma + 1);
  }
  s = trim(s);
  auto d = take_digits(s, 2);
  if (!d) {
    d = take_digits(s, 1);
    if (!d) return std::nullopt;
  }
  if (!take_char(s, ' ') || s.size() < 3) return std::nullopt;
  int mo = 0;
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (iequals(s.substr(0, 3), kMonths[i])) mo = static_cast<int>(i) + 1;
  }
  if (mo == 0) return std::nullopt;
  s.remove_prefix(3);
  if (!take_char(s, ' ')) return std::nullopt;
  auto y = take_digits(s, 4);
  if (!y || !take_char(s, ' ')) return std::nullopt;
  auto clock = take_clock(s);
  if (!clock) return std::nullopt;
  const auto [h, mi, sec] = *clock;
  s = trim(s);
  if (!s.empty() && !iequals(s, "GMT") && !iequals(s, "UTC")) return std::nullopt;
  return make_time(*y, mo, *d, h, mi, sec, 0.0);
}

std::optional<TimePoint> parse_rfc3339(std::string_view s, std::chrono::minutes default_offset) {
  s = trim(s);
  auto y = take_digits(s, 4);
  if (!y || !take_char(s, '-')) return std::nullopt;
  auto mo = take_digits(s, 2);
  if (!mo || !take_char(s, '-')) return std::nullopt;
  auto d = take_digits(s, 2);
  if (!d || s.empty() || (s.front() != 'T' && s.front() != 't' && s.front() != ' ')) {
    return std::nullopt;
  }
  s.remove_prefix(1);
  auto clock = take_clock(s);
  if (!clock) return std::nullopt;
  const auto [h, mi, sec] = *clock;
  double frac = 0;
  if (!s.empty() && s.front() == '.') {
    std::size_t i = 1;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == 1) return std::nullopt;
    frac = parse_number(std::string("0") + std::string(s.substr(0, i))).value_or(0.0);
    s.remove_prefix(i);
  }
  std::chrono::minutes offset = default_offset;
  if (!s.empty()) {
    if (s == "Z" || s == "z") {
      offset = std::chrono::minutes(0);
    } else if (s.front() == '+' || s.front() == '-') {
      const int sign = s.front() == '-' ? -1 : 1;
      s.remove_prefix(1);
      auto oh = take_digits(s, 2);
      if (!oh) return std::nullopt;
      take_char(s, ':');
      auto om = take_digits(s, 2);
      if (!om || !s.empty()) return std::nullopt;
      offset = std::chrono::minutes(sign * (*oh * 60 + *om));
    } else {
      return std::nullopt;
    }
  }
  auto t = make_time(*y, *mo, *d, h, mi, sec, frac);
  if (!t) return std::nullopt;
  return *t - offset;
}

namespace {
Duration until(TimePoint instant, TimePoint reference) {
  return instant > reference ? instant - reference : Duration::zero();
}
}  // namespace

std::optional<Duration> parse_reset_value(std::string_view s, TimePoint reference) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (auto n = parse_number(s)) {
    if (*n < 0) return std::nullopt;  // "-1": unknown, not "now"
    if (*n > 1e9) {
      // Epoch milliseconds (> 1e12) or seconds (> 1e9). Past 2255 the instant
      // would overflow the 64-bit nanosecond TimePoint: garbage, not a time.
      const double epoch_s = *n > 1e12 ? *n / 1000.0 : *n;
      if (epoch_s >= 9e9) return std::nullopt;
      return until(TimePoint(from_seconds(epoch_s)), reference);
    }
    return from_seconds(*n);
  }
  if (auto d = parse_go_duration(s)) return d;
  if (auto t = parse_rfc3339(s)) return until(*t, reference);
  if (auto t = parse_http_date(s)) return until(*t, reference);
  return std::nullopt;
}

std::optional<Duration> parse_retry_after(std::string_view s, TimePoint reference) {
  s = trim(s);
  if (auto n = parse_number(s)) {
    if (!(*n > 0)) return std::nullopt;  // 0 or negative is no hint (SDK rule: 0 < v)
    return from_seconds(*n);
  }
  if (auto t = parse_http_date(s)) {
    const Duration d = until(*t, reference);
    if (d > Duration::zero()) return d;
  }
  return std::nullopt;
}

}  // namespace sluice::policy
