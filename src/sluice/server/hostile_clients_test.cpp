// Hostile and broken clients against the whole gateway (sluice serve in front
// of sluice sim, 127.0.0.1 port 0): bad bodies, oversized bodies and headers,
// slowloris, ten thousand idle connections, request smuggling shapes, unknown
// paths and models. Each answer is checked, and after each case a normal
// request must still be served.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "testing/gateway_stack.hpp"
#include "testing/gateway_yaml.hpp"
#include "testing/http_client.hpp"

namespace sluice::server {
namespace {

using nlohmann::json;
using testing::GatewayStack;
using testing::HttpClient;
using testing::HttpResponse;
using testing::sim_provider;
using testing::url;
using Clock = std::chrono::steady_clock;

const std::string kChat =
    R"({"model":"main","messages":[{"role":"user","content":"hello"}],"max_tokens":16})";
const std::string kMessages =
    R"({"model":"claude","max_tokens":16,"messages":[{"role":"user","content":"hello"}]})";

// An OpenAI provider behind alias main and an Anthropic one behind claude.
std::unique_ptr<GatewayStack> hostile_stack(const std::string& server_yaml = {}) {
  return std::make_unique<GatewayStack>(
      std::vector<sim::ProviderSimConfig>{sim_provider("oa", Dialect::kOpenAI),
                                          sim_provider("an", Dialect::kAnthropic)},
      [server_yaml](const std::vector<std::uint16_t>& p) {
        testing::GatewayYaml y;
        y.server = server_yaml;
        y.provider({.name = "oa", .base_url = testing::sim_base_url(Dialect::kOpenAI, p[0])});
        y.provider({.name = "an",
                    .api = "anthropic",
                    .dialect = "anthropic",
                    .base_url = testing::sim_base_url(Dialect::kAnthropic, p[1])});
        y.model({.alias = "main", .route = {"oa/gpt-4o-mini"}});
        y.model({.alias = "claude", .route = {"an/claude-x"}});
        return y.str();
      });
}

// A normal request on a fresh connection is served.
void expect_still_serving(const GatewayStack& s) {
  HttpClient c(s.port());
  HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
  EXPECT_EQ(r.status, 200) << r.error << r.body;
}

bool is_openai_error(const std::string& body, const std::string& code) {
  const json j = json::parse(body, nullptr, false);
  return j.is_object() && j.contains("error") && j["error"].is_object() &&
         j["error"].value("code", "") == code;
}

bool is_anthropic_error(const std::string& body, const std::string& type) {
  const json j = json::parse(body, nullptr, false);
  return j.is_object() && j.value("type", "") == "error" && j.contains("error") &&
         j["error"].value("type", "") == type;
}

// This process's resident set, from /proc (0 when unreadable).
long rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return 0;
}

// A raw loopback connection: the hostile client.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  RawSocket(RawSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }

