#include "sluice/net/upstream_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

#include "testing/scripted_upstream.hpp"

namespace sluice::net {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

TEST(ParseBaseUrl, SplitsSchemeHostPortAndPath) {
  auto e = std::get<Endpoint>(parse_base_url("https://api.z.ai/api/paas/v4/"));
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.host, "api.z.ai");
  EXPECT_EQ(e.port, 443);
  EXPECT_EQ(e.base_path, "/api/paas/v4");
  auto p = std::get<Endpoint>(parse_base_url("http://127.0.0.1:8001"));
  EXPECT_FALSE(p.tls);
  EXPECT_EQ(p.port, 8001);
  EXPECT_EQ(p.base_path, "");
  auto v6 = std::get<Endpoint>(parse_base_url("http://[::1]:9000/v1"));
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 9000);
}

TEST(ParseBaseUrl, RejectsWhatCannotWork) {
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_base_url("ftp://x")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_base_url("https://")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_base_url("http://h:99999")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_base_url("https://user:pw@h")));
}

const HeaderFields kSse = {{"content-type", "text/event-stream"}};
const HeaderFields kJson = {{"content-type", "application/json"}};

awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::use_awaitable);
}

// An upstream (our own server) and a client on one io thread.
class Loop {
 public:
  explicit Loop(Handler handler, ServerOptions opts = {}, ClientOptions copts = {})
      : server_(io_.get_executor(), std::move(opts), std::move(handler)),
        client_(io_.get_executor(), copts) {
    EXPECT_EQ(server_.start(), "");
    endpoint_.host = "127.0.0.1";
    endpoint_.port = server_.port();
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~Loop() {
    asio::post(io_, [this] { server_.stop(); });
    io_.stop();
    thread_.join();
  }
  template <class T>
  T run(std::function<awaitable<T>(UpstreamClient&, const Endpoint&)> body) {
    std::promise<T> p;
    asio::co_spawn(io_, body(client_, endpoint_), [&](std::exception_ptr e, T v) {
      if (e) {
        p.set_exception(e);
      } else {
        p.set_value(std::move(v));
      }
    });
    return p.get_future().get();
  }
  UpstreamClient& client() { return client_; }
  Endpoint endpoint() const { return endpoint_; }

 private:
  asio::io_context io_;
  HttpServer server_;
  UpstreamClient client_;
  Endpoint endpoint_;
  std::thread thread_;
};

struct Outcome {
  int status = 0;
  std::vector<std::string> pieces;
  bool complete = false;
  ClientFailure failure = ClientFailure::kNone;
  std::size_t idle_after = 0;
};

// What the client has handed out so far, for a scripted provider that sends
// its next event only once the one before has been handed out: the test is
// paced by the client's progress, not by sleeps.
class Seen {
 public:
  void piece() {
    {
      const std::lock_guard lock(mu_);
      ++pieces_;
    }
    changed_.notify_all();
  }
  // Waits until `n` pieces were handed out; false after 10 s (the client held
  // them back: the test fails instead of hanging).
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return pieces_ >= n; });
  }
  // The same on the io thread the client runs on, which must not block: it
  // looks every millisecond, for 10 s at most.
  awaitable<bool> await_pieces(std::size_t n) {
    for (int looks = 0; looks < 10'000; ++looks) {
      {
        const std::lock_guard lock(mu_);
        if (pieces_ >= n) co_return true;
      }
      co_await pause(std::chrono::milliseconds(1));
    }
    co_return false;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::size_t pieces_ = 0;
};

// By value: this coroutine outlives the lambdas that start it.
awaitable<Outcome> fetch(UpstreamClient& c, Endpoint ep, std::string target, Seen* seen = nullptr) {
  Outcome o;
  // Named, not a temporary inside co_await (g++ 12, docs/decisions/0005).
  ports::OutgoingBody body{.before = "{}", .middle = {}, .after = {}};
  SendResult r = co_await c.send(ep, "POST", target, kJson, std::move(body));
  if (!r.response) {
    o.failure = r.failure;
    co_return o;
  }
  o.status = r.response->status();
  while (auto piece = co_await r.response->next()) {
    o.pieces.push_back(*piece);
    if (seen) seen->piece();
  }
  o.complete = r.response->complete();
  o.failure = r.response->failure();
  r.response.reset();
  o.idle_after = c.idle_connections();
  co_return o;
}

// The client against a scripted upstream (testing/scripted_upstream.hpp) on
// `port`, on a Loop's io thread; the Loop's own server goes unused.
Outcome fetch_from(std::uint16_t port, std::string target, Seen* seen = nullptr) {
  Loop loop(
      [](HttpRequest&, ResponseWriter& w) -> awaitable<void> { co_await w.send(204, {}, ""); });
  Endpoint ep = loop.endpoint();
  ep.port = port;
  return loop.run<Outcome>([ep, target, seen](UpstreamClient& c, const Endpoint&) {
    return fetch(c, ep, target, seen);
  });
}

