#include "sluice/policy/limiter/priority_limiter.hpp"

#include <algorithm>
#include <cassert>

namespace sluice::policy {

Permit& Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

void Permit::release() noexcept {
  // Clear first: the release may hand the slot to a waiter whose callback
  // drops this very Permit object.
  if (PriorityLimiter* owner = std::exchange(owner_, nullptr)) owner->release_slot();
}

PriorityLimiter::PriorityLimiter(int limit) : limit_(std::max(limit, 1)) {}

PriorityLimiter::~PriorityLimiter() {
  // A permit outliving its limiter would release into freed memory.
  assert(in_flight_ == 0 && "PriorityLimiter destroyed while permits are outstanding");
  // Every waiter is promised exactly one callback.
  cancel_all();
}

std::size_t PriorityLimiter::cancel_all() {
  // Take the queues first: callbacks run against a consistent, empty limiter,
  // and whatever they enqueue stays queued (no loop that never ends).
  std::array<Queue, kPriorityCount> taken;
  std::swap(taken, queues_);
  deadlines_.clear();
  std::size_t cancelled = 0;
  for (Queue& queue : taken) {
    for (Waiter& waiter : queue) {
      ++cancelled;
      if (waiter.on_done) waiter.on_done(AcquireResult{AcquireStatus::kCancelled, Permit()});
    }
  }
  return cancelled;
}

bool PriorityLimiter::has_waiter_at_or_above(Priority priority) const {
  // Priorities are ordered by precedence: index 0 is served first.
  for (std::size_t p = 0; p <= static_cast<std::size_t>(priority); ++p) {
    if (!queues_[p].empty()) return true;
  }
  return false;
}

std::optional<Permit> PriorityLimiter::try_acquire(Priority priority) {
  if (in_flight_ >= limit_ || has_waiter_at_or_above(priority)) return std::nullopt;
  ++in_flight_;
  return Permit(this);
}

Ticket PriorityLimiter::enqueue(Priority priority, TimePoint deadline, Callback on_done) {
  const Ticket ticket = next_ticket_++;
  if (std::optional<Permit> permit = try_acquire(priority)) {
    if (on_done) on_done(AcquireResult{AcquireStatus::kGranted, std::move(*permit)});
    return ticket;
  }
  // Tickets only grow, so each queue stays sorted by ticket (take_waiter
  // relies on that to binary-search).
  queue_of(priority).push_back(Waiter{ticket, deadline, std::move(on_done)});
  deadlines_.emplace(deadline, ticket);
  return ticket;
}

std::optional<PriorityLimiter::Waiter> PriorityLimiter::take_waiter(Ticket ticket) {
  for (Queue& queue : queues_) {
    auto it = std::lower_bound(queue.begin(), queue.end(), ticket,
                               [](const Waiter& w, Ticket t) { return w.ticket < t; });
    if (it != queue.end() && it->ticket == ticket) {
      Waiter waiter = std::move(*it);
      queue.erase(it);
      deadlines_.erase({waiter.deadline, waiter.ticket});
      return waiter;
    }
  }
  return std::nullopt;
}

bool PriorityLimiter::cancel(Ticket ticket) {
  std::optional<Waiter> waiter = take_waiter(ticket);
  if (!waiter) return false;
  if (waiter->on_done) waiter->on_done(AcquireResult{AcquireStatus::kCancelled, Permit()});
  return true;
}

std::size_t PriorityLimiter::expire(TimePoint now) {
  std::size_t skipped = 0;
  // Re-read the earliest deadline every round: a callback may enqueue or
  // cancel other waiters.
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    std::optional<Waiter> waiter = take_waiter(deadlines_.begin()->second);
    assert(waiter && "deadline index out of sync with the queues");
    if (!waiter) break;
    ++skipped;
    if (waiter->on_done) waiter->on_done(AcquireResult{AcquireStatus::kSkipped, Permit()});
  }
  return skipped;
}

std::optional<TimePoint> PriorityLimiter::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void PriorityLimiter::set_limit(int limit) {
  limit_ = std::max(limit, 1);
  grant_waiters();
}

std::size_t PriorityLimiter::queued(Priority priority) const { return queue_of(priority).size(); }

std::size_t PriorityLimiter::queued() const {
  std::size_t total = 0;
  for (const Queue& queue : queues_) total += queue.size();
  return total;
}

void PriorityLimiter::release_slot() noexcept {
  assert(in_flight_ > 0 && "released more permits than were granted");
  if (in_flight_ > 0) --in_flight_;
  grant_waiters();
}

void PriorityLimiter::grant_waiters() {
  if (granting_) return;
  granting_ = true;
  struct ResetFlag {
    bool& flag;
    ~ResetFlag() { flag = false; }
  } reset{granting_};
  while (in_flight_ < limit_) {
    Queue* head = nullptr;
    for (Queue& queue : queues_) {
      if (!queue.empty()) {
        head = &queue;
        break;
      }
    }
    if (head == nullptr) break;
    Waiter waiter = std::move(head->front());
    head->pop_front();
    deadlines_.erase({waiter.deadline, waiter.ticket});
    // Count the slot before the callback runs, so a callback that calls
    // try_acquire or releases at once sees a consistent in_flight.
    ++in_flight_;
    Permit permit(this);
    if (waiter.on_done) waiter.on_done(AcquireResult{AcquireStatus::kGranted, std::move(permit)});
  }
}

}  // namespace sluice::policy
