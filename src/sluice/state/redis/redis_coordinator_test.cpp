// The Redis coordinator and events against a real redis-server on a free
// loopback port. Lease expiry runs on Redis's own clock, so the expiry tests
// wait (bounded) for that external process rather than a fake clock.
#include "sluice/state/redis/redis_coordinator.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "sluice/state/redis/redis_store.hpp"
#include "testing/redis_server.hpp"

namespace sluice::state {
namespace {

using Kind = Admission::Kind;
using namespace std::chrono_literals;

class RedisCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.ok()) << redis_.error(); }

  std::unique_ptr<RedisCoordinator> open(Duration ttl = 10s) {
    auto c = RedisCoordinator::open({.url = redis_.url(), .prefix = prefix_, .lease_ttl = ttl});
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? std::move(c.value()) : nullptr;
  }

  // Polls `f` until it is true or `limit` passes: waiting on Redis's clock.
  template <class F>
  static bool eventually(F f, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (f()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return f();
  }

  // Whether any instance holds a lease on req_'s key, as `c` finds out by
  // asking for one with a limit of 1 (a lease it gets is given back).
  bool any_lease_held(RedisCoordinator& c) {
    AdmissionRequest probe = req_;
    probe.limit = 1;
    const Admission a = c.admit(probe);
    if (a.kind == Kind::kGranted) c.release(probe, a.lease_id, true);
    return a.kind == Kind::kBusy;
  }

  testing::RedisServer redis_;
  std::string prefix_ = "coord:";
  AdmissionRequest req_{.key_scope = "https://api.z.ai/api/paas/v4|key:ab12",
                        .bucket = "glm-5.1",
                        .model = "glm-5.1",
                        .limit = 1,
                        .tokens = 100};
};

TEST_F(RedisCoordinatorTest, ACapOfOneHoldsAcrossInstancesUntilTheLeaseIsReleased) {
  auto a = open();
  auto b = open();
  const Admission first = a->admit(req_);
  ASSERT_EQ(first.kind, Kind::kGranted);
  EXPECT_EQ(b->admit(req_).kind, Kind::kBusy);
  EXPECT_EQ(a->admit(req_).kind, Kind::kBusy);  // the same instance is no exception

  AdmissionRequest other_model = req_;
  other_model.bucket = "glm-4.7";  // z.ai caps each model on its own
  EXPECT_EQ(b->admit(other_model).kind, Kind::kGranted);

  a->release(req_, first.lease_id, false);
  EXPECT_EQ(a->leases_held(), 0u);
  a->flush();  // a release returns at once; it reaches Redis in order, soon after
  EXPECT_EQ(b->admit(req_).kind, Kind::kGranted);
}

TEST_F(RedisCoordinatorTest, AHigherLimitAdmitsThatManyAndNoMore) {
  auto a = open();
  auto b = open();
  req_.limit = 3;
  int granted = 0;
  for (int i = 0; i < 5; ++i) {
    auto& c = i % 2 ? *a : *b;
    if (c.admit(req_).kind == Kind::kGranted) ++granted;
  }
  EXPECT_EQ(granted, 3);
}

TEST_F(RedisCoordinatorTest, ALeaseThatIsNotRenewedComesBackAfterItsTtl) {
  auto crashed = open(300ms);  // takes the slot, then never renews (as if killed)
  auto survivor = open(300ms);
  ASSERT_EQ(crashed->admit(req_).kind, Kind::kGranted);
  ASSERT_EQ(survivor->admit(req_).kind, Kind::kBusy);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return survivor->admit(req_).kind == Kind::kGranted; }, 3000ms));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 200ms);   // not before the TTL...
  EXPECT_LE(waited, 1500ms);  // ...and soon after it
}

TEST_F(RedisCoordinatorTest, RenewingKeepsALeaseAlivePastItsTtl) {
  auto holder = open(300ms);
  auto other = open(300ms);
  ASSERT_EQ(holder->admit(req_).kind, Kind::kGranted);
  for (int i = 0; i < 8; ++i) {  // 800 ms: well past one TTL
    holder->renew();
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(other->admit(req_).kind, Kind::kBusy) << "after " << (i + 1) * 100 << " ms";
  }
}

