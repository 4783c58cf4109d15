#include "sluice/net/http_server.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_set>
#include <vector>

#include "sluice/core/json_text.hpp"
#include "sluice/core/text.hpp"
#include "sluice/net/http_head.hpp"
#include "sluice/net/watchdog.hpp"
#include "sluice/net/write_now.hpp"

namespace sluice::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string_view reason_code(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 431: return "headers_too_large";
    default: return "server_error";
  }
}

// One client connection: the socket and its watchdog. On expiry the
// watchdog cancels pending I/O but keeps the socket open, so the server can
// still answer 408 (Beast's tcp_stream would close it).
struct Connection {
  tcp::socket socket;
  Watchdog watchdog;
  bool busy = false;  // a request is being handled: a drain lets it finish

  explicit Connection(tcp::socket s)
      : socket(std::move(s)), watchdog(socket.get_executor(), [this] {
          beast::error_code ignored;
          socket.cancel(ignored);
        }) {}

  void arm(Duration d) { watchdog.arm(d); }
  void disarm() { watchdog.disarm(); }
  bool timed_out() const { return watchdog.expired(); }
  void close() {
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
};

class BeastWriter final : public ResponseWriter {
 public:
  // `head_only`: the request was a HEAD, so the answer is its head alone
  // (RFC 9110 §9.3.2): a body after it would be read as the next response.
  BeastWriter(Connection& conn, const ServerOptions& opts, unsigned version, bool keep_alive,
              bool head_only)
      : conn_(conn),
        opts_(opts),
        version_(version),
        keep_alive_(keep_alive),
        head_only_(head_only) {}

  awaitable<bool> send(int status, const HeaderFields& headers, std::string body) override {
    if (started_ || aborted_) co_return false;
    started_ = true;
    const std::string head = response_head(status, version_, headers, keep_alive_, body.size());
    if (head_only_) body.clear();  // Content-Length still says what a GET would get
    const std::array<asio::const_buffer, 2> whole{asio::buffer(head), asio::buffer(body)};
    beast::error_code ec;
    std::size_t sent = 0;
    if (!wrote_at_once(whole, sent, ec)) ec = co_await timed_rest(unsent(whole, sent));
    finished_ = !ec;
    co_return !ec;
  }

  awaitable<bool> begin_stream(int status, const HeaderFields& headers) override {
    if (started_ || aborted_) co_return false;
    started_ = true;
    const std::string head = response_head(status, version_, headers, keep_alive_, std::nullopt);
    const asio::const_buffer whole = asio::buffer(head);
    beast::error_code ec;
    std::size_t sent = 0;
    if (!wrote_at_once(whole, sent, ec)) ec = co_await timed_rest(unsent(whole, sent));
    streaming_ = !ec;
    co_return !ec;
  }

  awaitable<bool> write_chunk(std::string_view data) override {
    if (!streaming_ || aborted_) co_return false;
    if (data.empty() || head_only_) co_return true;  // an empty chunk would end the body
    const auto chunk = http::make_chunk(asio::buffer(data));
    beast::error_code ec;
    std::size_t sent = 0;
    if (!wrote_at_once(chunk, sent, ec)) ec = co_await timed_rest(unsent(chunk, sent));
    if (ec) streaming_ = false;
    co_return !ec;
  }

  awaitable<bool> end_stream() override {
    if (!streaming_ || aborted_) co_return false;
    if (head_only_) {
      streaming_ = false;
      finished_ = true;
      co_return true;
    }
    const auto last = http::make_chunk_last();
    beast::error_code ec;
    std::size_t sent = 0;
    if (!wrote_at_once(last, sent, ec)) ec = co_await timed_rest(unsent(last, sent));
    streaming_ = false;
    finished_ = !ec;
    co_return !ec;
  }

  void abort() override {
    aborted_ = true;
    conn_.close();
  }

  bool started() const override { return started_; }
  bool finished() const { return finished_; }
  bool aborted() const { return aborted_; }

