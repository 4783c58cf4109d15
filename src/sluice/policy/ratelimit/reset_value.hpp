#pragma once
// Parsers for every time shape providers use in rate-limit headers and error
// texts (providers.md §0.2). None of them throws; each returns nullopt on
// anything it does not fully understand.
#include <optional>
#include <string_view>

#include "sluice/core/time.hpp"

namespace sluice::policy {

// Go-style duration: "6m0s", "20ms", "1h34m52.896s", "7.66s". "ms" binds
// before "m". Also accepts "us"/"ns". Bare numbers are not durations.
std::optional<Duration> parse_go_duration(std::string_view s);

// Protobuf JSON duration: "36.4s", "57.238747106s".
std::optional<Duration> parse_proto_duration(std::string_view s);

// IMF-fixdate "Wed, 21 Oct 2026 07:28:00 GMT" (the weekday is optional).
std::optional<TimePoint> parse_http_date(std::string_view s);

// RFC 3339 "2026-09-01T12:00:11Z", "…T12:00:11.5+08:00"; a space may stand
// for the 'T'. A timestamp with no zone is taken at `default_offset`
// (z.ai prints Beijing time, UTC+8, without saying so).
std::optional<TimePoint> parse_rfc3339(std::string_view s,
                                       std::chrono::minutes default_offset = {});

// A reset value of any shape, as time from `reference` (the response's Date,
// or now): Go duration, bare seconds (int or float), epoch seconds (> 1e9),
// epoch milliseconds (> 1e12), RFC 3339, HTTP-date. Instants in the past
// yield zero; negative numbers ("-1" = unknown) yield nullopt.
std::optional<Duration> parse_reset_value(std::string_view s, TimePoint reference);

// retry-after: seconds (int or float, > 0) or an HTTP-date relative to `reference`.
std::optional<Duration> parse_retry_after(std::string_view s, TimePoint reference);

}  // namespace sluice::policy
