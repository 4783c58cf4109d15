// What today's agents need from the simulator: the Responses API, tool calls
// in every API, base64 embeddings, one model by id, and a Date stamped when
// the answer leaves.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "sluice/core/headers.hpp"
#include "sluice/core/text.hpp"
#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"
#include "sluice/sim/sim_provider.hpp"
#include "sluice/sim/success_bodies.hpp"
#include "sluice/sim/test_support.hpp"
#include "sluice/sim/wire_time.hpp"
#include "testing/fake_clock.hpp"

namespace sluice::sim {
namespace {

using nlohmann::json;
using sluice::testing::FakeClock;
using test::classify_plan;
using test::header;

ProviderSimConfig config(Dialect d) {
  ProviderSimConfig c;
  c.name = "sim";
  c.dialect = d;
  c.keys = {"k1"};
  c.seed = 7;
  return c;
}

// The data of each SSE event, parsed, in order.
std::vector<json> events(const ResponsePlan& p) {
  std::vector<json> out;
  for (const auto& c : p.chunks) {
    const auto at = c.data.find("data: ");
    if (at == std::string::npos) continue;
    std::string data = c.data.substr(at + 6);
    while (!data.empty() && data.back() == '\n') data.pop_back();
    if (data == "[DONE]") continue;
    out.push_back(json::parse(data));
  }
  return out;
}

std::vector<std::string> types(const std::vector<json>& evs) {
  std::vector<std::string> out;
  for (const auto& e : evs) out.push_back(e.value("type", ""));
  return out;
}

SimRequest post(std::string path, const json& body) {
  return SimRequest{"POST", std::move(path), "k1", body.dump()};
}

const json kWeatherTool = json::parse(R"({"type":"object","properties":{
    "city":{"type":"string"},"days":{"type":"integer","minimum":2}},"required":["city","days"]})");

TEST(SimResponses, AnswersTextWithUsageAndClassifiesAsSuccess) {
  FakeClock clock;
  SimProvider sim(config(Dialect::kOpenAI));
  const ResponsePlan p = sim.on_request(
      post("/v1/responses", {{"model", "gpt-5"}, {"input", "hi"}, {"instructions", "be brief"}}),
      clock.now());
  ASSERT_EQ(p.status, 200);
  const json r = json::parse(p.body);
  EXPECT_EQ(r["object"], "response");
  EXPECT_EQ(r["status"], "completed");
  EXPECT_EQ(r["model"], "gpt-5");
  ASSERT_EQ(r["output"].size(), 1u);
  EXPECT_EQ(r["output"][0]["type"], "message");
  EXPECT_EQ(r["output"][0]["content"][0]["type"], "output_text");
  EXPECT_EQ(r["output"][0]["content"][0]["text"], "This is a simulated answer from sim.");
  EXPECT_EQ(r["usage"]["output_tokens"], 7);
  EXPECT_EQ(r["usage"]["input_tokens"], 3);  // "hi" + "be brief": 10 bytes
  EXPECT_TRUE(classify_plan(Dialect::kOpenAI, p, clock.now()).ok);
}

TEST(SimResponses, OnlyProvidersThatHaveTheResponsesApiServeIt) {
  FakeClock clock;
  const SimRequest req = post("/v1/responses", {{"model", "m"}, {"input", "hi"}});
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAzure, Dialect::kGeneric}) {
    SimProvider sim(config(d));
    EXPECT_EQ(sim.on_request(req, clock.now()).status, 200) << to_string(d);
  }
  for (Dialect d : {Dialect::kZai, Dialect::kKimi, Dialect::kGroq, Dialect::kOpenRouter}) {
    SimProvider sim(config(d));
    EXPECT_EQ(sim.on_request(req, clock.now()).status, 404) << to_string(d);
  }
}

