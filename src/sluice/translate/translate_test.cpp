#include "sluice/translate/translate.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace sluice::translate {
namespace {

using Json = nlohmann::ordered_json;

Json parsed(const std::string& s) { return Json::parse(s); }

RequestOptions opts(std::string model = "up-model") {
  RequestOptions o;
  o.upstream_model = std::move(model);
  o.response_id = "resp_1";
  o.created = 1800000000;
  return o;
}

// --- requests ----------------------------------------------------------------

TEST(TranslateRequest, MessagesToChatKeepsSystemToolsImagesAndToolTurns) {
  const std::string in = R"({
    "model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": true,
    "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
      {"role": "user", "content": [
        {"type": "text", "text": "What is in this image and what is the weather?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
      {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [{"type": "text", "text": "sunny"}]},
        {"type": "text", "text": "Thanks"}]}],
    "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
              {"type": "web_search_20250305", "name": "web_search"}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
    "top_k": 5, "temperature": 0.2, "stop_sequences": ["END"], "metadata": {"user_id": "u1"}
  })";
  const RequestResult r = translate_request(Api::kMessages, Api::kChat, in, opts());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(parsed(r.ok->body), Json::parse(R"({
    "model": "up-model",
    "messages": [
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": [
        {"type": "text", "text": "What is in this image and what is the weather?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
      {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "toolu_01A", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "toolu_01A", "content": "sunny"},
      {"role": "user", "content": "Thanks"}],
    "max_tokens": 1024,
    "stream": true, "stream_options": {"include_usage": true},
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    "tool_choice": "required", "parallel_tool_calls": false,
    "temperature": 0.2, "stop": ["END"], "user": "u1"
  })"))
      << r.ok->body;
  EXPECT_EQ(r.ok->dropped, (std::vector<std::string>{"messages[].content[].thinking",
                                                     "tools[].web_search_20250305", "top_k"}));
  EXPECT_EQ(r.context.caller, Api::kMessages);
  EXPECT_EQ(r.context.caller_model, "claude-sonnet-4-5");
  EXPECT_TRUE(r.context.stream);
}

TEST(TranslateRequest, ChatToMessagesHoistsSystemMergesTurnsAndDefaultsMaxTokens) {
  const std::string in = R"({
    "model": "main",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "weather in Paris and Rome?"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "functions.get_weather:0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "not json"}}]},
      {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "sunny"},
      {"role": "tool", "tool_call_id": "call_2", "content": "rain"},
      {"role": "system", "content": "Answer in French."},
      {"role": "user", "content": [{"type": "text", "text": "and?"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    "tool_choice": "auto", "parallel_tool_calls": false,
    "temperature": 1.5, "stop": "END", "seed": 3, "n": 1, "stream": false
  })";
  const RequestResult r = translate_request(Api::kChat, Api::kMessages, in, opts("claude-x"));
  ASSERT_TRUE(r.ok) << r.error;
  const std::string kimi_id = encode_tool_id("functions.get_weather:0");
  EXPECT_EQ(parsed(r.ok->body),
            Json::parse(R"({
    "model": "claude-x",
    "system": "Be brief.\n\nAnswer in French.",
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "weather in Paris and Rome?"}]},
      {"role": "assistant", "content": [
        {"type": "tool_use", "id": ")" +
                        kimi_id + R"(", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": ")" +
                        kimi_id + R"(", "content": "sunny"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "rain"},
        {"type": "text", "text": "and?"},
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}],
    "max_tokens": 4096,
    "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
    "temperature": 1.0, "stop_sequences": ["END"], "stream": false
  })"))
      << r.ok->body;
  EXPECT_EQ(r.ok->dropped, (std::vector<std::string>{"temperature>1", "seed"}));
}

TEST(TranslateRequest, AChatHistoryOpeningWithTheAssistantGetsAUserTurnFirstForAnthropic) {
  const RequestResult r =
      translate_request(Api::kChat, Api::kMessages,
                        R"({"model":"m","messages":[{"role":"system","content":"s"},
          {"role":"assistant","content":"Hello! How can I help?"},
          {"role":"user","content":"hi"}]})",
                        opts("claude-x"));
  ASSERT_TRUE(r.ok) << r.error;
  const Json out = parsed(r.ok->body);
  ASSERT_EQ(out["messages"].size(), 3u);
  EXPECT_EQ(out["messages"][0]["role"], "user");
  EXPECT_EQ(out["messages"][1]["role"], "assistant");
  EXPECT_EQ(out["messages"][2]["role"], "user");
  EXPECT_EQ(r.ok->dropped,
            (std::vector<std::string>{"messages[0]: a user turn \".\" was put first"}));
}

