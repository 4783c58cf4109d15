#include "sluice/policy/errors/classifier.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "sluice/policy/errors/outcome_json.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::policy {
namespace {

using nlohmann::json;

// Every row of testdata/classifier_cases.jsonl is a real body, header block
// or documented example from providers.md, with the expected verdict.
struct Case {
  std::string label;
  std::string line;
  json expect;
};

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::ifstream f(std::string(SLUICE_SOURCE_DIR) +
                  "/src/sluice/policy/errors/testdata/classifier_cases.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    json j = json::parse(line);
    cases.push_back({j.value("label", std::string("?")), line, j.at("expect")});
  }
  return cases;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.label; }

const TimePoint kNow = *parse_rfc3339("2026-08-22T00:00:00Z");

class ClassifierTable : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifierTable, MatchesTheExpectedVerdict) {
  const Case& c = GetParam();
  auto parsed = parse_outcome_json(c.line, kNow);
  ASSERT_TRUE(std::holds_alternative<OutcomeInput>(parsed))
      << c.label << ": " << std::get<std::string>(parsed);
  const Classification result = classify(std::get<OutcomeInput>(parsed).view());
  const json got = classification_to_json(result);
  for (auto& [key, want] : c.expect.items()) {
    ASSERT_TRUE(got.contains(key) || want.is_null())
        << c.label << ": no field " << key << " in " << got.dump();
    const json have = got.contains(key) ? got.at(key) : json(nullptr);
    if (want.is_number() && have.is_number()) {
      EXPECT_NEAR(have.get<double>(), want.get<double>(), 1e-3)
          << c.label << ": " << key << " in " << got.dump();
    } else {
      EXPECT_EQ(have, want) << c.label << ": " << key << " in " << got.dump();
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.label;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(ProviderFixtures, ClassifierTable, ::testing::ValuesIn(load_cases()),
                         case_name);

TEST(ClassifierTableFixture, HasWellOverAHundredRows) { EXPECT_GE(load_cases().size(), 150u); }

TEST(Classifier, EveryClassIsReachableFromTheFixtures) {
  std::vector<bool> seen(kErrorClassCount, false);
  for (const Case& c : load_cases()) {
    if (auto cls = error_class_from_string(c.expect.value("class", std::string()))) {
      seen[static_cast<std::size_t>(*cls)] = true;
    }
  }
  for (ErrorClass cls : kAllErrorClasses) {
    EXPECT_TRUE(seen[static_cast<std::size_t>(cls)]) << to_string(cls) << " has no fixture";
  }
}

TEST(Classifier, OperatorRulesWinOverBuiltIns) {
  RuleTable rules = builtin_rules();
  ErrorRule r;
  r.name = "config:novita-overload";
  r.any_phrases = {"rate limit"};
  r.dialects = {Dialect::kGeneric};
  r.cls = ErrorClass::kOverloaded;
  rules.prepend({r});
  UpstreamOutcome in;
  in.status = 429;
  in.body = R"({"error":{"message":"Rate limit exceeded"}})";
  in.now = kNow;
  EXPECT_EQ(classify(in).cls, ErrorClass::kRateLimit);
  EXPECT_EQ(classify(in, rules).cls, ErrorClass::kOverloaded);
  in.dialect = Dialect::kOpenAI;  // the operator rule is scoped to generic
  EXPECT_EQ(classify(in, rules).cls, ErrorClass::kRateLimit);
}

TEST(Classifier, MessageIsTruncatedAndNeverEchoesHeaders) {
  HeaderList h{{"authorization", "Bearer sk-secret-value"}, {"retry-after", "3"}};
  std::string long_msg(2000, 'x');
  std::string body = R"({"error":{"message":")" + long_msg + R"("}})";
  UpstreamOutcome in{.status = 429, .headers = h.view(), .body = body, .now = kNow};
  auto c = classify(in);
  EXPECT_LE(c.message.size(), 310u);
  EXPECT_EQ(c.message.find("sk-secret"), std::string::npos);
}

TEST(Classifier, RateLimitWithLongHintBecomesQuota) {
  HeaderList h{{"retry-after", "3600"}};
  UpstreamOutcome in{.status = 429, .headers = h.view(), .now = kNow};
  auto c = classify(in);
  EXPECT_EQ(c.cls, ErrorClass::kQuotaExhausted);
  ASSERT_TRUE(c.cooldown);
  EXPECT_EQ(*c.cooldown, std::chrono::hours(1));
}

TEST(Classifier, SuccessCarriesTheSnapshot) {
  HeaderList h{{"x-ratelimit-remaining-requests", "7"}};
  UpstreamOutcome in{.dialect = Dialect::kOpenAI,
                     .status = 200,
                     .headers = h.view(),
                     .body = R"({"choices":[]})",
                     .now = kNow};
  auto c = classify(in);
  EXPECT_TRUE(c.ok);
  ASSERT_NE(c.ratelimit.find("requests"), nullptr);
  EXPECT_EQ(c.ratelimit.find("requests")->remaining, 7);
}

// Python agents (httpx, requests, aiohttp, the openai SDK) and Node report a
// transport failure as an exception's text, with no HTTP status. Each is a
// retryable transport class that never benches, rotates or disables the key.
TEST(Classifier, TransportFailuresGivenAsTextAreRetryableTransportClasses) {
  struct Row {
    const char* text;
    ErrorClass want;  // as if the shell had reported the failure itself
  };
  const Row rows[] = {
      // TLS alerts: TransportFailure::kTls
      {"[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] decryption failed or bad record mac "
       "(_ssl.c:2580)",
       ErrorClass::kTimeout},
      {"[SSL: SSLV3_ALERT_BAD_RECORD_MAC] sslv3 alert bad record mac (_ssl.c:2580)",
       ErrorClass::kTimeout},
      {"[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)",
       ErrorClass::kTimeout},
      {"SSLError(SSLEOFError(8, 'EOF occurred in violation of protocol (_ssl.c:2426)'))",
       ErrorClass::kTimeout},
      {"[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1000)",
       ErrorClass::kTimeout},
      // refused / unreachable: TransportFailure::kConnect
      {"Connection error.", ErrorClass::kTimeout},
      {"[Errno 111] Connection refused", ErrorClass::kTimeout},
      {"connect ECONNREFUSED 127.0.0.1:443", ErrorClass::kTimeout},
      // reset or closed by the peer: TransportFailure::kReset / kEof
      {"[Errno 104] Connection reset by peer", ErrorClass::kStreamDrop},
      {"ConnectionResetError(104, 'Connection reset by peer')", ErrorClass::kStreamDrop},
      {"('Connection aborted.', RemoteDisconnected('Remote end closed connection without "
       "response'))",
       ErrorClass::kStreamDrop},
      {"Remote end closed connection without response", ErrorClass::kStreamDrop},
      {"httpx.RemoteProtocolError: Server disconnected without sending a response.",
       ErrorClass::kStreamDrop},
      {"RemoteProtocolError: peer closed connection without sending complete message body "
       "(incomplete chunked read)",
       ErrorClass::kStreamDrop},
      {"aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected",
       ErrorClass::kStreamDrop},
      {"read ECONNRESET", ErrorClass::kStreamDrop},
      {"socket hang up", ErrorClass::kStreamDrop},
  };
  for (const Row& row : rows) {
    for (const std::string& body :
         {std::string(row.text), R"({"error":{"message":")" + std::string(row.text) + "\"}}"}) {
      UpstreamOutcome in{.body = body, .now = kNow};
      const Classification c = classify(in);
      EXPECT_FALSE(c.ok) << body;
      EXPECT_EQ(c.cls, row.want) << body << " -> " << to_string(c.cls) << " rule " << c.rule;
      EXPECT_TRUE(c.traits.retryable) << body;
      EXPECT_TRUE(c.traits.fallback) << body;
      EXPECT_FALSE(c.traits.cool_key) << body;
      EXPECT_FALSE(c.traits.rotate_key) << body;
      EXPECT_FALSE(c.traits.disable_key) << body;
      EXPECT_FALSE(c.cooldown) << body;
    }
  }
}

TEST(Classifier, TransportTextDoesNotOverrideAStatusOrOtherText) {
  // An HTTP answer is classified by its status and words, not by transport prose.
  UpstreamOutcome proxy{.status = 502,
                        .body =
                            "upstream connect error or disconnect/reset before headers. "
                            "reset reason: connection termination",
                        .now = kNow};
  EXPECT_EQ(classify(proxy).cls, ErrorClass::kServerError);
  UpstreamOutcome odd{.body = "something unexpected happened", .now = kNow};
  EXPECT_EQ(classify(odd).cls, ErrorClass::kUnknown);
  UpstreamOutcome read_timeout{.body = "httpx.ReadTimeout: The read operation timed out",
                               .now = kNow};
  EXPECT_EQ(classify(read_timeout).cls, ErrorClass::kTimeout);
}

// Long-window wording on a 429 is a quota, not a short rate limit.
TEST(Classifier, UsageAndMonthlyQuotaWordingOn429IsQuotaExhausted) {
  for (const char* message : {
           "Monthly quota reached",
           "Monthly quota reached for this API key. It resets on 2026-09-01.",
           "usage limit reached",
           "You've reached your usage limit.",
           "You\u2019ve reached your usage limit. Upgrade to continue.",
           "You have reached your usage limit for this month",
           "Your quota has been exhausted",
           "The quota has been exhausted, please try again later.",
           "Daily quota exceeded",
           "monthly usage limit exceeded",
       }) {
    const std::string body = R"({"error":{"message":")" + std::string(message) + "\"}}";
    UpstreamOutcome in{.status = 429, .body = body, .now = kNow};
    const Classification c = classify(in);
    EXPECT_EQ(c.cls, ErrorClass::kQuotaExhausted)
        << message << " -> " << to_string(c.cls) << " rule " << c.rule;
    EXPECT_FALSE(c.traits.retryable) << message;
  }
  // Codex's typed usage-limit error, whatever its message says.
  UpstreamOutcome codex{
      .status = 429,
      .body =
          R"({"error":{"type":"usage_limit_reached","message":"Please wait","plan_type":"plus"}})",
      .now = kNow};
  EXPECT_EQ(classify(codex).cls, ErrorClass::kQuotaExhausted);
}

TEST(Classifier, PerMinuteWordingOn429StaysARateLimit) {
  struct Row {
    const char* body;
    ErrorClass want;
  };
  const Row rows[] = {
      {R"({"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}})",
       ErrorClass::kRateLimit},
      {R"({"error":{"message":"rate limit exceeded"}})", ErrorClass::kRateLimit},
      {R"({"error":{"message":"Too Many Requests"}})", ErrorClass::kRateLimit},
      {R"({"error":{"code":"1302","message":"High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits"}})",
       ErrorClass::kConcurrencyLimit},
      {R"({"error":{"code":"1303","message":"API request frequency is too high"}})",
       ErrorClass::kRateLimit},
      {R"({"error":{"message":"Quota exhausted for requests per minute; try again in 2s"}})",
       ErrorClass::kRateLimit},
      {R"j({"error":{"message":"usage limit exceeded (requests per minute)"}})j",
       ErrorClass::kRateLimit},
      {R"([{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}])",
       ErrorClass::kRateLimit},
      {R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","code":"insufficient_quota"}})",
       ErrorClass::kBilling},
  };
  for (const Row& row : rows) {
    UpstreamOutcome in{.status = 429, .body = row.body, .now = kNow};
    const Classification c = classify(in);
    EXPECT_EQ(c.cls, row.want) << row.body << " -> " << to_string(c.cls) << " rule " << c.rule;
  }
}

}  // namespace
}  // namespace sluice::policy
