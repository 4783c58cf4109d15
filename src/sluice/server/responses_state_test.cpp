// The Responses API's state through the gateway: previous_response_id
// continues a conversation whatever served the turn before — a Chat provider
// by translation, a Responses provider by passthrough, another gateway on the
// same state file — and an id nothing knows is OpenAI's 400.
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sluice/state/sqlite/sqlite_store.hpp"
#include "sluice/state/test_support.hpp"
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

// One upstream with two faces: a Chat-only provider under /chat (answers
// "answer-N") and OpenAI's Responses API under /openai (ids "resp_upN").
// Records what each request's path and body were.
class Provider {
 public:
  Provider()
      : upstream_([this](const ScriptedUpstream::Conn& c, const std::string& request) {
          return answer(c, request);
        }) {}
  std::uint16_t port() const { return upstream_.port(); }
  struct Seen {
    std::string path;
    json body;
  };
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  bool answer(const ScriptedUpstream::Conn& c, const std::string& request) {
    const auto sp = request.find(' ');
    const std::string path = request.substr(sp + 1, request.find(' ', sp + 1) - sp - 1);
    const json body = json::parse(request.substr(request.find("\r\n\r\n") + 4), nullptr, false);
    int n = 0;
    {
      std::lock_guard lock(mu_);
      seen_.push_back({path, body});
      n = static_cast<int>(seen_.size());
    }
    const bool stream = body.value("stream", false);
    std::string out;
    if (path.find("/responses") != std::string::npos) {
      const json r = {
          {"id", "resp_up" + std::to_string(n)},
          {"object", "response"},
          {"status", "completed"},
          {"output", json::array({{{"id", "msg_up"},
                                   {"type", "message"},
                                   {"role", "assistant"},
                                   {"content", json::array({{{"type", "output_text"},
                                                             {"text", "upstream-answer"}}})}}})}};
      out = r.dump();
    } else if (stream) {
      out =
          "data: " +
          json{{"id", "c"},
               {"object", "chat.completion.chunk"},
               {"choices", json::array({{{"index", 0},
                                         {"delta",
                                          {{"role", "assistant"},
                                           {"content", "answer-" + std::to_string(n)}}}}})}}
              .dump() +
          "\n\n" + "data: " +
          json{
              {"id", "c"},
              {"object", "chat.completion.chunk"},
              {"choices",
               json::array({{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}})}}
              .dump() +
          "\n\ndata: [DONE]\n\n";
      return c.write("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: " +
                     std::to_string(out.size()) + "\r\n\r\n" + out);
    } else {
      out =
          json{{"id", "c"},
               {"object", "chat.completion"},
               {"choices",
                json::array({{{"index", 0},
                              {"message",
                               {{"role", "assistant"}, {"content", "answer-" + std::to_string(n)}}},
                              {"finish_reason", "stop"}}})},
               {"usage", {{"prompt_tokens", 5}, {"completion_tokens", 1}, {"total_tokens", 6}}}}
              .dump();
    }
    return c.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
                   std::to_string(out.size()) + "\r\n\r\n" + out);
  }

  std::mutex mu_;
  std::vector<Seen> seen_;
  ScriptedUpstream upstream_;  // last: it stops before what it uses goes
};

std::unique_ptr<GatewayStack> gateway(const Provider& p, state::Store* store = nullptr,
                                      const std::string& state = "backend: memory",
                                      const std::string& server = "") {
  return std::make_unique<GatewayStack>(
      std::vector<sim::ProviderSimConfig>{sim_provider("unused", Dialect::kOpenAI)},
      [&p, state, server](const std::vector<std::uint16_t>&) {
        testing::GatewayYaml y;
        y.server = server;
        y.state = state;
        y.provider({.name = "chat",
                    .dialect = "zai",
                    .base_url = url(p.port()) + "/chat",
                    .keys = {"k1"}});
        y.provider({.name = "openai",
                    .dialect = "openai",
                    .base_url = url(p.port()) + "/openai",
                    .keys = {"k2"}});
        y.provider({.name = "other",
                    .api = "responses",
                    .dialect = "openai",
                    .base_url = url(p.port()) + "/other",
                    .keys = {"k3"}});
        y.model({.alias = "to-chat", .route = {"chat/glm-4.6"}});
        y.model({.alias = "to-openai", .route = {"openai/gpt-5"}});
        y.model({.alias = "to-other", .route = {"other/gpt-5"}});
        return y.str();
      },
      store);
}

HttpResponse turn(GatewayStack& s, const json& body) {
  return HttpClient(s.port()).request("POST", "/v1/responses", {}, body.dump());
}

// The final response object of a Responses stream.
json completed(const std::string& sse) {
  const auto at = sse.rfind("data: ");
  return json::parse(sse.substr(at + 6, sse.find('\n', at) - at - 6))["response"];
}