TEST(TranslateRequest, ResponsesToChatMapsInstructionsItemsAndFunctionTools) {
  const std::string in = R"({
    "model": "codex", "instructions": "You are Codex.", "stream": true, "store": false,
    "input": [
      {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sandbox: read-only"}]},
      {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
      {"type": "reasoning", "summary": [], "encrypted_content": "xyz"},
      {"type": "function_call", "call_id": "call_9", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
      {"type": "function_call_output", "call_id": "call_9", "output": "a.txt"}],
    "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}, "strict": false},
              {"type": "web_search"}],
    "tool_choice": "auto", "parallel_tool_calls": true, "max_output_tokens": 500,
    "reasoning": {"effort": "medium"}, "prompt_cache_key": "k"
  })";
  const RequestResult r = translate_request(Api::kResponses, Api::kChat, in, opts("glm-4.6"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(parsed(r.ok->body), Json::parse(R"({
    "model": "glm-4.6",
    "messages": [
      {"role": "system", "content": "You are Codex."},
      {"role": "system", "content": "sandbox: read-only"},
      {"role": "user", "content": "list files"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_9", "type": "function", "function": {"name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"}}]},
      {"role": "tool", "tool_call_id": "call_9", "content": "a.txt"}],
    "stream": true, "stream_options": {"include_usage": true},
    "tools": [{"type": "function", "function": {"name": "exec_command", "parameters": {"type": "object"}, "strict": false}}],
    "tool_choice": "auto", "parallel_tool_calls": true, "max_tokens": 500
  })"))
      << r.ok->body;
  EXPECT_EQ(r.ok->dropped,
            (std::vector<std::string>{"input[].reasoning", "tools[].web_search", "reasoning"}));
}

TEST(TranslateRequest, ResponsesToMessagesGoesThroughChat) {
  const RequestResult r = translate_request(
      Api::kResponses, Api::kMessages,
      R"({"model":"m","input":"hi","instructions":"sys","max_output_tokens":64,"reasoning":{}})",
      opts("claude-x"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(parsed(r.ok->body), Json::parse(R"({"model":"claude-x","system":"sys",
      "messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":64})"));
  EXPECT_EQ(r.ok->dropped, (std::vector<std::string>{"reasoning"}));
  EXPECT_EQ(r.context.caller, Api::kResponses);
  EXPECT_EQ(r.context.upstream, Api::kMessages);
}

TEST(TranslateRequest, LongToolNamesAreShortenedStablyAndMappedBack) {
  const std::string long_name(80, 'n');
  const std::string in = R"({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}],
      "tools":[{"name":")" +
                         long_name + R"(","input_schema":{"type":"object"}}]})";
  const RequestResult a = translate_request(Api::kMessages, Api::kChat, in, opts());
  const RequestResult b = translate_request(Api::kMessages, Api::kChat, in, opts());
  ASSERT_TRUE(a.ok && b.ok);
  const std::string short_name = parsed(a.ok->body)["tools"][0]["function"]["name"];
  EXPECT_LE(short_name.size(), 64u);
  EXPECT_EQ(short_name, parsed(b.ok->body)["tools"][0]["function"]["name"]);  // stable
  // The answer's call names the short name; the caller sees its own.
  const std::string answer =
      R"({"id":"c1","model":"up","choices":[{"index":0,"finish_reason":"tool_calls",
      "message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
      "function":{"name":")" +
      short_name + R"(","arguments":"{}"}}]}}]})";
  const Json out = parsed(translate_response(a.context, answer).body);
  EXPECT_EQ(out["content"][0]["name"], long_name);
}