// One chunk of a chunked body, as a provider writes it.
std::string chunk(std::string_view data) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

std::string joined(const Outcome& o) {
  std::string s;
  for (const auto& p : o.pieces) s += p;
  return s;
}

TEST(UpstreamClient, ReadsAWholeResponseAndReusesTheConnection) {
  int accepted_requests = 0;
  Loop loop([&](HttpRequest& req, ResponseWriter& w) -> awaitable<void> {
    ++accepted_requests;
    co_await w.send(200, kJson, R"({"path":")" + req.path + R"("})");
  });
  auto first = loop.run<Outcome>(
      [](UpstreamClient& c, const Endpoint& ep) { return fetch(c, ep, "/v1/chat/completions"); });
  EXPECT_EQ(first.status, 200);
  EXPECT_TRUE(first.complete);
  EXPECT_EQ(joined(first), R"({"path":"/v1/chat/completions"})");
  EXPECT_EQ(first.idle_after, 1u);
  auto second = loop.run<Outcome>(
      [](UpstreamClient& c, const Endpoint& ep) { return fetch(c, ep, "/v1/models"); });
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.idle_after, 1u);  // the same connection went back to the pool
  EXPECT_EQ(accepted_requests, 2);
}

// A reply that arrives whole with its head is parsed at once, body too; when
// the body is one the parser refuses (a chunk size that is not hex), that is
// a failed body of a 200 the provider did answer, not a failed send: the
// request is not written again, and nothing of the bad chunk is handed out.
TEST(UpstreamClient, ABodyRefusedAsItArrivesWithTheHeadFailsTheBodyNotTheSend) {
  std::atomic<int> requests{0};
  testing::ScriptedUpstream bad([&](const testing::ScriptedUpstream::Conn& c, const std::string&) {
    ++requests;
    c.write(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        "4\r\n{\"a\"\r\nzz\r\n}\r\n0\r\n\r\n");
    return true;
  });
  const Outcome o = fetch_from(bad.port(), "/x");
  EXPECT_EQ(o.status, 200);
  EXPECT_FALSE(o.complete);
  EXPECT_NE(o.failure, ClientFailure::kNone);
  EXPECT_EQ(joined(o), "{\"a\"");  // the chunk before the bad one, no more
  EXPECT_EQ(o.idle_after, 0u);     // that connection is not reused
  EXPECT_EQ(requests.load(), 1);
}

TEST(UpstreamClient, StreamPiecesArriveAsTheyAreSentNotBufferedWhole) {
  Seen seen;
  bool held_back = false;  // both on the loop's one thread
  // The end is written only once the first event was handed out.
  Loop loop([&](HttpRequest&, ResponseWriter& w) -> awaitable<void> {
    co_await w.begin_stream(200, kSse);
    co_await w.write_chunk("data: 1\n\n");
    held_back = !co_await seen.await_pieces(1);
    co_await w.write_chunk("data: [DONE]\n\n");
    co_await w.end_stream();
  });
  auto o = loop.run<Outcome>(
      [&](UpstreamClient& c, const Endpoint& ep) { return fetch(c, ep, "/stream", &seen); });
  EXPECT_FALSE(held_back) << "the first event waited for the end of the stream";
  ASSERT_GE(o.pieces.size(), 2u);
  EXPECT_EQ(o.pieces.front(), "data: 1\n\n");
  EXPECT_EQ(joined(o), "data: 1\n\ndata: [DONE]\n\n");
  EXPECT_TRUE(o.complete);
}

// The first event often arrives with the head and is parsed at once; the
// events after it must still be handed out one by one as they arrive, not
// held until a later one (or the end) comes.
TEST(UpstreamClient, EventsAfterOneThatCameWithTheHeadArriveOneByOne) {
  Seen seen;
  std::atomic<bool> held_back{false};
  // Each event (and the end) is sent only once the client has handed out
  // the one before: a client that waited for more would never get it.
  testing::ScriptedUpstream up([&](const testing::ScriptedUpstream::Conn& c, const std::string&) {
    c.write(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" +
        chunk("data: 1\n\n"));
    std::size_t sent = 1;
    for (std::string_view event : {"data: 2\n\n", "data: 3\n\n"}) {
      if (!seen.wait_for(sent)) held_back = true;
      c.write(chunk(event));
      ++sent;
    }
    if (!seen.wait_for(sent)) held_back = true;
    c.write("0\r\n\r\n");
    return true;
  });
  const Outcome o = fetch_from(up.port(), "/s", &seen);
  EXPECT_FALSE(held_back) << "an event was held until a later one came";
  EXPECT_TRUE(o.complete);
  EXPECT_EQ(o.pieces, (std::vector<std::string>{"data: 1\n\n", "data: 2\n\n", "data: 3\n\n"}));
}

