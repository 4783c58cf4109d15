#pragma once
// The Store port on Redis, for several gateways sharing what they learned.
// Every record lives in a few hashes under one key prefix ("sluice:" by
// default); composite fields are length-prefixed so no byte in a key scope,
// model or bucket can make two records collide. A cooldown write is also
// published on "<prefix>events" so other instances apply it at once
// (RedisEvents) instead of at their next start.
//
// Calls block on one hiredis connection with short timeouts; when Redis is
// down they fail fast with a StoreError (the engine logs it and goes on with
// its own memory), and the client reconnects by itself.
#include <memory>
#include <string>

#include "sluice/state/redis/redis_client.hpp"
#include "sluice/state/store.hpp"

namespace sluice::state {

struct RedisStoreOptions {
  std::string url = "redis://127.0.0.1:6379/0";
  std::string prefix = "sluice:";
  std::function<void(bool up, const std::string& why)> on_state_change;
};

// The channel cooldown changes are announced on, and the message format.
std::string redis_events_channel(const std::string& prefix);
std::string cooldown_event(std::string_view key_scope);  // "cooldown\n<scope>"

class RedisStore final : public Store {
 public:
  // Fails only on a bad URL: a Redis that is down at start is a warning in
  // info(), and the store reconnects when it comes back.
  static Result<std::unique_ptr<RedisStore>> open(RedisStoreOptions options);

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

  // Writes in between are sent as one pipeline at end_writes().
  void begin_writes() override;
  std::vector<FailedWrite> end_writes() override;

 private:
  RedisStore(RedisStoreOptions options, RedisTarget target);
  std::string key(std::string_view name) const { return options_.prefix + std::string(name); }
  Result<RedisReply> call(const std::vector<std::string>& argv);
  Result<std::optional<std::string>> hget(std::string_view hash, std::string_view field);
  // One write's commands: made now in one round trip, or held for
  // end_writes() while a batch is open.
  Status write(std::string_view op, std::vector<std::vector<std::string>> commands);
  // The error of a write whose replies came back; nullopt when none failed.
  std::optional<StoreError> check_replies(std::string_view op,
                                          const std::vector<RedisReply>& replies, std::size_t from,
                                          std::size_t count);
  // Redis's error reply to `op`, kept as the store's last error.
  StoreError refused(const std::string& op, const std::string& reply) {
    StoreError e = client_->error(op, reply);
    last_error_ = e.message;
    return e;
  }

  RedisStoreOptions options_;
  std::unique_ptr<RedisClient> client_;
  std::vector<std::string> warnings_;
  std::string last_error_;
  // An open batch: its commands, and per write its operation and how many
  // of the commands are its.
  bool batching_ = false;
  std::vector<std::vector<std::string>> batch_;
  std::vector<std::pair<std::string, std::size_t>> batch_writes_;
};

}  // namespace sluice::state