TEST_F(RedisCoordinatorTest, SendsAreCountedAgainstOneSharedBudgetAndASnapshotResetsTheCount) {
  auto a = open();
  auto b = open();
  req_.limit = 10;
  const Admission a1 = a->admit(req_);
  ASSERT_EQ(a1.kind, Kind::kGranted);
  EXPECT_FALSE(a1.budget.snapshot.has_value());
  EXPECT_EQ(a1.budget.sent_requests, 0);
  const Admission b1 = b->admit(req_);
  ASSERT_EQ(b1.kind, Kind::kGranted);
  EXPECT_EQ(b1.budget.sent_requests, 1);  // a's send, seen by b
  EXPECT_EQ(b1.budget.sent_tokens, 100);

  // a's response carries headers while b's send is still in flight.
  RateLimitSnapshot snap;
  snap.taken_at = TimePoint(std::chrono::seconds(1'800'000'000));
  snap.find_or_add("requests", BudgetAxis::kRequests).remaining = 17;
  a->share_snapshot(req_, snap);
  a->release(req_, a1.lease_id, false);
  a->flush();

  const Admission b2 = b->admit(req_);
  ASSERT_EQ(b2.kind, Kind::kGranted);
  ASSERT_TRUE(b2.budget.snapshot.has_value());
  EXPECT_EQ(b2.budget.snapshot->find("requests")->remaining, 17);
  // Only b1 was in flight elsewhere when the snapshot was taken.
  EXPECT_EQ(b2.budget.sent_requests, 1);

  // An older snapshot does not replace a newer one.
  RateLimitSnapshot old = snap;
  old.taken_at -= std::chrono::seconds(5);
  old.find_or_add("requests", BudgetAxis::kRequests).remaining = 99;
  b->share_snapshot(req_, old);
  b->flush();
  EXPECT_EQ(a->admit(req_).budget.snapshot->find("requests")->remaining, 17);
}

TEST_F(RedisCoordinatorTest, AdmissionsAskedAllAtOnceGrantExactlyTheLimitInOrder) {
  auto a = open();
  req_.limit = 10;
  std::mutex m;
  std::condition_variable cv;
  std::vector<Kind> answers;
  constexpr int kAsked = 300;  // more than one pipeline batch
  for (int i = 0; i < kAsked; ++i) {
    a->admit_async(req_, [&](Admission ad) {
      std::lock_guard lock(m);
      answers.push_back(ad.kind);
      cv.notify_all();
    });
  }
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return answers.size() == kAsked; }));
  // Answered in the order asked: the first ten got the slots.
  for (int i = 0; i < kAsked; ++i) {
    EXPECT_EQ(answers[i], i < 10 ? Kind::kGranted : Kind::kBusy) << i;
  }
  EXPECT_EQ(a->leases_held(), 10u);
}

TEST_F(RedisCoordinatorTest, ARefundedReleaseUncountsTheSend) {
  auto a = open();
  req_.limit = 5;
  const Admission first = a->admit(req_);
  a->release(req_, first.lease_id, true);
  EXPECT_EQ(a->admit(req_).budget.sent_requests, 0);
}

TEST_F(RedisCoordinatorTest, WithRedisDownAdmissionIsUnavailableAtOnceAndRecoversByItself) {
  std::vector<bool> transitions;
  auto opened = RedisCoordinator::open(
      {.url = redis_.url(), .prefix = prefix_, .on_state_change = [&](bool up, const std::string&) {
         transitions.push_back(up);
       }});
  ASSERT_TRUE(opened.ok());
  auto& c = *opened.value();
  ASSERT_EQ(c.admit(req_).kind, Kind::kGranted);
  redis_.stop();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.admit(req_).kind, Kind::kUnavailable);
  EXPECT_EQ(c.admit(req_).kind, Kind::kUnavailable);  // the circuit: no second connect
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
  ASSERT_TRUE(redis_.start());
  // A fresh Redis has no leases and no scripts (NOSCRIPT → loaded again).
  ASSERT_TRUE(eventually([&] { return c.admit(req_).kind == Kind::kGranted; }, 3000ms));
  EXPECT_EQ(transitions, (std::vector<bool>{false, true}));  // each said once
}

// Decision 0019: a lease given back while its key is far from its limit is
// kept as a spare, and this instance's next request on the key takes it
// without a round trip, its send still counted in the shared budget.
TEST_F(RedisCoordinatorTest, ALeaseOfAKeyFarFromItsLimitIsKeptAndReusedWithoutARoundTrip) {
  auto a = open();
  auto b = open();
  req_.limit = 64;
  const Admission first = a->admit(req_);
  ASSERT_EQ(first.kind, Kind::kGranted);
  a->release(req_, first.lease_id, false);
  EXPECT_EQ(a->spare_leases(), 1u);
  a->flush();
  EXPECT_TRUE(any_lease_held(*b)) << "the spare is still a lease in Redis";

  redis_.stop();  // no round trip can be made now
  const Admission second = a->admit(req_);
  EXPECT_EQ(second.kind, Kind::kGranted);
  EXPECT_EQ(second.lease_id, first.lease_id);
  EXPECT_EQ(second.budget.sent_requests, 1);  // first's send, as the budget stood
  EXPECT_EQ(a->spare_leases(), 0u);
  ASSERT_TRUE(redis_.start());
}

TEST_F(RedisCoordinatorTest, ASendOnASpareLeaseIsCountedInTheSharedBudget) {
  auto a = open();
  auto b = open();
  req_.limit = 64;
  const Admission first = a->admit(req_);
  a->release(req_, first.lease_id, false);
  const Admission second = a->admit(req_);
  ASSERT_EQ(second.lease_id, first.lease_id);
  a->flush();
  const Admission seen = b->admit(req_);
  ASSERT_EQ(seen.kind, Kind::kGranted);
  EXPECT_EQ(seen.budget.sent_requests, 2);
  EXPECT_EQ(seen.budget.sent_tokens, 200);
}

