#include "sluice/policy/errors/classifier.hpp"

#include <algorithm>

#include "sluice/core/text.hpp"
#include "sluice/policy/errors/error_body.hpp"
#include "sluice/policy/errors/wait_hint.hpp"
#include "sluice/policy/ratelimit/header_parser.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::policy {

namespace {

constexpr std::size_t kMaxMessage = 300;

// True when `code` stands in the text as "[code]", without building the string.
bool bracketed(std::string_view hay, std::string_view code) {
  for (std::size_t p = hay.find(code); p != std::string_view::npos; p = hay.find(code, p + 1)) {
    if (p > 0 && hay[p - 1] == '[' && p + code.size() < hay.size() && hay[p + code.size()] == ']') {
      return true;
    }
  }
  return false;
}

bool rule_matches(const ErrorRule& r, const UpstreamOutcome& in, const ErrorBody& body) {
  if (!r.dialects.empty() &&
      std::find(r.dialects.begin(), r.dialects.end(), in.dialect) == r.dialects.end()) {
    return false;
  }
  if (!r.statuses.empty() && (!in.status || std::find(r.statuses.begin(), r.statuses.end(),
                                                      *in.status) == r.statuses.end())) {
    return false;
  }
  const std::string& hay = body.haystack;
  const bool has_bracket = hay.find('[') != std::string::npos;
  if (!r.codes.empty()) {
    bool hit = false;
    for (const auto& code : r.codes) {
      if (std::find(body.codes.begin(), body.codes.end(), code) != body.codes.end()) {
        hit = true;
        break;
      }
      // z.ai's bracketed form: "[1308][Usage limit reached …]"
      if (has_bracket && !code.empty() && code.front() >= '0' && code.front() <= '9' &&
          bracketed(hay, code)) {
        hit = true;
        break;
      }
    }
    if (!hit) return false;
  }
  if (!r.any_phrases.empty() &&
      std::none_of(r.any_phrases.begin(), r.any_phrases.end(),
                   [&](const std::string& p) { return contains(hay, p); })) {
    return false;
  }
  for (const auto& p : r.all_phrases) {
    if (!contains(hay, p)) return false;
  }
  for (const auto& p : r.unless) {
    if (contains(hay, p)) return false;
  }
  return true;
}

// When no rule speaks, the status decides. Chosen per providers.md and the
// SDKs' retry contract; see docs/decisions/0003.
ErrorClass class_of_status(int status) {
  switch (status) {
    case 400: return ErrorClass::kFormatError;
    case 401: return ErrorClass::kAuth;
    case 402: return ErrorClass::kBilling;
    // A bare 403 is more often a WAF or a proxy than a barred account:
    // benching for minutes (AUTH) is safer than disabling the key.
    case 403: return ErrorClass::kAuth;
    case 404: return ErrorClass::kModelNotFound;
    case 408: return ErrorClass::kTimeout;
    case 409: return ErrorClass::kServerError;
    case 413: return ErrorClass::kPayloadTooLarge;
    case 422: return ErrorClass::kFormatError;
    case 429: return ErrorClass::kRateLimit;
    case 498: return ErrorClass::kOverloaded;  // Groq flex capacity
    case 503: return ErrorClass::kOverloaded;
    case 504: return ErrorClass::kTimeout;
    case 524: return ErrorClass::kTimeout;  // Cloudflare origin timeout
    case 529: return ErrorClass::kOverloaded;
    default: break;
  }
  if (status >= 500) return ErrorClass::kServerError;
  if (status >= 400) return ErrorClass::kFormatError;
  return ErrorClass::kUnknown;
}

bool is_large_session(const RequestShape& r, double ratio, std::int64_t tokens,
                      std::int64_t messages) {
  const std::int64_t ctx = r.context_length > 0 ? r.context_length : 200000;
  if (r.tokens > 0 && static_cast<double>(r.tokens) > ratio * static_cast<double>(ctx)) {
    return true;
  }
  return ctx <= 256000 && (r.tokens > tokens || r.messages > messages);
}

TimePoint reference_time(const UpstreamOutcome& in) {
  if (auto date = in.headers.get("date")) {
    if (auto t = parse_http_date(*date)) return *t;
  }
  return in.now;
}

std::string truncate_message(const ErrorBody& body, std::string_view raw) {
  std::string m = body.message;
  if (!body.inner_message.empty() && body.inner_message != m) {
    if (!m.empty()) m += ": ";
    m += body.inner_message;
  }
  if (m.empty() && !body.json && !body.sse.is_sse) m = std::string(trim(raw.substr(0, 200)));
  if (m.size() > kMaxMessage) {
    m.resize(utf8_prefix(m, kMaxMessage).size());
    m += "…";
  }
  return m;
}

}  // namespace

