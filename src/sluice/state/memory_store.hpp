#pragma once
// The reference Store: plain maps behind a mutex. What the conformance suite
// means by "correct", and the store for tests and library use. Nothing
// survives the process.
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

#include "sluice/state/store.hpp"

namespace sluice::state {

class MemoryStore final : public Store {
 public:
  MemoryStore() = default;
  // A store whose conversations hold at most `conversation_bytes` (the
  // write-behind store's cache of its own turns is one).
  explicit MemoryStore(std::size_t conversation_bytes) : conversation_cap_(conversation_bytes) {}

  Status put_cooldown(const KeyCooldown& cooldown) override;
  Result<std::optional<KeyCooldown>> get_cooldown(std::string_view key_scope) override;
  Status erase_cooldown(std::string_view key_scope) override;
  Result<std::vector<KeyCooldown>> list_cooldowns() override;

  Status put_cursor(std::string_view pool_id, std::size_t cursor) override;
  Result<std::optional<std::size_t>> get_cursor(std::string_view pool_id) override;

  Status put_adaptive_limit(std::string_view key_scope, std::string_view bucket,
                            int limit) override;
  Result<std::optional<int>> get_adaptive_limit(std::string_view key_scope,
                                                std::string_view bucket) override;

  Status put_snapshot(std::string_view key_scope, std::string_view model,
                      const RateLimitSnapshot& snapshot) override;
  Result<std::optional<RateLimitSnapshot>> get_snapshot(std::string_view key_scope,
                                                        std::string_view model) override;

  Result<UsageCounts> add_usage(const UsageKey& key, UsageCounts delta) override;
  Result<UsageCounts> get_usage(const UsageKey& key) override;

  Status put_conversation(std::string_view response_id, std::string_view conversation,
                          TimePoint now, TimePoint expires) override;
  Result<std::optional<std::string>> get_conversation(std::string_view response_id,
                                                      TimePoint now) override;

  StoreInfo info() const override;

  // Memory holds this many bytes of conversations at most; past it, the ones
  // that expire first go first (a gateway on the memory backend must not
  // grow without bound because clients leave `store` on).
  static constexpr std::size_t kConversationBytes = std::size_t{64} << 20;

 private:
  struct Conversation {
    std::string text;
    TimePoint expires;
  };
  void drop_conversation(std::map<std::string, Conversation, std::less<>>::iterator it);

  using Pair = std::pair<std::string, std::string>;
  using Triple = std::tuple<std::string, std::string, std::string>;

  // One lock for everything: calls are short, and a status page may read
  // from another thread than the engine's.
  mutable std::mutex mu_;
  std::map<std::string, KeyCooldown, std::less<>> cooldowns_;
  std::map<std::string, std::size_t, std::less<>> cursors_;
  std::map<Pair, int> adaptive_limits_;
  std::map<Pair, RateLimitSnapshot> snapshots_;
  std::map<Triple, UsageCounts> usage_;
  std::map<std::string, Conversation, std::less<>> conversations_;
  std::multimap<TimePoint, std::string> conversations_by_expiry_;
  std::size_t conversation_bytes_ = 0;
  std::size_t conversation_cap_ = kConversationBytes;
};

}  // namespace sluice::state
