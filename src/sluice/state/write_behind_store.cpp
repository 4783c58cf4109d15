#include "sluice/state/write_behind_store.hpp"

#include <future>
#include <utility>
#include <vector>

namespace sluice::state {

WriteBehindStore::WriteBehindStore(std::unique_ptr<Store> backend, Options options)
    : backend_(std::move(backend)),
      options_(std::move(options)),
      own_conversations_(options_.conversation_cache_bytes),
      backend_info_(backend_->info()),
      worker_([this] { work(); }) {}

WriteBehindStore::~WriteBehindStore() {
  std::size_t waiting = 0;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    waiting = queued_writes_;
  }
  if (waiting > 0 && options_.on_close) options_.on_close(waiting);
  wake_.notify_all();
  worker_.join();
}

void WriteBehindStore::work() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and every write made
    // A read alone; else every write queued before the next read, as one
    // batch (one round trip to Redis, however many there are).
    std::vector<Queued> batch;
    std::size_t batch_bytes = 0;
    do {
      batch_bytes += queue_.front().bytes;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    } while (batch.front().write && !queue_.empty() && queue_.front().write &&
             batch.size() < kMaxBatch &&
             batch_bytes + queue_.front().bytes <= options_.max_batch_bytes);
    busy_ = true;
    lock.unlock();
    if (batch.front().write) backend_->begin_writes();
    for (auto& queued : batch) queued.run(*backend_);
    if (batch.front().write) {
      for (const auto& failed : backend_->end_writes()) report(failed.op, failed.error);
      refresh_info();
    }
    lock.lock();
    if (batch.front().write) {
      queued_writes_ -= batch.size();
      queued_bytes_ -= batch_bytes;
    }
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

Status WriteBehindStore::write(std::string_view op, std::size_t bytes,
                               std::function<Status(Store&)> task) {
  std::unique_lock lock(mu_);
  // An empty queue takes any one write, however large: it is only ever made.
  if (queued_writes_ >= options_.max_queued ||
      (queued_writes_ > 0 && queued_bytes_ + bytes > options_.max_queued_bytes)) {
    StoreError refused{"the state backend is behind (" + std::to_string(queued_writes_) +
                       " writes, " + std::to_string(queued_bytes_) + " bytes waiting): this " +
                       std::string(op) + " is not kept"};
    last_error_ = refused.message;
    return refused;
  }
  ++queued_writes_;
  queued_bytes_ += bytes;
  queue_.push_back({[this, op = std::string(op), task = std::move(task)](Store& backend) {
                      report(op, task(backend));
                    },
                    true, bytes});
  lock.unlock();
  wake_.notify_one();
  return Done{};
}

template <class T>
Result<T> WriteBehindStore::read(std::function<Result<T>(Store&)> run) {
  // The worker owns the promise: the caller may wake and return while
  // set_value is still returning.
  auto answer = std::make_shared<std::promise<Result<T>>>();
  auto future = answer->get_future();
  {
    std::lock_guard lock(mu_);
    queue_.push_back({[this, answer, &run](Store& backend) {
                        Result<T> got = run(backend);
                        refresh_info();  // before the caller can ask info()
                        answer->set_value(std::move(got));
                      },
                      false});
  }
  wake_.notify_one();
  return future.get();
}

void WriteBehindStore::report(std::string_view op, const Status& status) {
  if (!status.ok()) report(op, status.error());
}

void WriteBehindStore::report(std::string_view op, const StoreError& error) {
  {
    std::lock_guard lock(mu_);
    last_error_ = error.message;
  }
  if (options_.on_error) options_.on_error(op, error);
}

void WriteBehindStore::refresh_info() {
  StoreInfo info = backend_->info();
  std::lock_guard lock(mu_);
  // A read's failure is the backend's to record: the newest error shows.
  if (!info.last_error.empty() && info.last_error != backend_info_.last_error) {
    last_error_ = info.last_error;
  }
  backend_info_ = std::move(info);
}

void WriteBehindStore::flush() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

std::size_t WriteBehindStore::queued() const {
  std::lock_guard lock(mu_);
  return queued_writes_;
}

