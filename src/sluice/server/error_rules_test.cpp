// Operator error rules (errors.rules) decide before the built-in ones on the
// serving path, as check-config announces.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
using testing::url;

const std::string kChat =
    R"({"model":"main","messages":[{"role":"user","content":"hello"}],"max_tokens":16})";

// A provider whose own words for "your plan is spent" no built-in rule knows.
ScriptedUpstream spent_plan() {
  return ScriptedUpstream([](const ScriptedUpstream::Conn& c, const std::string&) {
    const std::string body =
        R"({"error":{"message":"Plan credits used up for this cycle","type":"invalid_request_error"}})";
    c.write("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body);
    return true;
  });
}

std::string yaml(std::uint16_t port, bool with_rule) {
  testing::GatewayYaml y;
  y.provider(
      {.name = "odd", .base_url = url(port) + "/v1", .keys = {"odd-key"}, .extra = "max_wait: 0s"});
  y.model({.alias = "main", .route = {"odd/m"}});
  if (with_rule) {
    y.after =
        "errors:\n  rules:\n    - {name: plan-spent, class: QUOTA_EXHAUSTED, "
        "phrases: [credits used up]}\n";
  }
  return y.str();
}

TEST(ErrorRules, AConfiguredRuleClassifiesTheProvidersOwnWording) {
  ScriptedUpstream odd = spent_plan();
  GatewayStack s({}, [&](const std::vector<std::uint16_t>&) { return yaml(odd.port(), true); });
  HttpClient c(s.port());
  const HttpResponse first = c.request("POST", "/v1/chat/completions", {}, kChat);
  EXPECT_EQ(json::parse(first.body)["error"]["code"], "quota_exhausted") << first.body;
  // The key is benched for its quota: the next request does not reach the provider.
  const HttpResponse second = c.request("POST", "/v1/chat/completions", {}, kChat);
  EXPECT_NE(second.status, 200);
  EXPECT_EQ(odd.requests(), 1);
}

TEST(ErrorRules, WithoutTheRuleTheSameAnswerIsAFormatError) {
  ScriptedUpstream odd = spent_plan();
  GatewayStack s({}, [&](const std::vector<std::uint16_t>&) { return yaml(odd.port(), false); });
  HttpClient c(s.port());
  const HttpResponse r = c.request("POST", "/v1/chat/completions", {}, kChat);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "format_error") << r.body;
}

}  // namespace
}  // namespace sluice::server
