#include "sluice/sim/request_body.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::sim {
namespace {

ParsedRequest ok(Endpoint e, std::string_view body, std::string_view implied = {}) {
  auto r = parse_request(e, body, implied);
  EXPECT_TRUE(std::holds_alternative<ParsedRequest>(r)) << body;
  return std::holds_alternative<ParsedRequest>(r) ? std::get<ParsedRequest>(r) : ParsedRequest{};
}

BadRequest bad(Endpoint e, std::string_view body) {
  auto r = parse_request(e, body);
  EXPECT_TRUE(std::holds_alternative<BadRequest>(r)) << body;
  return std::holds_alternative<BadRequest>(r) ? std::get<BadRequest>(r) : BadRequest{};
}

TEST(RequestBody, PromptTokensAreBytesOverFourRoundedUpAndAtLeastOne) {
  EXPECT_EQ(estimate_prompt_tokens(0), 1);
  EXPECT_EQ(estimate_prompt_tokens(1), 1);
  EXPECT_EQ(estimate_prompt_tokens(4), 1);
  EXPECT_EQ(estimate_prompt_tokens(5), 2);
  EXPECT_EQ(estimate_prompt_tokens(400), 100);
}

TEST(RequestBody, ChatCostCountsEveryMessageTextPlusMaxTokens) {
  const auto r = ok(Endpoint::kChatCompletions,
                    R"({"model":"m","max_tokens":10,"messages":[
                         {"role":"system","content":"12345678"},
                         {"role":"user","content":[{"type":"text","text":"1234"}]}]})");
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.prompt_tokens, 3);  // 8 + 4 bytes; the part's "type" tag is not text
  EXPECT_EQ(r.max_tokens, 10);
  EXPECT_EQ(r.cost(), 13);
  EXPECT_FALSE(r.stream);
}

TEST(RequestBody, MaxCompletionTokensWinsAndTheDefaultIsApplied) {
  EXPECT_EQ(
      ok(Endpoint::kChatCompletions,
         R"({"model":"m","messages":[{"content":"x"}],"max_tokens":5,"max_completion_tokens":7})")
          .max_tokens,
      7);
  EXPECT_EQ(
      ok(Endpoint::kChatCompletions, R"({"model":"m","messages":[{"content":"x"}]})").max_tokens,
      kDefaultMaxTokens);
  // Anthropic has only max_tokens; its system prompt counts.
  const auto a = ok(
      Endpoint::kMessages,
      R"({"model":"c","system":"12345678","max_tokens":3,"messages":[{"role":"user","content":"1234"}]})");
  EXPECT_EQ(a.prompt_tokens, 3);
  EXPECT_EQ(a.max_tokens, 3);
}

TEST(RequestBody, EmbeddingsCountInputsAndReserveNoOutput) {
  const auto r = ok(Endpoint::kEmbeddings, R"({"model":"e","input":["aaaa","bbbb","cccc"]})");
  EXPECT_EQ(r.inputs, 3u);
  EXPECT_EQ(r.prompt_tokens, 3);
  EXPECT_EQ(r.max_tokens, 0);
  EXPECT_EQ(ok(Endpoint::kEmbeddings, R"({"model":"e","input":[1,2,3]})").inputs, 1u);
}

TEST(RequestBody, StreamFlagIsReadOnlyForGeneration) {
  EXPECT_TRUE(
      ok(Endpoint::kChatCompletions, R"({"model":"m","messages":[{"content":"x"}],"stream":true})")
          .stream);
  EXPECT_FALSE(ok(Endpoint::kEmbeddings, R"({"model":"m","input":"x","stream":true})").stream);
}

TEST(RequestBody, AzureDeploymentNamesTheModelWhenTheBodyDoesNot) {
  EXPECT_EQ(
      ok(Endpoint::kChatCompletions, R"({"messages":[{"content":"x"}]})", "gpt-4o-deploy").model,
      "gpt-4o-deploy");
}

TEST(RequestBody, MalformedBodiesComeBackAsBadRequestsNotExceptions) {
  using W = BadRequest::Why;
  EXPECT_EQ(bad(Endpoint::kChatCompletions, "{not json").why, W::kInvalidJson);
  EXPECT_EQ(bad(Endpoint::kChatCompletions, "").why, W::kInvalidJson);
  EXPECT_EQ(bad(Endpoint::kChatCompletions, "[1,2]").why, W::kNotAnObject);
  auto missing = bad(Endpoint::kChatCompletions, R"({"messages":[{"content":"x"}]})");
  EXPECT_EQ(missing.why, W::kMissing);
  EXPECT_EQ(missing.param, "model");
  EXPECT_EQ(bad(Endpoint::kChatCompletions, R"({"model":"m"})").param, "messages");
  EXPECT_EQ(bad(Endpoint::kChatCompletions, R"({"model":"m","messages":[]})").why,
            W::kInvalidValue);
  EXPECT_EQ(bad(Endpoint::kChatCompletions, R"({"model":7,"messages":[{}]})").why, W::kInvalidType);
  EXPECT_EQ(
      bad(Endpoint::kChatCompletions, R"({"model":"m","messages":[{}],"max_tokens":0})").param,
      "max_tokens");
  EXPECT_EQ(
      bad(Endpoint::kChatCompletions, R"({"model":"m","messages":[{}],"max_tokens":"9"})").why,
      W::kInvalidType);
  EXPECT_EQ(bad(Endpoint::kChatCompletions,
                R"({"model":"m","messages":[{}],"max_tokens":99999999999999})")
                .why,
            W::kInvalidValue);
  EXPECT_EQ(bad(Endpoint::kCompletions, R"({"model":"m"})").param, "prompt");
  EXPECT_EQ(bad(Endpoint::kEmbeddings, R"({"model":"m","input":[]})").why, W::kInvalidValue);
}

