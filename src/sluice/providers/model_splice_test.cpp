#include "sluice/providers/model_splice.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::providers {
namespace {

TEST(ModelSplice, ReplacesOnlyTheModelValueByteForByte) {
  const std::string body =
      R"({ "temperature" : 0.70, "model":"main" ,"messages":[{"role":"user","content":"hi \"model\": x"}],"x_unknown":{"model":"inner"}})";
  const BodyFacts f = inspect_body(body);
  ASSERT_TRUE(f.valid) << f.error;
  EXPECT_EQ(f.model, "main");
  const std::string out = splice_model(body, f, "glm-5.1");
  EXPECT_EQ(
      out,
      R"({ "temperature" : 0.70, "model":"glm-5.1" ,"messages":[{"role":"user","content":"hi \"model\": x"}],"x_unknown":{"model":"inner"}})");
}

// Strings are skipped 16 bytes at a time: an escaped quote or backslash at
// any offset from a block's edge, or a text that looks like a member, must
// not end the string early, so the real "model" after it is the one found.
TEST(ModelSplice, EscapesAtEveryOffsetDoNotEndAStringEarly) {
  for (std::size_t pad = 0; pad <= 40; ++pad) {
    for (std::string_view escape : {R"(\")", R"(\\)", R"(\\\")", R"(\u0022)"}) {
      const std::string text = std::string(pad, 'x') + std::string(escape) +
                               R"(,\"model\":\"no\")" + std::string(pad, 'y');
      const std::string body = R"({"messages":[{"content":")" + text + R"("}],"model":"main"})";
      const BodyFacts f = inspect_body(body);
      ASSERT_TRUE(f.valid) << f.error << " in " << body;
      ASSERT_EQ(f.model, "main");
      EXPECT_EQ(splice_model(body, f, "up"),
                R"({"messages":[{"content":")" + text + R"("}],"model":"up"})")
          << body;
    }
  }
}

TEST(ModelSplice, EscapesTheUpstreamModel) {
  const std::string body = R"({"model":"a"})";
  const std::string out = splice_model(body, inspect_body(body), "we\"ird\\name");
  EXPECT_EQ(nlohmann::json::parse(out)["model"], "we\"ird\\name");
}

TEST(ModelSplice, AddsAModelWhenTheBodyHasNone) {
  EXPECT_EQ(splice_model(R"({"input":"x"})", inspect_body(R"({"input":"x"})"), "m"),
            R"({"model":"m","input":"x"})");
  EXPECT_EQ(splice_model("{ }", inspect_body("{ }"), "m"), R"({"model":"m" })");
}

TEST(ModelSplice, EscapedKeysAndNestedModelsAreNotMistakenForTheModel) {
  const std::string body = R"({"meta":{"model":"nested"},"mod\u0065l2":1,"model":"top"})";
  const BodyFacts f = inspect_body(body);
  EXPECT_EQ(f.model, "top");
  EXPECT_EQ(nlohmann::json::parse(splice_model(body, f, "x"))["meta"]["model"], "nested");
  EXPECT_EQ(nlohmann::json::parse(splice_model(body, f, "x"))["model"], "x");
}

TEST(InspectBody, ReadsStreamMaxTokensAndPromptSize) {
  const BodyFacts f = inspect_body(
      R"({"model":"m","stream":true,"max_tokens":512,"system":"abcd","messages":[{"role":"user","content":"12345678"},{"role":"user","content":[{"type":"text","text":"abcd"}]}]})");
  ASSERT_TRUE(f.valid);
  EXPECT_TRUE(f.stream);
  EXPECT_EQ(f.max_tokens, 512);
  EXPECT_EQ(f.messages, 2u);
  EXPECT_EQ(f.text_bytes, 16u);
  EXPECT_EQ(estimate_prompt_tokens(f.text_bytes), 4);
}

TEST(InspectBody, MalformedBodiesAreReportedNotGuessed) {
  EXPECT_FALSE(inspect_body("{\"model\":").valid);
  EXPECT_FALSE(inspect_body("[1,2]").valid);
  EXPECT_FALSE(inspect_body("").valid);
  EXPECT_FALSE(inspect_body("\xff\xfe{}").valid);
  EXPECT_FALSE(inspect_body("{\"model\":\"m\"}").stream);
}

