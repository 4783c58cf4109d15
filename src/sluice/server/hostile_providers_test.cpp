// Broken and hostile providers against the whole gateway: a body shorter than
// its Content-Length, a body too large to hold, a stream that never ends,
// bytes after the body. The provider is a scripted socket (testing/
// scripted_upstream.hpp) on 127.0.0.1 port 0; a simulated provider stands by
// as the fallback. Every case ends in an answer the client can trust: the
// right body, a clear error, or a visibly truncated response — never a
// complete-looking wrong one, a crash or a hang.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "testing/gateway_stack.hpp"
#include "testing/gateway_yaml.hpp"
#include "testing/http_client.hpp"
#include "testing/scripted_upstream.hpp"

namespace sluice::server {
namespace {

using nlohmann::json;
using testing::GatewayStack;
using testing::HttpClient;
using testing::HttpResponse;
using testing::ScriptedUpstream;
using testing::sim_provider;
using testing::url;

const std::string kChat =
    R"({"model":"main","messages":[{"role":"user","content":"hello"}],"max_tokens":16})";
const std::string kStreamChat =
    R"({"model":"main","stream":true,"messages":[{"role":"user","content":"hello"}]})";

std::string json_head(std::size_t content_length) {
  return "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
         std::to_string(content_length) + "\r\n\r\n";
}

std::string completion(const std::string& id) {
  return R"({"id":")" + id +
         R"(","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})";
}

// The scripted provider as `bad`, optionally followed by a simulated `backup`.
std::unique_ptr<GatewayStack> stack_with(const ScriptedUpstream& bad, bool with_backup) {
  return std::make_unique<GatewayStack>(
      std::vector<sim::ProviderSimConfig>{sim_provider("backup", Dialect::kOpenAI)},
      [&bad, with_backup](const std::vector<std::uint16_t>& p) {
        testing::GatewayYaml y;
        y.provider({.name = "bad", .base_url = url(bad.port()) + "/v1", .keys = {"bad-key"}});
        y.provider({.name = "backup", .base_url = testing::sim_base_url(Dialect::kOpenAI, p[0])});
        std::vector<std::string> route = {"bad/gpt-4o-mini"};
        if (with_backup) route.emplace_back("backup/gpt-4o-mini");
        y.model({.alias = "main", .route = route});
        return y.str();
      });
}

TEST(HostileProviders, ABodyShorterThanItsContentLengthIsRetriedElsewhereNeverRelayed) {
  ScriptedUpstream bad([](const ScriptedUpstream::Conn& c, const std::string&) {
    const std::string part = completion("cut").substr(0, 60);
    c.write(json_head(5000) + part);
    return false;  // and close, 4,940 bytes short
  });
  auto s = stack_with(bad, true);
  HttpResponse r = HttpClient(s->port()).request("POST", "/v1/chat/completions", {}, kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-route"), "backup/gpt-4o-mini");
  EXPECT_TRUE(json::parse(r.body, nullptr, false).is_object()) << r.body;
  EXPECT_GE(bad.requests(), 1);
}

TEST(HostileProviders, ABodyShorterThanItsContentLengthWithNoFallbackIsAClearError) {
  ScriptedUpstream bad([](const ScriptedUpstream::Conn& c, const std::string&) {
    c.write(json_head(5000) + completion("cut").substr(0, 60));
    return false;
  });
  auto s = stack_with(bad, false);
  HttpResponse r = HttpClient(s->port()).request("POST", "/v1/chat/completions", {}, kChat);
  EXPECT_GE(r.status, 500) << r.body;
  EXPECT_TRUE(r.complete);
  const json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
  EXPECT_EQ(r.body.find("\"cut\""), std::string::npos) << "none of the partial body leaks";
}

// Bytes beyond the Content-Length must not be read as the next response on
// the pooled connection.
TEST(HostileProviders, BytesAfterTheBodyDoNotBecomeTheNextResponse) {
  std::atomic<int> n{0};
  ScriptedUpstream bad([&n](const ScriptedUpstream::Conn& c, const std::string&) {
    const std::string body = completion("reply-" + std::to_string(++n));
    c.write(json_head(body.size()) + body +
            "HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n{\"id\":\"junk\"}\r\n");
    return true;
  });
  auto s = stack_with(bad, false);
  HttpClient client(s->port());
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = client.request("POST", "/v1/chat/completions", {}, kChat);
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_TRUE(j.value("id", "").starts_with("reply-")) << r.body;
  }
}

// Larger than the gateway holds (8 MiB): relayed as it arrives, intact.
TEST(HostileProviders, ABodyTooLargeToHoldIsRelayedWhole) {
  constexpr std::size_t kPadding = 24u << 20;
  const std::string prefix = R"({"id":"big","object":"chat.completion","padding":")";
  const std::string suffix = R"("})";
  ScriptedUpstream bad([&](const ScriptedUpstream::Conn& c, const std::string&) {
    if (!c.write(json_head(prefix.size() + kPadding + suffix.size()) + prefix)) return false;
    const std::string mb(1u << 20, 'a');
    for (std::size_t sent = 0; sent < kPadding; sent += mb.size()) {
      if (!c.write(mb)) return false;
    }
    return c.write(suffix);
  });
  auto s = stack_with(bad, false);
  HttpResponse r = HttpClient(s->port(), std::chrono::seconds(60))
                       .request("POST", "/v1/chat/completions", {}, kChat);
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_TRUE(r.complete);
  ASSERT_EQ(r.body.size(), prefix.size() + kPadding + suffix.size());
  EXPECT_TRUE(r.body.starts_with(prefix));
  EXPECT_TRUE(r.body.ends_with("aaaa" + suffix));
}

