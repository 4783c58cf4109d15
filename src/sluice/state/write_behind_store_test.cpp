// What the write-behind store adds to the conformance suite: writes that do
// not wait for the backend, reads that wait for earlier writes, a bounded
// queue, failures reported, the queue made on the way out, and this
// instance's conversations read without the backend. The backend is held
// shut by a gate the test opens, so nothing here is paced by sleeps.
#include "sluice/state/write_behind_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sluice/state/redis/redis_client.hpp"
#include "sluice/state/redis/redis_store.hpp"
#include "sluice/state/test_support.hpp"
#include "testing/redis_server.hpp"

namespace sluice::state {
namespace {

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'800'000'000));

// What the backend saw, shared with the test so it outlives the store.
struct Watch {
  std::mutex mu;
  std::condition_variable changed;
  bool open = true;
  int waiting = 0;  // calls held at the gate
  std::vector<std::string> calls;

  void shut() {
    std::lock_guard lock(mu);
    open = false;
  }
  void let_through() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    changed.notify_all();
  }
  // Returns once a call is held at the shut gate.
  void await_held() {
    std::unique_lock lock(mu);
    changed.wait(lock, [&] { return waiting > 0; });
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu);
    return calls;
  }
};

class GatedStore final : public test::ForwardingStore {
 public:
  explicit GatedStore(std::shared_ptr<Watch> watch) : watch_(std::move(watch)) {}
  void on_call(std::string_view op) const override {
    if (op == "info") return;
    std::unique_lock lock(watch_->mu);
    ++watch_->waiting;
    watch_->changed.notify_all();
    watch_->changed.wait(lock, [&] { return watch_->open; });
    --watch_->waiting;
    watch_->calls.emplace_back(op);
  }
  void begin_writes() override {
    std::lock_guard lock(watch_->mu);
    watch_->calls.emplace_back("begin_writes");
  }
  std::vector<FailedWrite> end_writes() override {
    std::lock_guard lock(watch_->mu);
    watch_->calls.emplace_back("end_writes");
    return {};
  }
  // A read that fails and is recorded, as RedisStore records its errors.
  Result<std::optional<RateLimitSnapshot>> get_snapshot(std::string_view,
                                                        std::string_view) override {
    on_call("get_snapshot");
    last_error_ = "redis 10.0.0.5:6379: reply timed out";
    return StoreError{last_error_};
  }
  StoreInfo info() const override {
    return StoreInfo{.backend = "gated", .last_error = last_error_};
  }
  // A write that fails, as a Redis that went away answers.
  Status put_cursor(std::string_view pool, std::size_t cursor) override {
    on_call("put_cursor");
    if (pool == "broken") return StoreError{"redis 10.0.0.5:6379: connection refused"};
    return inner.put_cursor(pool, cursor);
  }

 private:
  std::shared_ptr<Watch> watch_;
  std::string last_error_;
};

struct Fixture {
  std::shared_ptr<Watch> watch = std::make_shared<Watch>();
  std::vector<std::string> errors;  // written by the worker; read after flush()
  std::unique_ptr<WriteBehindStore> store;

  explicit Fixture(WriteBehindStore::Options options = {}) {
    options.on_error = [this](std::string_view op, const StoreError& e) {
      errors.push_back(std::string(op) + ": " + e.message);
    };
    store =
        std::make_unique<WriteBehindStore>(std::make_unique<GatedStore>(watch), std::move(options));
  }
};

TEST(WriteBehindStore, AWriteReturnsWhileTheBackendIsStillBusy) {
  Fixture f;
  f.watch->shut();
  ASSERT_TRUE(f.store->put_cursor("pool", 1).ok());
  f.watch->await_held();  // the first write is at the backend, held
  // The caller goes on writing: nothing it does waits for the backend.
  ASSERT_TRUE(f.store->put_cooldown({.key_scope = "k", .reason = "429"}).ok());
  ASSERT_TRUE(f.store->put_adaptive_limit("k", "", 3).ok());
  EXPECT_EQ(f.store->queued(), 3u);
  EXPECT_EQ(f.watch->seen(), (std::vector<std::string>{"begin_writes"}));  // none made yet

  f.watch->let_through();
  f.store->flush();
  EXPECT_EQ(f.store->queued(), 0u);
  // The two that waited went to the backend together, as one batch.
  EXPECT_EQ(f.watch->seen(),
            (std::vector<std::string>{"begin_writes", "put_cursor", "end_writes", "begin_writes",
                                      "put_cooldown", "put_adaptive_limit", "end_writes"}));
}

