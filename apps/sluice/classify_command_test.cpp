// `sluice classify` input handling: what a line may say and how it is read.
#include "apps/sluice/classify_command.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <variant>

#include "testing/fake_clock.hpp"

namespace sluice::cli {
namespace {

using nlohmann::json;

json classify_one(const std::string& line) {
  testing::FakeClock clock;
  std::istringstream in(line + "\n");
  std::ostringstream out;
  run_classify(in, out, policy::builtin_rules(), clock);
  return json::parse(out.str());
}

// Agents route to providers sluice has no dialect for; their outcomes must
// still be classified (with the generic rules), never refused.
TEST(ClassifyCommand, UnknownProviderNamesClassifyWithTheGenericRules) {
  const std::string body =
      R"("body":{"error":{"message":"Rate limit exceeded. Please try again later."}})";
  for (const char* name : {"nvidia", "alibaba", "openai-codex", "cloudflare-edge"}) {
    const std::string line =
        std::string(R"({"provider":")") + name + R"(","status":429,)" + body + "}";
    auto parsed = policy::parse_outcome_json(line, TimePoint{});
    ASSERT_TRUE(std::holds_alternative<policy::OutcomeInput>(parsed))
        << name << ": " << std::get<std::string>(parsed);
    EXPECT_EQ(std::get<policy::OutcomeInput>(parsed).fields.dialect, Dialect::kGeneric) << name;

    const json verdict = classify_one(line);
    EXPECT_FALSE(verdict.contains("error")) << verdict.dump();
    EXPECT_EQ(verdict.value("class", ""), "RATE_LIMIT") << verdict.dump();
    EXPECT_EQ(verdict.value("dialect", ""), "generic") << verdict.dump();
  }
}

TEST(ClassifyCommand, KnownProvidersAndBaseUrlsKeepTheirDialect) {
  auto zai = policy::parse_outcome_json(R"({"provider":"zhipu","status":429})", TimePoint{});
  ASSERT_TRUE(std::holds_alternative<policy::OutcomeInput>(zai));
  EXPECT_EQ(std::get<policy::OutcomeInput>(zai).fields.dialect, Dialect::kZai);
  auto groq =
      policy::parse_outcome_json(R"({"provider":"https://api.groq.com/openai/v1"})", TimePoint{});
  ASSERT_TRUE(std::holds_alternative<policy::OutcomeInput>(groq));
  EXPECT_EQ(std::get<policy::OutcomeInput>(groq).fields.dialect, Dialect::kGroq);
  // A known name is not annotated.
  EXPECT_FALSE(classify_one(R"({"provider":"openai","status":429})").contains("dialect"));
}

// Python agents report a transport failure as the exception's text.
TEST(ClassifyCommand, TransportFailureGivenAsErrorTextIsATransportClass) {
  const json reset = classify_one(
      R"j({"provider":"nvidia","error":"ConnectionResetError(104, 'Connection reset by peer')"})j");
  EXPECT_FALSE(reset.contains("error")) << reset.dump();
  EXPECT_EQ(reset.value("class", ""), "STREAM_DROP") << reset.dump();
  EXPECT_EQ(reset.value("retryable", false), true) << reset.dump();
  EXPECT_EQ(reset.value("cool_key", true), false) << reset.dump();

  const json tls = classify_one(
      R"j({"message":"[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] decryption failed or bad record mac (_ssl.c:2580)"})j");
  EXPECT_EQ(tls.value("class", ""), "TIMEOUT") << tls.dump();
  EXPECT_EQ(tls.value("rotate_key", true), false) << tls.dump();

  // `transport` takes the text too.
  const json eof = classify_one(
      R"({"transport":"httpx.RemoteProtocolError: Server disconnected without sending a response."})");
  EXPECT_FALSE(eof.contains("error")) << eof.dump();
  EXPECT_EQ(eof.value("class", ""), "STREAM_DROP") << eof.dump();
}

}  // namespace
}  // namespace sluice::cli
