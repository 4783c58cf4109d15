// The gateway's front door as agent clients meet it: HEAD probes, model
// discovery, a catch-all alias, refusals that are logged and not retryable.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/gateway_stack.hpp"
#include "testing/gateway_yaml.hpp"
#include "testing/http_client.hpp"
#include "testing/request_log.hpp"

namespace sluice::server {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;
using testing::sim_provider;
using testing::url;
using Stack = testing::GatewayStack;

// An OpenAI-API provider and an Anthropic-API one; aliases for each, one with
// a configured context length, and (optionally) a catch-all.
std::function<std::string(const std::vector<std::uint16_t>&)> yaml(bool catch_all,
                                                                   std::string server = "") {
  return [=](const std::vector<std::uint16_t>& p) {
    testing::GatewayYaml y;
    y.server = server;
    y.provider({.name = "oa", .base_url = testing::sim_base_url(Dialect::kOpenAI, p[0])});
    y.provider({.name = "an",
                .api = "anthropic",
                .base_url = testing::sim_base_url(Dialect::kAnthropic, p[1])});
    y.model({.alias = "main", .route = {"oa/gpt-4o-mini"}});
    y.model({.alias = "long", .route = {"oa/my-finetune"}, .extra = "context_length: 32000"});
    y.model({.alias = "claude", .route = {"an/claude-sonnet-4-5", "oa/gpt-4.1"}});
    if (catch_all) y.model({.alias = "\"*\"", .route = {"an/claude-sonnet-4-5"}});
    return y.str();
  };
}

std::vector<sim::ProviderSimConfig> sims() {
  return {sim_provider("oa", Dialect::kOpenAI), sim_provider("an", Dialect::kAnthropic)};
}

TEST(FrontDoor, HeadProbesGetHeadsWithoutBodiesAndTheConnectionStaysUsable) {
  Stack s(sims(), yaml(false));
  // Claude Code sends HEAD / at start-up; a body after the head would be
  // read as the next response on the connection.
  const std::string out =
      testing::exchange_raw(s.port(),
                            "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
                            "HEAD /health HTTP/1.1\r\nHost: a\r\n\r\n"
                            "HEAD /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"
                            "GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  std::vector<std::string> heads;
  std::size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    const auto end = out.find("\r\n\r\n", at);
    ASSERT_NE(end, std::string::npos) << out;
    heads.push_back(out.substr(at, end - at));
    at = end + 4;
  }
  EXPECT_TRUE(heads[0].starts_with("HTTP/1.1 200")) << heads[0];
  EXPECT_TRUE(heads[1].starts_with("HTTP/1.1 200")) << heads[1];
  EXPECT_TRUE(heads[2].starts_with("HTTP/1.1 404")) << heads[2];
  // Right after the third head comes the GET's answer, whole.
  EXPECT_TRUE(out.substr(at).starts_with("HTTP/1.1 200")) << out.substr(at);
  EXPECT_TRUE(out.ends_with(R"({"status":"ok"})")) << out;
}

TEST(FrontDoor, EveryRefusalAtTheFrontDoorLeavesOneLogLine) {
  testing::RequestLog logs;
  {
    Stack s(sims(), yaml(false, "server: {gateway_keys: [gw-secret-1]}\n"));
    HttpClient c(s.port());
    const std::vector<std::pair<std::string, std::string>> key = {
        {"authorization", "Bearer gw-secret-1"}};
    EXPECT_EQ(c.request("POST", "/v1/messages", {}, R"({"model":"claude"})").status, 401);
    EXPECT_EQ(c.request("POST", "/v1/messages", key, R"({"model":"claude-opus-4-1"})").status, 404);
    EXPECT_EQ(c.request("POST", "/v1/nowhere", key, "{}").status, 404);
    EXPECT_EQ(c.request("GET", "/v1/models/nope", key).status, 404);
  }
  const auto lines = logs.lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["status"], 401);
  EXPECT_EQ(lines[0]["code"], "invalid_gateway_key");
  EXPECT_EQ(lines[1]["status"], 404);
  EXPECT_EQ(lines[1]["code"], "model_not_found");
  EXPECT_EQ(lines[1]["alias"], "claude-opus-4-1");
  EXPECT_EQ(lines[1]["path"], "/v1/messages");
  EXPECT_EQ(lines[2]["code"], "not_found");
  EXPECT_EQ(lines[3]["code"], "model_not_found");
  for (const auto& l : lines) {
    EXPECT_EQ(l["outcome"], "refused");
    EXPECT_EQ(l.dump().find("gw-secret-1"), std::string::npos) << l.dump();
  }
}