TEST(WriteBehindStore, AReadSeesTheWritesQueuedBeforeIt) {
  Fixture f;
  f.watch->shut();
  ASSERT_TRUE(f.store->put_cursor("pool", 7).ok());
  f.watch->await_held();
  auto cursor = std::async(std::launch::async, [&] { return f.store->get_cursor("pool"); });
  f.watch->let_through();
  auto got = cursor.get();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value(), 7u);
  EXPECT_EQ(f.watch->seen(),
            (std::vector<std::string>{"begin_writes", "put_cursor", "end_writes", "get_cursor"}));
}

TEST(WriteBehindStore, AFullQueueRefusesAWriteAndSaysWhy) {
  Fixture f({.max_queued = 2});
  f.watch->shut();
  ASSERT_TRUE(f.store->put_cursor("a", 1).ok());
  f.watch->await_held();
  ASSERT_TRUE(f.store->put_cursor("b", 2).ok());
  const Status refused = f.store->put_cursor("c", 3);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "the state backend is behind (2 writes, 2 bytes waiting): this put_cursor is not kept");
  EXPECT_EQ(f.store->info().last_error, refused.error().message);

  f.watch->let_through();
  f.store->flush();
  EXPECT_EQ(f.watch->seen(),
            (std::vector<std::string>{"begin_writes", "put_cursor", "end_writes", "begin_writes",
                                      "put_cursor", "end_writes"}));
  ASSERT_TRUE(f.store->put_cursor("c", 3).ok());  // room again
}

// Kept Responses turns are the large writes: the queue is bounded by what
// they carry too, but an empty queue takes any one of them.
TEST(WriteBehindStore, AQueueFullOfBytesRefusesAWriteAndSaysWhy) {
  Fixture f({.max_queued_bytes = 1000});
  const TimePoint expires = kT0 + std::chrono::hours(1);
  f.watch->shut();
  ASSERT_TRUE(f.store->put_conversation("r1", std::string(300, 'x'), kT0, expires).ok());
  f.watch->await_held();
  ASSERT_TRUE(f.store->put_conversation("r2", std::string(600, 'y'), kT0, expires).ok());
  ASSERT_TRUE(f.store->put_cursor("pool", 1).ok());
  // 302 + 602 + 4 bytes are waiting: 102 more would pass 1000.
  const Status refused = f.store->put_conversation("r3", std::string(100, 'z'), kT0, expires);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "the state backend is behind (3 writes, 908 bytes waiting): this put_conversation "
            "is not kept");
  f.watch->let_through();
  f.store->flush();
  // An empty queue takes one write larger than the bound: it is only ever made.
  EXPECT_TRUE(f.store->put_conversation("r4", std::string(5000, 'w'), kT0, expires).ok());
}

TEST(WriteBehindStore, ABatchStopsGrowingAtItsBytes) {
  Fixture f({.max_batch_bytes = 1000});
  f.watch->shut();
  ASSERT_TRUE(f.store->put_cursor("pool", 1).ok());
  f.watch->await_held();
  for (const char* id : {"r1", "r2", "r3"}) {  // 402 bytes each
    ASSERT_TRUE(
        f.store->put_conversation(id, std::string(400, 'x'), kT0, kT0 + std::chrono::hours(1))
            .ok());
  }
  f.watch->let_through();
  f.store->flush();
  // Two of them fit in 1000 bytes; the third waits for the next batch.
  EXPECT_EQ(f.watch->seen(),
            (std::vector<std::string>{"begin_writes", "put_cursor", "end_writes", "begin_writes",
                                      "put_conversation", "put_conversation", "end_writes",
                                      "begin_writes", "put_conversation", "end_writes"}));
}

TEST(WriteBehindStore, AFailedWriteIsReportedWithItsOperation) {
  Fixture f;
  ASSERT_TRUE(f.store->put_cursor("broken", 1).ok());  // queued: the failure comes later
  f.store->flush();
  EXPECT_EQ(f.errors,
            (std::vector<std::string>{"put_cursor: redis 10.0.0.5:6379: connection refused"}));
  EXPECT_EQ(f.store->info().last_error, "redis 10.0.0.5:6379: connection refused");
}

TEST(WriteBehindStore, TheNewestFailureIsTheLastErrorWhoeverSawIt) {
  Fixture f;
  ASSERT_TRUE(f.store->put_cursor("broken", 1).ok());
  f.store->flush();
  EXPECT_EQ(f.store->info().last_error, "redis 10.0.0.5:6379: connection refused");
  // A read the backend failed (and recorded) is newer than that write.
  EXPECT_FALSE(f.store->get_snapshot("k", "m").ok());
  EXPECT_EQ(f.store->info().last_error, "redis 10.0.0.5:6379: reply timed out");
  EXPECT_EQ(f.store->info().backend, "gated");
}

