#include "sluice/config/duration_text.hpp"

#include <cmath>

#include "sluice/core/text.hpp"

namespace sluice::config {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Seconds per unit; nullopt for an unknown unit.
std::optional<double> unit_seconds(std::string_view unit) {
  if (unit == "ms") return 0.001;
  if (unit == "s") return 1.0;
  if (unit == "m") return 60.0;
  if (unit == "h") return 3600.0;
  return std::nullopt;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double total_seconds = 0;
  if (auto bare = parse_number(text)) {
    total_seconds = *bare;
  } else {
    // number unit [number unit ...]; the number is digits with an optional fraction.
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t number_start = pos;
      while (pos < text.size() && (is_digit(text[pos]) || text[pos] == '.')) ++pos;
      const std::size_t unit_start = pos;
      while (pos < text.size() && text[pos] >= 'a' && text[pos] <= 'z') ++pos;
      const std::string_view number = text.substr(number_start, unit_start - number_start);
      const std::string_view unit = text.substr(unit_start, pos - unit_start);
      if (number.empty() || !is_digit(number.front()) || unit.empty()) return std::nullopt;
      const auto value = parse_number(number);
      const auto scale = unit_seconds(unit);
      if (!value || !scale) return std::nullopt;
      total_seconds += *value * *scale;
    }
  }
  if (!std::isfinite(total_seconds) || total_seconds < 0 ||
      total_seconds > to_seconds(kMaxConfigDuration)) {
    return std::nullopt;
  }
  return from_seconds(total_seconds);
}

std::string format_duration(Duration d) {
  using std::chrono::duration_cast;
  long long ms =
      duration_cast<std::chrono::milliseconds>(d + std::chrono::microseconds(500)).count();
  if (ms <= 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  const long long hours = ms / 3'600'000;
  ms %= 3'600'000;
  const long long minutes = ms / 60'000;
  ms %= 60'000;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (minutes > 0) out += std::to_string(minutes) + "m";
  if (ms > 0) {
    out += std::to_string(ms / 1000);
    if (long long frac = ms % 1000; frac > 0) {
      std::string digits = std::to_string(frac + 1000).substr(1);  // zero-padded to 3
      while (digits.back() == '0') digits.pop_back();
      out += "." + digits;
    }
    out += "s";
  }
  return out;
}

}  // namespace sluice::config
