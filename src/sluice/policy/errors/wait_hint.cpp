#include "sluice/policy/errors/wait_hint.hpp"

#include <array>

#include "sluice/core/text.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::policy {

namespace {

bool is_duration_char(char c) {
  return (c >= '0' && c <= '9') || c == '.' || c == 'h' || c == 'm' || c == 's' || c == 'u' ||
         c == 'n';
}

// "1.898s." -> "1.898s": a Go duration right after `pos`.
std::optional<Duration> duration_at(std::string_view text, std::size_t pos) {
  std::size_t end = pos;
  while (end < text.size() && is_duration_char(text[end])) ++end;
  std::string_view token = text.substr(pos, end - pos);
  while (!token.empty() && token.back() == '.') token.remove_suffix(1);
  if (auto d = parse_go_duration(token)) return d;
  // "try again in 20 seconds" / "retry in 5 s"
  if (auto n = parse_number(token)) {
    std::string_view rest = trim(text.substr(end));
    if (rest.starts_with("sec") || rest.starts_with("s ") || rest == "s") return from_seconds(*n);
    if (rest.starts_with("ms") || rest.starts_with("millisecond")) return from_seconds(*n / 1000);
    if (rest.starts_with("min")) return from_seconds(*n * 60);
  }
  return std::nullopt;
}

// "YYYY-MM-DD HH:MM:SS" somewhere after `pos`, read as Beijing time (z.ai
// prints its reset stamps in UTC+8 with no zone).
std::optional<TimePoint> beijing_stamp_after(std::string_view text, std::size_t pos) {
  for (std::size_t i = pos; i + 19 <= text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') continue;
    if (auto t = parse_rfc3339(text.substr(i, 19), std::chrono::hours(8))) return t;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Duration> body_wait_hint(std::string_view text, TimePoint reference) {
  static constexpr std::array<std::string_view, 6> kRelative = {"try again in ",    "retry in ",
                                                                "try again after ", "retry after ",
                                                                "retry_after ",     "resets in "};
  for (std::string_view marker : kRelative) {
    std::size_t p = text.find(marker);
    while (p != std::string_view::npos) {
      if (auto d = duration_at(text, p + marker.size())) return d;
      p = text.find(marker, p + 1);
    }
  }
  // Absolute stamps: z.ai "reset at 2026-08-22 11:16:11" / "将在 … 重置".
  for (std::string_view marker : {std::string_view("reset at "), std::string_view("将在")}) {
    if (auto p = text.find(marker); p != std::string_view::npos) {
      if (auto t = beijing_stamp_after(text, p + marker.size())) {
        return *t > reference ? *t - reference : Duration::zero();
      }
    }
  }
  // Anthropic spend limit: "You will regain access on 2026-10-01 at 00:00 UTC".
  if (auto p = text.find("regain access on "); p != std::string_view::npos) {
    std::string_view date = text.substr(p + 17, 10);
    if (auto t = parse_rfc3339(std::string(date) + "T00:00:00Z")) {
      return *t > reference ? *t - reference : Duration::zero();
    }
  }
  return std::nullopt;
}

}  // namespace sluice::policy