TEST_F(RedisCoordinatorTest, SmallCapsAndKeysNearTheirLimitKeepNoSpares) {
  auto a = open();
  req_.limit = 4;  // z.ai-sized cap: every slot matters to the other instances
  const Admission only = a->admit(req_);
  a->release(req_, only.lease_id, false);
  EXPECT_EQ(a->spare_leases(), 0u);
  EXPECT_EQ(a->leases_held(), 0u);

  req_.limit = 16;
  std::vector<std::string> ids;
  for (int i = 0; i < 9; ++i) ids.push_back(a->admit(req_).lease_id);  // 9 of 16 held
  a->release(req_, ids.back(), false);
  EXPECT_EQ(a->spare_leases(), 0u) << "more than half the limit was held";
  ids.pop_back();
  a->release(req_, ids.back(), true);  // a refund is never kept either
  EXPECT_EQ(a->spare_leases(), 0u);
  ids.pop_back();
  const Admission eighth = a->admit(req_);  // Redis now says 8 held
  a->release(req_, eighth.lease_id, false);
  EXPECT_EQ(a->spare_leases(), 1u);
}

TEST_F(RedisCoordinatorTest, ASpareNoRequestTookGoesBackAtTheNextRenewal) {
  auto a = open();
  auto b = open();
  req_.limit = 64;
  const Admission first = a->admit(req_);
  a->release(req_, first.lease_id, false);
  ASSERT_EQ(a->spare_leases(), 1u);
  a->renew();
  EXPECT_EQ(a->spare_leases(), 0u);
  EXPECT_EQ(a->leases_held(), 0u);
  a->flush();
  EXPECT_FALSE(any_lease_held(*b));
}

TEST_F(RedisCoordinatorTest, AnotherInstancesCooldownArrivesThroughPubSub) {
  auto target = parse_redis_url(redis_.url());
  ASSERT_TRUE(target.ok());
  std::mutex m;
  std::vector<std::string> got;
  RedisEvents events(target.value(), redis_events_channel(prefix_), [&](std::string msg) {
    std::lock_guard lock(m);
    got.push_back(std::move(msg));
  });
  ASSERT_TRUE(eventually([&] { return events.subscribed(); }, 3000ms));

  auto store = RedisStore::open({.url = redis_.url(), .prefix = prefix_});
  ASSERT_TRUE(store.ok());
  KeyCooldown cd{.key_scope = req_.key_scope,
                 .cooling_until = TimePoint(std::chrono::seconds(1'800'000'000)),
                 .cooling_class = ErrorClass::kAuth,
                 .reason = "401"};
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(store.value()->put_cooldown(cd).ok());
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(m);
        return !got.empty();
      },
      2000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);  // DESIGN: within 100 ms
  std::lock_guard lock(m);
  EXPECT_EQ(got.front(), cooldown_event(req_.key_scope));
}

TEST(RedisUrl, ParsesHostPortDbAndNeverShowsThePassword) {
  auto t = parse_redis_url("redis://:hunter2@10.0.0.5:6380/3");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t.value().host, "10.0.0.5");
  EXPECT_EQ(t.value().port, 6380);
  EXPECT_EQ(t.value().db, 3);
  EXPECT_EQ(t.value().password, "hunter2");
  EXPECT_EQ(t.value().display.find("hunter2"), std::string::npos);
  auto acl = parse_redis_url("redis://app:s3cret@cache");
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(acl.value().username, "app");
  EXPECT_EQ(acl.value().port, 6379);
  EXPECT_EQ(acl.value().display.find("s3cret"), std::string::npos);
  EXPECT_EQ(parse_redis_url("unix:///run/redis.sock").value().socket_path, "/run/redis.sock");
  EXPECT_EQ(parse_redis_url("REDIS://Cache:6380").value().host, "Cache");  // scheme only
}

TEST(RedisUrl, BadUrlsSayWhatIsWrongWithoutThePassword) {
  for (const char* bad : {"http://x", "redis://:pw@host:99999", "redis://:pw@host/db", "unix://rel",
                          "redis://:pw@", "rediss://:pw@host"}) {
    auto t = parse_redis_url(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.error().message.find("redis url"), std::string::npos) << bad;
    EXPECT_EQ(t.error().message.find(":pw"), std::string::npos) << t.error().message;
  }
}

TEST(RedisStoreOpen, ADownRedisAtStartIsAWarningNotAFailure) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.ok());
  const std::string url = redis.url();
  redis.stop();
  auto store = RedisStore::open({.url = url});
  ASSERT_TRUE(store.ok());
  ASSERT_EQ(store.value()->info().warnings.size(), 1u);
  EXPECT_FALSE(store.value()->put_cursor("p", 1).ok());
  ASSERT_TRUE(redis.start());
  // The circuit reopens after its interval; the store reconnects by itself.
  bool back = false;
  for (int i = 0; i < 200 && !back; ++i) {
    back = store.value()->put_cursor("p", 2).ok();
    if (!back) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(back);
  EXPECT_EQ(store.value()->get_cursor("p").value(), 2u);
}

}  // namespace
}  // namespace sluice::state