std::optional<TransportFailure> transport_from_string(std::string_view s) {
  if (s.empty() || s == "none") return TransportFailure::kNone;
  if (s == "connect") return TransportFailure::kConnect;
  if (s == "timeout") return TransportFailure::kTimeout;
  if (s == "reset") return TransportFailure::kReset;
  if (s == "eof") return TransportFailure::kEof;
  if (s == "tls") return TransportFailure::kTls;
  return std::nullopt;
}

std::optional<TransportFailure> transport_from_text(std::string_view text) {
  struct Words {
    TransportFailure failure;
    std::string_view phrase;
  };
  // Checked in order: TLS first (its EOF texts would read as a plain close).
  static constexpr Words kWords[] = {
      {TransportFailure::kTls, "[ssl"},
      {TransportFailure::kTls, "ssl:"},
      {TransportFailure::kTls, "sslerror"},
      {TransportFailure::kTls, "ssleoferror"},
      {TransportFailure::kTls, "ssl error"},
      {TransportFailure::kTls, "bad_record_mac"},
      {TransportFailure::kTls, "bad record mac"},
      {TransportFailure::kTls, "decryption failed"},
      {TransportFailure::kTls, "unexpected_eof_while_reading"},
      {TransportFailure::kTls, "eof occurred in violation of protocol"},
      {TransportFailure::kTls, "sslv3_alert"},
      {TransportFailure::kTls, "sslv3 alert"},
      {TransportFailure::kTls, "tlsv1_alert"},
      {TransportFailure::kTls, "tlsv1 alert"},
      {TransportFailure::kTls, "tls handshake"},
      {TransportFailure::kConnect, "connection refused"},
      {TransportFailure::kConnect, "econnrefused"},
      {TransportFailure::kConnect, "connection error"},
      {TransportFailure::kConnect, "apiconnectionerror"},
      {TransportFailure::kConnect, "connecterror"},
      {TransportFailure::kConnect, "failed to establish a new connection"},
      {TransportFailure::kConnect, "cannot connect to host"},
      {TransportFailure::kConnect, "name or service not known"},
      {TransportFailure::kConnect, "temporary failure in name resolution"},
      {TransportFailure::kConnect, "getaddrinfo"},
      {TransportFailure::kConnect, "enotfound"},
      {TransportFailure::kConnect, "network is unreachable"},
      {TransportFailure::kConnect, "no route to host"},
      {TransportFailure::kTimeout, "etimedout"},
      {TransportFailure::kReset, "connection reset"},
      {TransportFailure::kReset, "econnreset"},
      {TransportFailure::kReset, "connection aborted"},
      {TransportFailure::kReset, "connectionabortederror"},
      {TransportFailure::kReset, "broken pipe"},
      {TransportFailure::kReset, "epipe"},
      {TransportFailure::kReset, "socket hang up"},
      {TransportFailure::kReset, "connection broken"},
      {TransportFailure::kEof, "server disconnected"},
      {TransportFailure::kEof, "remote end closed connection"},
      {TransportFailure::kEof, "remotedisconnected"},
      {TransportFailure::kEof, "remoteprotocolerror"},
      {TransportFailure::kEof, "peer closed connection"},
      {TransportFailure::kEof, "incomplete chunked read"},
      {TransportFailure::kEof, "incompleteread"},
      {TransportFailure::kEof, "chunkedencodingerror"},
      {TransportFailure::kEof, "response payload is not completed"},
      {TransportFailure::kEof, "other side closed"},
      {TransportFailure::kEof, "premature close"},
      {TransportFailure::kEof, "unexpected eof"},
  };
  for (const auto& w : kWords) {
    if (contains(text, w.phrase)) return w.failure;
  }
  return std::nullopt;
}