// The body is walked on demand (decision 0018), so every part of it is asked
// for: a fault in a member the gateway does not read is still a 400, not a
// request the provider refuses after it counted against the key's limits.
// (Escapes inside string values are the one thing left to the provider.)
TEST(InspectBody, AFaultAnywhereInTheBodyIsReported) {
  for (const char* body : {
           R"({"model":"m","tools":[{"a":tru}]})",
           R"({"model":"m","messages":[{"role":"user" "content":"a"}]})",
           R"({"model":"m","n":01})",
           R"({"model":"m","x":[1,2}})",
           R"({"model":"m"} {"model":"n"})",
           R"({"model":"m","x":nul})",
           R"({"model":{"model":0inode-"ge[l"}})",       // found by fuzz_model_splice
           R"({"model":"m","messages":[{"c\\\o":1}]})",  // and this: an escape in a key
           R"({"model":"m","x":{"k":[true,false,null,1.5e3,"\u00e9"],}})",
       }) {
    const BodyFacts f = inspect_body(body);
    EXPECT_FALSE(f.valid) << body;
    EXPECT_NE(f.error.find("not valid JSON"), std::string::npos) << body << ": " << f.error;
    EXPECT_FALSE(f.model) << body;
  }
  EXPECT_TRUE(inspect_body(R"({"model":"m","x":{"k":[true,false,null,1.5e3,"\u00e9\/"]}})").valid);
}

// Prompt size is counted as written: checking and decoding every escape cost
// more than the rest of the walk (decision 0018). An escape that is not JSON
// reaches the provider, which must decode the text anyway, and answers 400.
TEST(InspectBody, PromptTextIsCountedAsWrittenAndItsEscapesAreTheProvidersToDecode) {
  const BodyFacts f =
      inspect_body(R"({"messages":[{"role":"user","content":"a\nb\"\\"},{"content":"\u00e9x"}]})");
  ASSERT_TRUE(f.valid) << f.error;
  EXPECT_EQ(f.text_bytes, 8u + 7u);
  EXPECT_TRUE(inspect_body(R"({"model":"m","messages":[{"content":"a\x"}]})").valid);
  // A key is decoded (keys are short), so a bad escape there is still caught.
  EXPECT_FALSE(inspect_body(R"({"model":"m","messages":[{"\x":"a"}]})").valid);
}

TEST(ModelSplice, WhitespaceAroundTheModelAndNonStringModelsAreReplacedWhole) {
  const std::string spaced = "{ \"model\" :  \"main\"  , \"n\": 1 }";
  const BodyFacts f = inspect_body(spaced);
  ASSERT_TRUE(f.valid) << f.error;
  EXPECT_EQ(splice_model(spaced, f, "up"), "{ \"model\" :  \"up\"  , \"n\": 1 }");
  const std::string object = R"({"model":{"a":[1,"]"]} ,"n":1})";
  const BodyFacts g = inspect_body(object);
  ASSERT_TRUE(g.valid) << g.error;
  EXPECT_FALSE(g.model);
  EXPECT_EQ(splice_model(object, g, "up"), R"({"model":"up" ,"n":1})");
}

TEST(InspectBody, NonStringModelIsNotAModel) {
  const BodyFacts f = inspect_body(R"({"model":42})");
  EXPECT_TRUE(f.valid);
  EXPECT_FALSE(f.model);
}

// Found by fuzz_model_splice: a model key spelt with escapes was read by
// simdjson but missed by the splice, which then added a second "model"; the
// provider (last member wins) received the client's alias, not the route's.
TEST(ModelSplice, AnEscapedModelKeyIsTheModelAndIsReplaced) {
  const std::string body = R"({"\u006dodel":"main","messages":[]})";
  const BodyFacts f = inspect_body(body);
  ASSERT_TRUE(f.valid) << f.error;
  EXPECT_EQ(f.model, "main");
  const std::string out = splice_model(body, f, "glm-5.1");
  EXPECT_EQ(out, R"({"\u006dodel":"glm-5.1","messages":[]})");
  EXPECT_EQ(inspect_body(out).model, "glm-5.1");
  EXPECT_EQ(inspect_body(R"({"mod\u0065l":"a"})").model_begin, 14U);
  // Other escapes never spell "model".
  EXPECT_FALSE(inspect_body(R"({"mode\nl":"a"})").model);
  EXPECT_EQ(inspect_body(R"({"mode\nl":"a"})").model_end, 0U);
}

// Parsers disagree on which duplicate wins, so two top-level model members
// could route one model and send another: refused as a bad body.
TEST(InspectBody, TwoTopLevelModelMembersAreRefused) {
  for (const char* body :
       {R"({"model":"main","model":"gpt-4"})", R"({"model":"gpt-4","\u006dodel":"main"})",
        R"({"model":5,"model":"main"})"}) {
    const BodyFacts f = inspect_body(body);
    EXPECT_FALSE(f.valid) << body;
    EXPECT_NE(f.error.find("more than one"), std::string::npos) << body;
  }
  // Nested ones are not top-level members.
  EXPECT_TRUE(inspect_body(R"({"model":"m","x":{"model":"n"}})").valid);
}

}  // namespace
}  // namespace sluice::providers

namespace sluice::providers {
namespace {

TEST(InspectBody, ReadsTheResponsesStateFieldsAtTopLevelOnly) {
  const BodyFacts plain = inspect_body(R"({"model":"m","input":"hi"})");
  EXPECT_FALSE(plain.previous_response_id);
  EXPECT_TRUE(plain.store);  // the API's default
  const BodyFacts cont = inspect_body(
      R"({"model":"m","store":false,"previous_response_id":"resp_1","input":[{"store":true}]})");
  EXPECT_EQ(cont.previous_response_id, "resp_1");
  EXPECT_FALSE(cont.store);
  const BodyFacts odd = inspect_body(R"({"store":"no","previous_response_id":7})");
  EXPECT_TRUE(odd.store);
  EXPECT_FALSE(odd.previous_response_id);
  const BodyFacts nested = inspect_body(R"({"metadata":{"previous_response_id":"resp_x"}})");
  EXPECT_FALSE(nested.previous_response_id);
}

}  // namespace
}  // namespace sluice::providers
