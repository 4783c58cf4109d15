#pragma once
// A concurrency limiter for one upstream key with two priority classes.
//
// Interactive waiters are served before every background waiter, FIFO within
// a class. A free slot goes to the head waiter directly on release, so a new
// arrival can never barge past someone who has been waiting; only an
// interactive arrival may pass queued background waiters.
//
// Threading: none. The limiter is single-threaded by design; the engine
// serialises every call (one strand per limiter). Callbacks run synchronously
// inside the call that decided them (enqueue, release, set_limit, expire,
// cancel) and may call back into the limiter. Callbacks must not throw: a
// release that hands its slot on runs inside a destructor.
//
// Lifetime: the limiter must outlive every Permit it granted (a Permit keeps a
// raw pointer back to it). Debug builds assert this in the destructor. To shut
// down, cancel_all() first (so releases hand nothing on), then drop the permits.
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <utility>

#include "sluice/core/priority.hpp"
#include "sluice/core/time.hpp"

namespace sluice::policy {

class PriorityLimiter;

// One granted slot. Move-only; the slot is released exactly once, by
// release() or by the destructor, whichever comes first.
class Permit {
 public:
  Permit() = default;
  Permit(Permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
  Permit& operator=(Permit&& other) noexcept;
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit() { release(); }

  // Gives the slot back (and possibly straight to the next waiter). A second
  // call, or a call on a moved-from Permit, does nothing.
  void release() noexcept;
  bool held() const { return owner_ != nullptr; }
  explicit operator bool() const { return held(); }

 private:
  friend class PriorityLimiter;
  explicit Permit(PriorityLimiter* owner) : owner_(owner) {}
  PriorityLimiter* owner_ = nullptr;
};

enum class AcquireStatus : std::uint8_t {
  kGranted,    // `permit` holds the slot
  kSkipped,    // the waiter's deadline passed before a slot freed up
  kCancelled,  // cancel() was called, or the limiter was destroyed
};

struct AcquireResult {
  AcquireStatus status = AcquireStatus::kCancelled;
  Permit permit;  // held only when status == kGranted

  bool granted() const { return status == AcquireStatus::kGranted; }
};

using Ticket = std::uint64_t;

class PriorityLimiter {
 public:
  using Callback = std::function<void(AcquireResult)>;

  // Limits below 1 are clamped to 1: a key that can never run anything is
  // expressed by disabling it in the credential pool, not by a zero limit.
  explicit PriorityLimiter(int limit);
  ~PriorityLimiter();
  PriorityLimiter(const PriorityLimiter&) = delete;
  PriorityLimiter& operator=(const PriorityLimiter&) = delete;

  // Grants a slot now or not at all. Refuses while a waiter of the same or a
  // higher priority is queued, even when a slot is free, so nobody barges.
  std::optional<Permit> try_acquire(Priority priority);

  // Queues a waiter. `on_done` runs exactly once: granted, skipped (its
  // deadline passed; see expire), or cancelled. When a slot is free and no one
  // is ahead, it runs before enqueue returns.
  Ticket enqueue(Priority priority, TimePoint deadline, Callback on_done);

  // True when the waiter was queued; its callback then runs with kCancelled.
  bool cancel(Ticket ticket);

  // Cancels every waiter queued at the time of the call (shutdown, reload).
  // Waiters that those callbacks enqueue stay queued. Returns how many.
  std::size_t cancel_all();

  // Skips every waiter whose deadline is <= now. Returns how many.
  std::size_t expire(TimePoint now);

  // The earliest queued deadline, so the shell can arm a single timer.
  std::optional<TimePoint> next_deadline() const;

  // Lowering never revokes granted permits (in_flight may exceed the limit
  // until they are released); raising grants queued waiters at once.
  void set_limit(int limit);

  int limit() const { return limit_; }
  int in_flight() const { return in_flight_; }
  std::size_t queued(Priority priority) const;
  std::size_t queued() const;

 private:
  friend class Permit;

  struct Waiter {
    Ticket ticket;
    TimePoint deadline;
    Callback on_done;
  };
  using Queue = std::deque<Waiter>;

  Queue& queue_of(Priority p) { return queues_[static_cast<std::size_t>(p)]; }
  const Queue& queue_of(Priority p) const { return queues_[static_cast<std::size_t>(p)]; }
  bool has_waiter_at_or_above(Priority priority) const;
  // Removes and returns the waiter with `ticket`, if still queued.
  std::optional<Waiter> take_waiter(Ticket ticket);
  void release_slot() noexcept;
  // Hands free slots to head waiters until slots or waiters run out.
  void grant_waiters();

  int limit_;
  int in_flight_ = 0;
  Ticket next_ticket_ = 1;
  // Set while grant_waiters() runs: a callback that releases its permit at
  // once must not recurse; the running loop sees the freed slot instead.
  bool granting_ = false;
  std::array<Queue, kPriorityCount> queues_;
  // (deadline, ticket) of every queued waiter: next_deadline() and expire()
  // without scanning the queues.
  std::set<std::pair<TimePoint, Ticket>> deadlines_;
};

}  // namespace sluice::policy
