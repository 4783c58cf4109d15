#pragma once
// Durations as people write them in a config file: "200ms", "2s", "1.5s",
// "1m", "1h", combinations such as "1m30s", and a bare number of seconds.
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/time.hpp"

namespace sluice::config {

// The longest duration a config may state. Longer values are typos (a unit
// left out) rather than intentions, and staying far below Duration's range
// keeps now + d from overflowing anywhere downstream.
inline constexpr Duration kMaxConfigDuration = std::chrono::hours(24 * 365);

// nullopt for anything else: negative values, unknown units, empty text,
// values above kMaxConfigDuration.
std::optional<Duration> parse_duration(std::string_view text);

// The shortest spelling parse_duration reads back: "0s", "200ms", "1.5s",
// "1m30s", "2h". Rounded to the millisecond.
std::string format_duration(Duration d);

}  // namespace sluice::config
