// No secret leaves the gateway: a full run against several simulated
// providers (a revoked key drawing 401, a provider out of quota, fallbacks,
// streams in both APIs, refusals, the operator's pages, error bodies) with
// every log line and every payload the clients receive scanned for each
// configured key and gateway key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "testing/gateway_stack.hpp"
#include "testing/http_client.hpp"

namespace sluice::server {
namespace {

using nlohmann::json;
using testing::GatewayStack;
using testing::HttpClient;
using testing::HttpResponse;
using testing::sim_provider;
using testing::url;

const std::string kGateway = "gw-SECRET-0d15ea5e-gateway";
const std::string kRevoked = "sk-SECRET-revoked-8badf00d";
const std::string kGood = "sk-SECRET-good-c0ffee11";
const std::string kQuota = "zai-SECRET-quota-feedface";
const std::string kClaude = "sk-ant-SECRET-claude-deadbeef";
const std::string kClaudeRevoked = "sk-ant-SECRET-revoked-facade00";
const std::vector<std::string> kSecrets = {kGateway, kGood,   kRevoked,
                                           kQuota,   kClaude, kClaudeRevoked};

// Everything written to std::clog, std::cerr and std::cout while alive, and
// to file descriptor 2 by anything else (C code, a library).
class OutputCapture {
 public:
  OutputCapture() {
    clog_ = std::clog.rdbuf(log_.rdbuf());
    cerr_ = std::cerr.rdbuf(err_.rdbuf());
    cout_ = std::cout.rdbuf(out_.rdbuf());
    std::fflush(stderr);
    path_ = ::testing::TempDir() + "sluice-secrets-fd2-" + std::to_string(::getpid());
    FILE* f = std::fopen(path_.c_str(), "w");
    if (f != nullptr) {
      saved_fd2_ = ::dup(2);
      ::dup2(::fileno(f), 2);
      std::fclose(f);
    }
  }
  ~OutputCapture() { restore(); }
  // Restores the streams and returns everything captured.
  std::string restore() {
    if (clog_ == nullptr) return text_;
    std::clog.rdbuf(clog_);
    std::cerr.rdbuf(cerr_);
    std::cout.rdbuf(cout_);
    clog_ = nullptr;
    std::fflush(stderr);
    if (saved_fd2_ >= 0) {
      ::dup2(saved_fd2_, 2);
      ::close(saved_fd2_);
    }
    std::ifstream in(path_);
    std::stringstream fd2;
    fd2 << in.rdbuf();
    std::remove(path_.c_str());
    text_ = log_.str() + err_.str() + out_.str() + fd2.str();
    return text_;
  }