Status WriteBehindStore::put_cooldown(const KeyCooldown& cooldown) {
  return write("put_cooldown", cooldown.key_scope.size() + cooldown.reason.size(),
               [cooldown](Store& s) { return s.put_cooldown(cooldown); });
}

Result<std::optional<KeyCooldown>> WriteBehindStore::get_cooldown(std::string_view key_scope) {
  return read<std::optional<KeyCooldown>>(
      [key_scope](Store& s) { return s.get_cooldown(key_scope); });
}

Status WriteBehindStore::erase_cooldown(std::string_view key_scope) {
  return write("erase_cooldown", key_scope.size(),
               [scope = std::string(key_scope)](Store& s) { return s.erase_cooldown(scope); });
}

Result<std::vector<KeyCooldown>> WriteBehindStore::list_cooldowns() {
  return read<std::vector<KeyCooldown>>([](Store& s) { return s.list_cooldowns(); });
}

Status WriteBehindStore::put_cursor(std::string_view pool_id, std::size_t cursor) {
  return write("put_cursor", pool_id.size(), [pool = std::string(pool_id), cursor](Store& s) {
    return s.put_cursor(pool, cursor);
  });
}

Result<std::optional<std::size_t>> WriteBehindStore::get_cursor(std::string_view pool_id) {
  return read<std::optional<std::size_t>>([pool_id](Store& s) { return s.get_cursor(pool_id); });
}

Status WriteBehindStore::put_adaptive_limit(std::string_view key_scope, std::string_view bucket,
                                            int limit) {
  return write("put_adaptive_limit", key_scope.size() + bucket.size(),
               [scope = std::string(key_scope), bucket = std::string(bucket), limit](Store& s) {
                 return s.put_adaptive_limit(scope, bucket, limit);
               });
}

Result<std::optional<int>> WriteBehindStore::get_adaptive_limit(std::string_view key_scope,
                                                                std::string_view bucket) {
  return read<std::optional<int>>(
      [key_scope, bucket](Store& s) { return s.get_adaptive_limit(key_scope, bucket); });
}

Status WriteBehindStore::put_snapshot(std::string_view key_scope, std::string_view model,
                                      const RateLimitSnapshot& snapshot) {
  return write("put_snapshot", key_scope.size() + model.size() + sizeof snapshot,
               [scope = std::string(key_scope), model = std::string(model), snapshot](Store& s) {
                 return s.put_snapshot(scope, model, snapshot);
               });
}

Result<std::optional<RateLimitSnapshot>> WriteBehindStore::get_snapshot(std::string_view key_scope,
                                                                        std::string_view model) {
  return read<std::optional<RateLimitSnapshot>>(
      [key_scope, model](Store& s) { return s.get_snapshot(key_scope, model); });
}

Result<UsageCounts> WriteBehindStore::add_usage(const UsageKey& key, UsageCounts delta) {
  return read<UsageCounts>([&key, delta](Store& s) { return s.add_usage(key, delta); });
}

Result<UsageCounts> WriteBehindStore::get_usage(const UsageKey& key) {
  return read<UsageCounts>([&key](Store& s) { return s.get_usage(key); });
}

Status WriteBehindStore::put_conversation(std::string_view response_id,
                                          std::string_view conversation, TimePoint now,
                                          TimePoint expires) {
  // Memory first (it never fails), so the next turn finds it at once.
  (void)own_conversations_.put_conversation(response_id, conversation, now, expires);
  return write("put_conversation", response_id.size() + conversation.size(),
               [id = std::string(response_id), text = std::string(conversation), now,
                expires](Store& s) { return s.put_conversation(id, text, now, expires); });
}

Result<std::optional<std::string>> WriteBehindStore::get_conversation(std::string_view response_id,
                                                                      TimePoint now) {
  auto own = own_conversations_.get_conversation(response_id, now);
  if (own.ok() && own.value()) return own;
  return read<std::optional<std::string>>(
      [response_id, now](Store& s) { return s.get_conversation(response_id, now); });
}

StoreInfo WriteBehindStore::info() const {
  std::lock_guard lock(mu_);
  StoreInfo info = backend_info_;
  if (!last_error_.empty()) info.last_error = last_error_;
  return info;
}

}  // namespace sluice::state
