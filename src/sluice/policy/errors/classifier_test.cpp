#include "sluice/policy/errors/classifier.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "apps/sluice/classify_command.hpp"
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
  auto parsed = cli::parse_classify_line(c.line, kNow);
  ASSERT_TRUE(std::holds_alternative<cli::ClassifyInput>(parsed))
      << c.label << ": " << std::get<std::string>(parsed);
  const Classification result = classify(std::get<cli::ClassifyInput>(parsed).view());
  const json got = cli::classification_to_json(result);
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

}  // namespace
}  // namespace sluice::policy