 private:
  std::ostringstream log_, err_, out_;
  std::streambuf* clog_ = nullptr;
  std::streambuf* cerr_ = nullptr;
  std::streambuf* cout_ = nullptr;
  int saved_fd2_ = -1;
  std::string path_;
  std::string text_;
};

std::vector<std::string> leaks_in(const std::string& text) {
  std::vector<std::string> found;
  for (const auto& s : kSecrets) {
    if (text.find(s) != std::string::npos) found.push_back(s);
  }
  return found;
}

std::string whole(const HttpResponse& r) {
  std::string s = std::to_string(r.status) + "\n";
  for (const auto& [n, v] : r.headers) s += n + ": " + v + "\n";
  return s + "\n" + r.body;
}

TEST(Secrets, NoLogLineOrPayloadOfAFullRunShowsAConfiguredSecret) {
  OutputCapture capture;
  std::vector<std::pair<std::string, HttpResponse>> seen;
  {
    auto oa = sim_provider("oa", Dialect::kOpenAI);
    oa.keys = {kGood};
    oa.limits.requests_per_window = 1000;  // rate-limit headers on every answer
    auto zq = sim_provider("zq", Dialect::kZai);
    zq.keys = {kQuota};
    zq.faults.quota_after = 0;  // every generation: the daily-quota error
    auto an = sim_provider("an", Dialect::kAnthropic);
    an.keys = {kClaude};
    GatewayStack s({oa, zq, an}, [](const std::vector<std::uint16_t>& p) {
      return "server: {gateway_keys: [" + kGateway +
             "]}\n"
             "state: {backend: memory}\nproviders:\n"
             "  oa: {api: openai, base_url: \"" +
             url(p[0]) + "/v1\", keys: [" + kRevoked + ", " + kGood +
             "], strategy: fill_first}\n"
             "  zq: {api: openai, dialect: zai, base_url: \"" +
             url(p[1]) + "/api/paas/v4\", keys: [" + kQuota +
             "]}\n"
             "  an: {api: anthropic, dialect: anthropic, base_url: \"" +
             url(p[2]) + "\", keys: [" + kClaude +
             "]}\n"
             "  an_old: {api: anthropic, dialect: anthropic, base_url: \"" +
             url(p[2]) + "\", keys: [" + kClaudeRevoked +
             "]}\n"
             "models:\n"
             "  main: {route: [zq/glm-5.1, oa/gpt-4o-mini]}\n"
             "  dead: {route: [zq/glm-4.7]}\n"
             "  claude: {route: [an_old/claude-x, an/claude-x]}\n"
             "  locked: {route: [an_old/claude-x]}\n";
    });
    HttpClient c(s.port());
    const std::vector<std::pair<std::string, std::string>> gw = {
        {"authorization", "Bearer " + kGateway}};
    const std::vector<std::pair<std::string, std::string>> gw_anthropic = {
        {"x-api-key", kGateway}, {"anthropic-version", "2023-06-01"}};
    auto call = [&](const std::string& what, HttpResponse r) {
      seen.emplace_back(what, r);
      return r;
    };

    // Quota on the primary, a revoked key on the fallback, then its good key.
    HttpResponse r = call(
        "fallback", c.request("POST", "/v1/chat/completions", gw,
                              R"({"model":"main","messages":[{"role":"user","content":"hi"}]})"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-sluice-route"), "oa/gpt-4o-mini");
    EXPECT_TRUE(r.header("x-sluice-fallback").has_value());
    r = call("stream", c.request("POST", "/v1/chat/completions", gw,
                                 R"({"model":"main","stream":true,"messages":[{"role":"user",)"
                                 R"("content":"hi"}]})"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("[DONE]"), std::string::npos) << r.body;
    // Anthropic: a revoked key first, then the good provider; whole and streamed.
    r = call("claude", c.request("POST", "/v1/messages", gw_anthropic,
                                 R"({"model":"claude","max_tokens":8,"messages":[{"role":"user",)"
                                 R"("content":"hi"}]})"));
    EXPECT_EQ(r.status, 200) << r.body;
    r = call("claude stream",
             c.request("POST", "/v1/messages", gw_anthropic,
                       R"({"model":"claude","stream":true,"max_tokens":8,"messages":[{"role":)"
                       R"("user","content":"hi"}]})"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("message_stop"), std::string::npos) << r.body;
    // Failures relayed as the gateway's error bodies.
    r = call("quota", c.request("POST", "/v1/chat/completions", gw,
                                R"({"model":"dead","messages":[{"role":"user","content":"x"}]})"));
    EXPECT_GE(r.status, 400) << r.body;
    r = call("revoked", c.request("POST", "/v1/messages", gw_anthropic,
                                  R"({"model":"locked","max_tokens":8,"messages":[]})"));
    EXPECT_GE(r.status, 400) << r.body;
    r = call("bad gateway key",
             c.request("POST", "/v1/chat/completions",
                       {{"authorization", "Bearer " + kGateway + "x"}}, R"({"model":"main"})"));
    EXPECT_EQ(r.status, 401);
    r = call("bad json", c.request("POST", "/v1/chat/completions", gw, "{\"model\":"));
    EXPECT_EQ(r.status, 400);
    r = call("unknown model", c.request("POST", "/v1/messages", gw_anthropic, R"({"model":"x"})"));
    EXPECT_EQ(r.status, 404);
    r = call("direct", c.request("POST", "/v1/chat/completions", gw,
                                 R"({"model":"zq/glm-5.1","messages":[]})"));
    EXPECT_GE(r.status, 400);
    // The operator's views, after all of the above.
    for (const char* path : {"/status", "/metrics", "/", "/v1/models", "/health"}) {
      r = call(path, c.request("GET", path, gw));
      EXPECT_EQ(r.status, 200) << path;
    }
    EXPECT_NE(seen.back().second.body.find("ok"), std::string::npos);
  }
  const std::string logs = capture.restore();

  for (const auto& [what, resp] : seen) {
    const auto found = leaks_in(whole(resp));
    EXPECT_TRUE(found.empty()) << what << " shows " << found.front() << ":\n" << whole(resp);
  }
  // The capture did see the engine's log lines (so an empty scan means something).
  EXPECT_NE(logs.find("msg=request"), std::string::npos) << logs;
  EXPECT_NE(logs.find("msg=upstream_failure"), std::string::npos) << logs;
  std::istringstream lines(logs);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const auto found = leaks_in(line);
    EXPECT_TRUE(found.empty()) << "log line " << n << " shows " << found.front() << ": " << line;
  }
  EXPECT_GT(n, 5U);
}

}  // namespace
}  // namespace sluice::server
