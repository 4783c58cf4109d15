#include "sluice/net/upstream_client.hpp"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <unordered_map>
#include <vector>

#include "sluice/core/text.hpp"
#include "sluice/net/http_head.hpp"
#include "sluice/net/watchdog.hpp"
#include "sluice/net/write_now.hpp"

namespace sluice::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

asio::steady_timer::duration steady(Duration d) {
  return std::chrono::duration_cast<asio::steady_timer::duration>(d);
}

// Maps an I/O error to what the classifier needs to know about it.
ClientFailure failure_of(const beast::error_code& ec, bool timed_out) {
  if (timed_out || ec == asio::error::timed_out) return ClientFailure::kTimeout;
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == asio::error::connection_aborted) {
    return ClientFailure::kReset;
  }
  if (ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == http::error::partial_message || ec == ssl::error::stream_truncated) {
    return ClientFailure::kEof;
  }
  if (ec.category() == asio::error::get_ssl_category()) return ClientFailure::kTls;
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return ClientFailure::kProtocol;
  }
  return ClientFailure::kReset;
}

}  // namespace

std::string Endpoint::pool_key() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

std::variant<Endpoint, std::string> parse_base_url(std::string_view url) {
  Endpoint e;
  std::string_view rest = trim(url);
  if (istarts_with(rest, "https://")) {
    e.tls = true;
    rest.remove_prefix(8);
  } else if (istarts_with(rest, "http://")) {
    rest.remove_prefix(7);
  } else {
    return std::string("base_url must start with http:// or https://");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return std::string("base_url must not carry credentials; use keys");
  }
  if (authority.empty()) return std::string("base_url has no host");
  std::string_view host = authority;
  e.port = e.tls ? 443 : 80;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8080
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::string("base_url has a malformed IPv6 host");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return std::string("base_url has a malformed IPv6 host");
    }
    if (!authority.empty()) authority.remove_prefix(1);
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    authority.remove_prefix(colon + 1);
  } else {
    authority = {};
  }
  if (!authority.empty()) {
    auto port = parse_integer(authority);
    if (!port || *port < 1 || *port > 65535) return std::string("base_url has an invalid port");
    e.port = static_cast<std::uint16_t>(*port);
  }
  e.host = ascii_lower(host);
  e.base_path = std::string(path.substr(0, path.find_first_of("?#")));
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  return e;
}

// One pooled connection, plain or TLS, with a watchdog that cancels pending
// I/O when a timeout passes (so the failure is reported as a timeout).
struct Connection {
  std::string key;
  bool tls;
  tcp::socket plain;
  std::unique_ptr<ssl::stream<tcp::socket>> secure;
  beast::flat_buffer buffer;
  Watchdog watchdog;
  bool reused = false;

  Connection(asio::any_io_executor ex, std::string k, bool use_tls, ssl::context* ctx)
      : key(std::move(k)), tls(use_tls), plain(ex), watchdog(ex, [this] {
          beast::error_code ignored;
          socket().cancel(ignored);
        }) {
    if (tls) secure = std::make_unique<ssl::stream<tcp::socket>>(ex, *ctx);
  }
  tcp::socket& socket() { return tls ? secure->next_layer() : plain; }
  void arm(Duration d) { watchdog.arm(d); }
  void disarm() { watchdog.disarm(); }
  bool timed_out() const { return watchdog.expired(); }
  void close() {
    watchdog.stop();
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }
};