TEST(TranslateRequest, ChatToResponsesMakesItemsFunctionToolsAndTextFormat) {
  const std::string in = R"({
    "model": "gpt-5-codex", "stream": true, "max_completion_tokens": 500, "temperature": 0.2,
    "reasoning_effort": "low", "n": 1, "stop": ["END"], "stream_options": {"include_usage": true},
    "messages": [
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "low"}}]},
      {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
      {"role": "developer", "content": "Answer in French."}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
               "parameters": {"type": "object"}, "strict": true}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}}
  })";
  const RequestResult r = translate_request(Api::kChat, Api::kResponses, in, opts("gpt-5"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(parsed(r.ok->body), Json::parse(R"({
    "model": "gpt-5",
    "input": [
      {"type": "message", "role": "system", "content": "You are terse."},
      {"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "What is in this image?"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "low"}]},
      {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
      {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
      {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
      {"type": "message", "role": "developer", "content": "Answer in French."}
    ],
    "store": false,
    "stream": true, "max_output_tokens": 500, "temperature": 0.2, "reasoning": {"effort": "low"},
    "tools": [{"type": "function", "name": "get_weather", "description": "d",
               "parameters": {"type": "object"}, "strict": true}],
    "tool_choice": {"type": "function", "name": "get_weather"},
    "text": {"format": {"name": "w", "schema": {"type": "object"}, "type": "json_schema"}}
  })"));
  EXPECT_EQ(r.ok->dropped, (std::vector<std::string>{"stop"}));  // n: 1 is no loss
  EXPECT_EQ(r.context.upstream, Api::kResponses);
}

TEST(TranslateRequest, ChatToResponsesKeepsCacheHintsAndRaisesATinyMaxTokens) {
  const RequestResult r = translate_request(
      Api::kChat, Api::kResponses,
      R"({"model":"m","max_tokens":1,"prompt_cache_key":"k1","service_tier":"flex",
          "messages":[{"role":"user","content":"ping"}],
          "tools":[{"type":"function","function":{"name":"f"}}],
          "tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}})",
      opts());
  ASSERT_TRUE(r.ok) << r.error;
  const Json out = parsed(r.ok->body);
  EXPECT_EQ(out["max_output_tokens"], 16);  // the Responses API's least
  EXPECT_EQ(out["prompt_cache_key"], "k1");
  EXPECT_EQ(out["service_tier"], "flex");
  EXPECT_FALSE(out.contains("tool_choice"));
  EXPECT_EQ(r.ok->dropped, (std::vector<std::string>{"tool_choice.allowed_tools"}));
}

TEST(TranslateRequest, MessagesToResponsesGoesThroughChat) {
  const std::string in = R"({"model":"claude","max_tokens":64,"system":"Be brief.",
    "messages":[{"role":"user","content":"hi"}],"top_k":3})";
  const RequestResult r = translate_request(Api::kMessages, Api::kResponses, in, opts("gpt-5"));
  ASSERT_TRUE(r.ok) << r.error;
  const Json out = parsed(r.ok->body);
  EXPECT_EQ(out["input"][0],
            Json::parse(R"({"type":"message","role":"system","content":"Be brief."})"));
  EXPECT_EQ(out["input"][1]["content"], "hi");
  EXPECT_EQ(out["max_output_tokens"], 64);
  EXPECT_EQ(r.ok->dropped, (std::vector<std::string>{"top_k"}));
  EXPECT_EQ(r.context.caller, Api::kMessages);
  EXPECT_EQ(r.context.upstream, Api::kResponses);
}

TEST(TranslateRequest, WhatCannotBeTranslatedIsAClearError) {
  EXPECT_EQ(translate_request(Api::kChat, Api::kMessages, "{not json", opts()).error,
            "the request body is not a JSON object");
  EXPECT_FALSE(translate_request(Api::kChat, Api::kMessages, R"({"model":"m"})", opts()).ok);
  const auto prev =
      translate_request(Api::kResponses, Api::kChat,
                        R"({"model":"m","input":"x","previous_response_id":"resp_1"})", opts());
  EXPECT_FALSE(prev.ok);
  EXPECT_NE(prev.error.find("previous_response_id"), std::string::npos);
  EXPECT_FALSE(translate_request(Api::kChat, Api::kResponses, R"({"model":"m"})", opts()).ok);
}

TEST(TranslateToolIds, PlainIdsPassAndOthersRoundTrip) {
  EXPECT_EQ(encode_tool_id("toolu_01A09q90qw90lq917835lq9"), "toolu_01A09q90qw90lq917835lq9");
  EXPECT_EQ(encode_tool_id("call_abc-1"), "call_abc-1");
  for (std::string id : {"functions.get_weather:0", "a b", "", "sluice_41", "ü"}) {
    const std::string e = encode_tool_id(id);
    for (char c : e)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
    EXPECT_EQ(decode_tool_id(e), id) << e;
  }
  EXPECT_EQ(decode_tool_id("sluice_zz"), "sluice_zz");  // not an encoding: as it is
}

// --- whole answers -------------------------------------------------------------

Context ctx(Api caller, Api upstream) {
  Context c;
  c.caller = caller;
  c.upstream = upstream;
  c.caller_model = "alias";
  c.response_id = "resp_1";
  c.created = 1800000000;
  return c;
}

const char* kChatToolAnswer = R"({"id":"chatcmpl-1","object":"chat.completion","model":"glm-4.6",
  "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Checking.",
  "tool_calls":[{"id":"functions.get_weather:0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}],
  "usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":60}}})";

TEST(TranslateAnswer, ChatToMessages) {
  const Json out =
      parsed(translate_response(ctx(Api::kMessages, Api::kChat), kChatToolAnswer).body);
  EXPECT_EQ(
      out,
      Json::parse(R"({"id":"msg_chatcmpl-1","type":"message","role":"assistant","model":"glm-4.6",
    "content":[{"type":"text","text":"Checking."},
               {"type":"tool_use","id":")" +
                  encode_tool_id("functions.get_weather:0") +
                  R"(","name":"get_weather","input":{"city":"Paris"}}],
    "stop_reason":"tool_use","stop_sequence":null,
    "usage":{"input_tokens":40,"output_tokens":20,"cache_read_input_tokens":60}})"));
}

TEST(TranslateAnswer, MessagesToChatCountsCacheTokensOnceAndKeepsReasoning) {
  const std::string in = R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
    "content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"Hi"},
               {"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}],
    "stop_reason":"max_tokens","usage":{"input_tokens":10,"cache_read_input_tokens":30,"cache_creation_input_tokens":5,"output_tokens":7}})";
  const Json out = parsed(translate_response(ctx(Api::kChat, Api::kMessages), in).body);
  EXPECT_EQ(out,
            Json::parse(
                R"({"id":"msg_1","object":"chat.completion","created":1800000000,"model":"claude-x",
    "choices":[{"index":0,"message":{"role":"assistant","content":"Hi","reasoning_content":"t",
      "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
      "logprobs":null,"finish_reason":"length"}],
    "usage":{"prompt_tokens":45,"completion_tokens":7,"total_tokens":52,"prompt_tokens_details":{"cached_tokens":30}}})"));
}

TEST(TranslateAnswer, ChatToResponsesAndLengthIsIncomplete) {
  Json out = parsed(translate_response(ctx(Api::kResponses, Api::kChat), kChatToolAnswer).body);
  EXPECT_EQ(out["status"], "completed");
  ASSERT_EQ(out["output"].size(), 2u);
  EXPECT_EQ(out["output"][0]["content"][0]["text"], "Checking.");
  EXPECT_EQ(out["output"][1]["type"], "function_call");
  EXPECT_EQ(out["output"][1]["call_id"], "functions.get_weather:0");
  EXPECT_EQ(out["output"][1]["arguments"], "{\"city\":\"Paris\"}");
  EXPECT_EQ(out["usage"]["input_tokens"], 100);
  EXPECT_EQ(out["usage"]["input_tokens_details"]["cached_tokens"], 60);
  const std::string cut = R"({"id":"c","model":"m","choices":[{"index":0,"finish_reason":"length",
      "message":{"role":"assistant","content":"This is"}}]})";
  out = parsed(translate_response(ctx(Api::kResponses, Api::kChat), cut).body);
  EXPECT_EQ(out["status"], "incomplete");
  EXPECT_EQ(out["incomplete_details"]["reason"], "max_output_tokens");
}

