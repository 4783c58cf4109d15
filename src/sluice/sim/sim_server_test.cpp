// The simulator end to end: real HTTP on 127.0.0.1:0, real (short) time.
// Exact window arithmetic is proven on the pure model with a fake clock
// (sim_provider_test.cpp); these tests prove the shell: concurrency under
// truly parallel clients, streaming pacing, faults on the wire, control
// endpoints, and that sluice's own parsers and classifier read what it sends.
#include "sluice/sim/sim_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/ratelimit/header_parser.hpp"
#include "testing/http_client.hpp"
#include "testing/io_thread.hpp"

namespace sluice::sim {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;

class SimUnderTest {
 public:
  explicit SimUnderTest(SimConfig config)
      : server_(std::make_unique<SimServer>(loop_.io().get_executor(), std::move(config), clock_)) {
    EXPECT_EQ(server_->start(), "");
    loop_.start();
  }
  ~SimUnderTest() {
    // Hung requests never finish on their own: stop() aborts them, then drain.
    loop_.drain([this] { server_->stop(); }, std::chrono::seconds(2));
  }
  std::uint16_t port(std::size_t i = 0) const { return server_->listeners().at(i).port; }

 private:
  SystemClock clock_;
  testing::IoThread loop_;
  std::unique_ptr<SimServer> server_;
};

ProviderSimConfig provider(Dialect d) {
  ProviderSimConfig p;
  p.name = std::string(to_string(d));
  p.dialect = d;
  p.listen = "127.0.0.1:0";
  p.keys = {"k1", "k2"};
  return p;
}

const std::string kChat =
    R"({"model":"glm-5.1","messages":[{"role":"user","content":"hello there"}],"max_tokens":16})";
const std::string kChatStream =
    R"({"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"hi"}],"max_tokens":8})";
const std::string kMessagesStream =
    R"({"model":"claude-x","stream":true,"max_tokens":8,"messages":[{"role":"user","content":"hi"}]})";

policy::Classification classify_response(Dialect d, const HttpResponse& r) {
  HeaderList h;
  for (const auto& [n, v] : r.headers) h.add(n, v);
  policy::UpstreamOutcome o;
  o.dialect = d;
  o.status = r.status;
  o.headers = h.view();
  o.body = r.body;
  if (!r.complete) o.transport = policy::TransportFailure::kEof;
  o.now = SystemClock().now();
  return policy::classify(o);
}

TEST(SimServer, ConcurrencyCapHoldsUnderParallelClients) {
  ProviderSimConfig p = provider(Dialect::kZai);
  p.limits.concurrency = 1;
  p.latency.fixed = std::chrono::milliseconds(150);
  SimConfig c;
  c.providers.push_back(p);
  SimUnderTest sim(c);

  constexpr int kClients = 4;
  std::vector<std::future<HttpResponse>> results;
  std::atomic<int> ready{0};
  for (int i = 0; i < kClients; ++i) {
    results.push_back(std::async(std::launch::async, [&, port = sim.port()] {
      HttpClient client(port);
      ++ready;
      while (ready < kClients) std::this_thread::yield();
      return client.request("POST", "/api/paas/v4/chat/completions",
                            {{"authorization", "Bearer k1"}, {"content-type", "application/json"}},
                            kChat);
    }));
  }
  int ok = 0, concurrency = 0;
  for (auto& f : results) {
    HttpResponse r = f.get();
    if (r.status == 200) ++ok;
    if (classify_response(Dialect::kZai, r).cls == ErrorClass::kConcurrencyLimit &&
        r.status == 429) {
      ++concurrency;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(concurrency, kClients - 1);

  HttpClient control(sim.port());
  const json stats = json::parse(control.request("GET", "/_sim/stats").body);
  EXPECT_EQ(stats["keys"]["k1"]["max_in_flight"], 1) << stats.dump();
  EXPECT_EQ(stats["keys"]["k1"]["in_flight"], 0) << stats.dump();
  EXPECT_EQ(stats["rejections"]["concurrency"], kClients - 1) << stats.dump();
}

TEST(SimServer, OpenAIStreamArrivesWholeAndClassifiesAsSuccess) {
  ProviderSimConfig p = provider(Dialect::kOpenAI);
  p.latency.ttft = std::chrono::milliseconds(20);
  p.latency.per_token = std::chrono::milliseconds(2);
  SimConfig c;
  c.providers.push_back(p);
  SimUnderTest sim(c);
  HttpClient client(sim.port());
  auto r =
      client.request("POST", "/v1/chat/completions", {{"authorization", "Bearer k2"}}, kChatStream);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.complete);
  EXPECT_NE(r.header("content-type").value_or("").find("text/event-stream"), std::string::npos);
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
  EXPECT_TRUE(classify_response(Dialect::kOpenAI, r).ok);
}

TEST(SimServer, AnthropicStreamEndsWithMessageStop) {
  SimConfig c;
  c.providers.push_back(provider(Dialect::kAnthropic));
  SimUnderTest sim(c);
  HttpClient client(sim.port());
  auto r = client.request("POST", "/v1/messages", {{"x-api-key", "k1"}}, kMessagesStream);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("event: message_stop"), std::string::npos);
  EXPECT_TRUE(classify_response(Dialect::kAnthropic, r).ok);
}

