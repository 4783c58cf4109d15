#pragma once
// The port requests leave through: one provider's HTTP endpoint. net/
// implements it (connection pools, TLS, timeouts); engine tests implement it
// with scripted answers in memory. Failures come back as values the
// classifier understands, never as throws.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/headers.hpp"
#include "sluice/core/time.hpp"

namespace sluice::ports {

enum class ClientFailure : std::uint8_t {
  kNone,
  kConnect,   // DNS, refused, unreachable, connect timeout
  kTimeout,   // no response head / no body bytes in time
  kReset,     // connection reset
  kEof,       // peer closed before the response was complete
  kTls,       // handshake or verification failure
  kProtocol,  // not HTTP, bad framing, head too large
};

std::string_view to_string(ClientFailure f);

// One exchange after its response head arrived. Owns the connection until
// the body is read to the end (then it goes back to the pool) or the object
// is destroyed early (then the connection is closed).
class UpstreamResponse {
 public:
  virtual ~UpstreamResponse() = default;
  virtual int status() const = 0;
  // Views into the response head, valid while this object lives.
  virtual HeaderView headers() const = 0;
  // The next piece of the body as it arrives. nullopt: the body ended
  // (complete() is true) or failed (failure() says how).
  virtual boost::asio::awaitable<std::optional<std::string>> next() = 0;
  // The body bytes already read, without waiting (no coroutine to make: a
  // small reply arrives whole with its head). nullopt when none is held;
  // next() then waits for more or says the body ended.
  virtual std::optional<std::string> take_buffered() = 0;
  virtual bool complete() const = 0;
  virtual ClientFailure failure() const = 0;
  virtual std::string failure_message() const = 0;
};

struct SendResult {
  std::unique_ptr<UpstreamResponse> response;  // set on success
  ClientFailure failure = ClientFailure::kNone;
  std::string message;  // never contains request headers (they carry keys)
};

// A request body on its way out: `before`, `middle`, `after`, written back
// to back. The caller's own bytes go as views, valid until send() completes
// (they live in the request's frame), so splicing the upstream model into a
// 200 KiB conversation costs the model's bytes, not a copy of the body.
struct OutgoingBody {
  std::string_view before;
  std::string middle;
  std::string_view after;
  std::size_t size() const { return before.size() + middle.size() + after.size(); }
  std::string joined() const {
    std::string s;
    s.reserve(size());
    s.append(before).append(middle).append(after);
    return s;
  }
};

// One provider's endpoint.
class Upstream {
 public:
  virtual ~Upstream() = default;
  // `path` is the API path as on the front door ("/v1/chat/completions");
  // the endpoint places it under its base URL. By value: a coroutine
  // outlives its caller's temporaries.
  virtual boost::asio::awaitable<SendResult> send(std::string method, std::string path,
                                                  HeaderList headers, OutgoingBody body) = 0;
};

struct UpstreamOptions {
  Duration connect_timeout = std::chrono::seconds(10);
  Duration first_byte_timeout = std::chrono::seconds(120);  // until the response head
  Duration idle_timeout = std::chrono::seconds(120);        // between body pieces
};

// An endpoint for a provider's base URL, or why there is none (a base URL
// that does not parse).
struct MadeUpstream {
  std::unique_ptr<Upstream> upstream;
  std::string error;
};
using UpstreamFactory =
    std::function<MadeUpstream(const std::string& base_url, const UpstreamOptions& options)>;

}  // namespace sluice::ports
