#include "sluice/translate/responses_state.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::translate {
namespace {

using Json = nlohmann::ordered_json;

// What the simulator and OpenAI answer for a turn that called a tool.
constexpr std::string_view kAnswer = R"({
  "id": "resp_sluice1", "object": "response", "status": "completed",
  "output": [
    {"id": "rs_1", "type": "reasoning", "summary": []},
    {"id": "rs_2", "type": "reasoning", "summary": [], "encrypted_content": "gAAAA"},
    {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
     "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}]},
    {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_9",
     "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
    {"id": "ws_1", "type": "web_search_call", "status": "completed"}
  ]})";

TEST(ResponsesState, ATurnKeepsItsInputAndTheOutputALaterTurnCanSend) {
  const auto kept = conversation_after(R"({"model":"m","instructions":"be terse","input":"Hi"})",
                                       kAnswer, Origin::kSluice);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->response_id, "resp_sluice1");
  const Json c = Json::parse(kept->conversation);
  EXPECT_EQ(c["origin"], "sluice");
  const Json& items = c["items"];
  ASSERT_EQ(items.size(), 4u) << items.dump();
  EXPECT_EQ(items[0], Json::parse(R"({"type":"message","role":"user","content":"Hi"})"));
  // Reasoning only with its encrypted content, and then with its id (it is
  // how the provider finds it again).
  EXPECT_EQ(items[1]["type"], "reasoning");
  EXPECT_EQ(items[1]["id"], "rs_2");
  // Messages and calls without provider ids or statuses.
  EXPECT_EQ(items[2]["type"], "message");
  EXPECT_FALSE(items[2].contains("id"));
  EXPECT_FALSE(items[2].contains("status"));
  EXPECT_EQ(items[3]["call_id"], "call_9");
  EXPECT_FALSE(items[3].contains("id"));
  // Instructions are the request's, not the conversation's (as OpenAI does).
  EXPECT_EQ(kept->conversation.find("be terse"), std::string::npos);
}

TEST(ResponsesState, ContinuingPutsTheHistoryBeforeTheNewInputAndDropsTheId) {
  const auto kept = conversation_after(R"({"model":"m","input":"Hi"})", kAnswer, Origin::kUpstream);
  ASSERT_TRUE(kept);
  const auto next = continue_conversation(
      R"({"model":"m","previous_response_id":"resp_sluice1","stream":true,"input":[
           {"type":"function_call_output","call_id":"call_9","output":"18C"}]})",
      kept->conversation);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->origin, Origin::kUpstream);
  const Json body = Json::parse(next->body);
  EXPECT_FALSE(body.contains("previous_response_id"));
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["model"], "m");
  ASSERT_EQ(body["input"].size(), 5u);
  EXPECT_EQ(body["input"][0]["content"], "Hi");
  EXPECT_EQ(body["input"][4]["type"], "function_call_output");

  // The conversation after that turn holds both turns, in order.
  const auto after = conversation_after(
      next->body,
      R"({"id":"resp_2","output":[{"type":"message","role":"assistant","content":[]}]})",
      Origin::kSluice);
  ASSERT_TRUE(after);
  const Json c = Json::parse(after->conversation);
  EXPECT_EQ(c["origin"], "sluice");
  EXPECT_EQ(c["items"].size(), 6u);
}

TEST(ResponsesState, WhatIsNotARequestOrAConversationIsRefusedNotGuessed) {
  const std::string conv = R"({"origin":"sluice","items":[]})";
  EXPECT_FALSE(continue_conversation("not json", conv));
  EXPECT_FALSE(continue_conversation("[1]", conv));
  EXPECT_FALSE(continue_conversation(R"({"input":"x"})", "garbage"));
  EXPECT_FALSE(continue_conversation(R"({"input":"x"})", R"({"origin":"sluice"})"));
  EXPECT_FALSE(conversation_after(R"({"input":"x"})", R"({"output":[]})", Origin::kSluice));
  EXPECT_FALSE(conversation_after(R"({"input":"x"})", "oops", Origin::kSluice));
}

TEST(ResponsesState, TheCatcherFindsTheFinalResponseWhateverTheSplitOrLineEnds) {
  const std::string stream =
      "event: response.created\r\ndata: {\"type\":\"response.created\",\"response\":{\"id\":"
      "\"resp_1\",\"output\":[]}}\r\n\r\n"
      "event: response.output_text.delta\r\ndata: {\"type\":\"response.output_text.delta\","
      "\"delta\":\"response.completed\"}\r\n\r\n"
      "event: response.completed\r\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":"
      "\"resp_1\",\"output\":[{\"type\":\"message\"}]}}\r\n\r\n";
  for (std::size_t split = 0; split <= stream.size(); split += 7) {
    FinalResponseCatcher catcher;
    catcher.feed(std::string_view(stream).substr(0, split));
    catcher.feed(std::string_view(stream).substr(split));
    ASSERT_TRUE(catcher.response()) << split;
    EXPECT_EQ(Json::parse(*catcher.response())["output"].size(), 1u);
  }
  FinalResponseCatcher cut;
  cut.feed(stream.substr(0, stream.size() - 3));  // the final event never ended
  EXPECT_FALSE(cut.response());
  FinalResponseCatcher incomplete;
  incomplete.feed("data: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"resp_2\"}}\n\n");
  ASSERT_TRUE(incomplete.response());
}

}  // namespace
}  // namespace sluice::translate
