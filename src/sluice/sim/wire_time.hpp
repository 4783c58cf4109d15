#pragma once
// How simulated providers print times on the wire: Date headers, RFC 3339
// and epoch-millisecond resets, Go durations. Every reset is rounded UP to the
// format's resolution, so a client that obeys it never retries before the
// model's window has actually rolled over.
#include <cstdint>
#include <string>

#include "sluice/core/time.hpp"

namespace sluice::sim {

// "Sat, 22 Aug 2026 00:00:00 GMT" (an HTTP-date has whole seconds: truncated).
std::string format_http_date(TimePoint t);
// "2026-08-22T00:00:02Z", rounded up to the second (Anthropic's reset format).
std::string format_rfc3339_ceil(TimePoint t);
// "2026-08-22 08:00:02", Beijing time (UTC+8) without a zone, as z.ai prints
// its reset stamps; rounded up to the second.
std::string format_beijing_time_ceil(TimePoint t);
// "2026-10-01", the UTC date.
std::string format_utc_date(TimePoint t);
// Go's time.Duration spelling as OpenAI and Groq send it: "0s", "20ms",
// "1s", "1.5s", "6m0s", "1h34m52.896s"; rounded up to the millisecond.
std::string format_go_duration(Duration d);
// Rounded up; negative durations become 0.
std::int64_t ceil_seconds(Duration d);
std::int64_t ceil_millis(Duration d);
// Epoch milliseconds of `t`, rounded up (OpenRouter's X-RateLimit-Reset).
std::int64_t epoch_millis_ceil(TimePoint t);

}  // namespace sluice::sim