const char* kResponsesToolAnswer = R"({"id":"resp_9","object":"response","created_at":1800000001,
  "status":"completed","model":"gpt-5",
  "output":[{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Think."}]},
    {"id":"msg_1","type":"message","role":"assistant","status":"completed",
     "content":[{"type":"output_text","text":"Checking.","annotations":[]}]},
    {"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"get_weather",
     "arguments":"{\"city\":\"Paris\"}"},
    {"id":"ws_1","type":"web_search_call","status":"completed"}],
  "usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":60},"output_tokens":20,
           "output_tokens_details":{"reasoning_tokens":5},"total_tokens":120}})";

TEST(TranslateAnswer, ResponsesToChat) {
  const Translated t = translate_response(ctx(Api::kChat, Api::kResponses), kResponsesToolAnswer);
  EXPECT_EQ(parsed(t.body), Json::parse(R"({"id":"resp_9","object":"chat.completion",
    "created":1800000001,"model":"gpt-5",
    "choices":[{"index":0,"message":{"role":"assistant","content":"Checking.",
      "reasoning_content":"Think.",
      "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather",
        "arguments":"{\"city\":\"Paris\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,
      "prompt_tokens_details":{"cached_tokens":60},"completion_tokens_details":{"reasoning_tokens":5}}})"));
  EXPECT_EQ(t.dropped, (std::vector<std::string>{"output[].web_search_call"}));
  const std::string cut = R"({"id":"r","status":"incomplete",
    "incomplete_details":{"reason":"max_output_tokens"},"output":[]})";
  EXPECT_EQ(parsed(translate_response(ctx(Api::kChat, Api::kResponses), cut)
                       .body)["choices"][0]["finish_reason"],
            "length");
}

TEST(TranslateAnswer, ResponsesToMessagesGoesThroughChat) {
  const Json out =
      parsed(translate_response(ctx(Api::kMessages, Api::kResponses), kResponsesToolAnswer).body);
  EXPECT_EQ(out["type"], "message");
  EXPECT_EQ(out["stop_reason"], "tool_use");
  ASSERT_EQ(out["content"].size(), 2u);
  EXPECT_EQ(out["content"][0]["text"], "Checking.");
  EXPECT_EQ(out["content"][1]["input"]["city"], "Paris");
  EXPECT_EQ(out["usage"]["cache_read_input_tokens"], 60);
}

// --- streams -------------------------------------------------------------------

