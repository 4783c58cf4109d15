#include "sluice/sim/wire_time.hpp"

#include <array>
#include <cstdio>

namespace sluice::sim {

namespace {

using namespace std::chrono;

struct Civil {
  int year;
  unsigned month, day, weekday;  // weekday: 0 = Sunday
  int hour, minute, second;
};

Civil civil_of(sys_seconds s) {
  const sys_days days = floor<std::chrono::days>(s);
  const year_month_day ymd{days};
  const hh_mm_ss<std::chrono::seconds> tod{s - days};
  return Civil{static_cast<int>(ymd.year()),           static_cast<unsigned>(ymd.month()),
               static_cast<unsigned>(ymd.day()),       weekday{days}.c_encoding(),
               static_cast<int>(tod.hours().count()),  static_cast<int>(tod.minutes().count()),
               static_cast<int>(tod.seconds().count())};
}

sys_seconds floor_seconds(TimePoint t) { return floor<std::chrono::seconds>(t); }
sys_seconds ceil_to_seconds(TimePoint t) { return ceil<std::chrono::seconds>(t); }

}  // namespace

std::string format_http_date(TimePoint t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const Civil c = civil_of(floor_seconds(t));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", kDays[c.weekday % 7], c.day,
                kMonths[(c.month + 11) % 12], c.year, c.hour, c.minute, c.second);
  return buf;
}

std::string format_rfc3339_ceil(TimePoint t) {
  const Civil c = civil_of(ceil_to_seconds(t));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
                c.minute, c.second);
  return buf;
}

std::string format_beijing_time_ceil(TimePoint t) {
  const Civil c = civil_of(ceil_to_seconds(t) + hours(8));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", c.year, c.month, c.day, c.hour,
                c.minute, c.second);
  return buf;
}

std::string format_utc_date(TimePoint t) {
  const Civil c = civil_of(floor_seconds(t));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year, c.month, c.day);
  return buf;
}

std::int64_t ceil_millis(Duration d) {
  if (d <= Duration::zero()) return 0;
  return ceil<std::chrono::milliseconds>(d).count();
}

std::int64_t ceil_seconds(Duration d) {
  if (d <= Duration::zero()) return 0;
  return ceil<std::chrono::seconds>(d).count();
}

std::int64_t epoch_millis_ceil(TimePoint t) {
  return ceil<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string format_go_duration(Duration d) {
  const std::int64_t total_ms = ceil_millis(d);
  if (total_ms == 0) return "0s";
  if (total_ms < 1000) return std::to_string(total_ms) + "ms";
  const std::int64_t h = total_ms / 3'600'000;
  const std::int64_t m = (total_ms / 60'000) % 60;
  const std::int64_t s = (total_ms / 1000) % 60;
  const std::int64_t ms = total_ms % 1000;
  std::string out;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(s);
  if (ms > 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();  // Go prints the shortest form: 1.5s, not 1.500s
    out += f;
  }
  out += 's';
  return out;
}

}  // namespace sluice::sim
