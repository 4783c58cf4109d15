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

const KeptTurn kAbout{.origin = Origin::kSluice, .owner = "team-a", .parent = ""};

TEST(ResponsesState, ATurnKeepsItsOwnInputAndTheOutputALaterTurnCanSend) {
  const auto kept =
      record_turn(R"({"model":"m","instructions":"be terse","input":"Hi"})", kAnswer, kAbout);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->response_id, "resp_sluice1");
  const Json c = Json::parse(kept->record);
  EXPECT_EQ(c["origin"], "sluice");
  EXPECT_EQ(c["owner"], "team-a");
  EXPECT_TRUE(c["parent"].is_null());
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
  EXPECT_EQ(kept->record.find("be terse"), std::string::npos);
}

TEST(ResponsesState, ARecordHoldsOnlyItsOwnTurnAndPointsAtTheOneBefore) {
  KeptTurn about = kAbout;
  about.origin = Origin::kUpstream;
  about.endpoint = "https://api.openai.com/v1";
  about.parent = "resp_0";
  const auto kept = record_turn(
      R"({"model":"m","previous_response_id":"resp_0","input":[
           {"type":"function_call_output","call_id":"call_9","output":"18C"}]})",
      R"({"id":"resp_2","status":"incomplete","output":[{"type":"message","role":"assistant","content":[]}]})",
      about);
  ASSERT_TRUE(kept);
  const auto back = parse_kept(kept->record);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->origin, Origin::kUpstream);
  EXPECT_EQ(back->endpoint, "https://api.openai.com/v1");
  EXPECT_EQ(back->parent, "resp_0");
  EXPECT_EQ(Json::parse(back->items).size(), 2u);  // the tool output and the answer
}

TEST(ResponsesState, ContinuingPutsTheHistoryBeforeTheNewInputAndDropsTheId) {
  const auto next = continue_conversation(
      R"({"model":"m","previous_response_id":"resp_2","stream":true,"input":"Sure?"})",
      {R"([{"type":"message","role":"user","content":"Hi"}])",
       R"([{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Yo"}]}])"});
  ASSERT_TRUE(next);
  const Json body = Json::parse(*next);
  EXPECT_FALSE(body.contains("previous_response_id"));
  EXPECT_EQ(body["stream"], true);
  ASSERT_EQ(body["input"].size(), 3u);
  EXPECT_EQ(body["input"][0]["content"], "Hi");
  EXPECT_EQ(body["input"][1]["role"], "assistant");
  EXPECT_EQ(body["input"][2], Json::parse(R"({"type":"message","role":"user","content":"Sure?"})"));
}

TEST(ResponsesState, OnlyAFinishedAnswerIsATurnToContinue) {
  for (const char* status : {"queued", "in_progress", "failed", ""}) {
    const std::string resp =
        std::string(R"({"id":"resp_1","status":")") + status + R"(","output":[]})";
    EXPECT_FALSE(record_turn(R"({"input":"x"})", resp, kAbout)) << status;
  }
}

TEST(ResponsesState, WhatIsNotARequestOrARecordIsRefusedNotGuessed) {
  EXPECT_FALSE(continue_conversation("not json", {}));
  EXPECT_FALSE(continue_conversation("[1]", {}));
  EXPECT_FALSE(continue_conversation(R"({"input":"x"})", {"garbage"}));
  EXPECT_FALSE(continue_conversation(R"({"input":"x"})", {R"({"not":"an array"})"}));
  EXPECT_FALSE(parse_kept("garbage"));
  EXPECT_FALSE(parse_kept(R"({"origin":"sluice"})"));
  EXPECT_FALSE(record_turn(R"({"input":"x"})", R"({"status":"completed","output":[]})", kAbout));
  EXPECT_FALSE(record_turn(R"({"input":"x"})", "oops", kAbout));
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
  cut.feed(stream.substr(0, stream.size() / 2));  // the stream stopped half-way
  cut.finish();
  EXPECT_FALSE(cut.response());
  // A final event the stream closed without its blank line still counts.
  FinalResponseCatcher unended;
  unended.feed(stream.substr(0, stream.size() - 4));
  EXPECT_FALSE(unended.response());
  unended.finish();
  EXPECT_TRUE(unended.response());
  FinalResponseCatcher incomplete;
  incomplete.feed("data: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"resp_2\"}}\n\n");
  ASSERT_TRUE(incomplete.response());
}

}  // namespace
}  // namespace sluice::translate