 private:
  // True when the kernel took all of `buffers` at once, or the write failed
  // (`ec`): no loop turn, no coroutine (see write_now.hpp). Else `sent`
  // bytes went and the caller awaits timed_rest(unsent(buffers, sent)).
  template <class Buffers>
  bool wrote_at_once(const Buffers& buffers, std::size_t& sent, beast::error_code& ec) {
    sent = write_now(conn_.socket, buffers, ec);
    return ec || sent == beast::buffer_bytes(buffers);
  }
  template <class Rest>
  awaitable<beast::error_code> timed_rest(Rest rest) {
    conn_.arm(opts_.write_timeout);
    const beast::error_code ec = co_await write_rest(conn_.socket, std::move(rest));
    conn_.disarm();
    co_return ec;
  }

  Connection& conn_;
  const ServerOptions& opts_;
  unsigned version_;
  bool keep_alive_;
  bool started_ = false;
  bool streaming_ = false;
  bool head_only_ = false;
  bool finished_ = false;
  bool aborted_ = false;
};

// Parses a request straight into the HttpRequest handlers see. Beast's own
// parser would build a field list (an allocation per field) only for it to
// be copied out; Beast's basic_parser still does all of HTTP/1.1's framing
// (lengths, chunks, keep-alive, the limits).
class RequestParser final : public http::basic_parser<true> {
 public:
  HttpRequest request;  // as much as has been parsed
  unsigned version = 11;
  // The body bytes being put are already in place at the end of
  // request.body (read_request read them there): count them, do not copy.
  bool body_in_place = false;

 private:
  void on_request_impl(http::verb, beast::string_view method, beast::string_view target, int v,
                       beast::error_code&) override {
    request.method.assign(method.data(), method.size());
    request.target.assign(target.data(), target.size());
    request.path = request.target.substr(0, request.target.find('?'));
    version = static_cast<unsigned>(v);
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(http::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    request.headers.add(name, value);
  }
  void on_header_impl(beast::error_code&) override {}
  // The length is within body_limit here (checked with the head).
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code&) override {
    if (length) request.body.reserve(static_cast<std::size_t>(*length) + kBodyPadding);
  }
  std::size_t on_body_impl(beast::string_view piece, beast::error_code&) override {
    if (!body_in_place) request.body.append(piece.data(), piece.size());
    return piece.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view piece,
                                 beast::error_code&) override {
    request.body.append(piece.data(), piece.size());
    return piece.size();
  }
  void on_finish_impl(beast::error_code&) override {}
};

// Receive sizes: a request's head arrives in one read of this, and a body
// declared larger is read in pieces as large as what is still missing, up to
// kMaxBodyRead (Beast's own read asks for 512 bytes at a time when its buffer
// is small: ~250 receive calls for the 128 KiB bodies agents send).
constexpr std::size_t kHeadRead = 4096;
constexpr std::size_t kMaxBodyRead = 256 * 1024;
// A connection's buffer grown past this is given back once its request is read,
// so idle keep-alive connections hold little.
constexpr std::size_t kKeptBuffer = 16 * 1024;
// A declared body at least this large, of which nothing is buffered yet, is
// read straight into the request's body string: through the connection's
// buffer it cost a copy of every byte (at 256 KiB, an eighth of sluice's CPU).
constexpr std::size_t kDirectBody = 16 * 1024;

// Reads the rest of a declared body into the end of parser.request.body, then
// lets the parser count it (it must still see every byte to finish the
// message). Room is made only for bytes already received, so a client that
// declares a large body and sends it slowly holds no more memory than it
// sent. nullopt: done; else the error, as read_request returns it.
awaitable<std::optional<beast::error_code>> read_body_in_place(tcp::socket& socket,
                                                               RequestParser& parser,
                                                               std::size_t size) {
  std::string& body = parser.request.body;
  beast::error_code ec;
  for (std::size_t left = size; left > 0;) {
    std::size_t ready = socket.available(ec);
    if (!ec && ready == 0) {
      auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_read, kTuple);
      ec = wait_ec;
      if (!ec) ready = std::max<std::size_t>(socket.available(ec), 1);  // 0: the read says why
    }
    if (ec) co_return ec;
    const std::size_t at = body.size();
    body.resize(at + std::min(ready, left));  // reserved with the head, padding included
    const std::size_t got = socket.read_some(asio::buffer(body.data() + at, body.size() - at), ec);
    body.resize(at + got);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      continue;
    }
    if (ec == asio::error::eof) co_return beast::error_code(http::error::partial_message);
    if (ec) co_return ec;
    parser.body_in_place = true;
    for (std::size_t used = 0; !ec && used < got;) {
      const std::size_t n = parser.put(asio::buffer(body.data() + at + used, got - used), ec);
      if (ec == http::error::need_more) ec = {};
      if (n == 0 && !ec) ec = http::error::partial_message;  // a length body takes every byte
      used += n;
    }
    parser.body_in_place = false;
    if (ec) co_return ec;
    left -= got;
  }
  co_return std::nullopt;
}

