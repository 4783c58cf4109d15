#pragma once
// The one place where an upstream outcome becomes an ErrorClass (DESIGN
// capability 5). Input: everything the shell saw of one attempt; output: the
// class, its traits, the retry wait hint and the parsed rate-limit snapshot.
// Pure: no I/O, no clock reads (`now` is an input), never throws.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/dialect.hpp"
#include "sluice/core/error_class.hpp"
#include "sluice/core/headers.hpp"
#include "sluice/core/rate_limit_snapshot.hpp"
#include "sluice/policy/errors/rules.hpp"
#include "sluice/policy/errors/traits.hpp"

namespace sluice::policy {

enum class TransportFailure : std::uint8_t {
  kNone,
  kConnect,  // refused, unreachable, connect timeout
  kTimeout,  // no (more) bytes within the read timeout
  kReset,    // connection reset
  kEof,      // peer closed
  kTls,      // TLS alert or handshake failure
};

std::optional<TransportFailure> transport_from_string(std::string_view s);
// A transport failure as a client library words it (Python's ssl, httpx,
// requests, aiohttp; Node's errno names), in lower case: "[ssl:
// bad_record_mac] ...", "connection reset by peer", "server disconnected
// without sending a response". Nothing when the text names none.
std::optional<TransportFailure> transport_from_text(std::string_view lower_text);

struct StreamState {
  bool first_byte_sent = false;  // bytes already reached our client: no retry, no fallback
  bool terminal_seen = false;    // [DONE] / message_stop / response.completed
  bool data_seen = true;         // any data frame arrived (false: keep-alives only)
};

// The size of the request that failed, for rules that depend on it (a bare
// 400 on a near-full context is a context overflow).
struct RequestShape {
  std::int64_t tokens = 0;
  std::int64_t messages = 0;
  std::int64_t context_length = 0;  // 0: unknown (200 000 assumed)
};

struct UpstreamOutcome {
  Dialect dialect = Dialect::kGeneric;
  std::optional<int> status;
  HeaderView headers;
  std::string_view body;
  TransportFailure transport = TransportFailure::kNone;
  std::optional<StreamState> stream;  // set for streaming responses
  RequestShape request;
  TimePoint now{};
};

struct Classification {
  bool ok = false;  // a success: no class applies
  ErrorClass cls = ErrorClass::kUnknown;
  ClassTraits traits{};
  std::optional<Duration> wait;      // when the same key may be tried again
  std::string wait_source;           // "retry-after", "body" or "reset-header"
  std::optional<Duration> cooldown;  // how long to bench the key (none: do not, or disabled)
  RateLimitSnapshot ratelimit;
  std::string rule;     // which rule decided, for logs and `sluice classify`
  std::string message;  // the upstream's own words, truncated; never contains headers
  std::vector<std::string> diagnostics;
};

Classification classify(const UpstreamOutcome& outcome, const RuleTable& rules = builtin_rules());

// "OK", or the class's name: the label of an attempt in metrics and logs.
inline std::string_view outcome_label(const Classification& c) {
  return c.ok ? std::string_view("OK") : to_string(c.cls);
}

}  // namespace sluice::policy
