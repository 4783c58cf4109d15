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

}  // namespace
}  // namespace sluice
