#pragma once
// Every refusal and failure a simulated provider can answer, worded exactly
// as that provider words it (providers.md §1–§14), so sluice's classifier
// reads the simulator the way it reads the real thing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/dialect.hpp"
#include "sluice/core/time.hpp"
#include "sluice/sim/ratelimit_headers.hpp"
#include "sluice/sim/request_body.hpp"

namespace sluice::sim {

enum class Refusal : std::uint8_t {
  kNotFound,           // no such route
  kBadRequest,         // malformed body, missing or invalid parameter
  kAuth,               // key not accepted
  kModelNotFound,      // model not in the provider's list
  kConcurrency,        // the key's in-flight cap
  kRequestsPerWindow,  // "RPM"
  kTokensPerWindow,    // "TPM"
  kTooLarge,           // one request costs more than the whole token window
  kDaily,              // requests per daily window
  kBilling,            // scheduled billing fault
  kQuota,              // scheduled daily/plan quota fault
  kOverload,           // provider-wide capacity fault
  kServerError,        // 500 fault
};
inline constexpr std::size_t kRefusalCount = 13;

// The name /_sim/stats uses: "not_found", "bad_request", "auth",
// "model_not_found", "concurrency", "rpm", "tpm", "too_large", "daily",
// "billing", "quota", "overload", "server_error".
std::string_view stats_name(Refusal r);

// What a message may quote. Only the fields the refusal needs are read.
struct RefusalFacts {
  std::string_view method, path, model, api_key;
  BadRequest bad;              // kBadRequest
  std::int64_t limit = 0;      // the budget that refused
  std::int64_t used = 0;       // spent in its current window
  std::int64_t requested = 0;  // what this request asked for
  Duration wait{};             // until that budget is full again
  TimePoint now{};
  TimePoint reset_at{};        // kDaily, kQuota: when access returns
  HeaderPairs echoed_headers;  // OpenRouter: X-RateLimit-* repeated in the body
  std::string request_id;
};

struct ErrorReply {
  int status = 500;
  std::string body;
};

ErrorReply render_refusal(Dialect dialect, Refusal refusal, const RefusalFacts& facts);

// The SSE events of an in-band error inside an HTTP 200 stream, including
// whatever the provider sends after it (OpenAI-style servers: [DONE]).
std::vector<std::string> render_stream_error(Dialect dialect, std::string_view id,
                                             std::string_view model, TimePoint now);

// A 200 body that is not JSON: what a broken proxy or a truncated write leaves.
std::string_view garbage_body();

}  // namespace sluice::sim