TEST(SimResponses, StreamsTheRealEventSequenceEndingInCompleted) {
  FakeClock clock;
  SimProvider sim(config(Dialect::kOpenAI));
  const ResponsePlan p = sim.on_request(
      post("/v1/responses", {{"model", "m"}, {"input", "hi"}, {"stream", true}}), clock.now());
  ASSERT_TRUE(p.streaming);
  const auto evs = events(p);
  const auto t = types(evs);
  ASSERT_GE(t.size(), 8u);
  EXPECT_EQ(t[0], "response.created");
  EXPECT_EQ(t[1], "response.in_progress");
  EXPECT_EQ(t[2], "response.output_item.added");
  EXPECT_EQ(t[3], "response.content_part.added");
  EXPECT_EQ(std::count(t.begin(), t.end(), "response.output_text.delta"), 7);
  EXPECT_EQ(t[t.size() - 4], "response.output_text.done");
  EXPECT_EQ(t[t.size() - 3], "response.content_part.done");
  EXPECT_EQ(t[t.size() - 2], "response.output_item.done");
  EXPECT_EQ(t.back(), "response.completed");
  EXPECT_EQ(evs.back()["response"]["output"][0]["content"][0]["text"],
            "This is a simulated answer from sim.");
  // Each event names itself on its event line too, and sequence numbers count up from 0.
  for (std::size_t i = 0; i < p.chunks.size(); ++i) {
    EXPECT_TRUE(p.chunks[i].data.starts_with("event: " + t[i] + "\n")) << i;
    EXPECT_EQ(evs[i]["sequence_number"], i);
  }
  EXPECT_TRUE(classify_plan(Dialect::kOpenAI, p, clock.now()).ok);
}

TEST(SimResponses, MaxOutputTokensEndsTheStreamAsIncomplete) {
  FakeClock clock;
  SimProvider sim(config(Dialect::kOpenAI));
  const json body = {{"model", "m"}, {"input", "hi"}, {"max_output_tokens", 3}};
  const json whole = json::parse(sim.on_request(post("/v1/responses", body), clock.now()).body);
  EXPECT_EQ(whole["status"], "incomplete");
  EXPECT_EQ(whole["incomplete_details"]["reason"], "max_output_tokens");
  json streaming = body;
  streaming["stream"] = true;
  const ResponsePlan p = sim.on_request(post("/v1/responses", streaming), clock.now());
  const auto evs = events(p);
  EXPECT_EQ(evs.back()["type"], "response.incomplete");
  EXPECT_EQ(evs.back()["response"]["usage"]["output_tokens"], 3);
  // A normal ending: the classifier sees the terminal event, no stream drop.
  const auto c = classify_plan(Dialect::kOpenAI, p, clock.now());
  EXPECT_TRUE(c.ok) << to_string(c.cls) << " " << c.rule;
}

TEST(SimResponses, AStreamFaultIsAResponseFailedEvent) {
  FakeClock clock;
  ProviderSimConfig cfg = config(Dialect::kOpenAI);
  cfg.faults.stream_error_rate = 1.0;
  cfg.faults.stream_error_after_chunks = 4;
  SimProvider sim(cfg);
  const ResponsePlan p = sim.on_request(
      post("/v1/responses", {{"model", "m"}, {"input", "hi"}, {"stream", true}}), clock.now());
  const auto evs = events(p);
  ASSERT_EQ(evs.size(), 5u);
  EXPECT_EQ(evs.back()["type"], "response.failed");
  EXPECT_EQ(evs.back()["sequence_number"], 4);
  EXPECT_EQ(evs.back()["response"]["status"], "failed");
  EXPECT_FALSE(classify_plan(Dialect::kOpenAI, p, clock.now()).ok);
}

TEST(SimResponses, CallsAnOfferedFunctionThenAnswersItsOutputWithText) {
  FakeClock clock;
  SimProvider sim(config(Dialect::kOpenAI));
  json body = {
      {"model", "m"},
      {"input", "weather?"},
      {"tools",
       json::array({{{"type", "web_search"}},
                    {{"type", "function"}, {"name", "weather"}, {"parameters", kWeatherTool}}})}};
  const json r = json::parse(sim.on_request(post("/v1/responses", body), clock.now()).body);
  ASSERT_EQ(r["output"][0]["type"], "function_call");
  EXPECT_EQ(r["output"][0]["name"], "weather");
  EXPECT_EQ(json::parse(r["output"][0]["arguments"].get<std::string>()),
            json::parse(R"({"city":"sim","days":2})"));
  const std::string call_id = r["output"][0]["call_id"];
  EXPECT_EQ(r["status"], "completed");

  body["stream"] = true;
  const auto evs = events(sim.on_request(post("/v1/responses", body), clock.now()));
  const auto t = types(evs);
  EXPECT_EQ(evs[2]["item"]["type"], "function_call");
  std::string args;
  for (const auto& e : evs) {
    if (e["type"] == "response.function_call_arguments.delta") args += e["delta"];
  }
  EXPECT_EQ(json::parse(args), json::parse(R"({"city":"sim","days":2})"));
  EXPECT_EQ(t.back(), "response.completed");

  body.erase("stream");
  body["input"] = json::array(
      {{{"role", "user"}, {"content", "weather?"}},
       {{"type", "function_call"}, {"call_id", call_id}, {"name", "weather"}, {"arguments", "{}"}},
       {{"type", "function_call_output"}, {"call_id", call_id}, {"output", "sunny"}}});
  const json after = json::parse(sim.on_request(post("/v1/responses", body), clock.now()).body);
  EXPECT_EQ(after["output"][0]["type"], "message");
}

