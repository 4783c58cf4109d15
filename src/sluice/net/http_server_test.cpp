#include "sluice/net/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "testing/http_client.hpp"

namespace sluice::net {
namespace {

namespace asio = boost::asio;
using testing::HttpClient;

// Runs one server on 127.0.0.1:0 on its own io thread; stops by itself.
class ServerUnderTest {
 public:
  ServerUnderTest(Handler handler, ServerOptions opts = {}) {
    server_ = std::make_unique<HttpServer>(io_.get_executor(), std::move(opts), std::move(handler));
    const std::string err = server_->start();
    EXPECT_EQ(err, "");
    thread_ = std::thread([this] {
      // Keep running after stop() so later posts (open_connections) still run.
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~ServerUnderTest() {
    asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_->port(); }
  std::size_t open_connections() {
    std::promise<std::size_t> p;
    asio::post(io_, [&] { p.set_value(server_->open_connections()); });
    return p.get_future().get();
  }
  void stop() {
    std::promise<void> p;
    asio::post(io_, [&] {
      server_->stop();
      p.set_value();
    });
    p.get_future().get();
  }

 private:
  asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

// Header lists are named constants, not braced temporaries inside co_await:
// g++ 12 miscompiles the latter ("array used as initializer").
const HeaderFields kText = {{"content-type", "text/plain"}};
const HeaderFields kSse = {{"content-type", "text/event-stream"}};

asio::awaitable<void> echo(HttpRequest& req, ResponseWriter& w) {
  co_await w.send(200, kText, req.method + " " + req.path + " " + req.body);
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  ServerUnderTest s(echo);
  HttpClient c(s.port());
  auto r1 = c.request("POST", "/v1/a?x=1", {}, "one");
  EXPECT_EQ(r1.status, 200);
  EXPECT_EQ(r1.body, "POST /v1/a one");
  EXPECT_TRUE(c.connected());
  auto r2 = c.request("GET", "/v1/b");
  EXPECT_EQ(r2.body, "GET /v1/b ");
  EXPECT_EQ(s.open_connections(), 1u);
}

// One process per core: with reuse_port a second server may listen on the
// same port (and the kernel spreads connections); without it, it may not.
TEST(HttpServer, ReusePortLetsASecondServerListenOnTheSamePort) {
  ServerOptions shared;
  shared.reuse_port = true;
  ServerUnderTest first(echo, shared);
  shared.port = first.port();
  ServerUnderTest second(echo, shared);  // starts: checked in the constructor
  EXPECT_EQ(HttpClient(first.port()).request("GET", "/x").status, 200);

  asio::io_context io;
  ServerOptions alone;
  alone.port = first.port();
  HttpServer third(io.get_executor(), alone, echo);
  EXPECT_NE(third.start().find("cannot listen"), std::string::npos);
}

TEST(HttpServer, OversizedBodyGetsA413InJson) {
  ServerOptions opts;
  opts.max_body_bytes = 1024;
  ServerUnderTest s(echo, opts);
  HttpClient c(s.port());
  auto r = c.request("POST", "/v1/chat/completions", {}, std::string(4096, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("\"code\":\"payload_too_large\""), std::string::npos) << r.body;
  // Everyone else keeps being served.
  HttpClient other(s.port());
  EXPECT_EQ(other.request("GET", "/ok").status, 200);
}

TEST(HttpServer, OversizedHeadersGetA431) {
  ServerOptions opts;
  opts.max_header_bytes = 2048;
  ServerUnderTest s(echo, opts);
  HttpClient c(s.port());
  auto r = c.request("GET", "/", {{"x-big", std::string(8192, 'a')}});
  EXPECT_EQ(r.status, 431);
}

TEST(HttpServer, MalformedRequestGetsA400) {
  ServerUnderTest s(echo);
  HttpClient c(s.port());
  auto r = c.raw("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("malformed HTTP request"), std::string::npos);
}

TEST(HttpServer, ConflictingFramingIsRejected) {
  ServerUnderTest s(echo);
  HttpClient c(s.port());
  auto r = c.raw(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  EXPECT_EQ(r.status, 400);
}

TEST(HttpServer, HalfSentRequestTimesOutWithA408) {
  ServerOptions opts;
  opts.header_timeout = std::chrono::milliseconds(200);
  ServerUnderTest s(echo, opts);
  HttpClient c(s.port());
  auto r = c.raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part");
  EXPECT_EQ(r.status, 408);
}

TEST(HttpServer, StreamedChunksArriveAndTheStreamEndsCleanly) {
  ServerUnderTest s([](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    co_await w.begin_stream(200, kSse);
    co_await w.write_chunk("data: 1\n\n");
    co_await w.write_chunk("data: 2\n\n");
    co_await w.write_chunk("data: [DONE]\n\n");
    co_await w.end_stream();
  });
  HttpClient c(s.port());
  auto r = c.request("POST", "/stream");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, "data: 1\n\ndata: 2\n\ndata: [DONE]\n\n");
}

// Writes go out at once while the kernel takes them, the rest when the
// client reads (write_now.hpp): a reply and a chunk many times a socket's
// send buffer arrive whole and in order, and the connection serves on.
TEST(HttpServer, RepliesLargerThanTheSendBufferArriveWholeAndInOrder) {
  std::string big(8 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  ServerUnderTest s([&big](HttpRequest& req, ResponseWriter& w) -> asio::awaitable<void> {
    if (req.path == "/whole") {
      co_await w.send(200, kText, big);
    } else {
      co_await w.begin_stream(200, kSse);
      co_await w.write_chunk(big);
      co_await w.write_chunk("tail");
      co_await w.end_stream();
    }
  });
  HttpClient c(s.port());
  auto whole = c.request("GET", "/whole");
  EXPECT_EQ(whole.status, 200);
  EXPECT_TRUE(whole.complete);
  EXPECT_TRUE(whole.body == big) << "body of " << whole.body.size() << " bytes differs";
  auto streamed = c.request("GET", "/stream");
  EXPECT_TRUE(streamed.complete);
  EXPECT_TRUE(streamed.body == big + "tail") << "body of " << streamed.body.size() << " bytes";
  EXPECT_EQ(s.open_connections(), 1u);
}

TEST(HttpServer, AbortMidStreamLeavesTheBodyIncomplete) {
  ServerUnderTest s([](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    co_await w.begin_stream(200, kSse);
    co_await w.write_chunk("data: 1\n\n");
    w.abort();
  });
  HttpClient c(s.port());
  auto r = c.request("POST", "/stream");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(r.error.empty());
}

TEST(HttpServer, AHandlerThatSendsNothingYieldsA500) {
  ServerUnderTest s([](HttpRequest&, ResponseWriter&) -> asio::awaitable<void> { co_return; });
  HttpClient c(s.port());
  EXPECT_EQ(c.request("GET", "/").status, 500);
}

TEST(HttpServer, AHeadRequestGetsTheHeadAloneAndTheNextResponseFollowsIt) {
  ServerUnderTest s(echo);
  const std::string out = testing::exchange_raw(
      s.port(),
      "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  // The HEAD's Content-Length is what a GET would get ("HEAD /x " is 8
  // bytes), and the GET's status line comes right after the blank line.
  const auto first_end = out.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << out;
  EXPECT_NE(out.substr(0, first_end).find("content-length: 8"), std::string::npos) << out;
  EXPECT_TRUE(out.substr(first_end + 4).starts_with("HTTP/1.1 200")) << out;
  EXPECT_TRUE(out.ends_with("GET /y ")) << out;
}

TEST(HttpServer, AHeadRequestToAStreamGetsNoChunks) {
  ServerUnderTest s([](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    co_await w.begin_stream(200, kSse);
    co_await w.write_chunk("data: 1\n\n");
    co_await w.end_stream();
  });
  const std::string out =
      testing::exchange_raw(s.port(), "HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(out.ends_with("\r\n\r\n")) << out;
  EXPECT_EQ(out.find("data: 1"), std::string::npos) << out;
}

// Bodies are read in receives sized by what is still missing: a large body,
// a chunked one and a request pipelined right behind them all arrive whole.
TEST(HttpServer, LargeChunkedAndPipelinedBodiesArriveWhole) {
  ServerOptions opts;
  opts.max_body_bytes = 4 * 1024 * 1024;
  ServerUnderTest s(
      [](HttpRequest& req, ResponseWriter& w) -> asio::awaitable<void> {
        co_await w.send(200, kText,
                        std::to_string(req.body.size()) + ":" + req.body.substr(0, 3) +
                            req.body.substr(req.body.size() > 3 ? req.body.size() - 3 : 0));
      },
      opts);
  std::string big(700 * 1024, 'b');
  big.front() = '<';
  big.back() = '>';
  const std::string out = testing::exchange_raw(
      s.port(),
      "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" +
          big +
          "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
          "POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz");
  EXPECT_NE(out.find("716800:<bbbb>"), std::string::npos) << out.substr(0, 300);
  EXPECT_NE(out.find("11:helrld"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("3:xyzxyz")) << out;
}

TEST(HttpServer, AClientThatClosesMidBodyGetsNoHandlerCall) {
  std::atomic<int> calls{0};
  ServerUnderTest s([&calls](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    ++calls;
    co_await w.send(200, kText, "x");
  });
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  asio::write(sock, asio::buffer(std::string(
                        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly-part")));
  sock.shutdown(asio::ip::tcp::socket::shutdown_send);  // and nothing more comes
  std::string out;
  boost::system::error_code ec;
  asio::read(sock, asio::dynamic_buffer(out), ec);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(out.find("200"), std::string::npos) << out;
}

// A large declared body is read straight into the request (no copy through
// the connection's buffer): it must arrive byte for byte however the client
// splits it, and one cut short must reach no handler.
TEST(HttpServer, ALargeBodySentInPiecesArrivesExactlyAndOneCutShortIsNotHandled) {
  std::atomic<int> calls{0};
  ServerOptions opts;
  opts.max_body_bytes = 4 * 1024 * 1024;
  ServerUnderTest s(
      [&calls](HttpRequest& req, ResponseWriter& w) -> asio::awaitable<void> {
        ++calls;
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < req.body.size(); ++i) {
          sum = sum * 31 + static_cast<unsigned char>(req.body[i]);
        }
        co_await w.send(200, kText, std::to_string(req.body.size()) + ":" + std::to_string(sum));
      },
      opts);
  std::string body(300 * 1024 + 7, '\0');
  std::uint64_t want = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
    want = want * 31 + static_cast<unsigned char>(body[i]);
  }
  auto send_in_pieces = [&](std::size_t send_bytes) {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), s.port()});
    asio::write(sock, asio::buffer("POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                                   "Content-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n"));
    // The head alone first, then the body in uneven pieces.
    for (std::size_t at = 0, piece = 1; at < send_bytes; at += piece, piece = piece * 3 + 1) {
      asio::write(sock, asio::buffer(body.data() + at, std::min(piece, send_bytes - at)));
    }
    sock.shutdown(asio::ip::tcp::socket::shutdown_send);
    std::string out;
    boost::system::error_code ec;
    asio::read(sock, asio::dynamic_buffer(out), ec);
    return out;
  };
  const std::string whole = send_in_pieces(body.size());
  EXPECT_NE(whole.find(std::to_string(body.size()) + ":" + std::to_string(want)), std::string::npos)
      << whole.substr(0, 300);
  EXPECT_EQ(calls, 1);
  const std::string cut = send_in_pieces(body.size() - 1000);
  EXPECT_EQ(cut.find("200"), std::string::npos) << cut;
  EXPECT_EQ(calls, 1);
}

TEST(HttpServer, StopClosesOpenConnections) {
  ServerUnderTest s(echo);
  HttpClient c(s.port());
  ASSERT_EQ(c.request("GET", "/").status, 200);
  ASSERT_EQ(s.open_connections(), 1u);
  s.stop();
  EXPECT_EQ(s.open_connections(), 0u);
  EXPECT_NE(c.request("GET", "/").status, 200);
}

}  // namespace
}  // namespace sluice::net
