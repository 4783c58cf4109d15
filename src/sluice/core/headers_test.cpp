#include "sluice/core/headers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace sluice {
namespace {

// Views point into the owned strings; short strings move with their bytes
// when the vector grows, so every field must still read back after many adds.
TEST(HeaderList, EveryFieldReadsBackAfterTheListGrows) {
  HeaderList h;
  for (int i = 0; i < 40; ++i) h.add("x-h" + std::to_string(i), "v" + std::to_string(i));
  ASSERT_EQ(h.view().fields().size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(h.view().get("x-h" + std::to_string(i)), "v" + std::to_string(i));
    EXPECT_EQ(h.view().fields()[static_cast<std::size_t>(i)].name, "x-h" + std::to_string(i));
  }
}

TEST(HeaderList, GetIsCaseInsensitiveAndReturnsTheFirstValue) {
  HeaderList h{{"Retry-After", "2"}, {"retry-after", "9"}};
  EXPECT_EQ(h.view().get("retry-after"), "2");
  EXPECT_FALSE(h.view().get("x-missing").has_value());
}

TEST(HeaderList, ACopyOwnsItsViews) {
  auto original = std::make_unique<HeaderList>();
  original->add("content-type", "application/json");
  original->add("x-request-id", "req_1");
  HeaderList copy = *original;
  original.reset();
  copy.add("x-late", "yes");
  EXPECT_EQ(copy.view().get("content-type"), "application/json");
  EXPECT_EQ(copy.view().get("x-request-id"), "req_1");
  EXPECT_EQ(copy.view().get("x-late"), "yes");
}

// A HeaderView taken before the list moved (the gateway hands a request's
// headers to the engine by moving them) still reads the same bytes.
TEST(HeaderList, AViewTakenBeforeAMoveStillReads) {
  HeaderList a;
  a.add("a", "1");  // two bytes: would fit in a string's in-object buffer
  const HeaderView before = a.view();
  HeaderList b = std::move(a);
  EXPECT_EQ(before.get("a"), "1");
  EXPECT_EQ(b.view().get("a"), "1");
  HeaderList c;
  c = std::move(b);
  EXPECT_EQ(before.get("a"), "1");
  c.add("b", "2");
  EXPECT_EQ(c.view().get("a"), "1");
  EXPECT_EQ(c.view().get("b"), "2");
}

TEST(HeaderList, EmptyNamesAndValuesAndAssignmentKeepTheirPlaces) {
  HeaderList a{{"", ""}, {"x", ""}, {"", "y"}};
  HeaderList b{{"old", "gone"}};
  b = a;
  a.add("later", std::string(1000, 'z'));  // moves a's arena: b's views are its own
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.view().fields()[1].name, "x");
  EXPECT_EQ(b.view().fields()[2].value, "y");
  EXPECT_FALSE(b.view().get("old").has_value());
  EXPECT_EQ(a.view().get("later")->size(), 1000u);
  EXPECT_EQ(a.view().get("x"), "");
}

}  // namespace
}  // namespace sluice
