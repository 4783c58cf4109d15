#include "sluice/core/time.hpp"

#include <cmath>

namespace sluice {

Duration from_seconds(double seconds) {
  if (!(seconds > 0.0)) return Duration::zero();  // also catches NaN
  const double max_s = to_seconds(kMaxDuration);
  if (seconds >= max_s) return kMaxDuration;
  return Duration(static_cast<Duration::rep>(std::llround(seconds * 1e9)));
}

std::int64_t to_unix_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_unix_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

}  // namespace sluice