// Reads one request into `parser`, as http::async_read does (the same error
// codes), but sizing each receive by what the request still needs.
awaitable<beast::error_code> read_request(tcp::socket& socket, beast::flat_buffer& buffer,
                                          RequestParser& parser) {
  beast::error_code ec;
  while (true) {
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
      } else if (ec) {
        co_return ec;
      }
      if (parser.is_done()) co_return ec;
      if (used > 0 && buffer.size() > 0) continue;  // more complete elements buffered
    }
    std::size_t want = kHeadRead;
    if (parser.is_header_done()) {
      const auto remaining = parser.content_length_remaining();
      if (remaining && *remaining >= kDirectBody && buffer.size() == 0) {
        const auto failed =
            co_await read_body_in_place(socket, parser, static_cast<std::size_t>(*remaining));
        if (failed) co_return *failed;
        if (parser.is_done()) co_return ec;
        continue;
      }
      want = remaining ? static_cast<std::size_t>(std::min<std::uint64_t>(*remaining, kMaxBodyRead))
                       : kMaxBodyRead / 4;  // chunked: no declared size
      want = std::max(want, kHeadRead);
    }
    auto [rec, n] = co_await socket.async_read_some(buffer.prepare(want), kTuple);
    if (rec == asio::error::eof) {
      if (!parser.got_some()) co_return http::error::end_of_stream;
      parser.put_eof(ec);
      if (!ec && !parser.is_done()) ec = http::error::partial_message;
      co_return ec;
    }
    if (rec) co_return rec;
    buffer.commit(n);
  }
}

}  // namespace