// Events of an SSE text: {event name, parsed data} (data "[DONE]" as a string).
std::vector<std::pair<std::string, Json>> events_of(const std::string& sse) {
  std::vector<std::pair<std::string, Json>> out;
  std::size_t start = 0;
  while (true) {
    const auto end = sse.find("\n\n", start);
    if (end == std::string::npos) break;
    const std::string block = sse.substr(start, end - start);
    start = end + 2;
    std::string name, data;
    std::size_t p = 0;
    while (p < block.size()) {
      auto eol = block.find('\n', p);
      if (eol == std::string::npos) eol = block.size();
      const std::string line = block.substr(p, eol - p);
      if (line.rfind("event: ", 0) == 0) name = line.substr(7);
      if (line.rfind("data: ", 0) == 0) data = line.substr(6);
      p = eol + 1;
    }
    out.emplace_back(name, data == "[DONE]" ? Json("[DONE]") : Json::parse(data));
  }
  return out;
}

// Feeds `in` whole, and again split at every byte: the same output.
std::string translate_stream(const Context& c, const std::string& in) {
  auto whole = make_stream_translator(c);
  std::string a = whole->feed(in);
  a += whole->finish();
  for (std::size_t cut = 1; cut < in.size(); cut += 7) {
    auto split = make_stream_translator(c);
    std::string b = split->feed(in.substr(0, cut));
    b += split->feed(in.substr(cut));
    b += split->finish();
    EXPECT_EQ(a, b) << "split at " << cut;
  }
  return a;
}

const std::string kChatToolStream =
    "data: "
    "{\"id\":\"c1\",\"model\":\"glm\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":\"\"}}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"model\":\"glm\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":"
    "\"think\"}}]}\n\n"
    "data: {\"id\":\"c1\",\"model\":\"glm\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let "
    "me \"}}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"model\":\"glm\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"check.\"}}"
    "]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"model\":\"glm\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
    "\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
    "\"arguments\":\"\"}}]}}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"model\":\"glm\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
    "\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"model\":\"glm\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
    "\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"model\":\"glm\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
    "\"tool_calls\"}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"model\":\"glm\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_"
    "tokens\":9,\"total_tokens\":21}}\n\n"
    "data: [DONE]\n\n";

TEST(TranslateStream, ChatToMessagesOpensAndClosesEachBlockOnceAndEndsWithMessageStop) {
  const auto evs = events_of(translate_stream(ctx(Api::kMessages, Api::kChat), kChatToolStream));
  std::vector<std::string> names;
  for (const auto& [n, d] : evs) {
    names.push_back(n);
    EXPECT_EQ(d["type"], n);  // each event names itself twice, as Anthropic's do
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "message_start", "content_block_start", "content_block_delta",
                       "content_block_delta", "content_block_stop", "content_block_start",
                       "content_block_delta", "content_block_delta", "content_block_stop",
                       "message_delta", "message_stop"}));
  EXPECT_EQ(evs[1].second["content_block"]["type"], "text");  // no empty leading text block
  EXPECT_EQ(evs[5].second["index"], 1);
  EXPECT_EQ(evs[5].second["content_block"],
            Json::parse(R"({"type":"tool_use","id":"call_1","name":"get_weather","input":{}})"));
  EXPECT_EQ(evs[6].second["delta"]["type"], "input_json_delta");
  EXPECT_EQ(evs[9].second["delta"]["stop_reason"], "tool_use");
  EXPECT_EQ(evs[9].second["usage"]["output_tokens"], 9);
  EXPECT_EQ(evs[9].second["usage"]["input_tokens"], 12);
}

TEST(TranslateStream, AChatStreamCutShortGetsNoInventedEnding) {
  const std::string cut = kChatToolStream.substr(
      0, kChatToolStream.find(
             "data: "
             "{\"id\":\"c1\",\"model\":\"glm\",\"choices\":[{\"index\":0,\"delta\":{},\"finish"));
  const std::string out = translate_stream(ctx(Api::kMessages, Api::kChat), cut);
  EXPECT_EQ(out.find("message_stop"), std::string::npos);
  // With a finish_reason but no [DONE], the stream did end: it is closed.
  const std::string no_done = kChatToolStream.substr(0, kChatToolStream.find("data: [DONE]"));
  EXPECT_NE(translate_stream(ctx(Api::kMessages, Api::kChat), no_done).find("event: message_stop"),
            std::string::npos);
}

TEST(TranslateStream, AnInBandChatErrorBecomesAnAnthropicErrorEvent) {
  const std::string in =
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      "data: {\"error\":{\"message\":\"Internal server error\",\"type\":\"server_error\"}}\n\n"
      "data: [DONE]\n\n";
  const auto evs = events_of(translate_stream(ctx(Api::kMessages, Api::kChat), in));
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back().first, "error");
  EXPECT_EQ(evs.back().second["error"]["message"], "Internal server error");
}

const std::string kAnthropicToolStream =
    "event: message_start\ndata: "
    "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":"
    "\"assistant\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":25,\"cache_"
    "read_input_tokens\":5,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: "
    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":"
    "\"\"}}\n\n"
    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
    "event: content_block_delta\ndata: "
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
    "\"Okay\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\ndata: "
    "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":"
    "\"toolu_1\",\"name\":\"f\",\"input\":{}}}\n\n"
    "event: content_block_delta\ndata: "
    "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"{\\\"a\\\":\"}}\n\n"
    "event: content_block_delta\ndata: "
    "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"1}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: message_delta\ndata: "
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":15}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

