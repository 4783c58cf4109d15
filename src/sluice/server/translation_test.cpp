// Cross-API candidates end to end: sluice serve in front of sluice sim, a
// caller of one API served by a provider of another, whole and streamed,
// with tools; and a cross-API fallback before the first byte.
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "testing/gateway_stack.hpp"
#include "testing/gateway_yaml.hpp"
#include "testing/http_client.hpp"
#include "testing/request_log.hpp"
#include "testing/scripted_upstream.hpp"

namespace sluice::server {
namespace {

using nlohmann::json;
using testing::GatewayStack;
using testing::HttpClient;
using testing::HttpResponse;
using testing::sim_provider;
using testing::url;

// "chat": a Chat-only provider (z.ai: no Responses API); "an": Anthropic;
// "resp": a provider configured as Responses-only (`api: responses`).
std::string yaml(const std::vector<std::uint16_t>& p) {
  testing::GatewayYaml y;
  y.provider(
      {.name = "chat", .dialect = "zai", .base_url = testing::sim_base_url(Dialect::kZai, p[0])});
  y.provider({.name = "an",
              .api = "anthropic",
              .base_url = testing::sim_base_url(Dialect::kAnthropic, p[1])});
  y.provider({.name = "resp",
              .api = "responses",
              .dialect = "openai",
              .base_url = testing::sim_base_url(Dialect::kOpenAI, p[2])});
  y.model({.alias = "to-responses", .route = {"resp/gpt-5-codex"}});
  y.model({.alias = "to-chat", .route = {"chat/glm-4.6"}});
  y.model({.alias = "to-anthropic", .route = {"an/claude-sonnet-4-5"}});
  y.model({.alias = "an-then-chat", .route = {"an/claude-sonnet-4-5", "chat/glm-4.6"}});
  y.model({.alias = "strict-chat", .route = {"chat/glm-4.6"}, .extra = "translation: strict"});
  return y.str();
}

std::vector<sim::ProviderSimConfig> sims(bool anthropic_overloaded = false) {
  auto an = sim_provider("an", Dialect::kAnthropic);
  if (anthropic_overloaded) an.faults.overload_rate = 1.0;
  return {sim_provider("chat", Dialect::kZai), an, sim_provider("resp", Dialect::kOpenAI)};
}

std::vector<json> sse_data(const std::string& body) {
  std::vector<json> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const auto end = body.find('\n', pos);
    const std::string d = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (d != "[DONE]") out.push_back(json::parse(d));
  }
  return out;
}

const json kWeatherTool =
    json::parse(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})");

