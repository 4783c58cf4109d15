#include "testing/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "sluice/core/text.hpp"

namespace sluice::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  std::uint16_t port;
  std::chrono::milliseconds timeout;
  bool open = false;

  void connect() {
    if (open) return;
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    open = true;
  }

  HttpResponse read_response() {
    HttpResponse out;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    beast::error_code ec;
    stream.expires_after(timeout);
    http::read(stream, buffer, parser, ec);
    if (parser.is_header_done()) {
      const auto& msg = parser.get();
      out.status = static_cast<int>(msg.result_int());
      for (const auto& f : msg) out.headers.emplace_back(f.name_string(), f.value());
      out.body = msg.body();
    }
    out.complete = !ec && parser.is_done();
    if (ec) {
      out.error = ec.message();
      open = false;
      beast::error_code ignored;
      stream.socket().close(ignored);
      buffer.clear();
    } else if (!parser.get().keep_alive()) {
      open = false;
      beast::error_code ignored;
      stream.socket().close(ignored);
      buffer.clear();
    }
    return out;
  }
};

HttpClient::HttpClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() = default;

bool HttpClient::connected() const { return impl_->open; }

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 const std::string& body) {
  try {
    impl_->connect();
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [n, v] : headers) req.set(n, v);
    req.body() = body;
    req.prepare_payload();
    impl_->stream.expires_after(impl_->timeout);
    http::write(impl_->stream, req);
    return impl_->read_response();
  } catch (const std::exception& e) {
    impl_->open = false;
    HttpResponse r;
    r.error = e.what();
    return r;
  }
}

HttpResponse HttpClient::raw(const std::string& bytes) {
  try {
    impl_->connect();
    impl_->stream.expires_after(impl_->timeout);
    asio::write(impl_->stream, asio::buffer(bytes));
    return impl_->read_response();
  } catch (const std::exception& e) {
    impl_->open = false;
    HttpResponse r;
    r.error = e.what();
    return r;
  }
}

std::string exchange_raw(std::uint16_t port, const std::string& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(sock, asio::buffer(bytes));
  std::string out;
  boost::system::error_code ec;
  asio::read(sock, asio::dynamic_buffer(out), ec);  // until EOF
  return out;
}

}  // namespace sluice::testing
