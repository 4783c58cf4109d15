#include "sluice/sim/ratelimit_headers.hpp"

#include "sluice/sim/wire_time.hpp"

namespace sluice::sim {

namespace {

Duration until(TimePoint t, TimePoint now) { return t > now ? t - now : Duration::zero(); }

// x-ratelimit-{limit,remaining,reset}-<axis>, OpenAI's family of names.
void openai_triple(HeaderPairs& out, std::string_view axis, const BucketReport& b, TimePoint now,
                   bool integer_seconds) {
  const std::string suffix(axis);
  out.emplace_back("x-ratelimit-limit-" + suffix, std::to_string(b.limit));
  out.emplace_back("x-ratelimit-remaining-" + suffix, std::to_string(b.remaining));
  const Duration left = until(b.full_at, now);
  out.emplace_back("x-ratelimit-reset-" + suffix,
                   integer_seconds ? std::to_string(ceil_seconds(left)) : format_go_duration(left));
}

void anthropic_triple(HeaderPairs& out, std::string_view axis, const BucketReport& b,
                      TimePoint now) {
  const std::string prefix = "anthropic-ratelimit-" + std::string(axis);
  out.emplace_back(prefix + "-limit", std::to_string(b.limit));
  out.emplace_back(prefix + "-remaining", std::to_string(b.remaining));
  out.emplace_back(prefix + "-reset", format_rfc3339_ceil(b.full_at > now ? b.full_at : now));
}

}  // namespace

HeaderPairs openrouter_ratelimit_triple(const BucketReport& b) {
  return {{"X-RateLimit-Limit", std::to_string(b.limit)},
          {"X-RateLimit-Remaining", std::to_string(b.remaining)},
          {"X-RateLimit-Reset", std::to_string(epoch_millis_ceil(b.full_at))}};
}

void append_ratelimit_headers(HeaderPairs& out, Dialect dialect, const BudgetReport& budget,
                              TimePoint now, Tripped tripped) {
  switch (dialect) {
    case Dialect::kOpenAI:
    case Dialect::kAzure: {
      const bool azure = dialect == Dialect::kAzure;
      if (budget.requests) openai_triple(out, "requests", *budget.requests, now, azure);
      if (budget.tokens) openai_triple(out, "tokens", *budget.tokens, now, azure);
      break;
    }
    case Dialect::kGroq:
      // Groq's request headers count the day, whatever their name says.
      if (budget.daily) openai_triple(out, "requests", *budget.daily, now, false);
      if (budget.tokens) openai_triple(out, "tokens", *budget.tokens, now, false);
      break;
    case Dialect::kAnthropic:
      if (budget.requests) anthropic_triple(out, "requests", *budget.requests, now);
      if (budget.tokens) anthropic_triple(out, "tokens", *budget.tokens, now);
      break;
    case Dialect::kOpenRouter: {
      // Only OpenRouter's own platform 429s carry the (request-counting) triple.
      const std::optional<BucketReport>& b =
          tripped == Tripped::kRequests
              ? budget.requests
              : (tripped == Tripped::kDaily ? budget.daily : std::optional<BucketReport>());
      if (b) {
        for (auto& h : openrouter_ratelimit_triple(*b)) out.push_back(std::move(h));
      }
      break;
    }
    default: break;  // z.ai and Kimi send no rate-limit headers
  }
}

void append_retry_after(HeaderPairs& out, Dialect dialect, Duration wait) {
  if (dialect == Dialect::kZai || dialect == Dialect::kKimi) return;
  // A 429 always means "not now": at least one second.
  const std::int64_t s = std::max<std::int64_t>(1, ceil_seconds(wait));
  out.emplace_back("retry-after", std::to_string(s));
  if (dialect == Dialect::kAzure) {
    out.emplace_back("retry-after-ms",
                     std::to_string(std::max<std::int64_t>(1, ceil_millis(wait))));
  }
}

}  // namespace sluice::sim