struct UpstreamClient::Impl : std::enable_shared_from_this<UpstreamClient::Impl> {
  asio::any_io_executor executor;
  ClientOptions opts;
  ssl::context tls_context{ssl::context::tls_client};
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  struct DnsEntry {
    tcp::resolver::results_type results;
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, DnsEntry> dns;

  Impl(asio::any_io_executor ex, ClientOptions o) : executor(ex), opts(std::move(o)) {
    beast::error_code ec;
    tls_context.set_default_verify_paths(ec);
    if (!opts.ca_file.empty()) tls_context.load_verify_file(opts.ca_file, ec);
    tls_context.set_verify_mode(opts.verify_tls ? ssl::verify_peer : ssl::verify_none);
  }

  void release(std::unique_ptr<Connection> conn) {
    auto& list = idle[conn->key];
    if (list.size() >= opts.max_idle_per_host) {
      conn->close();
      return;
    }
    conn->reused = true;
    conn->watchdog.stop();  // idle in the pool: nothing to time
    list.push_back(std::move(conn));
  }

  // Bytes that arrived on a connection while it sat idle answer no request
  // of ours (a provider writing past its response): reading them as the next
  // response would hand one client another's reply, so such a connection is
  // closed rather than reused.
  std::unique_ptr<Connection> take_idle(const std::string& key) {
    auto it = idle.find(key);
    while (it != idle.end() && !it->second.empty()) {
      auto conn = std::move(it->second.back());
      it->second.pop_back();
      beast::error_code ec;
      if (conn->socket().available(ec) == 0 && !ec) return conn;
      conn->close();
    }
    return nullptr;
  }

  awaitable<SendResult> connect(const Endpoint& ep, std::unique_ptr<Connection>& out) {
    SendResult r;
    const std::string key = ep.pool_key();
    auto conn = std::make_unique<Connection>(executor, key, ep.tls, &tls_context);
    auto now = std::chrono::steady_clock::now();
    auto cached = dns.find(key);
    if (cached == dns.end() || cached->second.expires <= now) {
      tcp::resolver resolver(executor);
      conn->arm(opts.connect_timeout);
      auto [ec, results] =
          co_await resolver.async_resolve(ep.host, std::to_string(ep.port), kTuple);
      conn->disarm();
      if (ec) {
        r.failure = ClientFailure::kConnect;
        r.message = "cannot resolve " + ep.host + ": " + ec.message();
        co_return r;
      }
      cached = dns.insert_or_assign(key, DnsEntry{results, now + steady(opts.dns_ttl)}).first;
    }
    conn->arm(opts.connect_timeout);
    auto [ec, endpoint] =
        co_await asio::async_connect(conn->socket(), cached->second.results, kTuple);
    const bool timed_out = conn->timed_out();
    conn->disarm();
    if (ec) {
      dns.erase(key);  // the address may have moved
      r.failure = ClientFailure::kConnect;
      r.message = "cannot connect to " + key + (timed_out ? ": timed out" : ": " + ec.message());
      co_return r;
    }
    beast::error_code ignored;
    conn->socket().set_option(tcp::no_delay(true), ignored);
    if (!ep.tls) conn->plain.non_blocking(true, ignored);  // for write_now
    if (ep.tls) {
      // SNI, and the certificate must name this host.
      if (!SSL_set_tlsext_host_name(conn->secure->native_handle(), ep.host.c_str())) {
        r.failure = ClientFailure::kTls;
        r.message = "cannot set TLS server name for " + ep.host;
        co_return r;
      }
      if (opts.verify_tls) conn->secure->set_verify_callback(ssl::host_name_verification(ep.host));
      conn->arm(opts.connect_timeout);
      auto [hec] = co_await conn->secure->async_handshake(ssl::stream_base::client, kTuple);
      const bool hs_timed_out = conn->timed_out();
      conn->disarm();
      if (hec) {
        r.failure = hs_timed_out ? ClientFailure::kTimeout : ClientFailure::kTls;
        r.message = "TLS handshake with " + key + " failed: " + hec.message();
        co_return r;
      }
    }
    out = std::move(conn);
    co_return r;
  }
};

namespace {

// Parses a response head into a HeaderList and collects body bytes (of a
// plain or chunked body) as they are parsed, straight from the connection's
// read buffer: Beast's own parser would build a field list and copy the
// body through a buffer of ours first.
class ResponseParser final : public http::basic_parser<false> {
 public:
  ResponseParser() { eager(true); }  // parse all that arrived, not a chunk per read
  int status = 0;
  HeaderList headers;
  std::string body;        // parsed, not yet handed out
  std::size_t chunks = 0;  // chunk headers parsed so far

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override {
    status = code;
  }
  void on_field_impl(http::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    headers.add(name, value);
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view piece, beast::error_code&) override {
    body.append(piece.data(), piece.size());
    return piece.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {
    ++chunks;
  }
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view piece,
                                 beast::error_code&) override {
    body.append(piece.data(), piece.size());
    return piece.size();
  }
  void on_finish_impl(beast::error_code&) override {}
};

// The most a response's read buffer grows to for a stream whose events come
// faster than it is read.
constexpr std::size_t kFastStreamBuffer = 16 * 1024;

class Response final : public UpstreamResponse {
 public:
  // `body_error`: the parser refused body bytes that came with the head;
  // next() reports it once the body parsed before it is taken.
  Response(std::shared_ptr<UpstreamClient::Impl> client, std::unique_ptr<Connection> conn,
           std::unique_ptr<ResponseParser> parser, beast::error_code body_error)
      : client_(std::move(client)),
        conn_(std::move(conn)),
        parser_(std::move(parser)),
        body_error_(body_error) {
    if (!body_error_ && parser_->is_done()) finish();
  }
  ~Response() override {
    if (conn_) conn_->close();  // abandoned mid-body: the connection cannot be reused
  }

  int status() const override { return parser_->status; }
  HeaderView headers() const override { return parser_->headers.view(); }
  bool complete() const override { return complete_; }
  ClientFailure failure() const override { return failure_; }
  std::string failure_message() const override { return message_; }

