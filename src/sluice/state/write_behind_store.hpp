#pragma once
// A Store in front of a backend that may be far away (Redis on another host)
// or slow to write (a SQLite file on a busy disk). Writes are queued and made
// by one worker thread, in the order they were asked for and as many at once
// as are waiting (one round trip to Redis for all of them), so the thread that
// serves requests never waits on the backend to write a cooldown, a cursor,
// an adaptive limit or a Responses turn. Reads wait for the writes queued
// before them (a caller reads what it wrote), except conversations this
// instance wrote itself: those are kept in memory too, so continuing a
// conversation served here costs no round trip however long its chain.
//
// What this gives up: a queued write is lost if the process dies before the
// worker makes it (milliseconds' worth; the destructor makes every queued
// write), another instance sees a write that much later, and a write that
// fails is reported to `on_error` rather than returned (the caller's Status
// says only that it was queued).
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "sluice/state/memory_store.hpp"
#include "sluice/state/store.hpp"

namespace sluice::state {

class WriteBehindStore final : public Store {
 public:
  struct Options {
    // Writes waiting at most. Past it the backend has stopped keeping up, and
    // a write is refused with an error rather than held without bound.
    std::size_t max_queued = 4096;
    // Bytes those writes carry at most (kept Responses turns are the large
    // ones): 4,096 turns of 200 KiB would otherwise hold 800 MB.
    std::size_t max_queued_bytes = std::size_t{64} << 20;
    // A batch stops growing once it carries this many bytes, so one pipeline
    // of kept turns stays well inside Redis's reply timeout (256 turns of
    // 200 KiB would be 50 MB). A single larger write goes alone.
    std::size_t max_batch_bytes = std::size_t{4} << 20;
    // Bytes of this instance's own conversations kept in memory as well.
    std::size_t conversation_cache_bytes = std::size_t{16} << 20;
    // Called on the worker thread when a queued write fails: its operation
    // ("put_cooldown") and the backend's error.
    std::function<void(std::string_view op, const StoreError&)> on_error;
    // Called as the store closes with writes still queued (how many), before
    // it makes them: a process that waits at exit on a far or locked backend
    // says why.
    std::function<void(std::size_t queued)> on_close;
  };

  WriteBehindStore(std::unique_ptr<Store> backend, Options options);
  // Makes every write still queued, then stops the worker.
  ~WriteBehindStore() override;
  WriteBehindStore(const WriteBehindStore&) = delete;
  WriteBehindStore& operator=(const WriteBehindStore&) = delete;

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

  // Its totals are its answer, so it waits like a read.
  Result<UsageCounts> add_usage(const UsageKey& key, UsageCounts delta) override;
  Result<UsageCounts> get_usage(const UsageKey& key) override;

  Status put_conversation(std::string_view response_id, std::string_view conversation,
                          TimePoint now, TimePoint expires) override;
  Result<std::optional<std::string>> get_conversation(std::string_view response_id,
                                                      TimePoint now) override;

  // The backend's as of its last call (never waits for one in progress);
  // its last_error is the newest failure seen: a write refused here, or any
  // call the backend failed.
  StoreInfo info() const override;

  // Returns once every call made before it has reached the backend.
  void flush();
  // Writes queued and not yet made (for the status page and tests).
  std::size_t queued() const;

 private:
  using Task = std::function<void(Store&)>;
  struct Queued {
    Task run;
    bool write;             // else a read, which waits for its answer
    std::size_t bytes = 0;  // what a write carries (its keys and values)
  };
  // Writes made in one batch at most (one pipeline to Redis).
  static constexpr std::size_t kMaxBatch = 256;

  // Queues a write carrying `bytes`, whose failure is reported under `op`;
  // an error only when the queue is full.
  Status write(std::string_view op, std::size_t bytes, std::function<Status(Store&)> task);
  // Runs `read` on the worker after everything queued before it.
  template <class T>
  Result<T> read(std::function<Result<T>(Store&)> run);
  void report(std::string_view op, const Status& status);
  void report(std::string_view op, const StoreError& error);
  void work();
  // The backend's info as of now, on the worker (it alone calls the backend).
  void refresh_info();

  std::unique_ptr<Store> backend_;
  Options options_;
  MemoryStore own_conversations_;

  mutable std::mutex mu_;
  std::condition_variable wake_;  // a task was queued, or stop
  std::condition_variable idle_;  // the queue ran dry
  std::deque<Queued> queue_;
  std::size_t queued_writes_ = 0;
  std::size_t queued_bytes_ = 0;  // carried by those writes
  bool busy_ = false;
  bool stopping_ = false;
  std::string last_error_;
  StoreInfo backend_info_;  // refreshed by the worker after each call
  std::thread worker_;
};

}  // namespace sluice::state