TEST(SimServer, WrongKeyIsAnAuthErrorInTheDialectsFormat) {
  SimConfig c;
  c.providers.push_back(provider(Dialect::kAnthropic));
  SimUnderTest sim(c);
  HttpClient client(sim.port());
  auto r = client.request("POST", "/v1/messages", {{"x-api-key", "nope"}}, kMessagesStream);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(classify_response(Dialect::kAnthropic, r).cls, ErrorClass::kAuth);
}

TEST(SimServer, RateLimitHeadersParseWithSluicesOwnParser) {
  ProviderSimConfig p = provider(Dialect::kOpenAI);
  p.limits.requests_per_window = 5;
  p.limits.window = std::chrono::seconds(30);
  SimConfig c;
  c.providers.push_back(p);
  SimUnderTest sim(c);
  HttpClient client(sim.port());
  for (int i = 1; i <= 6; ++i) {
    auto r =
        client.request("POST", "/v1/chat/completions", {{"authorization", "Bearer k1"}}, kChat);
    HeaderList h;
    for (const auto& [n, v] : r.headers) h.add(n, v);
    auto snap = policy::parse_rate_limit_headers(h.view(), Dialect::kOpenAI, SystemClock().now());
    const auto* b = snap.snapshot.find("requests");
    ASSERT_NE(b, nullptr) << "request " << i;
    EXPECT_EQ(b->limit, 5);
    EXPECT_EQ(b->remaining, std::max(0, 5 - i)) << "request " << i;
    if (i <= 5) {
      EXPECT_EQ(r.status, 200);
    } else {
      EXPECT_EQ(r.status, 429);
      EXPECT_EQ(classify_response(Dialect::kOpenAI, r).cls, ErrorClass::kRateLimit);
      EXPECT_TRUE(r.header("retry-after").has_value());
    }
  }
}

TEST(SimServer, CloseMidStreamIsAStreamDrop) {
  ProviderSimConfig p = provider(Dialect::kOpenAI);
  p.faults.close_mid_stream_rate = 1.0;
  SimConfig c;
  c.providers.push_back(p);
  SimUnderTest sim(c);
  HttpClient client(sim.port());
  auto r =
      client.request("POST", "/v1/chat/completions", {{"authorization", "Bearer k1"}}, kChatStream);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(classify_response(Dialect::kOpenAI, r).cls, ErrorClass::kStreamDrop);
}

TEST(SimServer, FaultsCanBeChangedAtRunTimeAndStatsReset) {
  SimConfig c;
  c.providers.push_back(provider(Dialect::kAnthropic));
  SimUnderTest sim(c);
  HttpClient client(sim.port());
  auto patch = client.request("POST", "/_sim/faults", {}, R"({"overload_rate":1.0})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  auto r = client.request("POST", "/v1/messages", {{"x-api-key", "k1"}}, kMessagesStream);
  EXPECT_EQ(classify_response(Dialect::kAnthropic, r).cls, ErrorClass::kOverloaded);
  EXPECT_EQ(client.request("POST", "/_sim/faults", {}, R"({"overload_rate":"lots"})").status, 400);
  EXPECT_EQ(client.request("POST", "/_sim/faults", {}, "not json").status, 400);

  const json before = json::parse(client.request("GET", "/_sim/stats").body);
  EXPECT_GE(before.value("requests", 0), 1) << before.dump();
  ASSERT_EQ(client.request("POST", "/_sim/reset").status, 200);
  const json after = json::parse(client.request("GET", "/_sim/stats").body);
  EXPECT_EQ(after.value("requests", -1), 0) << after.dump();
}

TEST(SimServer, ServesSeveralProvidersFromOneConfig) {
  SimConfig c;
  c.providers.push_back(provider(Dialect::kZai));
  c.providers.push_back(provider(Dialect::kOpenAI));
  SimUnderTest sim(c);
  EXPECT_NE(sim.port(0), sim.port(1));
  HttpClient a(sim.port(0)), b(sim.port(1));
  EXPECT_EQ(
      a.request("POST", "/api/paas/v4/chat/completions", {{"authorization", "Bearer k1"}}, kChat)
          .status,
      200);
  EXPECT_EQ(b.request("GET", "/v1/models", {{"authorization", "Bearer k1"}}).status, 200);
}

}  // namespace
}  // namespace sluice::sim
