// `sluice status` against a real gateway (sluice serve in front of sluice sim
// on 127.0.0.1:0): the table, the gateway key, and the two errors.
#include "apps/sluice/status_command.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "testing/gateway_stack.hpp"

namespace sluice::cli {
namespace {

using testing::GatewayStack;
using testing::HttpClient;
using testing::sim_provider;
using testing::url;

const std::string kProviderSecret = "sk-status-PROVIDER-0ddba11";

std::unique_ptr<GatewayStack> stack_with_gateway_key() {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.keys = {kProviderSecret};
  oa.limits.requests_per_window = 100;
  oa.limits.window = std::chrono::seconds(60);
  return std::make_unique<GatewayStack>(std::vector<sim::ProviderSimConfig>{oa},
                                        [](const std::vector<std::uint16_t>& p) {
                                          return "server: {gateway_keys: [status-gw-key]}\n"
                                                 "providers:\n  oa: {api: openai, base_url: \"" +
                                                 url(p[0]) + "/v1\", keys: [" + kProviderSecret +
                                                 "]}\n"
                                                 "models:\n  main: {route: [oa/gpt-4o-mini]}\n";
                                        });
}

struct StatusRun {
  int code;
  std::string out, err;
};

StatusRun status(StatusFlags flags) {
  std::ostringstream out, err;
  const int code = run_status(flags, out, err);
  return {code, out.str(), err.str()};
}

TEST(StatusCommand, ShowsProvidersBudgetsAndCountersWithTheGatewayKey) {
  auto s = stack_with_gateway_key();
  HttpClient c(s->port());
  ASSERT_EQ(
      c.request("POST", "/v1/chat/completions",
                {{"authorization", "Bearer status-gw-key"}, {"content-type", "application/json"}},
                R"({"model":"main","messages":[{"role":"user","content":"hi"}]})")
          .status,
      200);
  const StatusRun r = status({.url = url(s->port()), .key = "status-gw-key"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("PROVIDER  KEY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("oa        key:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0/64"), std::string::npos) << "in flight / limit\n" << r.out;
  EXPECT_NE(r.out.find("requests  99/100"), std::string::npos) << "budget\n" << r.out;
  EXPECT_NE(r.out.find("requests 1 (ok 1, error 0, refused 0)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kProviderSecret), std::string::npos) << "no secret in the output";
  EXPECT_EQ(r.out.find("status-gw-key"), std::string::npos);
}

TEST(StatusCommand, TheKeyMayComeFromTheEnvironment) {
  auto s = stack_with_gateway_key();
  ::setenv("SLUICE_GATEWAY_KEY", "status-gw-key", 1);
  const StatusRun r = status({.url = url(s->port())});
  ::unsetenv("SLUICE_GATEWAY_KEY");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(StatusCommand, A401IsAClearErrorWithoutEchoingTheKey) {
  auto s = stack_with_gateway_key();
  const StatusRun none = status({.url = url(s->port())});
  EXPECT_EQ(none.code, 1);
  EXPECT_EQ(none.out, "");
  EXPECT_NE(none.err.find("refused the request without a gateway key (HTTP 401); pass --key or "
                          "set SLUICE_GATEWAY_KEY"),
            std::string::npos)
      << none.err;
  const StatusRun wrong = status({.url = url(s->port()), .key = "not-the-key-31337"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.err.find("refused the gateway key (HTTP 401)"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("not-the-key-31337"), std::string::npos);
}

TEST(StatusCommand, AnUnreachableGatewayIsAClearError) {
  std::uint16_t port = 0;
  {
    auto s = stack_with_gateway_key();
    port = s->port();
  }  // stopped: nothing listens there now
  const StatusRun r = status({.url = url(port)});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot reach the gateway at " + url(port)), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::cli
