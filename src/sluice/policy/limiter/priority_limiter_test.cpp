#include "sluice/policy/limiter/priority_limiter.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "testing/fake_clock.hpp"

namespace sluice::policy {
namespace {

using std::chrono::milliseconds;

// Records the outcome of each waiter and keeps granted permits alive until
// the test drops them.
struct Recorder {
  std::vector<std::string> order;
  std::vector<Permit> permits;

  PriorityLimiter::Callback waiter(std::string name) {
    return [this, name = std::move(name)](AcquireResult result) {
      switch (result.status) {
        case AcquireStatus::kGranted:
          order.push_back(name);
          permits.push_back(std::move(result.permit));
          break;
        case AcquireStatus::kSkipped: order.push_back(name + ":skipped"); break;
        case AcquireStatus::kCancelled: order.push_back(name + ":cancelled"); break;
      }
    };
  }
};

// Owns a limiter and the recorder its callbacks write to, and tears them down
// in the order the limiter requires: cancel waiters, drop permits, then die.
// Declare it first in a test so permits held in locals are released before.
struct Harness {
  explicit Harness(int limit) : limiter(limit) {}
  ~Harness() {
    limiter.cancel_all();
    rec.permits.clear();
  }
  PriorityLimiter limiter;
  Recorder rec;
};

TEST(Priority, RoundTripsThroughItsName) {
  EXPECT_EQ(to_string(Priority::kInteractive), "interactive");
  EXPECT_EQ(to_string(Priority::kBackground), "background");
  EXPECT_EQ(priority_from_string("Interactive"), Priority::kInteractive);
  EXPECT_EQ(priority_from_string("background"), Priority::kBackground);
  EXPECT_EQ(priority_from_string("urgent"), std::nullopt);
}

TEST(PriorityLimiter, GrantsUpToTheLimitThenRefuses) {
  Harness h(2);
  PriorityLimiter& limiter = h.limiter;
  auto a = limiter.try_acquire(Priority::kBackground);
  auto b = limiter.try_acquire(Priority::kInteractive);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(limiter.in_flight(), 2);
  EXPECT_FALSE(limiter.try_acquire(Priority::kInteractive));
  a->release();
  EXPECT_EQ(limiter.in_flight(), 1);
  EXPECT_TRUE(limiter.try_acquire(Priority::kBackground));
}

TEST(PriorityLimiter, ClampsLimitsBelowOne) {
  Harness h(0);
  PriorityLimiter& limiter = h.limiter;
  EXPECT_EQ(limiter.limit(), 1);
  limiter.set_limit(-3);
  EXPECT_EQ(limiter.limit(), 1);
}

TEST(PriorityLimiter, PermitReleasesItsSlotExactlyOnce) {
  Harness h(2);
  PriorityLimiter& limiter = h.limiter;
  auto held = limiter.try_acquire(Priority::kInteractive);
  {
    auto p = limiter.try_acquire(Priority::kInteractive);
    ASSERT_TRUE(p);
    EXPECT_EQ(limiter.in_flight(), 2);
    p->release();
    p->release();  // second release is a no-op
    EXPECT_FALSE(p->held());
    EXPECT_EQ(limiter.in_flight(), 1);
  }  // destructor after explicit release: still a no-op
  EXPECT_EQ(limiter.in_flight(), 1);
}

TEST(PriorityLimiter, MovedFromPermitDoesNotReleaseTwice) {
  Harness h(2);
  PriorityLimiter& limiter = h.limiter;
  auto other = limiter.try_acquire(Priority::kInteractive);
  Permit moved_to;
  {
    auto p = limiter.try_acquire(Priority::kBackground);
    ASSERT_TRUE(p);
    moved_to = std::move(*p);
    p->release();  // moved-from
    EXPECT_EQ(limiter.in_flight(), 2);
  }
  EXPECT_EQ(limiter.in_flight(), 2);
  EXPECT_TRUE(moved_to.held());
  moved_to = Permit();  // assigning over a held permit releases it
  EXPECT_EQ(limiter.in_flight(), 1);
}

TEST(PriorityLimiter, EnqueueGrantsSynchronouslyWhenASlotIsFree) {
  testing::FakeClock clock;
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  limiter.enqueue(Priority::kBackground, clock.now() + milliseconds(100), rec.waiter("a"));
  EXPECT_EQ(rec.order, (std::vector<std::string>{"a"}));
  EXPECT_EQ(limiter.queued(), 0u);
  EXPECT_EQ(limiter.in_flight(), 1);
}

TEST(PriorityLimiter, InteractiveWaitersAreServedBeforeBackground) {
  testing::FakeClock clock;
  const TimePoint deadline = clock.now() + milliseconds(1000);
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  limiter.enqueue(Priority::kBackground, deadline, rec.waiter("bg1"));
  limiter.enqueue(Priority::kInteractive, deadline, rec.waiter("int1"));
  limiter.enqueue(Priority::kBackground, deadline, rec.waiter("bg2"));
  limiter.enqueue(Priority::kInteractive, deadline, rec.waiter("int2"));
  EXPECT_EQ(limiter.queued(Priority::kInteractive), 2u);
  EXPECT_EQ(limiter.queued(Priority::kBackground), 2u);

  busy->release();  // each release hands the slot to the next waiter
  for (int i = 0; i < 3; ++i) rec.permits[static_cast<std::size_t>(i)].release();
  EXPECT_EQ(rec.order, (std::vector<std::string>{"int1", "int2", "bg1", "bg2"}));
  EXPECT_EQ(limiter.in_flight(), 1);
  EXPECT_EQ(limiter.queued(), 0u);
}

TEST(PriorityLimiter, ReleaseHandsTheSlotToTheHeadWaiterWithoutABargingWindow) {
  testing::FakeClock clock;
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kBackground);
  limiter.enqueue(Priority::kBackground, clock.now() + milliseconds(100), rec.waiter("waiter"));
  busy->release();
  EXPECT_EQ(rec.order, (std::vector<std::string>{"waiter"}));
  // The slot went to the waiter, so a newcomer finds none.
  EXPECT_FALSE(limiter.try_acquire(Priority::kInteractive));
  EXPECT_EQ(limiter.in_flight(), 1);
}

// A free slot with waiters still queued exists only inside a grant callback
// whose request gave its slot straight back; these tests probe that window.
TEST(PriorityLimiter, TryAcquireDoesNotBargePastWaitersOfTheSamePriority) {
  testing::FakeClock clock;
  const TimePoint deadline = clock.now() + milliseconds(100);
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  bool in_callback = false;
  std::optional<Permit> barged;
  limiter.enqueue(Priority::kInteractive, deadline, [&](AcquireResult r) {
    in_callback = true;
    r.permit.release();  // a slot is free, but "second" is still waiting
    EXPECT_EQ(limiter.in_flight(), 0);
    barged = limiter.try_acquire(Priority::kInteractive);
  });
  limiter.enqueue(Priority::kInteractive, deadline, rec.waiter("second"));
  busy->release();
  ASSERT_TRUE(in_callback);
  EXPECT_FALSE(barged.has_value());
  EXPECT_EQ(rec.order, (std::vector<std::string>{"second"}));
}

TEST(PriorityLimiter, BackgroundDoesNotBargePastInteractiveWaiters) {
  testing::FakeClock clock;
  const TimePoint deadline = clock.now() + milliseconds(100);
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  std::optional<Permit> barged;
  limiter.enqueue(Priority::kInteractive, deadline, [&](AcquireResult r) {
    r.permit.release();
    barged = limiter.try_acquire(Priority::kBackground);
  });
  limiter.enqueue(Priority::kInteractive, deadline, rec.waiter("int"));
  busy->release();
  EXPECT_FALSE(barged.has_value());
  EXPECT_EQ(rec.order, (std::vector<std::string>{"int"}));
}

TEST(PriorityLimiter, InteractiveMayPassQueuedBackgroundWaitersWhenASlotIsFree) {
  testing::FakeClock clock;
  const TimePoint deadline = clock.now() + milliseconds(100);
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  std::optional<Permit> passed;
  std::optional<Permit> barged;
  limiter.enqueue(Priority::kBackground, deadline, [&](AcquireResult r) {
    r.permit.release();
    barged = limiter.try_acquire(Priority::kBackground);
    passed = limiter.try_acquire(Priority::kInteractive);
  });
  limiter.enqueue(Priority::kBackground, deadline, rec.waiter("bg"));
  busy->release();
  EXPECT_FALSE(barged.has_value());
  ASSERT_TRUE(passed.has_value());
  EXPECT_TRUE(passed->held());
  EXPECT_TRUE(rec.order.empty());  // the interactive request took the slot
  EXPECT_EQ(limiter.queued(Priority::kBackground), 1u);
  passed->release();
  EXPECT_EQ(rec.order, (std::vector<std::string>{"bg"}));
}

TEST(PriorityLimiter, NewArrivalsQueueBehindWaitersAtTheLimit) {
  testing::FakeClock clock;
  const TimePoint deadline = clock.now() + milliseconds(100);
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kBackground);
  limiter.enqueue(Priority::kBackground, deadline, rec.waiter("bg"));
  limiter.enqueue(Priority::kInteractive, deadline, rec.waiter("int"));
  EXPECT_FALSE(limiter.try_acquire(Priority::kInteractive));
  EXPECT_FALSE(limiter.try_acquire(Priority::kBackground));
  EXPECT_EQ(limiter.queued(), 2u);
  EXPECT_TRUE(rec.order.empty());
}

