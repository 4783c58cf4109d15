// TLS to a loopback upstream: certificates from a throwaway test CA are
// trusted only when that CA is configured; otherwise the handshake is refused
// with a clear TLS failure (verification is on by default).
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "sluice/net/upstream_client.hpp"
#include "testing/test_certs.hpp"

namespace sluice::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// A one-route HTTPS upstream: answers every request with {"tls":true}.
class TlsUpstream {
 public:
  explicit TlsUpstream(const testing::TestPki& pki)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    ctx_.use_certificate_chain(asio::buffer(pki.server_cert_pem));
    ctx_.use_private_key(asio::buffer(pki.server_key_pem), ssl::context::pem);
    asio::co_spawn(io_, accept(), asio::detached);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  asio::io_context& io() { return io_; }

 private:
  awaitable<void> accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }
  awaitable<void> serve(tcp::socket socket) {
    ssl::stream<tcp::socket> stream(std::move(socket), ctx_);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
    if (hec) co_return;  // the client refused our certificate
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [rec, n] = co_await http::async_read(stream, buffer, req, kTuple);
    if (rec) co_return;
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"tls":true})";
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, kTuple);
    co_await stream.async_shutdown(kTuple);
  }

  asio::io_context io_;
  ssl::context ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_;
};

struct Result {
  int status = 0;
  std::string body;
  ClientFailure failure = ClientFailure::kNone;
  std::string message;
};

awaitable<Result> fetch(UpstreamClient& client, Endpoint ep) {
  Result r;
  ports::OutgoingBody none;  // named: no temporary inside co_await (g++ 12)
  SendResult sent = co_await client.send(ep, "GET", "/v1/models", {}, std::move(none));
  if (!sent.response) {
    r.failure = sent.failure;
    r.message = sent.message;
    co_return r;
  }
  r.status = sent.response->status();
  while (auto piece = co_await sent.response->next()) r.body += *piece;
  co_return r;
}

Result run_against(TlsUpstream& upstream, ClientOptions opts, std::string host) {
  UpstreamClient client(upstream.io().get_executor(), opts);
  Endpoint ep;
  ep.tls = true;
  ep.host = std::move(host);
  ep.port = upstream.port();
  std::promise<Result> p;
  asio::co_spawn(upstream.io(), fetch(client, ep), [&](std::exception_ptr e, Result r) {
    if (e) {
      p.set_exception(e);
    } else {
      p.set_value(std::move(r));
    }
  });
  std::thread t([&] { upstream.io().run_for(std::chrono::seconds(10)); });
  Result r = p.get_future().get();
  upstream.io().stop();
  t.join();
  upstream.io().restart();
  return r;
}

class UpstreamTls : public ::testing::Test {
 protected:
  void SetUp() override {
    bool ok = false;
    pki_ = testing::make_test_pki(ok);
    ASSERT_TRUE(ok);
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ca_file_ = (dir_ / "ca.pem").string();
    std::ofstream(ca_file_) << pki_.ca_cert_pem;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  testing::TestPki pki_;
  std::filesystem::path dir_;
  std::string ca_file_;
};

TEST_F(UpstreamTls, TrustsACertificateFromTheConfiguredCa) {
  TlsUpstream upstream(pki_);
  ClientOptions opts;
  opts.ca_file = ca_file_;
  Result r = run_against(upstream, opts, "localhost");
  EXPECT_EQ(r.failure, ClientFailure::kNone) << r.message;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"tls":true})");
}

TEST_F(UpstreamTls, RefusesAnUntrustedCertificateWithAClearError) {
  TlsUpstream upstream(pki_);
  Result r = run_against(upstream, ClientOptions{}, "localhost");  // system CAs only
  EXPECT_EQ(r.failure, ClientFailure::kTls);
  EXPECT_NE(r.message.find("TLS handshake"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("certificate verify failed"), std::string::npos) << r.message;
}

TEST_F(UpstreamTls, RefusesATrustedCertificateIssuedForAnotherHost) {
  bool ok = false;
  testing::TestPki other = testing::make_test_pki(ok, "DNS:elsewhere.test");
  ASSERT_TRUE(ok);
  std::ofstream(ca_file_) << other.ca_cert_pem;  // trust that CA
  TlsUpstream upstream(other);
  ClientOptions opts;
  opts.ca_file = ca_file_;
  Result r = run_against(upstream, opts, "127.0.0.1");
  EXPECT_EQ(r.failure, ClientFailure::kTls) << r.message;
}

}  // namespace
}  // namespace sluice::net
