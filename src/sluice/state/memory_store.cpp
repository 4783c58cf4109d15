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

StoreInfo MemoryStore::info() const { return StoreInfo{.backend = "memory"}; }

}  // namespace sluice::state