TEST(TranslateStream, MessagesToChatStreamsToolCallsAndEndsWithUsageAndDone) {
  const auto evs =
      events_of(translate_stream(ctx(Api::kChat, Api::kMessages), kAnthropicToolStream));
  ASSERT_GE(evs.size(), 7u);
  EXPECT_EQ(evs.front().second["choices"][0]["delta"]["role"], "assistant");
  std::string text, args;
  std::string finish;
  for (const auto& [n, d] : evs) {
    if (!d.is_object() || d["choices"].empty()) continue;
    const Json& delta = d["choices"][0]["delta"];
    if (delta.contains("content")) text += delta["content"].get<std::string>();
    if (delta.contains("tool_calls")) {
      const Json& tc = delta["tool_calls"][0];
      EXPECT_EQ(tc["index"], 0);
      if (tc.contains("id")) {
        EXPECT_EQ(tc["id"], "toolu_1");
      }
      args += tc["function"]["arguments"].get<std::string>();
    }
    if (d["choices"][0]["finish_reason"].is_string()) finish = d["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(text, "Okay");
  EXPECT_EQ(args, "{\"a\":1}");
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(evs[evs.size() - 2].second["usage"]["prompt_tokens"], 30);
  EXPECT_EQ(evs[evs.size() - 2].second["usage"]["completion_tokens"], 15);
  EXPECT_EQ(evs.back().second, "[DONE]");
}

TEST(TranslateStream, ChatToResponsesEmitsTheRealEventSequence) {
  const auto evs = events_of(translate_stream(ctx(Api::kResponses, Api::kChat), kChatToolStream));
  std::vector<std::string> names;
  for (std::size_t i = 0; i < evs.size(); ++i) {
    names.push_back(evs[i].first);
    EXPECT_EQ(evs[i].second["sequence_number"], i);
  }
  EXPECT_EQ(
      names,
      (std::vector<std::string>{
          "response.created", "response.in_progress", "response.output_item.added",
          "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
          "response.output_text.done", "response.content_part.done", "response.output_item.done",
          "response.output_item.added", "response.function_call_arguments.delta",
          "response.function_call_arguments.delta", "response.function_call_arguments.done",
          "response.output_item.done", "response.completed"}));
  const Json& done = evs.back().second["response"];
  EXPECT_EQ(done["status"], "completed");
  ASSERT_EQ(done["output"].size(), 2u);
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "Let me check.");
  EXPECT_EQ(done["output"][1]["arguments"], "{\"city\":\"Paris\"}");
  EXPECT_EQ(done["output"][1]["call_id"], "call_1");
  EXPECT_EQ(done["usage"]["output_tokens"], 9);
}

TEST(TranslateStream, MessagesToResponsesChainsThroughChat) {
  const auto evs =
      events_of(translate_stream(ctx(Api::kResponses, Api::kMessages), kAnthropicToolStream));
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front().first, "response.created");
  EXPECT_EQ(evs.back().first, "response.completed");
  const Json& done = evs.back().second["response"];
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "Okay");
  EXPECT_EQ(done["output"][1]["name"], "f");
  EXPECT_EQ(done["usage"]["input_tokens"], 30);
}

TEST(TranslateStream, ResponsesToChatRoundTripsWhatChatToResponsesMade) {
  // The Responses event sequence sluice itself writes (the real one), read back.
  const std::string responses = translate_stream(ctx(Api::kResponses, Api::kChat), kChatToolStream);
  const auto evs = events_of(translate_stream(ctx(Api::kChat, Api::kResponses), responses));
  ASSERT_FALSE(evs.empty());
  std::string text, args, finish, id, name;
  for (const auto& [name_, e] : evs) {
    if (!e.is_object() || !e.contains("choices") || e["choices"].empty()) continue;
    const Json& c = e["choices"][0];
    const Json& d = c["delta"];
    if (d.contains("content")) text += d["content"].get<std::string>();
    if (d.contains("tool_calls")) {
      const Json& tc = d["tool_calls"][0];
      EXPECT_EQ(tc["index"], 0);
      if (tc.contains("id")) id = tc["id"];
      if (tc["function"].contains("name")) name = tc["function"]["name"];
      args += tc["function"]["arguments"].get<std::string>();
    }
    if (!c["finish_reason"].is_null()) finish = c["finish_reason"];
  }
  EXPECT_EQ(text, "Let me check.");
  EXPECT_EQ(id, "call_1");
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(args, "{\"city\":\"Paris\"}");
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(evs[evs.size() - 2].second["usage"]["completion_tokens"], 9);
  EXPECT_EQ(evs.back().second, "[DONE]");
}