  std::optional<std::string> take_buffered() override {
    if (parser_->body.empty()) return std::nullopt;
    std::optional<std::string> out(std::move(parser_->body));
    parser_->body = std::string();
    return out;
  }

  awaitable<std::optional<std::string>> next() override {
    while (true) {
      if (auto held = take_buffered()) co_return held;
      if (complete_ || !conn_) co_return std::nullopt;
      if (body_error_) {
        fail(body_error_, false);
        co_return std::nullopt;
      }
      conn_->arm(client_->opts.idle_timeout);
      // if/else, not ?: — g++ 12 evaluates the wrong operand of a
      // conditional expression whose operands are co_await expressions.
      beast::error_code ec;
      const std::size_t chunks_before = parser_->chunks;
      if (conn_->tls) {
        auto [rec, n] =
            co_await http::async_read_some(*conn_->secure, conn_->buffer, *parser_, kTuple);
        ec = rec;
      } else {
        auto [rec, n] =
            co_await http::async_read_some(conn_->plain, conn_->buffer, *parser_, kTuple);
        ec = rec;
      }
      const bool timed_out = conn_->timed_out();
      conn_->disarm();
      if (ec) {
        fail(ec, timed_out);
        co_return std::nullopt;
      }
      if (parser_->is_done()) {
        finish();
        continue;
      }
      // Not eager, the read completed after one chunk; whatever else it
      // brought is parsed now, without reading on, so events that arrived
      // together go to the client in one write, not one write each (a
      // 300-event answer streamed at once cost 9.7 µs per event against
      // nginx's 5.5, nearly all of it in send system calls).
      if (conn_->buffer.size() > 0) {
        beast::error_code more;
        parser_->eager(true);
        conn_->buffer.consume(parser_->put(conn_->buffer.data(), more));
        parser_->eager(false);
        if (more && more != http::error::need_more) body_error_ = more;
        // More than one chunk came in one read: a provider faster than it
        // is read, so read more at a time (Beast reads what the buffer has
        // room for, 512 bytes unless it grows). A slow stream, one chunk per
        // read, keeps the small buffer.
        const bool fast = parser_->chunks > chunks_before + 1;
        if (fast && conn_ && conn_->buffer.capacity() < kFastStreamBuffer) {
          conn_->buffer.reserve(std::min(2 * conn_->buffer.capacity(), kFastStreamBuffer));
        }
        if (parser_->is_done()) finish();
      }
    }
  }

 private:
  void fail(beast::error_code ec, bool timed_out) {
    failure_ = failure_of(ec, timed_out);
    message_ =
        "reading the response body: " + (timed_out ? std::string("timed out") : ec.message());
    conn_->close();
    conn_.reset();
  }

  void finish() {
    complete_ = true;
    // Bytes already read past the end of this response belong to no request
    // of ours: the connection is not reused (see take_idle).
    if (conn_ && parser_->keep_alive() && conn_->buffer.size() == 0) {
      conn_->buffer.shrink_to_fit();  // an idle pooled connection holds no read buffer
      client_->release(std::move(conn_));
    } else if (conn_) {
      conn_->close();
      conn_.reset();
    }
  }

