#include "sluice/core/text.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sluice