TEST(TranslateStream, ResponsesToMessagesHasOneBlockPerBlockAndMessageStop) {
  const std::string responses = translate_stream(ctx(Api::kResponses, Api::kChat), kChatToolStream);
  const auto evs = events_of(translate_stream(ctx(Api::kMessages, Api::kResponses), responses));
  std::vector<std::string> names;
  for (const auto& e : evs) names.push_back(e.first);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "message_start", "content_block_start", "content_block_delta",
                       "content_block_delta", "content_block_stop", "content_block_start",
                       "content_block_delta", "content_block_delta", "content_block_stop",
                       "message_delta", "message_stop"}));
  EXPECT_EQ(evs[9].second["delta"]["stop_reason"], "tool_use");
}

TEST(TranslateStream, AResponsesStreamCutShortOrFailedEndsHonestly) {
  const std::string responses = translate_stream(ctx(Api::kResponses, Api::kChat), kChatToolStream);
  const std::string cut = responses.substr(0, responses.find("event: response.completed"));
  const std::string chat = translate_stream(ctx(Api::kChat, Api::kResponses), cut);
  EXPECT_EQ(chat.find("[DONE]"), std::string::npos);
  EXPECT_EQ(chat.find("finish_reason\":\"tool_calls"), std::string::npos);
  const std::string failed =
      "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"status\":"
      "\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}}\n\n";
  const auto evs = events_of(translate_stream(ctx(Api::kChat, Api::kResponses), cut + failed));
  EXPECT_EQ(evs.back().second["error"]["message"], "boom");
  EXPECT_EQ(evs.back().second["error"]["code"], "server_error");
}

TEST(TranslateStream, ResponsesCallArgumentsSentOnlyWholeAtTheEndStillArrive) {
  const std::string in =
      "event: response.created\ndata: "
      "{\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n"
      "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\","
      "\"output_index\":0,\"item\":{\"id\":\"fc_1\",\"type\":\"function_call\",\"call_id\":\"c1\","
      "\"name\":\"f\",\"arguments\":\"\"}}\n\n"
      "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\","
      "\"output_index\":0,\"item\":{\"id\":\"fc_1\",\"type\":\"function_call\",\"call_id\":\"c1\","
      "\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}\n\n"
      "event: response.function_call_arguments.delta\ndata: {\"type\":"
      "\"response.function_call_arguments.delta\",\"delta\":\"stray\"}\n\n"
      "event: response.completed\ndata: "
      "{\"type\":\"response.completed\",\"response\":{\"id\":\"r\","
      "\"status\":\"completed\",\"output\":[]}}\n\n";
  std::string args;
  for (const auto& [name, e] : events_of(translate_stream(ctx(Api::kChat, Api::kResponses), in))) {
    if (!e.is_object() || !e.contains("choices") || e["choices"].empty()) continue;
    const Json& d = e["choices"][0]["delta"];
    if (d.contains("tool_calls"))
      args += d["tool_calls"][0]["function"]["arguments"].get<std::string>();
  }
  // Once, from the item's end; the delta that names no item is not put on tool 0.
  EXPECT_EQ(args, "{\"a\":1}");
}

TEST(TranslateStream, GarbageInNeverThrows) {
  for (Api caller : {Api::kChat, Api::kMessages, Api::kResponses}) {
    for (Api up : {Api::kChat, Api::kMessages, Api::kResponses}) {
      if (caller == up) continue;
      auto t = make_stream_translator(ctx(caller, up));
      EXPECT_NO_THROW({
        (void)t->feed("data: {\"choices\":5}\n\ndata: [1,2]\n\nevent: x\ndata: {\"type\":7}\n\n");
        (void)t->feed("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":\"x\"}]}}]}\n\n");
        (void)t->feed(
            "event: content_block_start\ndata: "
            "{\"type\":\"content_block_start\",\"content_block\":3}\n\n");
        (void)t->finish();
      });
      EXPECT_NO_THROW((void)translate_response(
          ctx(caller, up), "{\"choices\":[{\"message\":7}],\"content\":\"x\"}"));
    }
  }
}

}  // namespace
}  // namespace sluice::translate

// --- captured requests of real clients -----------------------------------------
// Bodies the real Claude Code and Codex CLI sent through sluice (second turn
// of a tool round trip; long prompt texts trimmed, structure untouched),
// recorded by a proxy in front of the simulator.

