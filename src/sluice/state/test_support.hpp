#pragma once
// Helpers for tests only: a scratch directory that cleans up after itself,
// snapshot comparison (RateLimitSnapshot has no operator==), and a store that
// forwards to memory for tests that change or watch one of its calls.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "sluice/core/rate_limit_snapshot.hpp"
#include "sluice/state/memory_store.hpp"

namespace sluice::state::test {

// A fresh directory from mkdtemp under $TMPDIR (else /tmp), removed with
// everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/sluice-state-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

inline void expect_same_bucket(const RateLimitBucket& got, const RateLimitBucket& want) {
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.axis, want.axis) << want.name;
  EXPECT_EQ(got.limit, want.limit) << want.name;
  EXPECT_EQ(got.remaining, want.remaining) << want.name;
  EXPECT_EQ(got.reset_after, want.reset_after) << want.name;
  EXPECT_EQ(got.window, want.window) << want.name;
}

inline void expect_same_snapshot(const RateLimitSnapshot& got, const RateLimitSnapshot& want) {
  EXPECT_EQ(got.taken_at, want.taken_at);
  EXPECT_EQ(got.retry_after, want.retry_after);
  EXPECT_EQ(got.should_retry, want.should_retry);
  EXPECT_EQ(got.limit_type, want.limit_type);
  ASSERT_EQ(got.buckets.size(), want.buckets.size());
  for (std::size_t i = 0; i < want.buckets.size(); ++i) {
    expect_same_bucket(got.buckets[i], want.buckets[i]);
  }
}

// A snapshot that uses every field, with odd values where they are allowed.
inline RateLimitSnapshot full_snapshot(TimePoint taken_at) {
  RateLimitSnapshot s;
  s.taken_at = taken_at;
  s.retry_after = std::chrono::milliseconds(1500);
  s.should_retry = false;
  s.limit_type = "TPM and 100% odd\ttext";
  RateLimitBucket& requests = s.find_or_add("requests", BudgetAxis::kRequests);
  requests.limit = 60;
  requests.remaining = 0;
  requests.reset_after = std::chrono::seconds(20);
  requests.window = std::chrono::minutes(1);
  RateLimitBucket& tokens = s.find_or_add("tokens", BudgetAxis::kTokens);
  tokens.limit = 40000;
  tokens.remaining = -3;  // providers do report overdraft
  tokens.reset_after = std::chrono::nanoseconds(1);
  RateLimitBucket& day = s.find_or_add("requests_day", BudgetAxis::kRequests);
  day.remaining = 14400;
  day.window = std::chrono::hours(24);
  s.find_or_add("tokens project 配额", BudgetAxis::kOther);  // all optionals empty
  return s;
}

// A memory store behind every call, for tests that change or watch one of
// them: override a call, or on_call, which every call passes first.
class ForwardingStore : public Store {
 public:
  MemoryStore inner;
  virtual void on_call(std::string_view /*op*/) const {}

  Status put_cooldown(const KeyCooldown& c) override {
    on_call("put_cooldown");
    return inner.put_cooldown(c);
  }
  Result<std::optional<KeyCooldown>> get_cooldown(std::string_view s) override {
    on_call("get_cooldown");
    return inner.get_cooldown(s);
  }
  Status erase_cooldown(std::string_view s) override {
    on_call("erase_cooldown");
    return inner.erase_cooldown(s);
  }
  Result<std::vector<KeyCooldown>> list_cooldowns() override {
    on_call("list_cooldowns");
    return inner.list_cooldowns();
  }
  Status put_cursor(std::string_view p, std::size_t c) override {
    on_call("put_cursor");
    return inner.put_cursor(p, c);
  }
  Result<std::optional<std::size_t>> get_cursor(std::string_view p) override {
    on_call("get_cursor");
    return inner.get_cursor(p);
  }
  Status put_adaptive_limit(std::string_view k, std::string_view b, int l) override {
    on_call("put_adaptive_limit");
    return inner.put_adaptive_limit(k, b, l);
  }
  Result<std::optional<int>> get_adaptive_limit(std::string_view k, std::string_view b) override {
    on_call("get_adaptive_limit");
    return inner.get_adaptive_limit(k, b);
  }
  Status put_snapshot(std::string_view k, std::string_view m, const RateLimitSnapshot& s) override {
    on_call("put_snapshot");
    return inner.put_snapshot(k, m, s);
  }
  Result<std::optional<RateLimitSnapshot>> get_snapshot(std::string_view k,
                                                        std::string_view m) override {
    on_call("get_snapshot");
    return inner.get_snapshot(k, m);
  }
  Result<UsageCounts> add_usage(const UsageKey& k, UsageCounts d) override {
    on_call("add_usage");
    return inner.add_usage(k, d);
  }
  Result<UsageCounts> get_usage(const UsageKey& k) override {
    on_call("get_usage");
    return inner.get_usage(k);
  }
  Status put_conversation(std::string_view id, std::string_view c, TimePoint now,
                          TimePoint expires) override {
    on_call("put_conversation");
    return inner.put_conversation(id, c, now, expires);
  }
  Result<std::optional<std::string>> get_conversation(std::string_view id, TimePoint now) override {
    on_call("get_conversation");
    return inner.get_conversation(id, now);
  }
  StoreInfo info() const override {
    on_call("info");
    return inner.info();
  }
};

}  // namespace sluice::state::test
