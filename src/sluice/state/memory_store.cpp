#include "sluice/state/memory_store.hpp"

namespace sluice::state {

Status MemoryStore::put_cooldown(const KeyCooldown& cooldown) {
  std::lock_guard lock(mu_);
  cooldowns_.insert_or_assign(cooldown.key_scope, cooldown);
  return Done{};
}

Result<std::optional<KeyCooldown>> MemoryStore::get_cooldown(std::string_view key_scope) {
  std::lock_guard lock(mu_);
  const auto it = cooldowns_.find(key_scope);
  if (it == cooldowns_.end()) return std::nullopt;
  return it->second;
}

Status MemoryStore::erase_cooldown(std::string_view key_scope) {
  std::lock_guard lock(mu_);
  const auto it = cooldowns_.find(key_scope);
  if (it != cooldowns_.end()) cooldowns_.erase(it);
  return Done{};
}

Result<std::vector<KeyCooldown>> MemoryStore::list_cooldowns() {
  std::lock_guard lock(mu_);
  std::vector<KeyCooldown> all;
  all.reserve(cooldowns_.size());
  for (const auto& [scope, c] : cooldowns_) all.push_back(c);
  return all;
}

Status MemoryStore::put_cursor(std::string_view pool_id, std::size_t cursor) {
  std::lock_guard lock(mu_);
  cursors_.insert_or_assign(std::string(pool_id), cursor);
  return Done{};
}

Result<std::optional<std::size_t>> MemoryStore::get_cursor(std::string_view pool_id) {
  std::lock_guard lock(mu_);
  const auto it = cursors_.find(pool_id);
  if (it == cursors_.end()) return std::nullopt;
  return it->second;
}

Status MemoryStore::put_adaptive_limit(std::string_view key_scope, std::string_view bucket,
                                       int limit) {
  std::lock_guard lock(mu_);
  adaptive_limits_.insert_or_assign(Pair(key_scope, bucket), limit);
  return Done{};
}

Result<std::optional<int>> MemoryStore::get_adaptive_limit(std::string_view key_scope,
                                                           std::string_view bucket) {
  std::lock_guard lock(mu_);
  const auto it = adaptive_limits_.find(Pair(key_scope, bucket));
  if (it == adaptive_limits_.end()) return std::nullopt;
  return it->second;
}

Status MemoryStore::put_snapshot(std::string_view key_scope, std::string_view model,
                                 const RateLimitSnapshot& snapshot) {
  std::lock_guard lock(mu_);
  snapshots_.insert_or_assign(Pair(key_scope, model), snapshot);
  return Done{};
}

Result<std::optional<RateLimitSnapshot>> MemoryStore::get_snapshot(std::string_view key_scope,
                                                                   std::string_view model) {
  std::lock_guard lock(mu_);
  const auto it = snapshots_.find(Pair(key_scope, model));
  if (it == snapshots_.end()) return std::nullopt;
  return it->second;
}

Result<UsageCounts> MemoryStore::add_usage(const UsageKey& key, UsageCounts delta) {
  if (auto bad = detail::check_usage_delta(delta)) return *bad;
  std::lock_guard lock(mu_);
  UsageCounts& total = usage_[Triple(key.key_scope, key.model, key.day)];
  total.requests = detail::saturating_add(total.requests, delta.requests);
  total.tokens = detail::saturating_add(total.tokens, delta.tokens);
  return total;
}

Result<UsageCounts> MemoryStore::get_usage(const UsageKey& key) {
  std::lock_guard lock(mu_);
  const auto it = usage_.find(Triple(key.key_scope, key.model, key.day));
  if (it == usage_.end()) return UsageCounts{};
  return it->second;
}

void MemoryStore::drop_conversation(std::map<std::string, Conversation, std::less<>>::iterator it) {
  auto [lo, hi] = conversations_by_expiry_.equal_range(it->second.expires);
  for (auto e = lo; e != hi; ++e) {
    if (e->second == it->first) {
      conversations_by_expiry_.erase(e);
      break;
    }
  }
  conversation_bytes_ -= it->first.size() + it->second.text.size();
  conversations_.erase(it);
}

Status MemoryStore::put_conversation(std::string_view response_id, std::string_view conversation,
                                     TimePoint now, TimePoint expires) {
  std::lock_guard lock(mu_);
  if (auto it = conversations_.find(response_id); it != conversations_.end()) {
    drop_conversation(it);
  }
  // One that could never fit is not kept, and costs the others nothing.
  const std::size_t size = response_id.size() + conversation.size();
  const bool keep = expires > now && size <= conversation_cap_;
  // The expired first, then the soonest to expire while over the cap.
  while (!conversations_by_expiry_.empty() &&
         (conversations_by_expiry_.begin()->first <= now ||
          (keep && conversation_bytes_ + size > conversation_cap_))) {
    drop_conversation(conversations_.find(conversations_by_expiry_.begin()->second));
  }
  if (!keep) return Done{};
  conversations_.emplace(std::string(response_id),
                         Conversation{std::string(conversation), expires});
  conversations_by_expiry_.emplace(expires, std::string(response_id));
  conversation_bytes_ += size;
  return Done{};
}

Result<std::optional<std::string>> MemoryStore::get_conversation(std::string_view response_id,
                                                                 TimePoint now) {
  std::lock_guard lock(mu_);
  const auto it = conversations_.find(response_id);
  if (it == conversations_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.text;
}

StoreInfo MemoryStore::info() const { return StoreInfo{.backend = "memory"}; }

}  // namespace sluice::state