TEST(RequestBody, IntegersPastInt64AreTooLargeNotTheWrongType) {
  for (const char* n : {"9223372036854775808", "18446744073709551615"}) {
    const auto r = bad(Endpoint::kChatCompletions,
                       std::string(R"({"model":"m","messages":[{}],"max_tokens":)") + n + "}");
    EXPECT_EQ(r.why, BadRequest::Why::kInvalidValue) << n;
    EXPECT_EQ(r.param, "max_tokens");
  }
  EXPECT_EQ(
      bad(Endpoint::kChatCompletions, R"({"model":"m","messages":[{}],"max_tokens":8.0})").why,
      BadRequest::Why::kInvalidType);
}

TEST(RequestBody, TextIsCountedUnescapedAndNullMeansAbsent) {
  // "\u00e9" is é, two bytes of UTF-8; "\n" one byte: 2 + 1 + 5 = 8 bytes, 2 tokens.
  EXPECT_EQ(
      ok(Endpoint::kChatCompletions, R"({"model":"m","messages":[{"content":"\u00e9\nabcde"}]})")
          .prompt_tokens,
      2);
  // A null model is a missing one; a null max_tokens takes the default.
  EXPECT_EQ(bad(Endpoint::kChatCompletions, R"({"model":null,"messages":[{}]})").why,
            BadRequest::Why::kMissing);
  EXPECT_EQ(ok(Endpoint::kChatCompletions, R"({"model":"m","messages":[{}],"max_tokens":null})")
                .max_tokens,
            kDefaultMaxTokens);
  // Invalid UTF-8 inside a string is not JSON.
  EXPECT_EQ(bad(Endpoint::kChatCompletions, "{\"model\":\"m\xff\",\"messages\":[{}]}").why,
            BadRequest::Why::kInvalidJson);
}

TEST(RequestBody, AnEmbeddingsFingerprintFollowsItsText) {
  const auto a = ok(Endpoint::kEmbeddings, R"({"model":"e","input":"same text"})");
  const auto b = ok(Endpoint::kEmbeddings, R"({"model":"e","input":["same text"]})");
  const auto c = ok(Endpoint::kEmbeddings, R"({"model":"e","input":"other text"})");
  EXPECT_EQ(a.text_hash, b.text_hash);
  EXPECT_NE(a.text_hash, c.text_hash);
}

TEST(RequestBody, TheForcedToolIsCalledWithArgumentsFromItsOwnSchema) {
  // Anthropic: a server tool and a plain tool come first; the forced tool's
  // schema, not the first one's, shapes the arguments.
  const auto r = ok(Endpoint::kMessages, R"({"model":"c","max_tokens":5,
      "messages":[{"role":"user","content":"hi"}],
      "tools":[{"type":"web_search_20250305","name":"web_search"},
               {"name":"read","input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}},
               {"name":"count","input_schema":{"type":"object","properties":{"n":{"type":"integer","minimum":3}},"required":["n"]}}],
      "tool_choice":{"type":"tool","name":"count"}})");
  ASSERT_TRUE(r.tool_call);
  EXPECT_EQ(r.tool_call->name, "count");
  EXPECT_EQ(r.tool_call->arguments, R"({"n":3})");
  // Unforced: the first callable one (the server tool is skipped).
  const auto first =
      ok(Endpoint::kMessages, R"({"model":"c","messages":[{"role":"user","content":"hi"}],
      "tools":[{"type":"web_search_20250305","name":"web_search"},{"name":"now"}]})");
  ASSERT_TRUE(first.tool_call);
  EXPECT_EQ(first.tool_call->name, "now");
  EXPECT_EQ(first.tool_call->arguments, "{}");
}

TEST(RequestBody, DeeplyNestedContentDoesNotExhaustTheStack) {
  std::string deep = R"({"model":"m","messages":[{"content":)";
  deep += std::string(5000, '[') + "\"abcd\"" + std::string(5000, ']') + "}]}";
  EXPECT_EQ(ok(Endpoint::kChatCompletions, deep).prompt_tokens, 1);
}

}  // namespace
}  // namespace sluice::sim
