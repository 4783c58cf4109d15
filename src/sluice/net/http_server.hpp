#pragma once
// A lean HTTP/1.1 server on Boost.Beast + C++20 coroutines, shared by the
// simulator and the gateway. It knows no policy: it parses requests with size
// and time limits, hands each to a coroutine handler, and writes whole or
// streamed (chunked) responses. Beast itself is included only by the .cpp.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/headers.hpp"
#include "sluice/core/time.hpp"
#include "sluice/ports/response_writer.hpp"

namespace sluice::net {

// The fields of a head sluice writes: names and values in one arena (two
// allocations per response, not two per field).
using HeaderFields = HeaderList;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  HeaderList headers;
  std::string body;
  bool keep_alive = true;
};

// How a handler answers (the engine's port, ports/response_writer.hpp).
using ResponseWriter = ports::ResponseWriter;

using Handler = std::function<boost::asio::awaitable<void>(HttpRequest&, ResponseWriter&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port; read it back with port()
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_body_bytes = 32 * 1024 * 1024;
  Duration header_timeout = std::chrono::seconds(30);  // whole request head + body
  Duration idle_timeout = std::chrono::seconds(75);    // between keep-alive requests
  Duration write_timeout = std::chrono::seconds(30);
  // SO_REUSEPORT: other processes may listen on the same port; the kernel
  // spreads new connections over them.
  bool reuse_port = false;
  // Renders the server's own error bodies (413, 431, 408, 400, 500), given
  // what was read of the refused request (as much of its head as was parsed),
  // so a caller can answer in the format the client speaks. Default:
  // OpenAI-style {"error":{"message","type","code"}} JSON.
  std::function<std::string(int status, std::string_view code, std::string_view message,
                            const HttpRequest& refused)>
      error_body;
};

class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor executor, ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Returns an error message, or empty on success.
  std::string start();
  std::uint16_t port() const;
  // Stops accepting and closes every open connection.
  void stop();
  // Stops accepting and closes idle connections; a connection whose request
  // is being handled (a stream too) finishes it, then closes. stop() ends
  // whatever is left.
  void drain();
  std::size_t open_connections() const;
  std::size_t busy_connections() const;  // handling a request right now

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The default error body: {"error":{"message":…,"type":…,"code":…}}.
std::string default_error_body(int status, std::string_view code, std::string_view message,
                               const HttpRequest& refused);

}  // namespace sluice::net