std::string default_error_body(int status, std::string_view code, std::string_view message,
                               const HttpRequest& /*refused*/) {
  nlohmann::json j = {{"error",
                       {{"message", message},
                        {"type", status >= 500 ? "server_error" : "invalid_request_error"},
                        {"code", code}}}};
  return json_text(j);
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::any_io_executor executor;
  ServerOptions opts;
  Handler handler;
  tcp::acceptor acceptor;
  std::unordered_set<Connection*> open;
  bool stopped = false;

  Impl(asio::any_io_executor ex, ServerOptions o, Handler h)
      : executor(ex), opts(std::move(o)), handler(std::move(h)), acceptor(ex) {
    if (!opts.error_body) opts.error_body = default_error_body;
  }

  // `parser`: the request being read, when its head may have arrived.
  awaitable<void> reply_error(Connection& conn, int status, std::string_view message,
                              const RequestParser* parser = nullptr) {
    HttpRequest refused;
    // Whatever of the head was parsed: a body over the limit by its declared
    // length fails while the head is finished, before is_header_done().
    if (parser != nullptr && parser->got_some()) refused = parser->request;
    const std::string body = opts.error_body(status, reason_code(status), message, refused);
    HeaderFields fields;  // not a braced list: g++ 12 coroutines (decision 0005)
    fields.add("content-type", "application/json");
    const std::string head = response_head(status, 11, fields, false, body.size());
    const std::array<asio::const_buffer, 2> whole{asio::buffer(head), asio::buffer(body)};
    conn.arm(opts.write_timeout);
    co_await asio::async_write(conn.socket, whole, kTuple);
    conn.disarm();
  }

  awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();  // the server may be destroyed while sessions drain
    Connection conn(std::move(socket));
    {
      beast::error_code ignored;
      conn.socket.non_blocking(true, ignored);  // for write_now: would_block, never a stall
    }
    open.insert(&conn);
    struct Unregister {
      Impl* impl;
      Connection* c;
      ~Unregister() {
        c->disarm();
        impl->open.erase(c);
      }
    } unregister{this, &conn};

    beast::flat_buffer buffer;
    for (bool first = true; !stopped; first = false) {
      RequestParser parser;
      parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
      parser.body_limit(opts.max_body_bytes);
      conn.arm(first ? opts.header_timeout : opts.idle_timeout);
      const beast::error_code ec = co_await read_request(conn.socket, buffer, parser);
      const bool timed_out = conn.timed_out();
      conn.disarm();
      if (timed_out) {
        // An idle keep-alive connection just closes; a half-sent request gets a 408.
        if (buffer.size() > 0 || parser.got_some()) {
          co_await reply_error(conn, 408, "request not received in time", &parser);
        }
        break;
      }
      if (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
          ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
          ec == asio::error::eof) {
        break;
      }
      if (ec == http::error::header_limit) {
        co_await reply_error(conn, 431, "request headers are larger than the server accepts");
        break;
      }
      if (ec == http::error::body_limit) {
        co_await reply_error(conn, 413,
                             "request body is larger than the server accepts (" +
                                 std::to_string(opts.max_body_bytes) + " bytes)",
                             &parser);
        break;
      }
      if (ec) {
        co_await reply_error(conn, 400, "malformed HTTP request: " + ec.message(), &parser);
        break;
      }

      HttpRequest& req = parser.request;
      req.keep_alive = parser.keep_alive() && !stopped;

      // The handler owns the pace (latency, streams, hangs); writes arm their own timeout.
      BeastWriter writer(conn, opts, parser.version, req.keep_alive, req.method == "HEAD");
      conn.busy = true;
      co_await handler(req, writer);
      conn.busy = false;
      if (writer.aborted()) break;
      if (!writer.started()) {
        co_await reply_error(conn, 500, "the handler produced no response");
        break;
      }
      if (!writer.finished() || !req.keep_alive) break;
      if (buffer.capacity() > kKeptBuffer && buffer.size() == 0) buffer.shrink_to_fit();
    }
    beast::error_code ignored;
    conn.socket.shutdown(tcp::socket::shutdown_send, ignored);
  }

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopped) break;
        continue;  // EMFILE and friends: keep serving the connections we have
      }
      // Streams are written an event at a time: without TCP_NODELAY, Nagle
      // holds each event until the client's delayed ACK (~40 ms on Linux).
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      asio::co_spawn(executor, session(std::move(socket)), asio::detached);
    }
  }
};

HttpServer::HttpServer(asio::any_io_executor executor, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(executor, std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

std::string HttpServer::start() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->opts.host, ec);
  if (ec) return "invalid listen address \"" + impl_->opts.host + "\": " + ec.message();
  const tcp::endpoint ep(address, impl_->opts.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && impl_->opts.reuse_port) {
    impl_->acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true),
                               ec);
  }
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return "cannot listen on " + impl_->opts.host + ":" + std::to_string(impl_->opts.port) + ": " +
           ec.message();
  }
  asio::co_spawn(impl_->executor, impl_->accept_loop(), asio::detached);
  return {};
}

std::uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::stop() {
  if (!impl_) return;
  impl_->stopped = true;  // also after drain(): then it closes what the drain let run
  beast::error_code ec;
  impl_->acceptor.close(ec);
  for (Connection* c : impl_->open) c->close();
}

void HttpServer::drain() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;  // sessions end after their current request
  beast::error_code ec;
  impl_->acceptor.close(ec);
  // Copy: closing may end a session, which erases itself from `open`.
  const std::vector<Connection*> open(impl_->open.begin(), impl_->open.end());
  for (Connection* c : open) {
    if (!c->busy) c->close();
  }
}

std::size_t HttpServer::open_connections() const { return impl_->open.size(); }

std::size_t HttpServer::busy_connections() const {
  std::size_t n = 0;
  for (const Connection* c : impl_->open) n += c->busy ? 1 : 0;
  return n;
}

}  // namespace sluice::net
