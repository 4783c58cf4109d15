#include "sluice/core/log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sluice {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([this](const std::string& line) { lines_.push_back(line); });
  }
  void TearDown() override {
    set_log_sink(nullptr);
    set_log_style(LogStyle::kLogfmt);
  }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, LogfmtQuotesOnlyWhatNeedsIt) {
  LogLine("info", "request")
      .kv("alias", "main")
      .kv("detail", "fallback: zai/glm-5.1 \"cooling\"")
      .kv("attempts", 2)
      .kv("queue_s", 0.25)
      .kv("stream", true)
      .kv("empty", "");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0],
            "level=info msg=request alias=main detail=\"fallback: zai/glm-5.1 \\\"cooling\\\"\" "
            "attempts=2 queue_s=0.250 stream=true empty=\"\"");
}

TEST_F(LogTest, JsonLinesParseAndKeepEveryByte) {
  set_log_style(LogStyle::kJson);
  LogLine("warn", "upstream_failure")
      .kv("reason", std::string("并发数过高\n\x01 \"q\""))
      .kv("attempts", 3)
      .kv("ok", false);
  ASSERT_EQ(lines_.size(), 1u);
  const auto j = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "upstream_failure");
  EXPECT_EQ(j["reason"], std::string("并发数过高\n\x01 \"q\""));
  EXPECT_EQ(j["attempts"], 3);
  EXPECT_EQ(j["ok"], false);
}

TEST_F(LogTest, ALogfmtLineIsOneLineWhateverTheValues) {
  LogLine("info", "x").kv("v", "a\nb=c\\d");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].find('\n'), std::string::npos);
  EXPECT_EQ(lines_[0], "level=info msg=x v=\"a\\nb=c\\\\d\"");
}

}  // namespace
}  // namespace sluice