TEST(WriteBehindStore, EveryQueuedWriteIsMadeBeforeTheStoreGoes) {
  std::promise<std::size_t> said;  // by the closing store, before it waits
  Fixture f({.on_close = [&](std::size_t queued) { said.set_value(queued); }});
  f.watch->shut();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(f.store->put_cursor("pool", i).ok());
  f.watch->await_held();
  std::thread closer([&] { f.store.reset(); });
  EXPECT_EQ(said.get_future().get(), 50u);  // the one at the gate is not made yet
  f.watch->let_through();
  closer.join();
  const auto seen = f.watch->seen();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "put_cursor"), 50);
}

TEST(WriteBehindStore, ItsOwnConversationIsReadWithoutTheBackend) {
  Fixture f;
  ASSERT_TRUE(
      f.store->put_conversation("resp_1", "turn one", kT0, kT0 + std::chrono::hours(1)).ok());
  f.store->flush();
  f.watch->shut();  // a read that went to the backend now would hang
  auto got = f.store->get_conversation("resp_1", kT0 + std::chrono::minutes(1));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value(), "turn one");
  // Past its expiry it is gone here too, and the backend is asked.
  auto later = std::async(std::launch::async, [&] {
    return f.store->get_conversation("resp_1", kT0 + std::chrono::hours(2));
  });
  f.watch->await_held();
  f.watch->let_through();
  auto expired = later.get();
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired.value(), std::nullopt);
  EXPECT_EQ(f.watch->seen(), (std::vector<std::string>{"begin_writes", "put_conversation",
                                                       "end_writes", "get_conversation"}));
}

TEST(WriteBehindStore, ConversationsPastTheCacheAreReadFromTheBackend) {
  Fixture f({.conversation_cache_bytes = 32});
  const TimePoint expires = kT0 + std::chrono::hours(1);
  ASSERT_TRUE(f.store->put_conversation("resp_old", std::string(20, 'a'), kT0, expires).ok());
  ASSERT_TRUE(f.store
                  ->put_conversation("resp_new", std::string(20, 'b'), kT0,
                                     expires + std::chrono::minutes(1))
                  .ok());
  f.store->flush();
  auto newest = f.store->get_conversation("resp_new", kT0);
  auto oldest = f.store->get_conversation("resp_old", kT0);  // pushed out of memory
  ASSERT_TRUE(newest.ok() && oldest.ok());
  EXPECT_EQ(newest.value(), std::string(20, 'b'));
  EXPECT_EQ(oldest.value(), std::string(20, 'a'));
  const auto seen = f.watch->seen();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "put_conversation"), 2);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "get_conversation"), 1);  // resp_old only
}

// RedisStore's batch: held until end_writes, then sent in one pipeline; a
// Redis that is gone fails each write of it by name.
TEST(WriteBehindStore, RedisHoldsABatchAndSendsItAtTheEnd) {
  testing::RedisServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  auto writer = RedisStore::open({.url = server.url(), .prefix = "batch:"});
  auto reader = RedisStore::open({.url = server.url(), .prefix = "batch:"});
  ASSERT_TRUE(writer.ok() && reader.ok());
  Store& w = *writer.value();
  w.begin_writes();
  ASSERT_TRUE(w.put_cursor("pool", 4).ok());
  ASSERT_TRUE(w.put_cooldown({.key_scope = "k", .reason = "429"}).ok());
  EXPECT_EQ(reader.value()->get_cursor("pool").value(), std::nullopt);  // held
  EXPECT_TRUE(w.end_writes().empty());
  EXPECT_EQ(reader.value()->get_cursor("pool").value(), 4u);
  EXPECT_EQ(reader.value()->get_cooldown("k").value()->reason, "429");

  server.stop();
  w.begin_writes();
  ASSERT_TRUE(w.put_cursor("pool", 5).ok());
  ASSERT_TRUE(w.put_conversation("resp_1", "turn", kT0, kT0 + std::chrono::hours(1)).ok());
  const auto failed = w.end_writes();
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].op, "put_cursor");
  EXPECT_EQ(failed[1].op, "put_conversation");
  EXPECT_NE(failed[0].error.message.find("127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << failed[0].error.message;
}

// An error reply to a write names the Redis it came from, as a lost
// connection does: an operator with several Redis hosts knows which one.
TEST(WriteBehindStore, RedisNamesItselfInAWritesErrorReply) {
  testing::RedisServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  auto store = RedisStore::open({.url = server.url(), .prefix = "typed:"});
  ASSERT_TRUE(store.ok());
  RedisClient other({.target = parse_redis_url(server.url()).value()});
  ASSERT_FALSE(other.command({"SET", "typed:cursors", "not a hash"}).value().is_error());
  const Status refused = store.value()->put_cursor("pool", 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message.rfind("redis " + server.url() + ": put_cursor: WRONGTYPE", 0),
            0u)
      << refused.error().message;
}

}  // namespace
}  // namespace sluice::state