TEST(HostileProviders, ALargeBodyCutShortReachesTheClientVisiblyTruncated) {
  ScriptedUpstream bad([](const ScriptedUpstream::Conn& c, const std::string&) {
    c.write(json_head(24u << 20) + R"({"id":"big","padding":")");
    const std::string mb(1u << 20, 'a');
    for (int i = 0; i < 12; ++i) {
      if (!c.write(mb)) return false;
    }
    return false;  // closes 12 MiB short
  });
  auto s = stack_with(bad, false);
  HttpResponse r = HttpClient(s->port(), std::chrono::seconds(60))
                       .request("POST", "/v1/chat/completions", {}, kChat);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.complete) << "a truncated body must not look complete";
  EXPECT_LT(r.body.size(), 24u << 20);
}

// A provider that streams forever: the gateway relays it while the client
// reads, and lets go of the provider as soon as the client leaves.
TEST(HostileProviders, AnEndlessStreamIsReleasedWhenTheClientLeaves) {
  // Set once, when the provider's writes stop: by the gateway letting go (true)
  // or by the test's end stopping the upstream (false).
  std::promise<bool> provider_saw_close;
  std::atomic<bool> told{false};
  ScriptedUpstream bad([&](const ScriptedUpstream::Conn& c, const std::string&) {
    if (!c.write("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                 "transfer-encoding: chunked\r\n\r\n")) {
      return false;
    }
    const std::string event =
        R"(data: {"id":"s","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"more"}}]})"
        "\n\n";
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", event.size());
    const std::string chunk = size + event + "\r\n";
    while (c.write(chunk)) {
    }
    if (!told.exchange(true)) provider_saw_close.set_value(!c.stopping);
    return false;
  });
  auto s = stack_with(bad, false);

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(s->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string req =
      "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: "
      "application/json\r\ncontent-length: " +
      std::to_string(kStreamChat.size()) + "\r\n\r\n" + kStreamChat;
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string got;
  while (got.size() < 512 * 1024) {
    pollfd p{fd, POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 10'000), 0) << "the stream stalled after " << got.size() << " bytes";
    char buf[64 * 1024];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200")) << got.substr(0, 200);
  EXPECT_NE(got.find("\"more\""), std::string::npos);
  ::close(fd);  // the client leaves mid-stream

  // The event itself, waited for (bounded, not a timing assertion): the
  // provider's writes fail once the gateway has dropped its connection.
  std::future<bool> closed = provider_saw_close.get_future();
  ASSERT_EQ(closed.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the gateway kept reading an abandoned stream";
  EXPECT_TRUE(closed.get());
  HttpResponse after = HttpClient(s->port()).request("GET", "/health");
  EXPECT_EQ(after.status, 200);
}

}  // namespace
}  // namespace sluice::server