TEST(SimTools, ChatCompletionsCallsTheForcedToolAndStreamsItsArguments) {
  FakeClock clock;
  SimProvider sim(config(Dialect::kOpenAI));
  json body = {
      {"model", "m"},
      {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
      {"tools", json::array({{{"type", "function"}, {"function", {{"name", "other"}}}},
                             {{"type", "function"},
                              {"function", {{"name", "weather"}, {"parameters", kWeatherTool}}}}})},
      {"tool_choice", {{"type", "function"}, {"function", {{"name", "weather"}}}}}};
  const json r = json::parse(sim.on_request(post("/v1/chat/completions", body), clock.now()).body);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "tool_calls");
  const json call = r["choices"][0]["message"]["tool_calls"][0];
  EXPECT_EQ(call["function"]["name"], "weather");
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>())["days"], 2);

  body["stream"] = true;
  const ResponsePlan p = sim.on_request(post("/v1/chat/completions", body), clock.now());
  std::string args;
  std::string finish;
  for (const auto& e : events(p)) {
    if (e["choices"].empty()) continue;
    const json& c = e["choices"][0];
    if (c["delta"].contains("tool_calls")) {
      args += c["delta"]["tool_calls"][0]["function"].value("arguments", "");
    }
    if (c["finish_reason"].is_string()) finish = c["finish_reason"];
  }
  EXPECT_EQ(json::parse(args), json::parse(call["function"]["arguments"].get<std::string>()));
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_TRUE(classify_plan(Dialect::kOpenAI, p, clock.now()).ok);

  // A tool result as the last message, or tool_choice "none": text.
  body.erase("stream");
  body["tool_choice"] = "none";
  EXPECT_EQ(json::parse(sim.on_request(post("/v1/chat/completions", body), clock.now())
                            .body)["choices"][0]["finish_reason"],
            "stop");
  body.erase("tool_choice");
  body["messages"].push_back({{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "ok"}});
  EXPECT_EQ(json::parse(sim.on_request(post("/v1/chat/completions", body), clock.now())
                            .body)["choices"][0]["finish_reason"],
            "stop");
}