  bool ok() const { return fd_ >= 0; }
  // False once the peer is gone (EPIPE, ECONNRESET).
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  bool readable(int timeout_ms) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }
  // Everything the server sends until it closes, up to `timeout_ms`.
  std::string read_until_close(int timeout_ms) {
    std::string out;
    const auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    while (Clock::now() < until) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (!readable(static_cast<int>(left))) break;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

// Sends `head`, then `total` bytes of `piece`s, looking for an answer before
// each piece; returns the answer and how much was sent before it came.
struct EarlyAnswer {
  std::string response;
  std::size_t sent = 0;
};
EarlyAnswer send_until_answered(RawSocket& s, const std::string& head, const std::string& piece,
                                std::size_t total) {
  EarlyAnswer a;
  if (!s.send_all(head)) return a;
  while (a.sent < total) {
    if (s.readable(a.sent == 0 ? 200 : 5)) break;
    if (!s.send_all(piece)) break;  // the server closed; its answer may be waiting
    a.sent += piece.size();
  }
  a.response = s.read_until_close(5000);
  return a;
}

TEST(HostileClients, MalformedAndNonUtf8JsonIsA400InTheCallersFormat) {
  auto s = hostile_stack();
  HttpClient c(s->port());
  const std::string bad_utf8 =
      "{\"model\":\"main\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\xc3\"}]}";
  for (const std::string& body : {std::string("{not json"), std::string("{\"model\":\"main\","),
                                  bad_utf8, std::string("[1,2]"), std::string("")}) {
    HttpResponse o = c.request("POST", "/v1/chat/completions", {}, body);
    EXPECT_EQ(o.status, 400) << body;
    EXPECT_TRUE(is_openai_error(o.body, "invalid_json")) << o.body;
    HttpResponse a = c.request("POST", "/v1/messages", {{"anthropic-version", "2023-06-01"}}, body);
    EXPECT_EQ(a.status, 400) << body;
    EXPECT_TRUE(is_anthropic_error(a.body, "invalid_request_error")) << a.body;
  }
  // A valid object without a model string.
  HttpResponse m = c.request("POST", "/v1/messages", {}, R"({"model":5,"messages":[]})");
  EXPECT_EQ(m.status, 400);
  EXPECT_TRUE(is_anthropic_error(m.body, "invalid_request_error")) << m.body;
  expect_still_serving(*s);
}

TEST(HostileClients, AHundredMegabyteBodyIsRefusedWith413BeforeItIsAllSent) {
  auto s = hostile_stack("server: {max_body_bytes: 1MiB}\n");
  constexpr std::size_t kTotal = 100 * 1024 * 1024;
  const std::string piece(64 * 1024, 'a');
  // Declared up front, and sent chunked (no length to judge by).
  for (const bool chunked : {false, true}) {
    RawSocket sock(s->port());
    ASSERT_TRUE(sock.ok());
    std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n";
    head += chunked ? "Transfer-Encoding: chunked\r\n\r\n"
                    : "Content-Length: " + std::to_string(kTotal) + "\r\n\r\n";
    std::string framed = piece;
    if (chunked) framed = "10000\r\n" + piece + "\r\n";
    const EarlyAnswer a = send_until_answered(sock, head, framed, kTotal);
    EXPECT_EQ(status_of(a.response), 413) << (chunked ? "chunked: " : "") << a.response;
    EXPECT_TRUE(is_openai_error(body_of(a.response), "payload_too_large")) << a.response;
    // The server answered after about its limit, not after the whole body.
    EXPECT_LT(a.sent, 16U * 1024 * 1024) << "sent before the answer, chunked=" << chunked;
    EXPECT_TRUE(sock.closed());
    expect_still_serving(*s);
  }
}

// The same refusal to an Anthropic client comes in Anthropic's format: the
// head (path and anthropic-version) was read before the body overflowed.
TEST(HostileClients, ABodyTooLargeForAnAnthropicClientIsRefusedInItsFormat) {
  auto s = hostile_stack("server: {max_body_bytes: 1MiB}\n");
  RawSocket sock(s->port());
  ASSERT_TRUE(sock.ok());
  constexpr std::size_t kTotal = 8 * 1024 * 1024;
  const std::string head =
      "POST /v1/messages HTTP/1.1\r\nHost: x\r\nanthropic-version: "
      "2023-06-01\r\nContent-Length: " +
      std::to_string(kTotal) + "\r\n\r\n";
  const EarlyAnswer a = send_until_answered(sock, head, std::string(64 * 1024, 'a'), kTotal);
  EXPECT_EQ(status_of(a.response), 413) << a.response;
  EXPECT_TRUE(is_anthropic_error(body_of(a.response), "request_too_large")) << a.response;
  expect_still_serving(*s);
}

TEST(HostileClients, AMegabyteHeaderIsA431) {
  auto s = hostile_stack();
  RawSocket sock(s->port());
  ASSERT_TRUE(sock.ok());
  const EarlyAnswer a = send_until_answered(
      sock, "GET /health HTTP/1.1\r\nHost: x\r\nx-big: ", std::string(16 * 1024, 'h'), 1024 * 1024);
  EXPECT_EQ(status_of(a.response), 431) << a.response;
  EXPECT_TRUE(is_openai_error(body_of(a.response), "headers_too_large")) << a.response;
  EXPECT_LT(a.sent, 1024U * 1024);  // refused before the header ended
  expect_still_serving(*s);
}

TEST(HostileClients, ASlowlorisHeadIsCutOffAtTheRequestTimeout) {
  auto s = hostile_stack("server: {request_timeout: 800ms}\n");
  RawSocket sock(s->port());
  ASSERT_TRUE(sock.ok());
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 80\r\n\r\n";
  const auto start = Clock::now();
  std::string response;
  std::size_t sent = 0;
  for (; sent < head.size(); ++sent) {
    if (sock.readable(100)) break;  // a byte every 100 ms, unless answered
    if (!sock.send_all(head.substr(sent, 1))) break;
  }
  response = sock.read_until_close(3000);
  const auto took = Clock::now() - start;
  EXPECT_EQ(status_of(response), 408) << response;
  EXPECT_TRUE(is_openai_error(body_of(response), "request_timeout")) << response;
  EXPECT_TRUE(sock.closed());
  EXPECT_LT(sent, head.size());  // cut off mid-head
  EXPECT_GE(took, std::chrono::milliseconds(700));
  EXPECT_LT(took, std::chrono::milliseconds(2500));
  expect_still_serving(*s);
}

// Holds `count` idle connections to 127.0.0.1:`port` in a child process, so
// this process needs descriptors only for the gateway's ends. The child makes
// system calls only (it is forked from a threaded process). It writes one
// byte when every connection is open ('!' if one failed), and on the parent's
// byte, the number (capped at 255) of sampled connections the gateway had
// dropped; then it exits, closing them all.
class IdleConnectionHolder {
 public:
  IdleConnectionHolder(std::uint16_t port, std::size_t count) {
    if (::pipe(to_parent_) != 0 || ::pipe(to_child_) != 0) return;
    pid_ = ::fork();
    if (pid_ != 0) return;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    constexpr std::size_t kSampleEvery = 50;
    int sampled[256];
    std::size_t n_sampled = 0;
    char status = '+';
    for (std::size_t i = 0; i < count; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        status = '!';
        break;
      }
      if (i % kSampleEvery == 0 && n_sampled < 256) sampled[n_sampled++] = fd;
    }
    (void)!::write(to_parent_[1], &status, 1);
    char go;
    (void)!::read(to_child_[0], &go, 1);
    unsigned char dropped = 0;
    for (std::size_t i = 0; i < n_sampled; ++i) {
      pollfd p{sampled[i], POLLIN, 0};
      if (::poll(&p, 1, 0) != 0 && dropped < 255) ++dropped;  // data or hang-up
    }
    (void)!::write(to_parent_[1], &dropped, 1);
    ::_exit(0);
  }
  ~IdleConnectionHolder() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : {to_parent_[0], to_parent_[1], to_child_[0], to_child_[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }
  // Waits (bounded) for the child's byte: '+' all open, '!' one failed.
  char wait_open() { return read_byte(); }
  int dropped_after_check() {
    const char go = 'g';
    if (::write(to_child_[1], &go, 1) != 1) return -1;
    return static_cast<unsigned char>(read_byte());
  }

 private:
  char read_byte() {
    pollfd p{to_parent_[0], POLLIN, 0};
    char c = 0;
    if (::poll(&p, 1, 120'000) == 1 && ::read(to_parent_[0], &c, 1) == 1) return c;
    return 0;
  }
  pid_t pid_ = -1;
  int to_parent_[2] = {-1, -1};
  int to_child_[2] = {-1, -1};
};

TEST(HostileClients, TenThousandIdleConnectionsDoNotStopNormalRequests) {
  constexpr std::size_t kIdle = 10000;
  // The gateway's ends only: the client ends live in a child process.
  constexpr rlim_t kNeed = kIdle + 512;
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < kNeed) {
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << lim.rlim_max << " is below the " << kNeed
                 << " descriptors this test needs";
  }
  const rlimit saved = lim;
  if (lim.rlim_cur < kNeed) {
    lim.rlim_cur = kNeed;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  }
  {
    auto s = hostile_stack();
    expect_still_serving(*s);
    const long rss_before_kb = rss_kb();
    IdleConnectionHolder idle(s->port(), kIdle);
    ASSERT_EQ(idle.wait_open(), '+') << "the child could not open every connection";
    // Accepting the backlog takes the gateway a moment: a normal request
    // goes through meanwhile.
    expect_still_serving(*s);
    HttpClient c(s->port());
    for (int i = 0; i < 20; ++i) {
      HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
      ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.error << r.body;
      HttpResponse a = c.request("POST", "/v1/messages", {}, kMessages);
      ASSERT_EQ(a.status, 200) << "request " << i << ": " << a.error << a.body;
    }
    // A figure, not an assertion (sanitizer builds differ): the gateway's
    // side of the idle connections.
    std::cout << "[ idle ] " << kIdle << " idle connections: gateway RSS +"
              << (rss_kb() - rss_before_kb) / 1024 << " MiB\n";
    EXPECT_EQ(idle.dropped_after_check(), 0) << "idle connections were dropped";
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
}

TEST(HostileClients, ConflictingContentLengthAndTransferEncodingIsA400) {
  auto s = hostile_stack();
  RawSocket sock(s->port());
  ASSERT_TRUE(sock.ok());
  ASSERT_TRUE(sock.send_all(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /status HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string response = sock.read_until_close(3000);
  EXPECT_EQ(status_of(response), 400) << response;
  EXPECT_TRUE(is_openai_error(body_of(response), "bad_request")) << response;
  EXPECT_TRUE(sock.closed());
  // The smuggled second request was not answered.
  EXPECT_EQ(response.find("HTTP/1.1", 1), std::string::npos) << response;
  expect_still_serving(*s);
}

TEST(HostileClients, UnknownPathsAndModelsAre404sInTheCallersFormat) {
  auto s = hostile_stack();
  HttpClient c(s->port());
  HttpResponse p = c.request("POST", "/v1/nowhere", {}, kChat);
  EXPECT_EQ(p.status, 404);
  EXPECT_TRUE(is_openai_error(p.body, "not_found")) << p.body;
  HttpResponse g = c.request("GET", "/v1/chat/completions");
  EXPECT_EQ(g.status, 404);
  EXPECT_TRUE(is_openai_error(g.body, "not_found")) << g.body;
  HttpResponse ap = c.request("POST", "/v1/messages/batches", {}, kMessages);
  EXPECT_EQ(ap.status, 404);
  EXPECT_TRUE(is_anthropic_error(ap.body, "not_found_error")) << ap.body;
  HttpResponse av = c.request("POST", "/v1/complete", {{"anthropic-version", "2023-06-01"}}, "{}");
  EXPECT_EQ(av.status, 404);
  EXPECT_TRUE(is_anthropic_error(av.body, "not_found_error")) << av.body;

  HttpResponse om = c.request("POST", "/v1/chat/completions", {}, R"({"model":"gpt-9"})");
  EXPECT_EQ(om.status, 404);
  EXPECT_TRUE(is_openai_error(om.body, "model_not_found")) << om.body;
  HttpResponse am = c.request("POST", "/v1/messages", {}, R"({"model":"nope/claude"})");
  EXPECT_EQ(am.status, 404);
  EXPECT_TRUE(is_anthropic_error(am.body, "not_found_error")) << am.body;
  expect_still_serving(*s);
}

}  // namespace
}  // namespace sluice::server
