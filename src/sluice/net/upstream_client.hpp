#pragma once
// The gateway's HTTP/1.1 client towards providers: keep-alive connection
// pools per (host, port, TLS), TLS through OpenSSL with certificate and host
// name verification on by default (system CA store), cached DNS, and bodies
// read piece by piece as they arrive so SSE is relayed, never buffered whole.
// Failures come back as a kind the classifier understands, never as throws.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "sluice/core/time.hpp"
#include "sluice/net/http_server.hpp"  // HeaderFields
#include "sluice/ports/upstream.hpp"

namespace sluice::net {

struct Endpoint {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string base_path;  // "/api/paas/v4", no trailing slash; "" for the root
  std::string pool_key() const;
};

// "https://api.z.ai/api/paas/v4" → Endpoint; an error message otherwise.
std::variant<Endpoint, std::string> parse_base_url(std::string_view url);

struct ClientOptions {
  Duration connect_timeout = std::chrono::seconds(10);
  Duration first_byte_timeout = std::chrono::seconds(120);  // until the response head
  Duration idle_timeout = std::chrono::seconds(120);        // between body pieces
  std::size_t max_idle_per_host = 256;  // like nginx keepalive; fewer means reconnects under load
  std::size_t max_header_bytes = 256 * 1024;
  std::uint64_t max_body_bytes = 512ull * 1024 * 1024;  // a provider sending more is broken
  Duration dns_ttl = std::chrono::seconds(60);
  bool verify_tls = true;
  std::string ca_file;  // extra CA bundle (tests, private CAs); system store always loaded
};

// What a send returns, as the engine's port defines it (ports/upstream.hpp).
using ports::ClientFailure;
using ports::SendResult;
using ports::to_string;
using ports::UpstreamResponse;

class UpstreamClient {
 public:
  UpstreamClient(boost::asio::any_io_executor executor, ClientOptions options);
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // `target` is the path (and query) after the endpoint's base path. All
  // parameters are taken by value: a coroutine outlives its caller's temporaries.
  boost::asio::awaitable<SendResult> send(Endpoint endpoint, std::string method, std::string target,
                                          HeaderFields headers, ports::OutgoingBody body);
  std::size_t idle_connections() const;

  struct Impl;  // public only so the response type in the .cpp can name it

 private:
  std::shared_ptr<Impl> impl_;
};

// The engine's UpstreamFactory on this client: one connection-pooling
// client per provider, its base URL parsed once (a bad one is the error),
// and each API path placed under the base URL's path.
ports::UpstreamFactory upstream_factory(boost::asio::any_io_executor executor,
                                        ClientOptions defaults = {});

}  // namespace sluice::net