std::vector<std::string> chat_texts(const json& body) {
  std::vector<std::string> out;
  for (const auto& m : body["messages"]) {
    out.push_back(
        m["role"].get<std::string>() + ":" +
        (m["content"].is_string() ? m["content"].get<std::string>() : m["content"].dump()));
  }
  return out;
}

TEST(ResponsesState, AConversationContinuesOnAChatProviderWithItsWholeHistory) {
  Provider p;
  auto s = gateway(p);
  const HttpResponse t1 = turn(*s, {{"model", "to-chat"}, {"input", "My name is Ada."}});
  ASSERT_EQ(t1.status, 200) << t1.body;
  const std::string id1 = json::parse(t1.body)["id"];
  EXPECT_TRUE(id1.starts_with("resp_")) << id1;

  // A streamed second turn; its final event's id continues the third.
  const HttpResponse t2 = turn(*s, {{"model", "to-chat"},
                                    {"previous_response_id", id1},
                                    {"input", "What is my name?"},
                                    {"stream", true}});
  ASSERT_EQ(t2.status, 200) << t2.body;
  const std::string id2 = completed(t2.body)["id"];
  EXPECT_NE(id2, id1);
  EXPECT_EQ(completed(t2.body)["previous_response_id"], id1);
  EXPECT_EQ(completed(t2.body)["store"], true);
  const HttpResponse t3 =
      turn(*s, {{"model", "to-chat"},
                {"previous_response_id", id2},
                {"instructions", "Be brief."},
                {"input", json::array({{{"role", "user"}, {"content", "Sure?"}}})}});
  ASSERT_EQ(t3.status, 200) << t3.body;

  const auto seen = p.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(chat_texts(seen[1].body),
            (std::vector<std::string>{"user:My name is Ada.", "assistant:answer-1",
                                      "user:What is my name?"}));
  EXPECT_EQ(
      chat_texts(seen[2].body),
      (std::vector<std::string>{"system:Be brief.", "user:My name is Ada.", "assistant:answer-1",
                                "user:What is my name?", "assistant:answer-2", "user:Sure?"}));
}

TEST(ResponsesState, AnIdNothingKnowsIsOpenAIsFourHundredNotARetry) {
  Provider p;
  auto s = gateway(p);
  const HttpResponse r =
      turn(*s, {{"model", "to-chat"}, {"previous_response_id", "resp_nope"}, {"input", "hi"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.header("x-should-retry"), "false");
  const json err = json::parse(r.body)["error"];
  EXPECT_EQ(err["code"], "previous_response_not_found") << r.body;
  EXPECT_NE(err["message"].get<std::string>().find("resp_nope"), std::string::npos);
  EXPECT_TRUE(p.seen().empty());
}

TEST(ResponsesState, StoreFalseKeepsNothing) {
  Provider p;
  auto s = gateway(p);
  const HttpResponse t1 = turn(*s, {{"model", "to-chat"}, {"store", false}, {"input", "secret"}});
  ASSERT_EQ(t1.status, 200) << t1.body;
  EXPECT_EQ(json::parse(t1.body)["store"], false);
  const HttpResponse t2 = turn(
      *s,
      {{"model", "to-chat"}, {"previous_response_id", json::parse(t1.body)["id"]}, {"input", "x"}});
  EXPECT_EQ(t2.status, 400) << t2.body;
}

TEST(ResponsesState, ConversationsKeptAtZeroAreNotKeptAtAll) {
  Provider p;
  auto s = gateway(p, nullptr, "backend: memory, conversations: 0s");
  const HttpResponse t1 = turn(*s, {{"model", "to-chat"}, {"input", "secret"}});
  ASSERT_EQ(t1.status, 200) << t1.body;
  const HttpResponse t2 = turn(
      *s,
      {{"model", "to-chat"}, {"previous_response_id", json::parse(t1.body)["id"]}, {"input", "x"}});
  EXPECT_EQ(t2.status, 400) << t2.body;
}

TEST(ResponsesState, AnIdSluiceMadeReachesAResponsesProviderAsTheWholeHistory) {
  Provider p;
  auto s = gateway(p);
  const HttpResponse t1 = turn(*s, {{"model", "to-chat"}, {"input", "My name is Ada."}});
  ASSERT_EQ(t1.status, 200) << t1.body;
  const HttpResponse t2 = turn(*s, {{"model", "to-openai"},
                                    {"previous_response_id", json::parse(t1.body)["id"]},
                                    {"input", "What is my name?"}});
  ASSERT_EQ(t2.status, 200) << t2.body;
  const auto seen = p.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].path, "/openai/responses");
  EXPECT_FALSE(seen[1].body.contains("previous_response_id")) << seen[1].body;
  ASSERT_EQ(seen[1].body["input"].size(), 3u) << seen[1].body;
  EXPECT_EQ(seen[1].body["input"][1]["content"][0]["text"], "answer-1");
  EXPECT_EQ(seen[1].body["model"], "gpt-5");
}