Classification classify(const UpstreamOutcome& in, const RuleTable& rules) {
  Classification out;
  auto parsed = parse_rate_limit_headers(in.headers, in.dialect, in.now);
  out.ratelimit = std::move(parsed.snapshot);
  out.diagnostics = std::move(parsed.diagnostics);

  const bool success_status = in.status && *in.status >= 200 && *in.status < 300;
  // The hot path: a 2xx JSON body in which the word "error" never occurs
  // carries no in-band error, so parsing it could only say "success".
  const bool plain_success =
      success_status && !in.stream && in.body.starts_with('{') && !contains(in.body, "error");
  ErrorBody body;
  if (plain_success) {
    body.json = true;
  } else {
    body = parse_error_body(in.body);
  }
  out.message = truncate_message(body, in.body);

  // OpenRouter echoes its rate-limit headers inside the body.
  if (!body.echoed_headers.empty()) {
    HeaderList echoed;
    for (const auto& [n, v] : body.echoed_headers) echoed.add(n, v);
    auto extra = parse_rate_limit_headers(echoed.view(), in.dialect, in.now);
    for (auto& b : extra.snapshot.buckets) {
      if (!out.ratelimit.find(b.name)) out.ratelimit.buckets.push_back(std::move(b));
    }
  }

  std::optional<StreamState> stream = in.stream;
  if (!stream && body.sse.is_sse) {
    stream = StreamState{.terminal_seen = body.sse.terminal_seen, .data_seen = body.sse.data_seen};
  }

  // 1. The body's own words, when it carries an error (at any status,
  //    including a 200 with an in-band error frame).
  const bool has_error_status = in.status && !success_status;
  bool decided = false;
  if (body.has_error || has_error_status || !body.json) {
    for (const auto& rule : rules.rules()) {
      if (!rule.valid() || !rule_matches(rule, in, body)) continue;
      // A 2xx body with no error marker must not be classified by its text.
      if (success_status && !body.has_error) break;
      out.cls = rule.cls;
      out.rule = rule.name;
      decided = true;
      break;
    }
  }
  // Azure streams report a content filter through finish_reason only.
  if (!decided && body.sse.finish_reason == "content_filter") {
    out.cls = ErrorClass::kContentPolicy, out.rule = "finish-reason-content-filter";
    decided = true;
  }

  // 2. Transport failures and broken streams. Without a status, the text
  //    alone may name one: Python agents report "[SSL: BAD_RECORD_MAC] ..."
  //    or "Connection reset by peer" as an exception's words. Read as if the
  //    shell had seen the failure itself: a blip that never benches a key.
  TransportFailure transport = in.transport;
  bool transport_from_words = false;
  if (!decided && transport == TransportFailure::kNone && !in.status && !body.haystack.empty()) {
    if (auto t = transport_from_text(body.haystack)) {
      transport = *t;
      transport_from_words = true;
    }
  }
  if (!decided && transport != TransportFailure::kNone) {
    switch (transport) {
      case TransportFailure::kConnect:
      case TransportFailure::kTimeout:
      case TransportFailure::kTls: out.cls = ErrorClass::kTimeout; break;
      case TransportFailure::kReset:
      case TransportFailure::kEof:
        // Only keep-alives before the close (DeepSeek's queue): the provider
        // never started; that is a timeout, not a dropped stream.
        out.cls = (stream && !stream->data_seen) ? ErrorClass::kTimeout : ErrorClass::kStreamDrop;
        break;
      case TransportFailure::kNone: break;
    }
    out.rule = transport_from_words ? "transport-text" : "transport";
    decided = true;
  }
  if (!decided && stream && (success_status || !in.status) && !stream->terminal_seen) {
    out.cls = stream->data_seen ? ErrorClass::kStreamDrop : ErrorClass::kTimeout;
    out.rule = "stream-without-terminal-event";
    decided = true;
  }

  // 3. The status alone.
  if (!decided && has_error_status) {
    out.cls = class_of_status(*in.status);
    out.rule = "status-" + std::to_string(*in.status);
    decided = true;
    // A bare, wordless 400 on a near-full context is an overflow in disguise.
    const bool wordless = body.message.size() < 30 || iequals(body.message, "error");
    if (*in.status == 400 && wordless && is_large_session(in.request, 0.4, 80000, 80)) {
      out.cls = ErrorClass::kContextOverflow;
      out.rule = "bare-400-large-session";
    }
  }
  // An error the rules do not know, inside a 2xx body or frame: its own
  // numeric code is the best status we have (vLLM: {"error":{"code":500}}).
  if (!decided && body.has_error) {
    for (const auto& c : body.codes) {
      if (auto n = parse_integer(c); n && *n >= 400 && *n <= 599) {
        out.cls = class_of_status(static_cast<int>(*n));
        out.rule = "in-band-code-" + c;
        decided = true;
        break;
      }
    }
    if (!decided) {
      out.cls = ErrorClass::kUnknown;
      out.rule = "in-band-error";
      decided = true;
    }
  }
  if (!decided) {
    if (success_status || (!in.status && in.body.empty())) {
      out.ok = success_status;
      out.rule = success_status ? "success" : "no-outcome";
      if (out.ok) return out;
    }
    out.cls = ErrorClass::kUnknown;
    if (out.rule.empty()) out.rule = "unknown";
  }

  // 4. The wait hint: retry-after-ms > retry-after > body text > reset headers.
  const TimePoint ref = reference_time(in);
  std::optional<Duration> wait = out.ratelimit.retry_after;
  std::string wait_source = wait ? "retry-after" : "";
  // Azure: a 1 s retry-after on an emptied token axis re-fails; the token
  // renewal period is the honest wait (providers.md §0.1 caveat).
  if (const auto* tokens = out.ratelimit.find("tokens");
      tokens && tokens->remaining == 0 && tokens->window &&
      tokens->reset_after.value_or(Duration::zero()) <= Duration::zero() &&
      out.ratelimit.limit_type != "requests" && wait && *wait < *tokens->window) {
    wait = *tokens->window;
  }
  const bool gemini_daily =
      std::any_of(body.quota_ids.begin(), body.quota_ids.end(),
                  [](const std::string& q) { return contains(ascii_lower(q), "perday"); });
  if (!wait) {
    wait = body_wait_hint(body.haystack, ref);
    if (!wait && body.retry_delay && !gemini_daily) wait = body.retry_delay;
    if (!wait && body.retry_after_s && *body.retry_after_s > 0) {
      wait = from_seconds(*body.retry_after_s);
    }
    // Gemini's RetryInfo on a daily quota is not the reset time.
    if (wait && gemini_daily && wait == body.retry_delay) wait.reset();
    if (wait) wait_source = "body";
  }
  if (!wait) {
    if (const auto* b = out.ratelimit.most_exhausted(); b && b->reset_after) {
      wait = b->reset_after;
      wait_source = "reset-header";
    }
  }
  out.wait = wait;
  out.wait_source = wait ? wait_source : "";

  // Every provider that documents a 503 means capacity by it (OpenAI,
  // Gemini, DeepSeek, Together, Fireworks); generic server wording at 503
  // must not turn a back-off into a retry storm on a struggling provider.
  if (out.cls == ErrorClass::kServerError && in.status == 503) {
    out.cls = ErrorClass::kOverloaded;
    out.rule += "+503";
  }

  // 5. Refinements that need the wait: a hint longer than any sensible
  //    in-request wait means a long window is empty.
  if ((out.cls == ErrorClass::kRateLimit) && wait && *wait > kQuotaHintThreshold) {
    out.cls = ErrorClass::kQuotaExhausted;
    out.rule += "+long-wait";
  }

  out.traits = traits_of(out.cls);
  // OpenRouter says outright whether an availability error is retryable.
  if (body.availability_retryable) out.traits.retryable = *body.availability_retryable;
  // x-should-retry is the provider's explicit word (Stainless SDK contract).
  if (out.ratelimit.should_retry) out.traits.retryable = *out.ratelimit.should_retry;
  // Once bytes reached the client the response cannot be replayed elsewhere.
  if (stream && stream->first_byte_sent) {
    out.traits.retryable = false;
    out.traits.fallback = false;
  }

  if (out.traits.cool_key && !out.traits.disable_key) {
    // Provider reset hints win for limit classes; billing and auth benches
    // are not shortened by a transient-looking retry-after.
    const bool hint_applies = out.cls == ErrorClass::kRateLimit ||
                              out.cls == ErrorClass::kConcurrencyLimit ||
                              out.cls == ErrorClass::kQuotaExhausted;
    out.cooldown =
        (hint_applies && wait && *wait > Duration::zero()) ? *wait : out.traits.default_cooldown;
  }
  return out;
}

}  // namespace sluice::policy
