#include "sluice/policy/request/request_run.hpp"

#include <algorithm>
#include <utility>

#include "sluice/core/text.hpp"

namespace sluice::policy {

namespace {

using Kind = CandidateAvailability::Kind;

// How long a request that found no slot (here or across instances) is told
// to come back after: a slot frees when any request ends, which is soon.
constexpr Duration kBusyRetry = std::chrono::seconds(1);

}  // namespace

RequestRun::RequestRun(RunSetup setup, const RetryConfig& retry, RetryBudget& budget, Rng& rng)
    : setup_(std::move(setup)),
      retry_(retry),
      budget_(budget),
      rng_(rng),
      candidates_(setup_.labels.size()) {}

RunCounts RequestRun::take_counts() { return std::exchange(counts_, RunCounts{}); }

Action RequestRun::next(const Event& event, TimePoint now) {
  if (std::holds_alternative<Start>(event)) return at(0, now);

  if (const auto* e = std::get_if<Prepared>(&event)) {
    current().max_wait = e->max_wait;
    if (setup_.deadline && now >= *setup_.deadline) return give_up(now);
    return TakeKey{index_};
  }

  if (const auto* e = std::get_if<Unusable>(&event)) {
    if (e->refusal) refusal_ = e->refusal;
    current().availability = {Kind::kNever};
    return move_on(e->why, now);
  }

  if (const auto* e = std::get_if<NoKey>(&event)) {
    current().availability = {Kind::kCooling, e->free_at, current().max_wait - current().waited};
    return move_on("every key is cooling", now);
  }

  if (const auto* e = std::get_if<KeyTaken>(&event)) {
    judged_at_ = now;
    judged_max_wait_ = std::max(Duration::zero(), current().max_wait - current().waited);
    const ThrottleDecision d = judge(e->budget);
    if (d.kind == ThrottleDecision::Kind::kWait) {
      // Delayed instead of sent into a spent budget. Everyone waiting for
      // the same reset wakes together, so the candidate is looked at again
      // rather than sent to: the first to wake may have spent the new window.
      if (current().waited == Duration::zero()) ++counts_.throttle_waits;
      return wait_until(d.until + setup_.wake_delay, now, true);
    }
    if (d.kind == ThrottleDecision::Kind::kNotBefore) {
      ++counts_.throttle_waits;  // routed around a spent budget
      current().availability = {Kind::kSpent, d.until};
      return move_on("budget " + d.bucket + " is spent until its reset", now);
    }
    Duration timeout = setup_.queue_timeout;
    if (setup_.deadline) timeout = std::min(timeout, *setup_.deadline - now);
    since_ = now;
    give_up_queue_at_ = now + timeout;
    return Acquire{timeout};
  }

  if (std::holds_alternative<NotAcquired>(event)) {
    queued_ += now - since_;
    current().availability = {Kind::kBusy, now + kBusyRetry};
    return move_on("no concurrency slot within the queue timeout", now);
  }

  if (const auto* e = std::get_if<Acquired>(&event)) {
    queued_ += now - since_;
    // The budget was judged before the queue; replies that came in while
    // this request waited for its slot may have spent it. The candidate is
    // looked at again: it will wait, or move on.
    if (now > judged_at_ && judge(e->budget).kind != ThrottleDecision::Kind::kSendNow) {
      return at(index_, now);
    }
    if (!setup_.shared) return send(now);
    since_ = now;
    return Share{give_up_queue_at_};
  }

  if (const auto* e = std::get_if<Shared>(&event)) {
    queued_ += now - since_;
    if (e->kind == Shared::Kind::kBusy) {
      current().availability = {Kind::kBusy, now + kBusyRetry};
      return move_on("no concurrency slot across instances within the queue timeout", now);
    }
    if (e->kind == Shared::Kind::kGranted && e->budget) {
      // The budget every instance spends together.
      const ThrottleDecision d = judge(*e->budget);
      if (d.kind == ThrottleDecision::Kind::kNotBefore) {
        ++counts_.throttle_waits;
        current().availability = {Kind::kSpent, d.until};
        return move_on("shared budget " + d.bucket + " is spent until its reset", now);
      }
      if (d.kind == ThrottleDecision::Kind::kWait) {
        ++counts_.throttle_waits;
        return wait_until(d.until, now, false);
      }
    }
    return send(now);
  }

  if (const auto* e = std::get_if<Answered>(&event)) {
    waited_ += now - since_;  // the provider's time, to its head and first events
    if (e->classification.ok) return Relay{index_, index_ > 0};
    return failed(*e, now);
  }

  if (std::holds_alternative<Woke>(event)) {
    const Duration slept = now - since_;
    waited_ += slept;
    if (wait_counts_) current().waited += slept;
    return at(index_, now);  // the same candidate again, with what the wait changed
  }

  const auto& e = std::get<Relayed>(event);
  if (e.unanswered) {
    return Finish{.ending = Ending::kStreamDrop,
                  .route = label(),
                  .detail = e.detail,
                  .reply = Reply{.status = 502,
                                 .code = "stream_drop",
                                 .message = "upstream " + label() + " cut its answer short",
                                 .retry_after = std::nullopt,
                                 .should_retry = true}};
  }
  return Finish{.ending = e.ending, .route = label(), .detail = e.detail};
}

ThrottleDecision RequestRun::judge(ThrottleInput budget) const {
  budget.max_wait = judged_max_wait_;
  budget.deadline = setup_.deadline;
  return decide_throttle(budget);
}

Action RequestRun::at(std::size_t index, TimePoint now) {
  index_ = index;
  if (index_ >= candidates_.size()) return give_up(now);
  return Prepare{index_};
}

Action RequestRun::send(TimePoint now) {
  ++attempts_total_;
  ++current().attempts;
  since_ = now;
  return Send{};
}

Action RequestRun::wait_until(TimePoint until, TimePoint now, bool counts_toward_max_wait) {
  since_ = now;
  wait_counts_ = counts_toward_max_wait;
  return Wait{until};
}

Action RequestRun::move_on(std::string why, TimePoint now) {
  const RouteChoice choice = choose_candidate(
      std::span<const CandidateAvailability>(availabilities()), index_ + 1, now, setup_.deadline);
  if (const auto* wait = std::get_if<WaitFor>(&choice)) {
    // Nothing else can serve: a cooling candidate frees soon enough, and is
    // waited for (then looked at again) like a budget's reset.
    if (wait->index != index_) skipped_.push_back(label() + ": " + why);
    index_ = wait->index;
    if (current().waited == Duration::zero()) ++counts_.throttle_waits;
    return wait_until(wait->until + setup_.wake_delay, now, true);
  }
  skipped_.push_back(label() + ": " + why);
  if (const auto* use = std::get_if<Use>(&choice)) {
    ++counts_.fallbacks;
    return at(use->index, now);
  }
  return give_up(now);
}

std::vector<CandidateAvailability> RequestRun::availabilities() const {
  std::vector<CandidateAvailability> out;
  out.reserve(candidates_.size());
  for (const Candidate& c : candidates_) out.push_back(c.availability);
  return out;
}

Action RequestRun::failed(const Answered& a, TimePoint now) {
  const Classification& c = a.classification;
  const ClassTraits& traits = c.traits;
  failures_.push_back(label() + ":" + std::string(to_string(c.cls)));
  last_ = c;
  last_where_ = label();
  // A concurrency error means too many were sent at once, not that the
  // provider failed: with the key's limit now lower, queue for a slot again
  // without spending a retry (bounded, should the limit be 0 in effect).
  if (traits.lower_limit && requeues_ < setup_.max_requeues) {
    ++requeues_;
    --current().attempts;
    ++counts_.retries;
    return at(index_, now);
  }
  RetryInput in;
  in.retryable = traits.retryable;
  in.fallback_allowed = traits.fallback;
  in.wait_hint = c.wait;
  in.attempts_total = attempts_total_;
  in.attempts_on_candidate = current().attempts;
  in.has_next_candidate = index_ + 1 < candidates_.size();
  in.now = now;
  in.deadline = setup_.deadline;
  in.other_key_ready = traits.rotate_key && a.another_key_free;
  const RetryDecision d = decide_retry(in, retry_, budget_, rng_);
  if (std::holds_alternative<Stop>(d)) return give_up(now);
  if (std::holds_alternative<NextCandidate>(d)) {
    // Failed here, and the class lets another candidate try: not waited
    // for again by this request.
    current().availability = {Kind::kNever};
    return move_on(std::string(to_string(c.cls)), now);
  }
  ++counts_.retries;
  if (const auto* after = std::get_if<RetryAfter>(&d)) {
    return wait_until(now + after->wait, now, false);
  }
  return at(index_, now);  // RotateKey: at once, with the key the pool picks next
}

Action RequestRun::give_up(TimePoint now) {
  // When any candidate frees up, for Retry-After.
  std::optional<TimePoint> earliest_free;
  for (const Candidate& c : candidates_) {
    const CandidateAvailability& a = c.availability;
    if (a.kind == Kind::kNever || a.kind == Kind::kUntried || !a.free_at) continue;
    if (!earliest_free || *a.free_at < *earliest_free) earliest_free = a.free_at;
  }
  std::optional<Duration> retry_after;
  if (earliest_free) {
    retry_after = std::max(*earliest_free - now, Duration(std::chrono::milliseconds(1)));
  }
  const std::string why = join(skipped_);
  if (last_) {
    const Classification& c = *last_;
    std::string message = "upstream " + last_where_ + " failed: " + std::string(to_string(c.cls));
    // An auth error's own words may quote the key.
    if (c.cls != ErrorClass::kAuth && c.cls != ErrorClass::kAuthPermanent && !c.message.empty()) {
      message += ": " + c.message;
    }
    if (!why.empty()) message += " (" + why + ")";
    return Finish{.ending = Ending::kUpstreamError,
                  .route = last_where_,
                  .detail = why,
                  .cls = c.cls,
                  .reply = Reply{.status = c.traits.client_status,
                                 .code = ascii_lower(to_string(c.cls)),
                                 .message = std::move(message),
                                 .retry_after = c.wait ? c.wait : retry_after,
                                 .should_retry = c.traits.retryable}};
  }
  if (refusal_ && attempts_total_ == 0 && !earliest_free) {
    // Nothing was tried because the request cannot be put in a candidate's
    // API: the caller's to fix, so not retryable — unless sluice's own state
    // store could not be read, which is sluice's trouble, not the caller's.
    const bool ours = refusal_->ours;
    return Finish{
        .ending = Ending::kRefused,
        .detail = why,
        .reply = Reply{.status = ours ? 503 : 400,
                       .code = refusal_->code,
                       .message = refusal_->message,
                       .retry_after = ours ? std::optional<Duration>(kBusyRetry) : std::nullopt,
                       .should_retry = ours}};
  }
  std::string message = "no route candidate for \"" + setup_.alias + "\" can take a request now";
  if (!why.empty()) message += " (" + why + ")";
  return Finish{.ending = Ending::kRefused,
                .detail = why,
                .reply = Reply{.status = 429,
                               .code = "sluice_capacity",
                               .message = std::move(message),
                               .retry_after = retry_after.value_or(kBusyRetry),
                               .should_retry = true}};
}

}  // namespace sluice::policy
