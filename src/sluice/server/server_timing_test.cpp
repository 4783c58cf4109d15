// Every served answer says how long sluice itself took, apart from queueing
// and the provider (Server-Timing), so users can check the overhead on their
// own traffic.
#include <gtest/gtest.h>

#include <regex>

#include "testing/gateway_stack.hpp"
#include "testing/gateway_yaml.hpp"
#include "testing/http_client.hpp"

namespace sluice::server {
namespace {

using testing::GatewayStack;
using testing::HttpClient;
using testing::HttpResponse;
using testing::sim_provider;
using testing::url;

TEST(ServerTiming, TheOverheadExcludesTheProvidersTime) {
  auto slow = sim_provider("slow", Dialect::kOpenAI);
  slow.latency.fixed = std::chrono::milliseconds(120);
  GatewayStack s({slow}, [](const std::vector<std::uint16_t>& p) {
    return testing::GatewayYaml::one("slow", Dialect::kOpenAI, p[0], "m").str();
  });
  HttpClient c(s.port());
  for (const char* body :
       {R"({"model":"main","messages":[{"role":"user","content":"hi"}]})",
        R"({"model":"main","stream":true,"messages":[{"role":"user","content":"hi"}]})"}) {
    const HttpResponse r = c.request("POST", "/v1/chat/completions", {}, body);
    ASSERT_EQ(r.status, 200) << r.body;
    const auto st = r.header("server-timing");
    ASSERT_TRUE(st) << body;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*st, m,
                                  std::regex(R"(^sluice;dur=([0-9.]+);desc="sluice overhead", )"
                                             R"(queue;dur=([0-9.]+), wait;dur=([0-9.]+);)")))
        << *st;
    const double own = std::stod(m[1]);
    const double wait = std::stod(m[3]);
    EXPECT_GE(wait, 120.0) << *st;  // the provider's latency is not sluice's
    EXPECT_LT(own, wait) << *st;    // and what is left, sluice's own, is not it
  }
}

}  // namespace
}  // namespace sluice::server
