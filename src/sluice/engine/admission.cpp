// Admission, shared by requests and the policy mode's slots: a concurrency slot by
// priority, and in Redis mode a lease across instances.
#include <thread>

#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

// Waits for a slot until `timeout`; nullopt when skipped.
auto RequestEngine::Impl::acquire(policy::PriorityLimiter& limiter, Priority priority,
                                  Duration timeout, SlotCancel* cancel)
    -> awaitable<std::optional<policy::Permit>> {
  if (auto permit = limiter.try_acquire(priority)) co_return std::move(permit);
  if (timeout <= Duration::zero() || (cancel && cancel->cancelled)) co_return std::nullopt;
  const std::unique_ptr<ports::Timer> timer = timers.at(clock.now() + timeout);
  std::optional<policy::Permit> got;
  bool done = false;
  const auto ticket =
      limiter.enqueue(priority, clock.now() + timeout, [&](policy::AcquireResult r) {
        done = true;
        if (r.granted()) got = std::move(r.permit);
        timer->wake();
      });
  // If this frame is torn down while queued, the limiter must not call back into it.
  struct CancelOnExit {
    policy::PriorityLimiter& limiter;
    policy::Ticket ticket;
    bool& done;
    ~CancelOnExit() {
      if (!done) limiter.cancel(ticket);
    }
  } guard{limiter, ticket, done};
  if (!done) {
    if (cancel) {
      cancel->waiting = timer.get();
      cancel->withdraw = [&] {
        if (!done) limiter.cancel(ticket);
        done = true;
      };
    }
    co_await timer->wait();
    if (cancel) {
      cancel->waiting = nullptr;
      cancel->withdraw = nullptr;
    }
  }
  if (!done) limiter.cancel(ticket);
  co_return std::move(got);
}

auto RequestEngine::Impl::ask_admission(const state::AdmissionRequest& request)
    -> awaitable<state::Admission> {
  struct Pending {
    std::optional<state::Admission> answer;
    ports::Timer* timer = nullptr;  // null unless this frame is waiting
    bool asking = true;             // inside admit_async, on this thread
  };
  auto pending = std::make_shared<Pending>();
  const std::thread::id here = std::this_thread::get_id();
  coordinator->admit_async(
      request, [pending, here, request, mb = mailbox, c = coordinator](state::Admission a) {
        // Answered at once (a spare lease): taken as it is. Posting it cost
        // two loop turns and a timer per request, and under load each turn
        // waits behind every completion already queued.
        if (std::this_thread::get_id() == here && pending->asking) {
          pending->answer = std::move(a);
          return;
        }
        std::lock_guard lock(mb->m);
        if (!mb->open) return;
        asio::post(mb->executor, [pending, request, c, a = std::move(a)]() mutable {
          if (!pending->timer) {
            // Granted after the request stopped waiting: give it straight back.
            if (a.kind == state::Admission::Kind::kGranted) c->release(request, a.lease_id, true);
            return;
          }
          pending->answer = std::move(a);
          pending->timer->wake();
        });
      });
  pending->asking = false;
  if (pending->answer) co_return std::move(*pending->answer);
  // A posted answer runs on this thread, so not before this frame waits.
  const std::unique_ptr<ports::Timer> timer = timers.at(clock.now() + kAdmissionWait);
  pending->timer = timer.get();
  struct StopWaiting {
    Pending& p;
    ~StopWaiting() { p.timer = nullptr; }
  } stop_waiting{*pending};
  co_await timer->wait();
  // No answer in time: as if Redis were away (local limits only).
  co_return pending->answer.value_or(state::Admission{});
}

auto RequestEngine::Impl::admit_shared(const SharedLease& lease, TimePoint give_up,
                                       SlotCancel* cancel) -> awaitable<state::Admission> {
  while (true) {
    state::Admission admission = co_await ask_admission(lease.request);
    if (admission.kind != state::Admission::Kind::kBusy) co_return admission;
    if (clock.now() >= give_up || (cancel && cancel->cancelled)) co_return admission;
    const TimePoint poll_at = clock.now() + kLeasePoll;
    co_await cancellable_sleep(poll_at, cancel);
  }
}

// What the shared admission says, for the run.
auto RequestEngine::Impl::shared_event(const state::Admission& admission, SharedLease& lease,
                                       const ModelBudget& mb, const policy::ThrottleInput& seen,
                                       TimePoint now) -> policy::Event {
  using Kind = policy::Shared::Kind;
  if (admission.kind == state::Admission::Kind::kBusy) return policy::Shared{Kind::kBusy, {}};
  lease.id = admission.lease_id;  // empty when Redis is away: local limits only
  if (lease.id.empty()) return policy::Shared{Kind::kLocal, {}};
  policy::Shared granted{Kind::kGranted, {}};
  const auto& shared = admission.budget;
  if (shared.snapshot && (!mb.snapshot || shared.snapshot->taken_at >= mb.snapshot->taken_at)) {
    policy::ThrottleInput si = seen;
    si.snapshot = &*shared.snapshot;
    si.unaccounted_requests = shared.sent_requests;
    si.unaccounted_tokens = shared.sent_tokens;
    si.now = now;
    granted.budget = si;
  }
  return granted;
}

}  // namespace sluice::engine