TEST(SimTools, AnthropicToolUseWithInputJsonDeltas) {
  FakeClock clock;
  SimProvider sim(config(Dialect::kAnthropic));
  json body = {{"model", "claude"},
               {"max_tokens", 100},
               {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
               {"tools", json::array({{{"type", "web_search_20250305"}, {"name", "web_search"}},
                                      {{"name", "weather"}, {"input_schema", kWeatherTool}}})}};
  const json r = json::parse(sim.on_request(post("/v1/messages", body), clock.now()).body);
  EXPECT_EQ(r["stop_reason"], "tool_use");
  ASSERT_EQ(r["content"][0]["type"], "tool_use");
  EXPECT_EQ(r["content"][0]["name"], "weather");
  EXPECT_EQ(r["content"][0]["input"], json::parse(R"({"city":"sim","days":2})"));
  const std::string id = r["content"][0]["id"];
  EXPECT_TRUE(id.starts_with("toolu_"));

  body["stream"] = true;
  const ResponsePlan p = sim.on_request(post("/v1/messages", body), clock.now());
  const auto evs = events(p);
  std::string partial;
  int starts = 0, stops = 0;
  std::string stop_reason;
  for (const auto& e : evs) {
    if (e["type"] == "content_block_start") {
      ++starts;
      EXPECT_EQ(e["content_block"]["type"], "tool_use");
      EXPECT_EQ(e["content_block"]["input"], json::object());
    }
    if (e["type"] == "content_block_stop") ++stops;
    if (e["type"] == "content_block_delta") {
      EXPECT_EQ(e["delta"]["type"], "input_json_delta");
      partial += e["delta"]["partial_json"];
    }
    if (e["type"] == "message_delta") stop_reason = e["delta"]["stop_reason"];
  }
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(stops, 1);
  EXPECT_EQ(json::parse(partial), json::parse(R"({"city":"sim","days":2})"));
  EXPECT_EQ(stop_reason, "tool_use");
  EXPECT_EQ(evs.back()["type"], "message_stop");
  EXPECT_TRUE(classify_plan(Dialect::kAnthropic, p, clock.now()).ok);

  body.erase("stream");
  body["messages"].push_back({{"role", "assistant"}, {"content", r["content"]}});
  body["messages"].push_back(
      {{"role", "user"},
       {"content",
        json::array({{{"type", "tool_result"}, {"tool_use_id", id}, {"content", "sunny"}}})}});
  EXPECT_EQ(
      json::parse(sim.on_request(post("/v1/messages", body), clock.now()).body)["stop_reason"],
      "end_turn");
}

TEST(SimEmbeddings, Base64IsTheSameVectorAsLittleEndianFloat32) {
  FakeClock clock;
  SimProvider sim(config(Dialect::kOpenAI));
  const json floats = json::parse(
      sim.on_request(post("/v1/embeddings", {{"model", "e"}, {"input", "hello"}}), clock.now())
          .body);
  const json b64 = json::parse(
      sim.on_request(post("/v1/embeddings",
                          {{"model", "e"}, {"input", "hello"}, {"encoding_format", "base64"}}),
                     clock.now())
          .body);
  const json& vec = floats["data"][0]["embedding"];
  const std::string text = b64["data"][0]["embedding"];
  // Decode by hand (the alphabet's index of each character).
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    acc = (acc << 6) | static_cast<std::uint32_t>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  ASSERT_EQ(bytes.size(), vec.size() * 4);
  ASSERT_GT(vec.size(), 2u);
  for (std::size_t i = 0; i < vec.size(); ++i) {
    float f = 0;
    std::memcpy(&f, bytes.data() + 4 * i, 4);  // this test runs on little-endian x86-64
    EXPECT_FLOAT_EQ(f, vec[i].get<float>()) << i;
  }
  EXPECT_EQ(sim.on_request(post("/v1/embeddings",
                                {{"model", "e"}, {"input", "x"}, {"encoding_format", "hex"}}),
                           clock.now())
                .status,
            400);
}

TEST(SimEncoding, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(SimModels, OneModelByIdInEachDialectAndUnknownIdsAreModelNotFound) {
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic, Dialect::kOpenRouter}) {
    SCOPED_TRACE(std::string(to_string(d)));
    FakeClock clock;
    ProviderSimConfig cfg = config(d);
    cfg.models = {"alpha", "org/beta"};
    SimProvider sim(cfg);
    for (std::string id : {"alpha", "org/beta"}) {
      const ResponsePlan p =
          sim.on_request(SimRequest{"GET", "/v1/models/" + id, "k1", ""}, clock.now());
      ASSERT_EQ(p.status, 200);
      EXPECT_EQ(json::parse(p.body)["id"], id);
    }
    // The dialect's own model-not-found (OpenRouter words it as a 400).
    EXPECT_EQ(sim.on_request(SimRequest{"GET", "/v1/models/gamma", "k1", ""}, clock.now()).status,
              d == Dialect::kOpenRouter ? 400 : 404);
  }
}

TEST(SimHeaders, DateIsStampedWhenTheAnswerLeavesNotWhenTheRequestCame) {
  FakeClock clock;
  clock.advance(milliseconds(1700));  // whole second 1'800'000'001 + 0.7 s
  ProviderSimConfig cfg = config(Dialect::kOpenAI);
  cfg.latency.fixed = milliseconds(1500);
  cfg.latency.ttft = milliseconds(400);
  cfg.latency.per_token = milliseconds(100);
  SimProvider sim(cfg);
  const json chat = {{"model", "m"},
                     {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  // A whole answer: 1.5 s latency + 0.4 s ttft + 6 × 0.1 s = 2.5 s after it arrived.
  const ResponsePlan whole = sim.on_request(post("/v1/chat/completions", chat), clock.now());
  EXPECT_EQ(whole.delay_before_headers, milliseconds(2500));
  EXPECT_EQ(header(whole, "date"), format_http_date(clock.now() + milliseconds(2500)));
  EXPECT_EQ(policy::parse_http_date(header(whole, "date")), TimePoint(seconds(1'800'000'004)));
  // A refusal leaves after its latency alone.
  const ResponsePlan refused =
      sim.on_request(SimRequest{"POST", "/v1/chat/completions", "nope", chat.dump()}, clock.now());
  EXPECT_EQ(policy::parse_http_date(header(refused, "date")), TimePoint(seconds(1'800'000'003)));
}

}  // namespace
}  // namespace sluice::sim