TEST(Translation, AnAnthropicClientIsServedByAChatProviderWithATool) {
  GatewayStack s(sims(), yaml);
  HttpClient c(s.port());
  const json req = {
      {"model", "to-chat"},
      {"max_tokens", 64},
      {"system", "Be brief."},
      {"messages", json::array({{{"role", "user"}, {"content", "weather?"}}})},
      {"tools", json::array({{{"name", "get_weather"}, {"input_schema", kWeatherTool}}})}};
  const HttpResponse r =
      c.request("POST", "/v1/messages", {{"anthropic-version", "2023-06-01"}}, req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-translated"), "messages->chat");
  EXPECT_EQ(r.header("content-type"), "application/json");
  const json out = json::parse(r.body);
  EXPECT_EQ(out["type"], "message");
  EXPECT_EQ(out["stop_reason"], "tool_use");
  ASSERT_EQ(out["content"][0]["type"], "tool_use");
  EXPECT_EQ(out["content"][0]["name"], "get_weather");
  EXPECT_EQ(out["content"][0]["input"]["city"], "sim");
  // The tool result goes back; the answer is text.
  json next = req;
  next["messages"].push_back({{"role", "assistant"}, {"content", out["content"]}});
  next["messages"].push_back({{"role", "user"},
                              {"content", json::array({{{"type", "tool_result"},
                                                        {"tool_use_id", out["content"][0]["id"]},
                                                        {"content", "sunny"}}})}});
  const HttpResponse r2 = c.request("POST", "/v1/messages", {}, next.dump());
  ASSERT_EQ(r2.status, 200) << r2.body;
  const json out2 = json::parse(r2.body);
  EXPECT_EQ(out2["stop_reason"], "end_turn");
  EXPECT_NE(out2["content"][0]["text"].get<std::string>().find("simulated answer"),
            std::string::npos);
}

TEST(Translation, AnAnthropicStreamFromAChatProviderHasOneBlockPerBlockAndMessageStop) {
  GatewayStack s(sims(), yaml);
  HttpClient c(s.port());
  const json req = {{"model", "to-chat"},
                    {"max_tokens", 64},
                    {"stream", true},
                    {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  const HttpResponse r = c.request("POST", "/v1/messages", {}, req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.complete);
  std::string text;
  int starts = 0, stops = 0;
  std::string last;
  for (const auto& e : sse_data(r.body)) {
    last = e["type"];
    if (last == "content_block_start") ++starts;
    if (last == "content_block_stop") ++stops;
    if (last == "content_block_delta") text += e["delta"]["text"].get<std::string>();
  }
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(stops, 1);
  EXPECT_EQ(last, "message_stop");
  EXPECT_EQ(text, "This is a simulated answer from chat.");
  EXPECT_EQ(r.body.find("stream_drop"), std::string::npos) << r.body;
}

TEST(Translation, TheLogLineOfATranslatedStreamSaysSo) {
  testing::RequestLog requests;
  {
    GatewayStack s(sims(), yaml);
    HttpClient c(s.port());
    const json req = {{"model", "to-chat"},
                      {"max_tokens", 64},
                      {"stream", true},
                      {"top_k", 3},
                      {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
    ASSERT_EQ(c.request("POST", "/v1/messages", {}, req.dump()).status, 200);
  }
  const auto lines = requests.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["detail"], "stream; translated messages->chat, dropped: top_k") << lines[0];
}

TEST(Translation, AChatClientIsServedByAnAnthropicProviderWholeAndStreamed) {
  GatewayStack s(sims(), yaml);
  HttpClient c(s.port());
  json req = {{"model", "to-anthropic"},
              {"messages", json::array({{{"role", "system"}, {"content", "sys"}},
                                        {{"role", "user"}, {"content", "hi"}}})}};
  const HttpResponse r = c.request("POST", "/v1/chat/completions", {}, req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-translated"), "chat->messages");
  const json out = json::parse(r.body);
  EXPECT_EQ(out["object"], "chat.completion");
  EXPECT_EQ(out["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(out["choices"][0]["message"]["content"], "This is a simulated answer from an.");
  EXPECT_GT(out["usage"]["completion_tokens"].get<int>(), 0);

  req["stream"] = true;
  const HttpResponse st = c.request("POST", "/v1/chat/completions", {}, req.dump());
  ASSERT_EQ(st.status, 200) << st.body;
  std::string text;
  for (const auto& e : sse_data(st.body)) {
    if (!e["choices"].empty() && e["choices"][0]["delta"].contains("content")) {
      text += e["choices"][0]["delta"]["content"].get<std::string>();
    }
  }
  EXPECT_EQ(text, "This is a simulated answer from an.");
  EXPECT_TRUE(st.body.ends_with("data: [DONE]\n\n")) << st.body;
}

TEST(Translation, AResponsesClientIsServedByAChatOnlyProviderWithAFunctionCall) {
  GatewayStack s(sims(), yaml);
  HttpClient c(s.port());
  const json req = {
      {"model", "to-chat"},
      {"input", "weather?"},
      {"stream", true},
      {"tools",
       json::array({{{"type", "function"}, {"name", "get_weather"}, {"parameters", kWeatherTool}},
                    {{"type", "web_search"}}})}};
  const HttpResponse r = c.request("POST", "/v1/responses", {}, req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-translated"), "responses->chat");
  EXPECT_EQ(r.header("x-sluice-translation-dropped"), "tools[].web_search");
  const auto evs = sse_data(r.body);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front()["type"], "response.created");
  EXPECT_EQ(evs.back()["type"], "response.completed");
  const json& done = evs.back()["response"];
  ASSERT_EQ(done["output"].size(), 1u);
  EXPECT_EQ(done["output"][0]["type"], "function_call");
  EXPECT_EQ(done["output"][0]["name"], "get_weather");
  EXPECT_EQ(json::parse(done["output"][0]["arguments"].get<std::string>())["city"], "sim");
}

TEST(Translation, AnOverloadedAnthropicPrimaryFallsBackToChatInvisiblyForAStreamingClient) {
  GatewayStack s(sims(/*anthropic_overloaded=*/true), yaml);
  HttpClient c(s.port());
  const json req = {{"model", "an-then-chat"},
                    {"max_tokens", 64},
                    {"stream", true},
                    {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  const HttpResponse r = c.request("POST", "/v1/messages", {}, req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-route"), "chat/glm-4.6");
  EXPECT_EQ(r.header("x-sluice-translated"), "messages->chat");
  const auto evs = sse_data(r.body);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front()["type"], "message_start");
  EXPECT_EQ(evs.back()["type"], "message_stop");
  EXPECT_EQ(r.body.find("overloaded"), std::string::npos) << r.body;
}

TEST(Translation, AResponsesStreamCutByTheProviderEndsWithResponseFailed) {
  auto cut = sim_provider("cut", Dialect::kOpenAI);
  cut.faults.close_mid_stream_rate = 1.0;
  cut.faults.stream_error_after_chunks = 4;
  GatewayStack s({cut}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n  cut: {api: openai, dialect: openai, base_url: "
           "\"" +
           url(p[0]) + "/v1\", keys: [good-key]}\nmodels:\n  m: {route: [cut/gpt-5]}\n";
  });
  HttpClient c(s.port());
  const HttpResponse r =
      c.request("POST", "/v1/responses", {}, R"({"model":"m","input":"hi","stream":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto evs = sse_data(r.body);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back()["type"], "response.failed") << r.body;
  EXPECT_EQ(evs.back()["response"]["error"]["code"], "stream_drop");
}

TEST(Translation, AChatClientIsServedByAResponsesOnlyProviderWithATool) {
  GatewayStack s(sims(), yaml);
  HttpClient c(s.port());
  const json req = {
      {"model", "to-responses"},
      {"messages", json::array({{{"role", "user"}, {"content", "weather?"}}})},
      {"tools",
       json::array({{{"type", "function"},
                     {"function", {{"name", "get_weather"}, {"parameters", kWeatherTool}}}}})}};
  const HttpResponse r = c.request("POST", "/v1/chat/completions", {}, req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-translated"), "chat->responses");
  const json out = json::parse(r.body);
  EXPECT_EQ(out["object"], "chat.completion");
  EXPECT_EQ(out["choices"][0]["finish_reason"], "tool_calls");
  const json& call = out["choices"][0]["message"]["tool_calls"][0];
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>())["city"], "sim");
  EXPECT_GT(out["usage"]["prompt_tokens"].get<int>(), 0);

  // Streamed, without tools: text, a finish, [DONE].
  const json plain = {{"model", "to-responses"},
                      {"stream", true},
                      {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  const HttpResponse st = c.request("POST", "/v1/chat/completions", {}, plain.dump());
  ASSERT_EQ(st.status, 200) << st.body;
  std::string text;
  std::string finish;
  for (const auto& e : sse_data(st.body)) {
    if (e["choices"].empty()) continue;
    const json& ch = e["choices"][0];
    if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(text, "This is a simulated answer from resp.");
  EXPECT_EQ(finish, "stop");
  EXPECT_TRUE(st.body.ends_with("data: [DONE]\n\n")) << st.body;
}

TEST(Translation, AnAnthropicStreamFromAResponsesOnlyProviderEndsWithMessageStop) {
  GatewayStack s(sims(), yaml);
  HttpClient c(s.port());
  const json req = {{"model", "to-responses"},
                    {"max_tokens", 64},
                    {"stream", true},
                    {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  const HttpResponse r = c.request("POST", "/v1/messages", {}, req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-sluice-translated"), "messages->responses");
  std::string text;
  std::string last;
  int starts = 0;
  for (const auto& e : sse_data(r.body)) {
    last = e["type"];
    if (last == "content_block_start") ++starts;
    if (last == "content_block_delta") text += e["delta"]["text"].get<std::string>();
  }
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(last, "message_stop");
  EXPECT_EQ(text, "This is a simulated answer from resp.");
}

TEST(Translation, AResponsesClientReachesAResponsesOnlyProviderAsItIs) {
  GatewayStack s(sims(), yaml);
  const HttpResponse r = HttpClient(s.port()).request("POST", "/v1/responses", {},
                                                      R"({"model":"to-responses","input":"hi"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.header("x-sluice-translated"));
  EXPECT_EQ(json::parse(r.body)["object"], "response");
}

TEST(Translation, ARequestThatCannotBeTranslatedIsA400NotARetryable429) {
  GatewayStack s(sims(), yaml);
  HttpClient c(s.port());
  // A Responses request without its input cannot become a Chat request.
  const HttpResponse r =
      c.request("POST", "/v1/responses", {}, R"({"model":"to-chat","instructions":"hi"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.header("x-should-retry"), "false");
  EXPECT_NE(r.body.find("untranslatable_request"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("input"), std::string::npos) << r.body;
}

TEST(Translation, StrictTranslationRefusesWhatWouldBeDroppedAndNamesIt) {
  GatewayStack s(sims(), yaml);
  HttpClient c(s.port());
  const json lossy = {{"model", "strict-chat"},
                      {"max_tokens", 64},
                      {"top_k", 5},
                      {"thinking", {{"type", "enabled"}, {"budget_tokens", 1024}}},
                      {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  const HttpResponse r = c.request("POST", "/v1/messages", {}, lossy.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["type"], "error");
  const std::string msg = json::parse(r.body)["error"]["message"];
  EXPECT_NE(msg.find("top_k"), std::string::npos) << msg;
  EXPECT_NE(msg.find("thinking"), std::string::npos) << msg;
  // Without the fields it cannot carry, the same alias serves.
  json plain = lossy;
  plain.erase("top_k");
  plain.erase("thinking");
  EXPECT_EQ(c.request("POST", "/v1/messages", {}, plain.dump()).status, 200);
  // A lossy alias drops them and says which.
  json to_chat = lossy;
  to_chat["model"] = "to-chat";
  const HttpResponse dropped = c.request("POST", "/v1/messages", {}, to_chat.dump());
  EXPECT_EQ(dropped.status, 200);
  EXPECT_EQ(dropped.header("x-sluice-translation-dropped"), "thinking; top_k");
}

}  // namespace
}  // namespace sluice::server

namespace sluice::server {
namespace {

// What max_tokens an Anthropic provider is sent for Chat requests without one.
std::vector<json> anthropic_bodies_for(const std::string& alias_extra,
                                       const std::vector<std::string>& models) {
  std::mutex mu;
  std::vector<json> bodies;
  testing::ScriptedUpstream an([&](const testing::ScriptedUpstream::Conn& c,
                                   const std::string& request) {
    {
      std::lock_guard lock(mu);
      bodies.push_back(json::parse(request.substr(request.find("\r\n\r\n") + 4), nullptr, false));
    }
    const std::string out =
        R"({"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}})";
    return c.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
                   std::to_string(out.size()) + "\r\n\r\n" + out);
  });
  GatewayStack s(
      {sim_provider("unused", Dialect::kOpenAI)}, [&](const std::vector<std::uint16_t>&) {
        std::string y =
            "state: {backend: memory}\nproviders:\n  an: {api: anthropic, "
            "base_url: \"" +
            url(an.port()) + "\", keys: [k]}\nmodels:\n";
        for (std::size_t i = 0; i < models.size(); ++i) {
          y += "  m" + std::to_string(i) + ": {route: [an/" + models[i] + "]" + alias_extra + "}\n";
        }
        return y;
      });
  for (std::size_t i = 0; i < models.size(); ++i) {
    const HttpResponse r = HttpClient(s.port()).request(
        "POST", "/v1/chat/completions", {},
        R"({"model":"m)" + std::to_string(i) + R"(","messages":[{"role":"user","content":"hi"}]})");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  std::lock_guard lock(mu);
  return bodies;
}

TEST(Translation, AnthropicGetsTheModelsDefaultMaxTokensOrTheAliasOne) {
  const auto by_table =
      anthropic_bodies_for("", {"claude-3-haiku-20240307", "claude-sonnet-4-5", "claude-new-9"});
  ASSERT_EQ(by_table.size(), 3u);
  EXPECT_EQ(by_table[0]["max_tokens"], 4096);  // the model's maximum
  EXPECT_EQ(by_table[1]["max_tokens"], 4096);  // capped: Anthropic counts it toward OTPM
  EXPECT_EQ(by_table[2]["max_tokens"], 4096);
  const auto by_alias = anthropic_bodies_for(", default_max_tokens: 1000", {"claude-sonnet-4-5"});
  ASSERT_EQ(by_alias.size(), 1u);
  EXPECT_EQ(by_alias[0]["max_tokens"], 1000);
}

}  // namespace
}  // namespace sluice::server
