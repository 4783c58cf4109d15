#pragma once
// The rate-limit headers each dialect sends (providers.md §17), built from
// the model's true budget state so that sluice's own header parser reads
// back exactly what the simulator holds.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/dialect.hpp"
#include "sluice/core/time.hpp"

namespace sluice::sim {

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

// One budget of one key, after this request.
struct BucketReport {
  std::int64_t limit = 0;
  std::int64_t remaining = 0;
  TimePoint full_at{};  // when the bucket is full again (== now when it already is)
};

// The key's budgets that are configured; absent ones send no headers.
struct BudgetReport {
  std::optional<BucketReport> requests;  // per window
  std::optional<BucketReport> tokens;    // per window
  std::optional<BucketReport> daily;     // requests per daily window
};

// Which budget refused the request, for dialects that only speak on 429s.
enum class Tripped : std::uint8_t { kNone, kRequests, kTokens, kDaily };

// Appends the dialect's rate-limit headers:
//   openai, groq  x-ratelimit-{limit,remaining,reset}-{requests,tokens}, Go-duration resets
//                 (groq: the requests triple is the DAILY bucket)
//   azure         the same names, integer-second resets
//   anthropic     anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}, RFC 3339
//   openrouter    X-RateLimit-{Limit,Remaining,Reset} (epoch ms), only when a request
//                 bucket refused the request
//   zai, kimi     none
void append_ratelimit_headers(HeaderPairs& out, Dialect dialect, const BudgetReport& budget,
                              TimePoint now, Tripped tripped);

// retry-after in whole seconds (rounded up); Azure adds retry-after-ms.
// z.ai and Kimi send neither (their hints live in the body, if anywhere).
void append_retry_after(HeaderPairs& out, Dialect dialect, Duration wait);

// OpenRouter's X-RateLimit-* triple, also echoed in error.metadata.headers.
HeaderPairs openrouter_ratelimit_triple(const BucketReport& bucket);

}  // namespace sluice::sim
