#include "sluice/core/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

TEST(Text, IcontainsFindsANeedleInAnyCaseAnywhere) {
  EXPECT_TRUE(icontains("Text/Event-Stream; charset=utf-8", "text/event-stream"));
  EXPECT_TRUE(icontains("application/json, TEXT/EVENT-STREAM", "text/event-stream"));
  EXPECT_TRUE(icontains("abc", ""));
  EXPECT_FALSE(icontains("text/event", "text/event-stream"));
  EXPECT_FALSE(icontains("application/json", "text/event-stream"));
  EXPECT_FALSE(icontains("", "x"));
}

TEST(Text, ContainsFindsBytesAnywhereAndNothingInAnEmptyView) {
  EXPECT_TRUE(contains("{\"error\":{}}", "error"));
  EXPECT_TRUE(contains(std::string(300, 'x') + "error", "error"));
  EXPECT_FALSE(contains(std::string(300, 'x') + "erro", "error"));
  EXPECT_FALSE(contains(std::string_view(), "error"));
  EXPECT_TRUE(contains(std::string_view(), ""));
}

}  // namespace
}  // namespace sluice
