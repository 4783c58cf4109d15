#include "sluice/core/log.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace sluice {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([this](const std::string& line) {
      std::lock_guard lock(m_);  // a LogFlusher delivers from its own thread
      lines_.push_back(line);
    });
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(m_);
    return lines_;
  }
  void TearDown() override {
    set_log_sink(nullptr);
    set_log_style(LogStyle::kLogfmt);
  }
  std::mutex m_;
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

// A line is built in the object until it outgrows it (256 bytes), then on
// the heap: every byte before and after that point is kept, in order, and
// negative numbers print whole.
TEST_F(LogTest, ALineLongerThanItsInlineRoomIsKeptWhole) {
  const std::string long_value(300, 'x');
  std::string expected = "level=info msg=long";
  LogLine line("info", "long");
  for (int i = 0; i < 6; ++i) {
    const std::string key = "k" + std::to_string(i);
    const std::string value = long_value.substr(0, static_cast<std::size_t>(40 * i + 7));
    line.kv(key, value);
    expected += " " + key + "=" + value;
  }
  line.kv("n", std::int64_t{-9007199254740993}).kv("c", "a b");
  expected += " n=-9007199254740993 c=\"a b\"";
  EXPECT_EQ(line.text(), expected);
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

// A provider's words or a client's header can carry terminal escapes: none
// reaches a log line raw.
TEST_F(LogTest, ControlBytesInAValueAreEscapedNotWritten) {
  LogLine("info", "x").kv("v", "red\x1b[31m\x7f");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "level=info msg=x v=\"red\\u001b[31m\\u007f\"");
}

constexpr auto kNever = std::chrono::hours(1);

TEST_F(LogTest, HeldInfoLinesGoOutBeforeAWarningInTheirOrder) {
  LogFlusher flusher(kNever);
  LogLine("info", "request").kv("n", 1);
  LogLine("info", "request").kv("n", 2);
  EXPECT_TRUE(lines().empty());
  LogLine("warn", "upstream_failure");
  EXPECT_EQ(lines(),
            (std::vector<std::string>{"level=info msg=request n=1", "level=info msg=request n=2",
                                      "level=warn msg=upstream_failure"}));
}

TEST_F(LogTest, TheFlusherWritesWhatIsHeldWhenItEnds) {
  {
    LogFlusher flusher(kNever);
    LogLine("info", "request").kv("n", 1);
    EXPECT_TRUE(lines().empty());
  }
  EXPECT_EQ(lines(), std::vector<std::string>{"level=info msg=request n=1"});
  LogLine("info", "after");  // no flusher: at once
  EXPECT_EQ(lines().size(), 2u);
}

TEST_F(LogTest, ThirtyTwoKibibytesHeldAreWrittenWithoutWaiting) {
  LogFlusher flusher(kNever);
  const std::string pad(100, 'x');
  int n = 0;
  while (lines().empty() && n < 1000) LogLine("info", "request").kv("n", n++).kv("pad", pad);
  EXPECT_GT(n, 200);   // about 32 KiB of ~130-byte lines
  EXPECT_LT(n, 1000);  // and then they went out
  const auto got = lines();
  EXPECT_EQ(got.front(), "level=info msg=request n=0 pad=" + pad);
  EXPECT_EQ(got.back(), "level=info msg=request n=" + std::to_string(n - 1) + " pad=" + pad);
}

// The flusher's own clock is the only thing that writes here: waits for it
// (bounded), asserts nothing about how long it took.
TEST_F(LogTest, HeldLinesGoOutOnTheirOwnAfterTheInterval) {
  LogFlusher flusher(std::chrono::milliseconds(1));
  LogLine("info", "request").kv("n", 1);
  for (int i = 0; i < 1000 && lines().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(lines(), std::vector<std::string>{"level=info msg=request n=1"});
}

}  // namespace
}  // namespace sluice