TEST(PriorityLimiter, FifoWithinAClass) {
  testing::FakeClock clock;
  const TimePoint deadline = clock.now() + milliseconds(100);
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kBackground);
  for (const char* name : {"a", "b", "c"}) {
    limiter.enqueue(Priority::kBackground, deadline, rec.waiter(name));
  }
  busy->release();
  rec.permits[0].release();
  rec.permits[1].release();
  EXPECT_EQ(rec.order, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(PriorityLimiter, ExpireSkipsWaitersWhoseDeadlinePassed) {
  testing::FakeClock clock;
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  limiter.enqueue(Priority::kBackground, clock.now() + milliseconds(50), rec.waiter("short"));
  limiter.enqueue(Priority::kBackground, clock.now() + milliseconds(200), rec.waiter("long"));
  limiter.enqueue(Priority::kInteractive, clock.now() + milliseconds(50), rec.waiter("int"));
  ASSERT_EQ(limiter.next_deadline(), clock.now() + milliseconds(50));

  // The shell arms one timer at next_deadline() and calls expire() when it fires.
  std::size_t skipped = 0;
  clock.schedule_at(*limiter.next_deadline(), [&] { skipped = limiter.expire(clock.now()); });
  clock.advance(milliseconds(49));
  EXPECT_EQ(skipped, 0u);
  clock.advance(milliseconds(1));
  EXPECT_EQ(skipped, 2u);
  EXPECT_EQ(rec.order, (std::vector<std::string>{"short:skipped", "int:skipped"}));
  EXPECT_EQ(limiter.queued(), 1u);
  EXPECT_EQ(limiter.next_deadline(), clock.now() + milliseconds(150));

  busy->release();
  EXPECT_EQ(rec.order.back(), "long");
  EXPECT_EQ(limiter.next_deadline(), std::nullopt);
  EXPECT_EQ(limiter.expire(clock.now() + milliseconds(1000)), 0u);  // granted waiters never skip
}

TEST(PriorityLimiter, CancelRunsTheCallbackOnceAndRemovesTheWaiter) {
  testing::FakeClock clock;
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  const Ticket a =
      limiter.enqueue(Priority::kBackground, clock.now() + milliseconds(10), rec.waiter("a"));
  const Ticket b =
      limiter.enqueue(Priority::kBackground, clock.now() + milliseconds(20), rec.waiter("b"));
  EXPECT_TRUE(limiter.cancel(a));
  EXPECT_FALSE(limiter.cancel(a));
  EXPECT_EQ(limiter.queued(), 1u);
  EXPECT_EQ(limiter.next_deadline(), clock.now() + milliseconds(20));
  EXPECT_EQ(limiter.expire(clock.now() + milliseconds(15)), 0u);  // a is gone
  busy->release();
  EXPECT_FALSE(limiter.cancel(b));  // already granted
  EXPECT_EQ(rec.order, (std::vector<std::string>{"a:cancelled", "b"}));
}

TEST(PriorityLimiter, CancelOfAnImmediatelyGrantedTicketReturnsFalse) {
  testing::FakeClock clock;
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  const Ticket t = limiter.enqueue(Priority::kInteractive, clock.now(), rec.waiter("now"));
  EXPECT_FALSE(limiter.cancel(t));
  EXPECT_EQ(rec.order, (std::vector<std::string>{"now"}));
}

TEST(PriorityLimiter, LoweringTheLimitNeverRevokesGrantedPermits) {
  testing::FakeClock clock;
  Harness h(3);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto a = limiter.try_acquire(Priority::kInteractive);
  auto b = limiter.try_acquire(Priority::kInteractive);
  auto c = limiter.try_acquire(Priority::kInteractive);
  limiter.set_limit(1);
  EXPECT_EQ(limiter.in_flight(), 3);
  EXPECT_TRUE(a->held() && b->held() && c->held());

  limiter.enqueue(Priority::kInteractive, clock.now() + milliseconds(100), rec.waiter("w"));
  a->release();
  b->release();
  EXPECT_TRUE(rec.order.empty());  // still at the limit of 1
  c->release();
  EXPECT_EQ(rec.order, (std::vector<std::string>{"w"}));
  EXPECT_EQ(limiter.in_flight(), 1);
}

TEST(PriorityLimiter, RaisingTheLimitGrantsQueuedWaitersInOrder) {
  testing::FakeClock clock;
  const TimePoint deadline = clock.now() + milliseconds(100);
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  limiter.enqueue(Priority::kBackground, deadline, rec.waiter("bg"));
  limiter.enqueue(Priority::kInteractive, deadline, rec.waiter("int"));
  limiter.enqueue(Priority::kBackground, deadline, rec.waiter("bg2"));
  limiter.set_limit(3);
  EXPECT_EQ(rec.order, (std::vector<std::string>{"int", "bg"}));
  EXPECT_EQ(limiter.in_flight(), 3);
  EXPECT_EQ(limiter.queued(), 1u);
}

TEST(PriorityLimiter, CallbackThatReleasesAtOncePassesTheSlotAlongWithoutRecursion) {
  testing::FakeClock clock;
  const TimePoint deadline = clock.now() + milliseconds(100);
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  int granted = 0;
  // Many waiters that drop their permit inside the callback: the slot is
  // handed along iteratively, each exactly once.
  for (int i = 0; i < 10000; ++i) {
    limiter.enqueue(Priority::kBackground, deadline, [&](AcquireResult r) {
      if (r.granted()) ++granted;
    });
  }
  busy->release();
  EXPECT_EQ(granted, 10000);
  EXPECT_EQ(limiter.in_flight(), 0);
  EXPECT_EQ(limiter.queued(), 0u);
}

TEST(PriorityLimiter, CallbacksMayEnqueueAndCancelFromInsideExpire) {
  testing::FakeClock clock;
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  Ticket later = 0;
  limiter.enqueue(Priority::kBackground, clock.now() + milliseconds(10), [&](AcquireResult r) {
    EXPECT_EQ(r.status, AcquireStatus::kSkipped);
    // A skipped request gives up its other wait and queues once more: one
    // waiter that is still in time, one that is already late.
    EXPECT_TRUE(limiter.cancel(later));
    limiter.enqueue(Priority::kInteractive, clock.now() + milliseconds(500), rec.waiter("again"));
    limiter.enqueue(Priority::kInteractive, clock.now(), rec.waiter("late"));
  });
  later =
      limiter.enqueue(Priority::kBackground, clock.now() + milliseconds(5000), rec.waiter("later"));
  // The late waiter is skipped in the same call: every deadline <= now goes.
  EXPECT_EQ(limiter.expire(clock.now() + milliseconds(10)), 2u);
  EXPECT_EQ(rec.order, (std::vector<std::string>{"later:cancelled", "late:skipped"}));
  EXPECT_EQ(limiter.queued(Priority::kInteractive), 1u);
  EXPECT_EQ(limiter.next_deadline(), clock.now() + milliseconds(500));
  busy->release();
  EXPECT_EQ(rec.order.back(), "again");
}

TEST(PriorityLimiter, CancelAllCancelsEveryQueuedWaiter) {
  testing::FakeClock clock;
  Harness h(1);
  PriorityLimiter& limiter = h.limiter;
  Recorder& rec = h.rec;
  auto busy = limiter.try_acquire(Priority::kInteractive);
  limiter.enqueue(Priority::kBackground, clock.now() + milliseconds(10), rec.waiter("bg"));
  limiter.enqueue(Priority::kInteractive, clock.now() + milliseconds(10), rec.waiter("int"));
  EXPECT_EQ(limiter.cancel_all(), 2u);
  EXPECT_EQ(rec.order, (std::vector<std::string>{"int:cancelled", "bg:cancelled"}));
  EXPECT_EQ(limiter.queued(), 0u);
  EXPECT_EQ(limiter.next_deadline(), std::nullopt);
  busy->release();
  EXPECT_EQ(limiter.in_flight(), 0);
}

#ifndef NDEBUG
TEST(PriorityLimiterDeathTest, AssertsWhenDestroyedBeforeItsPermits) {
  EXPECT_DEATH(
      {
        auto limiter = std::make_unique<PriorityLimiter>(1);
        auto permit = limiter->try_acquire(Priority::kInteractive);
        limiter.reset();
      },
      "permits are outstanding");
}
#endif

}  // namespace
}  // namespace sluice::policy