namespace sluice::translate {
namespace {

std::string captured(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/src/sluice/translate/testdata/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << name;
  return ss.str();
}

TEST(TranslateCaptured, ClaudeCodesToolTurnBecomesAChatRequestWithItsToolResult) {
  const RequestResult r = translate_request(
      Api::kMessages, Api::kChat, captured("claude_code_2.1.197_tool_turn.json"), opts("glm-4.6"));
  ASSERT_TRUE(r.ok) << r.error;
  const Json out = parsed(r.ok->body);
  const Json& msgs = out["messages"];
  ASSERT_EQ(msgs.size(), 4u) << msgs.dump();
  EXPECT_EQ(msgs[0]["role"], "system");  // the three system blocks, joined
  EXPECT_NE(msgs[0]["content"].get<std::string>().find("Claude Agent SDK"), std::string::npos);
  EXPECT_EQ(msgs[1]["role"], "user");
  EXPECT_EQ(msgs[2]["tool_calls"][0]["id"], "toolu_sim_1");
  EXPECT_EQ(msgs[2]["tool_calls"][0]["function"]["arguments"], R"({"command":"echo sluice-sim"})");
  EXPECT_EQ(msgs[3],
            Json::parse(R"({"role":"tool","tool_call_id":"toolu_sim_1","content":"sluice-sim"})"));
  EXPECT_EQ(out["tools"][0]["function"]["name"], "Bash");
  EXPECT_EQ(out["tools"][0]["function"]["parameters"]["required"], Json::array({"command"}));
  EXPECT_EQ(out["stream"], true);
  EXPECT_EQ(out["max_tokens"], 32000);
  // What Chat cannot carry is named, and cache_control is gone without a word.
  EXPECT_EQ(r.ok->dropped,
            (std::vector<std::string>{"thinking", "context_management", "output_config"}));
  EXPECT_EQ(r.ok->body.find("cache_control"), std::string::npos);
  EXPECT_EQ(out["user"],
            parsed(captured("claude_code_2.1.197_tool_turn.json"))["metadata"]["user_id"]);
}

TEST(TranslateCaptured, ClaudeCodesToolTurnBecomesAResponsesRequest) {
  const RequestResult r =
      translate_request(Api::kMessages, Api::kResponses,
                        captured("claude_code_2.1.197_tool_turn.json"), opts("gpt-5-codex"));
  ASSERT_TRUE(r.ok) << r.error;
  const Json out = parsed(r.ok->body);
  std::vector<std::string> kinds;
  for (const auto& i : out["input"]) {
    kinds.push_back(i["type"].get<std::string>() + ":" + i.value("role", i.value("call_id", "")));
  }
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"message:system", "message:user", "function_call:toolu_sim_1",
                                      "function_call_output:toolu_sim_1"}));
  EXPECT_EQ(out["tools"][0]["name"], "Bash");
  EXPECT_EQ(out["max_output_tokens"], 32000);
}

TEST(TranslateCaptured, CodexsToolTurnBecomesAChatRequest) {
  const RequestResult r = translate_request(
      Api::kResponses, Api::kChat, captured("codex_0.171.0_tool_turn.json"), opts("glm-4.6"));
  ASSERT_TRUE(r.ok) << r.error;
  const Json out = parsed(r.ok->body);
  const Json& msgs = out["messages"];
  std::vector<std::string> roles;
  for (const auto& m : msgs) roles.push_back(m["role"]);
  EXPECT_EQ(roles,
            (std::vector<std::string>{"system", "system", "user", "user", "assistant", "tool"}));
  EXPECT_EQ(msgs[4]["tool_calls"][0]["id"], "call_sim_1");
  EXPECT_EQ(msgs[4]["tool_calls"][0]["function"]["name"], "exec_command");
  EXPECT_EQ(msgs[5]["tool_call_id"], "call_sim_1");
  // Seven function tools of nine; the namespace and web_search tools and the
  // reasoning settings are named as dropped; store, include, prompt_cache_key
  // and client_metadata go silently.
  EXPECT_EQ(out["tools"].size(), 7u);
  EXPECT_EQ(out["tool_choice"], "auto");
  EXPECT_EQ(r.ok->dropped,
            (std::vector<std::string>{"tools[].namespace", "tools[].web_search", "reasoning"}));
  for (const char* gone : {"prompt_cache_key", "client_metadata", "include", "store"}) {
    EXPECT_FALSE(out.contains(gone)) << gone;
  }
}

TEST(TranslateCaptured, CodexsToolTurnBecomesAnAnthropicRequest) {
  const RequestResult r =
      translate_request(Api::kResponses, Api::kMessages, captured("codex_0.171.0_tool_turn.json"),
                        opts("claude-sonnet-4-5"));
  ASSERT_TRUE(r.ok) << r.error;
  const Json out = parsed(r.ok->body);
  EXPECT_TRUE(out["system"].is_string() || out["system"].is_array());
  const Json& msgs = out["messages"];
  ASSERT_GE(msgs.size(), 3u);
  EXPECT_EQ(msgs.back()["role"], "user");
  EXPECT_EQ(msgs.back()["content"][0]["type"], "tool_result");
  EXPECT_EQ(msgs.back()["content"][0]["tool_use_id"], "call_sim_1");
  EXPECT_EQ(msgs[msgs.size() - 2]["content"].back()["type"], "tool_use");
  EXPECT_GT(out["max_tokens"].get<int>(), 0);
}

}  // namespace
}  // namespace sluice::translate