  std::shared_ptr<UpstreamClient::Impl> client_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<ResponseParser> parser_;
  beast::error_code body_error_;
  bool complete_ = false;
  ClientFailure failure_ = ClientFailure::kNone;
  std::string message_;
};

}  // namespace

UpstreamClient::UpstreamClient(asio::any_io_executor executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {}

UpstreamClient::~UpstreamClient() {
  for (auto& [key, list] : impl_->idle) {
    for (auto& c : list) c->close();
  }
}

std::size_t UpstreamClient::idle_connections() const {
  std::size_t n = 0;
  for (const auto& [key, list] : impl_->idle) n += list.size();
  return n;
}

awaitable<SendResult> UpstreamClient::send(Endpoint ep, std::string method, std::string target,
                                           HeaderFields headers, ports::OutgoingBody body) {
  auto impl = impl_;
  const bool default_port = ep.port == (ep.tls ? 443 : 80);
  const std::string head = request_head(
      method, ep.base_path + target,
      default_port ? ep.host : ep.host + ":" + std::to_string(ep.port), headers, body.size());

  // A pooled connection may have been closed by the server while idle; if it
  // fails before any response byte, try once more on a fresh one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> conn = impl->take_idle(ep.pool_key());
    if (!conn) {
      SendResult failed = co_await impl->connect(ep, conn);
      if (!conn) co_return failed;
    }
    const bool reused = conn->reused;

    conn->arm(impl->opts.first_byte_timeout);
    // The operations are awaited here, not through a helper coroutine per
    // stream type: each helper was a frame allocated and resumed per request.
    // if/else, not ?: (see Response::next).
    beast::error_code ec;
    const std::array<asio::const_buffer, 4> whole{asio::buffer(head), asio::buffer(body.before),
                                                  asio::buffer(body.middle),
                                                  asio::buffer(body.after)};
    if (conn->tls) {
      auto [wec, n] = co_await asio::async_write(*conn->secure, whole, kTuple);
      ec = wec;
    } else {
      // At once when the kernel takes it all (see write_now.hpp).
      const std::size_t sent = write_now(conn->plain, whole, ec);
      if (!ec && sent < head.size() + body.size()) {
        ec = co_await write_rest(conn->plain, unsent(whole, sent));
      }
    }
    auto parser = std::make_unique<ResponseParser>();
    parser->header_limit(static_cast<std::uint32_t>(impl->opts.max_header_bytes));
    parser->body_limit(impl->opts.max_body_bytes);
    if (!ec && conn->tls) {
      auto [rec, n] =
          co_await http::async_read_header(*conn->secure, conn->buffer, *parser, kTuple);
      ec = rec;
    } else if (!ec) {
      auto [rec, n] = co_await http::async_read_header(conn->plain, conn->buffer, *parser, kTuple);
      ec = rec;
    }
    beast::error_code body_error;
    if (!ec && !parser->is_done() && conn->buffer.size() > 0) {
      // async_read_header stops at the head (and turns eager off); the body
      // bytes that came with it are parsed here, so a reply that arrived
      // whole is complete now and its body needs no read operation.
      parser->eager(true);
      conn->buffer.consume(parser->put(conn->buffer.data(), body_error));
      // Off again for next(): Beast's async_read_some with an eager parser
      // keeps reading until the parser stops short of more input, which for
      // a stream is its end, so events would wait for each other (measured:
      // chunk gaps of 60 ms through sluice for a 10 ms stream). Not eager, it
      // completes after each chunk: an SSE event is relayed as it arrives.
      parser->eager(false);
      // need_more: the rest is still on its way, for next(). Any other error
      // is the body's, reported by next() as a read of the body would (the
      // head arrived: the request is not sent again).
      if (body_error == http::error::need_more) body_error = {};
    }
    const bool timed_out = conn->timed_out();
    conn->disarm();
    if (!ec) {
      co_return SendResult{
          std::make_unique<Response>(impl, std::move(conn), std::move(parser), body_error),
          ClientFailure::kNone,
          {}};
    }
    conn->close();
    const ClientFailure f = failure_of(ec, timed_out);
    if (reused && !timed_out && (f == ClientFailure::kEof || f == ClientFailure::kReset)) continue;
    SendResult r;
    r.failure = f;
    r.message = method + " " + ep.pool_key() + ep.base_path + target + ": " +
                (timed_out ? std::string("no response head in time") : ec.message());
    co_return r;
  }
  co_return SendResult{nullptr, ClientFailure::kReset, "connection reset twice"};
}

namespace {

// One provider's endpoint over its own pooled client.
class EndpointUpstream final : public ports::Upstream {
 public:
  EndpointUpstream(boost::asio::any_io_executor executor, ClientOptions options, Endpoint endpoint)
      : client_(executor, options), endpoint_(std::move(endpoint)) {}

  boost::asio::awaitable<SendResult> send(std::string method, std::string path, HeaderList headers,
                                          ports::OutgoingBody body) override {
    // A base URL with a path ("https://api.z.ai/api/paas/v4", ".../v1")
    // stands for the API's version prefix: "/v1/chat/completions" goes to
    // "<base path>/chat/completions".
    if (!endpoint_.base_path.empty() && path.starts_with("/v1/")) path.erase(0, 3);
    co_return co_await client_.send(endpoint_, std::move(method), std::move(path),
                                    std::move(headers), std::move(body));
  }

 private:
  UpstreamClient client_;
  Endpoint endpoint_;
};

}  // namespace

ports::UpstreamFactory upstream_factory(boost::asio::any_io_executor executor,
                                        ClientOptions defaults) {
  return [executor, defaults](const std::string& base_url, const ports::UpstreamOptions& o) {
    ports::MadeUpstream made;
    auto parsed = parse_base_url(base_url);
    if (auto* error = std::get_if<std::string>(&parsed)) {
      made.error = *error;
      return made;
    }
    ClientOptions co = defaults;
    co.connect_timeout = o.connect_timeout;
    co.first_byte_timeout = o.first_byte_timeout;
    co.idle_timeout = o.idle_timeout;
    made.upstream =
        std::make_unique<EndpointUpstream>(executor, co, std::get<Endpoint>(std::move(parsed)));
    return made;
  };
}

}  // namespace sluice::net
