#include "sluice/state/memory_store.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::state {
namespace {

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'800'000'000));

TEST(MemoryStore, ConversationsPastTheCapGoSoonestToExpireFirst) {
  MemoryStore store;
  const std::string quarter(MemoryStore::kConversationBytes / 4, 'x');
  // Expiring in 4, 1, 3 and 2 hours; a fifth does not fit beside them.
  const int hours[] = {4, 1, 3, 2};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store
                    .put_conversation("resp_" + std::to_string(i), quarter.substr(10), kT0,
                                      kT0 + std::chrono::hours(hours[i]))
                    .ok());
  }
  ASSERT_TRUE(store.put_conversation("resp_new", quarter, kT0, kT0 + std::chrono::hours(5)).ok());
  EXPECT_FALSE(store.get_conversation("resp_1", kT0).value());  // expired soonest: gone
  EXPECT_TRUE(store.get_conversation("resp_3", kT0).value());
  EXPECT_TRUE(store.get_conversation("resp_2", kT0).value());  // only as many as needed go
  EXPECT_TRUE(store.get_conversation("resp_0", kT0).value());
  EXPECT_TRUE(store.get_conversation("resp_new", kT0).value());
  // Too big to keep at all: refused quietly, nothing else dropped for it.
  const std::string huge(MemoryStore::kConversationBytes + 1, 'y');
  ASSERT_TRUE(store.put_conversation("resp_huge", huge, kT0, kT0 + std::chrono::hours(9)).ok());
  EXPECT_FALSE(store.get_conversation("resp_huge", kT0).value());
  EXPECT_TRUE(store.get_conversation("resp_0", kT0).value());
}

}  // namespace
}  // namespace sluice::state
