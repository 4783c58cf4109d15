#pragma once
// Rate-limit header parsing for every dialect in providers.md §17, and the
// IETF RateLimit / RateLimit-Policy fields (draft-ietf-httpapi-ratelimit-headers,
// early drafts' RateLimit-Limit/-Remaining/-Reset too) whatever the dialect.
//
// The value *formats* are recognised by shape (Go duration, seconds, epoch
// ms, RFC 3339), so a proxy that relays another provider's headers still
// parses; the dialect decides only what the shape cannot tell: Groq's
// request bucket is per day, Together's unsuffixed bucket is per second.
#include <string>
#include <vector>

#include "sluice/core/dialect.hpp"
#include "sluice/core/headers.hpp"
#include "sluice/core/rate_limit_snapshot.hpp"

namespace sluice::policy {

struct HeaderParseResult {
  RateLimitSnapshot snapshot;
  // Headers that looked like rate-limit headers but could not be used, e.g.
  // "x-ratelimit-reset-requests: unparsable value \"soon\"".
  std::vector<std::string> diagnostics;
};

// `now` is the local receive time. Absolute reset instants are measured from
// the response's Date header when present (so clock skew cancels), else from now.
HeaderParseResult parse_rate_limit_headers(HeaderView headers, Dialect dialect, TimePoint now);

}  // namespace sluice::policy