TEST(ResponsesState, AnOpenAIIdPassesThroughToOpenAIAndIsHistoryForAChatFallback) {
  Provider p;
  auto s = gateway(p);
  const HttpResponse t1 = turn(*s, {{"model", "to-openai"}, {"input", "My name is Ada."}});
  ASSERT_EQ(t1.status, 200) << t1.body;
  EXPECT_EQ(json::parse(t1.body)["id"], "resp_up1");
  // OpenAI keeps its own: the id goes through as it is.
  ASSERT_EQ(turn(*s, {{"model", "to-openai"}, {"previous_response_id", "resp_up1"}, {"input", "A"}})
                .status,
            200);
  // A provider of another API gets the history sluice kept.
  ASSERT_EQ(
      turn(*s, {{"model", "to-chat"}, {"previous_response_id", "resp_up1"}, {"input", "B"}}).status,
      200);
  const auto seen = p.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].body["previous_response_id"], "resp_up1");
  EXPECT_EQ(seen[1].body["input"], "A");
  EXPECT_EQ(
      chat_texts(seen[2].body),
      (std::vector<std::string>{"user:My name is Ada.", "assistant:upstream-answer", "user:B"}));
}

TEST(ResponsesState, AnotherResponsesProviderGetsTheHistoryNotAnIdItNeverIssued) {
  Provider p;
  auto s = gateway(p);
  const HttpResponse t1 = turn(*s, {{"model", "to-openai"}, {"input", "My name is Ada."}});
  ASSERT_EQ(t1.status, 200) << t1.body;
  const HttpResponse t2 = turn(*s, {{"model", "to-other"},
                                    {"previous_response_id", json::parse(t1.body)["id"]},
                                    {"input", "Name?"}});
  ASSERT_EQ(t2.status, 200) << t2.body;
  const auto seen = p.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].path, "/other/responses");
  EXPECT_FALSE(seen[1].body.contains("previous_response_id")) << seen[1].body;
  ASSERT_EQ(seen[1].body["input"].size(), 3u) << seen[1].body;
  EXPECT_EQ(seen[1].body["model"], "gpt-5");
}

TEST(ResponsesState, AnotherClientCannotContinueAConversationItDidNotStart) {
  Provider p;
  auto s = gateway(p, nullptr, "backend: memory",
                   "server:\n  gateway_keys:\n    - {key: alice-secret, name: alice}\n"
                   "    - {key: bob-secret, name: bob}\n");
  const auto as = [&](const std::string& key, const json& body) {
    return HttpClient(s->port()).request("POST", "/v1/responses",
                                         {{"authorization", "Bearer " + key}}, body.dump());
  };
  const HttpResponse t1 = as("alice-secret", {{"model", "to-chat"}, {"input", "My secret."}});
  ASSERT_EQ(t1.status, 200) << t1.body;
  const std::string id = json::parse(t1.body)["id"];
  EXPECT_GE(id.size(), 5u + 32u);  // 128 bits: not a number to guess
  const HttpResponse theirs =
      as("bob-secret", {{"model", "to-chat"}, {"previous_response_id", id}, {"input", "And?"}});
  EXPECT_EQ(theirs.status, 400) << theirs.body;
  EXPECT_EQ(json::parse(theirs.body)["error"]["code"], "previous_response_not_found");
  const HttpResponse mine =
      as("alice-secret", {{"model", "to-chat"}, {"previous_response_id", id}, {"input", "And?"}});
  EXPECT_EQ(mine.status, 200) << mine.body;
}

TEST(ResponsesState, AnotherGatewayOnTheSameStateFileContinuesTheConversation) {
  Provider p;
  state::test::TempDir dir;
  auto opened = state::SqliteStore::open({.path = dir.path() + "/state.db"});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  std::string id1;
  {
    auto first = gateway(p, opened.value().store.get());
    const HttpResponse t1 = turn(*first, {{"model", "to-chat"}, {"input", "My name is Ada."}});
    ASSERT_EQ(t1.status, 200) << t1.body;
    id1 = json::parse(t1.body)["id"];
  }
  auto reopened = state::SqliteStore::open({.path = dir.path() + "/state.db"});
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  auto second = gateway(p, reopened.value().store.get());
  const HttpResponse t2 =
      turn(*second, {{"model", "to-chat"}, {"previous_response_id", id1}, {"input", "Name?"}});
  ASSERT_EQ(t2.status, 200) << t2.body;
  EXPECT_EQ(chat_texts(p.seen()[1].body),
            (std::vector<std::string>{"user:My name is Ada.", "assistant:answer-1", "user:Name?"}));
}

}  // namespace
}  // namespace sluice::server
