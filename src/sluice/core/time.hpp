#pragma once
// Time vocabulary for the whole of sluice.
//
// One time axis: wall-clock time at nanosecond resolution. Cooldowns and
// provider resets are absolute instants that must survive a restart and be
// shared between gateway instances, so a process-local monotonic clock would
// not do; the shell guards against wall-clock jumps where it matters.
#include <chrono>
#include <cstdint>
#include <optional>

namespace sluice {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

// Seconds as a double, for config, JSON and log output.
constexpr double to_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Saturating conversion from seconds; NaN and negatives become zero.
Duration from_seconds(double seconds);

constexpr Duration kMaxDuration = Duration::max() / 4;  // headroom against overflow in sums

inline Duration milliseconds(std::int64_t ms) { return std::chrono::milliseconds(ms); }
inline Duration seconds(std::int64_t s) { return std::chrono::seconds(s); }

// Milliseconds since the Unix epoch, for persistence.
std::int64_t to_unix_ms(TimePoint t);
TimePoint from_unix_ms(std::int64_t ms);

}  // namespace sluice
