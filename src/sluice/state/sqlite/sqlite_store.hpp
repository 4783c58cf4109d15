#pragma once
// The default Store for `sluice serve`: one SQLite file in WAL mode, so a
// restarted gateway keeps its cooldowns and rotation positions and several
// processes on one machine share them. Each call is one short statement on a
// prepared statement; nothing is cached here, so another handle's writes are
// visible at once (the engine keeps its own working copy in memory).
//
// The schema is versioned (table schema_version, one row per applied
// migration); a file written by a newer sluice is refused rather than
// guessed at. A file that cannot be used — unreadable, not a database,
// corrupt, read-only, or another program's database — is handled as the
// caller chose (OnBadFile), never silently replaced.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/state/store.hpp"

namespace sluice::state {

enum class OnBadFile : std::uint8_t {
  kRefuse,      // open fails with an error naming the path and SQLite's message
  kStartEmpty,  // the file is renamed to "<path>.corrupt-<n>" and a new one is
                // created; the rename is reported as a warning
};

struct SqliteOptions {
  std::string path;  // parent directories are created
  OnBadFile on_bad_file = OnBadFile::kRefuse;
  // How long a call waits for another process's write lock. Writes are one
  // small statement, so waits are short; this bounds the rare long one.
  Duration busy_timeout = std::chrono::seconds(1);
};

class SqliteStore;

struct SqliteOpened {
  std::unique_ptr<SqliteStore> store;
  std::vector<std::string> warnings;  // also in store->info().warnings
};

class SqliteStore final : public Store {
 public:
  // Creates or opens the file, checks it, and applies pending migrations.
  static Result<SqliteOpened> open(const SqliteOptions& options);
  // The schema version this build writes (the last migration's number).
  static int latest_schema_version();

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

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

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::state