TEST(UpstreamClient, ACloseMidStreamIsAnIncompleteBody) {
  Loop loop([](HttpRequest&, ResponseWriter& w) -> awaitable<void> {
    co_await w.begin_stream(200, kSse);
    co_await w.write_chunk("data: 1\n\n");
    w.abort();
  });
  auto o = loop.run<Outcome>(
      [](UpstreamClient& c, const Endpoint& ep) { return fetch(c, ep, "/stream"); });
  EXPECT_EQ(o.status, 200);
  EXPECT_FALSE(o.complete);
  EXPECT_TRUE(o.failure == ClientFailure::kEof || o.failure == ClientFailure::kReset)
      << to_string(o.failure);
  EXPECT_EQ(o.idle_after, 0u);
}

TEST(UpstreamClient, NoResponseHeadInTimeIsATimeout) {
  ClientOptions copts;
  copts.first_byte_timeout = std::chrono::milliseconds(100);
  Loop loop(
      [](HttpRequest&, ResponseWriter& w) -> awaitable<void> {
        co_await pause(std::chrono::milliseconds(400));
        co_await w.send(200, kJson, "{}");
      },
      {}, copts);
  auto o = loop.run<Outcome>(
      [](UpstreamClient& c, const Endpoint& ep) { return fetch(c, ep, "/slow"); });
  EXPECT_EQ(o.failure, ClientFailure::kTimeout);
}

TEST(UpstreamClient, ARefusedConnectionIsAConnectFailure) {
  std::uint16_t dead_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }  // closed again: nothing listens there now
  Loop loop([](HttpRequest&, ResponseWriter& w) -> awaitable<void> {
    co_await w.send(200, kJson, "{}");
  });
  auto o = loop.run<Outcome>([dead_port](UpstreamClient& c, const Endpoint&) {
    Endpoint ep;
    ep.host = "127.0.0.1";
    ep.port = dead_port;
    return fetch(c, ep, "/");
  });
  EXPECT_EQ(o.failure, ClientFailure::kConnect);
}

// The other side of relaying events as they come: events that arrive
// together (a provider streaming faster than the network) are handed on
// together, so the gateway writes them to its client at once, not one system
// call per event.
TEST(UpstreamClient, EventsThatArriveTogetherAreHandedOnTogether) {
  Seen seen;
  testing::ScriptedUpstream up([&](const testing::ScriptedUpstream::Conn& c, const std::string&) {
    c.write(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" +
        chunk("data: 0\n\n"));
    // The rest of the answer at once, after the first event was handed out.
    seen.wait_for(1);
    std::string burst;
    for (int i = 1; i <= 50; ++i) burst += chunk("data: " + std::to_string(i) + "\n\n");
    c.write(burst + "0\r\n\r\n");
    return true;
  });
  const Outcome o = fetch_from(up.port(), "/s", &seen);
  EXPECT_TRUE(o.complete);
  // The first event, then the fifty in as many pieces as reads it took (the
  // read buffer starts small and grows for a fast stream): a few, not fifty.
  ASSERT_GE(o.pieces.size(), 2u);
  EXPECT_LE(o.pieces.size(), 4u);
  EXPECT_EQ(o.pieces[0], "data: 0\n\n");
  std::string expected;
  for (int i = 0; i <= 50; ++i) expected += "data: " + std::to_string(i) + "\n\n";
  EXPECT_EQ(joined(o), expected);
}

TEST(UpstreamClient, AStalePooledConnectionIsReplacedTransparently) {
  // The provider answers keep-alive, then closes the first connection while
  // it sits in the client's pool (as a provider's idle timeout does).
  std::promise<void> first_closed;
  std::atomic<int> answered{0};
  testing::ScriptedUpstream up([&](const testing::ScriptedUpstream::Conn& c, const std::string&) {
    c.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}");
    if (answered++ > 0) return true;
    ::shutdown(c.fd, SHUT_RDWR);
    first_closed.set_value();
    return false;
  });
  Loop loop(
      [](HttpRequest&, ResponseWriter& w) -> awaitable<void> { co_await w.send(204, {}, ""); });
  Endpoint ep = loop.endpoint();
  ep.port = up.port();
  auto first =
      loop.run<Outcome>([ep](UpstreamClient& c, const Endpoint&) { return fetch(c, ep, "/a"); });
  ASSERT_EQ(first.idle_after, 1u);
  first_closed.get_future().wait();
  auto second =
      loop.run<Outcome>([ep](UpstreamClient& c, const Endpoint&) { return fetch(c, ep, "/b"); });
  EXPECT_EQ(second.status, 200);
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(up.connections(), 2);  // the closed one was replaced, not failed
}

TEST(UpstreamClient, TlsToAPeerThatDoesNotSpeakTlsIsATlsFailure) {
  Loop loop([](HttpRequest&, ResponseWriter& w) -> awaitable<void> {
    co_await w.send(200, kJson, "{}");
  });
  auto o = loop.run<Outcome>([](UpstreamClient& c, const Endpoint& plain) {
    Endpoint ep = plain;
    ep.tls = true;
    return fetch(c, ep, "/");
  });
  EXPECT_EQ(o.failure, ClientFailure::kTls);
}

}  // namespace
}  // namespace sluice::net