TEST(FrontDoor, AnAliasWithNoCandidateOfTheCallersApiIsANonRetryableError) {
  Stack s(sims(), yaml(true));
  HttpClient c(s.port());
  // The catch-all routes only to an Anthropic-API provider, and embeddings
  // have no Anthropic counterpart to translate to.
  const HttpResponse r =
      c.request("POST", "/v1/embeddings", {}, R"({"model":"some-embedder","input":"hi"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.header("x-should-retry"), "false");
  EXPECT_FALSE(r.header("retry-after"));
  const json body = json::parse(r.body);
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["code"], "no_candidate_for_api");
  EXPECT_NE(
      body["error"]["message"].get<std::string>().find("an/claude-sonnet-4-5 (api: anthropic)"),
      std::string::npos)
      << r.body;
  // A route with one candidate of the caller's API still serves it.
  EXPECT_EQ(c.request("POST", "/v1/embeddings", {}, R"({"model":"main","input":"hi"})").status,
            200);
}

TEST(FrontDoor, CountTokensWithNoAnthropicCandidateIsALocalEstimate) {
  Stack s(sims(), yaml(false));
  HttpClient c(s.port());
  const std::string text(400, 'x');  // 400 bytes of prompt: 100 tokens
  const HttpResponse r =
      c.request("POST", "/v1/messages/count_tokens", {},
                R"({"model":"main","messages":[{"role":"user","content":")" + text + R"("}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-estimate"), "local");
  EXPECT_EQ(json::parse(r.body)["input_tokens"], 100);
  // Tool definitions count too.
  const HttpResponse with_tools =
      c.request("POST", "/v1/messages/count_tokens", {},
                R"({"model":"main","messages":[{"role":"user","content":")" + text +
                    R"("}],"tools":[{"name":"f","input_schema":{"type":"object"}}]})");
  EXPECT_GT(json::parse(with_tools.body)["input_tokens"].get<int>(), 100);
  // An alias with an Anthropic candidate asks the provider.
  const HttpResponse asked =
      c.request("POST", "/v1/messages/count_tokens", {},
                R"({"model":"claude","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(asked.status, 200);
  EXPECT_FALSE(asked.header("x-sluice-estimate"));
}

TEST(FrontDoor, ACatchAllAliasServesModelNamesTheGatewayDoesNotKnow) {
  Stack s(sims(), yaml(true));
  HttpClient c(s.port());
  const HttpResponse r = c.request(
      "POST", "/v1/messages", {},
      R"({"model":"claude-haiku-4-5-20251001","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-route"), "an/claude-sonnet-4-5");
  // Named aliases and provider/model addresses still win over it.
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", {},
                      R"({"model":"main","messages":[{"role":"user","content":"hi"}]})")
                .header("x-sluice-route"),
            "oa/gpt-4o-mini");
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", {},
                      R"({"model":"oa/gpt-4o","messages":[{"role":"user","content":"hi"}]})")
                .header("x-sluice-route"),
            "oa/gpt-4o");
  // It is not listed as a model.
  const json list = json::parse(c.request("GET", "/v1/models").body);
  for (const auto& m : list["data"]) EXPECT_NE(m["id"], "*");
  EXPECT_EQ(c.request("GET", "/v1/models/*").status, 404);
  // A name it would serve answers as a model, with the catch-all's context length.
  const HttpResponse probed = c.request("GET", "/v1/models/claude-opus-4-8");
  ASSERT_EQ(probed.status, 200);
  EXPECT_EQ(json::parse(probed.body)["id"], "claude-opus-4-8");
  EXPECT_EQ(json::parse(probed.body)["context_length"], 200000);
}

TEST(FrontDoor, ModelsListAliasesWithTheirContextLengthInTheCallersFormat) {
  Stack s(sims(), yaml(false));
  HttpClient c(s.port());
  const json list = json::parse(c.request("GET", "/v1/models").body);
  ASSERT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 3u);
  std::map<std::string, json> by_id;
  for (const auto& m : list["data"]) by_id[m["id"]] = m;
  EXPECT_EQ(by_id["main"]["context_length"], 128000);  // gpt-4o-mini, built in
  EXPECT_EQ(by_id["long"]["context_length"], 32000);   // configured
  // The smallest known window of the route: claude-sonnet-4-5 (200k), gpt-4.1 (1M).
  EXPECT_EQ(by_id["claude"]["context_length"], 200000);

  const HttpResponse one = c.request("GET", "/v1/models/long");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["id"], "long");
  EXPECT_EQ(json::parse(one.body)["max_model_len"], 32000);
  const HttpResponse missing = c.request("GET", "/v1/models/gpt-9");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "model_not_found");

  // An Anthropic SDK (anthropic-version) gets Anthropic's list shape.
  const json anthropic =
      json::parse(c.request("GET", "/v1/models", {{"anthropic-version", "2023-06-01"}}).body);
  EXPECT_EQ(anthropic["has_more"], false);
  EXPECT_EQ(anthropic["first_id"], "main");
  EXPECT_EQ(anthropic["data"][0]["type"], "model");
  const json claude = json::parse(
      c.request("GET", "/v1/models/claude", {{"anthropic-version", "2023-06-01"}}).body);
  EXPECT_EQ(claude["type"], "model");
  EXPECT_EQ(claude["display_name"], "claude");
}

}  // namespace
}  // namespace sluice::server
