// The policy mode (libsluice): a caller that sends its own requests takes a
// slot for (provider, key, model) and reports what came back. The slot is
// admitted as one of the engine's own attempts is — a key that is not
// cooling, the provider's budget, a concurrency slot by priority, a Redis
// lease — and the report is learned as an attempt's outcome is, so an
// in-process caller and a running gateway share limits and cooldowns.
#include "sluice/engine/engine_impl.hpp"
#include "sluice/policy/errors/outcome_json.hpp"

namespace sluice::engine {

// Counts the slot in its budget's in-flight figures while it is held.
struct SlotGrant {
  ModelBudget* budget = nullptr;
  std::int64_t tokens = 0;
  int in_flight_at_send = 0;
  SharedLease lease;
  policy::Permit permit;  // after the lease: given back first, like an attempt's
  ~SlotGrant() {
    if (budget) {
      --budget->in_flight;
      budget->in_flight_tokens -= tokens;
    }
  }
};

namespace {

// "No deadline" still needs a bound for the limiter's queue and the throttle.
constexpr Duration kForever = std::chrono::hours(24 * 365);

std::string names_of(const std::map<std::string, ProviderRuntime>& providers) {
  std::string s;
  for (const auto& [name, p] : providers) s += (s.empty() ? "" : ", ") + name;
  return s;
}

// z.ai caps each model on its own; elsewhere one limit covers the key, and a
// slot or a report needs no model.
bool per_model_limits(const ProviderRuntime& p) { return !p.cfg->limiter_bucket("m").empty(); }

std::optional<std::size_t> key_index_of(const policy::PoolState& pool, std::string_view fp) {
  for (std::size_t i = 0; i < pool.keys.size(); ++i) {
    if (pool.keys[i].fingerprint == fp) return i;
  }
  return std::nullopt;
}

}  // namespace

auto RequestEngine::Impl::cancellable_sleep(TimePoint until, SlotCancel* cancel)
    -> awaitable<void> {
  const std::unique_ptr<ports::Timer> timer = timers.at(until);
  if (cancel) {
    if (cancel->cancelled) co_return;
    cancel->waiting = timer.get();
  }
  co_await timer->wait();
  if (cancel) cancel->waiting = nullptr;
}

auto RequestEngine::Impl::pick_slot_key(ProviderRuntime& p, std::optional<std::size_t> wanted,
                                        TimePoint now) -> KeyPick {
  KeyPick pick;
  if (wanted) {
    const policy::KeyState& k = p.pool.keys[*wanted];
    if (k.disabled) {
      pick.refusal_code = "key_disabled";
      pick.refusal =
          "key " + k.fingerprint + " of " + p.cfg->name + " is disabled: " + k.cooling_reason;
      return pick;
    }
    if (cooling(k, now)) {
      pick.free_at = k.cooling_until;
    } else {
      pick.index = wanted;
    }
    return pick;
  }
  auto sel = policy::select_key(std::move(p.pool), p.cfg->strategy, now, rng);
  p.pool = std::move(sel.next);
  save_cursor(p);
  pick.index = sel.index;
  if (!pick.index) {
    pick.free_at = policy::next_available_at(p.pool, now);
    if (!pick.free_at) {
      pick.refusal_code = "keys_disabled";
      pick.refusal = "every key of " + p.cfg->name + " is disabled";
    }
  }
  return pick;
}

auto RequestEngine::Impl::acquire_slot(SlotRequest r, std::shared_ptr<SlotCancel> cancel)
    -> awaitable<Slot> {
  Slot out;
  const auto refuse = [&](std::string code, std::string message,
                          std::optional<Duration> retry_after = std::nullopt) {
    out.code = std::move(code);
    out.message = std::move(message);
    if (retry_after) out.retry_after = std::max(Duration::zero(), *retry_after);
    return out;
  };
  SlotTarget target = slot_target(r);
  if (!target.refusal_code.empty()) {
    co_return refuse(std::move(target.refusal_code), std::move(target.refusal));
  }
  ProviderRuntime& p = *target.provider;
  const std::string where = r.provider + "/" + r.model;
  // A deadline already due still gets one look (timeout 0: "only if free now").
  for (bool first = true;; first = false) {
    if (cancel->cancelled) co_return refuse("cancelled", "the wait for a slot was cancelled");
    const TimePoint now = clock.now();
    if (!first && r.deadline && now >= *r.deadline) {
      co_return refuse("deadline", "no slot on " + where + " before the deadline");
    }
    const Duration left = r.deadline ? std::max(Duration::zero(), *r.deadline - now) : kForever;

    // 1. A key that is not cooling: the one asked for, or the pool's pick.
    KeyPick pick = pick_slot_key(p, target.wanted, now);
    if (!pick.refusal_code.empty()) {
      co_return refuse(std::move(pick.refusal_code), std::move(pick.refusal));
    }
    if (!pick.index) {
      const TimePoint free_at = *pick.free_at;
      if (free_at - now > left) {
        co_return refuse("keys_cooling",
                         target.wanted
                             ? "key " + r.key_fingerprint + " of " + r.provider +
                                   " is cooling: " + p.pool.keys[*target.wanted].cooling_reason
                             : "every key of " + r.provider + " is cooling",
                         free_at - now);
      }
      const TimePoint wake_at = free_at + wake_delay(r.priority);
      co_await cancellable_sleep(wake_at, cancel.get());
      continue;
    }
    // A copy: the pool is replaced while this coroutine waits.
    const std::string fingerprint = p.pool.keys[*pick.index].fingerprint;
    UpstreamKeyState& key_state = registry.key(p.cfg->base_url, fingerprint);
    ModelBudget& mb = key_state.budgets[r.model];

    // 2. The provider's budget, as its headers last said.
    policy::ThrottleInput ti = throttle_input(p, mb, now, r.estimated_tokens, 0);
    ti.max_wait = left;
    ti.deadline = r.deadline;
    const policy::ThrottleDecision td = policy::decide_throttle(ti);
    if (td.kind == policy::ThrottleDecision::Kind::kNotBefore) {
      co_return refuse("budget_spent",
                       "budget " + td.bucket + " of " + where + " is spent until its reset",
                       td.until - now);
    }
    if (td.kind == policy::ThrottleDecision::Kind::kWait) {
      const TimePoint wake_at = td.until + wake_delay(r.priority);
      co_await cancellable_sleep(wake_at, cancel.get());
      continue;
    }

    // 3. A concurrency slot on this key, by priority.
    policy::PriorityLimiter& limiter = limiter_for(key_state, p, r.model);
    auto grant = std::make_shared<SlotGrant>();
    grant->lease.coordinator = coordinator;
    std::optional<policy::Permit> permit = limiter.try_acquire(r.priority);
    if (!permit) permit = co_await acquire(limiter, r.priority, left, cancel.get());
    if (!permit) {
      if (cancel->cancelled) continue;  // said at the top
      co_return refuse("no_slot",
                       "no concurrency slot on " + where + " (limit " +
                           std::to_string(limiter.limit()) + ") before the deadline",
                       std::chrono::seconds(1));
    }
    if (clock.now() > now) {  // replies that came in meanwhile may have spent the budget
      if (policy::decide_throttle(refreshed(ti, mb, clock.now())).kind !=
          policy::ThrottleDecision::Kind::kSendNow) {
        continue;
      }
    }

    // 3b. Redis mode: free across every instance too, and within the budget
    // they spend together.
    if (coordinator) {
      grant->lease.request =
          lease_request(p, fingerprint, r.model, limiter.limit(), r.estimated_tokens);
      const TimePoint give_up = now + left;
      SharedStep step = co_await share_slot(grant->lease, mb, ti, give_up, cancel.get(), where);
      if (step.kind == SharedStep::Kind::kAgain) continue;
      if (step.kind == SharedStep::Kind::kRefuse) {
        co_return refuse(std::move(step.code), std::move(step.message), step.retry_after);
      }
    }
    if (cancel->cancelled) co_return refuse("cancelled", "the wait for a slot was cancelled");

    co_return granted_slot(r, mb, std::move(grant), limiter.in_flight(), std::move(*permit),
                           fingerprint, *pick.index);
  }
}

// The driver's reading of an admission (shared_event, handle.cpp's Share
// step), acted on for a slot.
auto RequestEngine::Impl::share_slot(SharedLease& lease, const ModelBudget& mb,
                                     const policy::ThrottleInput& ti, TimePoint give_up,
                                     SlotCancel* cancel, const std::string& where)
    -> awaitable<SharedStep> {
  SharedStep step;
  const state::Admission admission = co_await admit_shared(lease, give_up, cancel);
  const auto shared = std::get<policy::Shared>(
      shared_event(admission, lease, mb, refreshed(ti, mb, clock.now()), clock.now()));
  if (shared.kind == policy::Shared::Kind::kBusy) {
    if (cancel->cancelled) {
      step.kind = SharedStep::Kind::kAgain;  // said at the top
    } else {
      step.kind = SharedStep::Kind::kRefuse;
      step.code = "no_slot";
      step.message = "no concurrency slot on " + where + " across instances before the deadline";
      step.retry_after = std::chrono::seconds(1);
    }
    co_return step;
  }
  if (!shared.budget) co_return step;
  const policy::ThrottleDecision sd = policy::decide_throttle(*shared.budget);
  if (sd.kind == policy::ThrottleDecision::Kind::kSendNow) co_return step;
  lease.release(true);  // not sent: uncount it
  if (sd.kind == policy::ThrottleDecision::Kind::kNotBefore) {
    step.kind = SharedStep::Kind::kRefuse;
    step.code = "budget_spent";
    step.message = "shared budget " + sd.bucket + " of " + where + " is spent until its reset";
    step.retry_after = sd.until - clock.now();
    co_return step;
  }
  co_await cancellable_sleep(sd.until, cancel);
  step.kind = SharedStep::Kind::kAgain;
  co_return step;
}

auto RequestEngine::Impl::slot_target(const SlotRequest& r) -> SlotTarget {
  SlotTarget target;
  const auto refuse = [&](std::string code, std::string message) {
    target.refusal_code = std::move(code);
    target.refusal = std::move(message);
    return target;
  };
  auto pit = providers.find(r.provider);
  if (pit == providers.end()) {
    return refuse("unknown_provider", "no provider \"" + r.provider +
                                          "\" in the config; providers: " + names_of(providers));
  }
  target.provider = &pit->second;
  if (r.model.empty() && per_model_limits(*target.provider)) {
    return refuse("missing_model", r.provider +
                                       " limits each model separately: name the upstream "
                                       "model the request is for");
  }
  if (!r.key_fingerprint.empty()) {
    target.wanted = key_index_of(target.provider->pool, r.key_fingerprint);
    if (!target.wanted) {
      return refuse("unknown_key", "key " + r.key_fingerprint + " is not one of " + r.provider +
                                       "'s keys (providers." + r.provider + ".keys in the config)");
    }
  }
  return target;
}

auto RequestEngine::Impl::granted_slot(const SlotRequest& r, ModelBudget& mb,
                                       std::shared_ptr<SlotGrant> grant, int in_flight,
                                       policy::Permit permit, std::string fingerprint,
                                       std::size_t key_index) -> Slot {
  ++mb.in_flight;
  mb.in_flight_tokens += r.estimated_tokens;
  ++mb.unaccounted_requests;
  mb.unaccounted_tokens += r.estimated_tokens;
  grant->budget = &mb;
  grant->tokens = r.estimated_tokens;
  grant->in_flight_at_send = in_flight;
  grant->permit = std::move(permit);
  Slot out;
  out.granted = true;
  out.provider = r.provider;
  out.model = r.model;
  out.key_fingerprint = std::move(fingerprint);
  out.key_index = key_index;
  out.grant = std::move(grant);
  return out;
}

auto RequestEngine::Impl::learn(const Learning& l) -> std::string {
  const auto error = [](std::string message) { return json_text(json{{"error", message}}); };
  auto pit = providers.find(l.provider);
  if (pit == providers.end()) {
    return error("no provider \"" + l.provider +
                 "\" in the config; providers: " + names_of(providers));
  }
  ProviderRuntime& p = pit->second;
  if (l.model.empty() && per_model_limits(p)) {
    return error("model: " + l.provider + " limits each model separately: name the model");
  }
  std::optional<std::size_t> key_index;
  if (l.slot && l.slot->granted) {
    key_index = l.slot->key_index;
  } else if (!l.key_fingerprint.empty()) {
    key_index = key_index_of(p.pool, l.key_fingerprint);
    if (!key_index) {
      return error("key " + l.key_fingerprint + " is not one of " + l.provider + "'s keys");
    }
  } else if (p.pool.keys.size() == 1) {
    key_index = 0;
  } else {
    return error("key: " + l.provider + " has " + std::to_string(p.pool.keys.size()) +
                 " keys; say which one the request was sent with");
  }
  policy::UpstreamOutcome outcome = l.outcome;
  outcome.dialect = p.cfg->dialect;
  outcome.now = clock.now();
  const policy::Classification c = policy::classify(outcome, rules);
  const std::string fingerprint = p.pool.keys[*key_index].fingerprint;
  UpstreamKeyState& key_state = registry.key(p.cfg->base_url, fingerprint);
  ModelBudget& mb = key_state.budgets[l.model];
  policy::PriorityLimiter& limiter = limiter_for(key_state, p, l.model);
  const SlotGrant* grant = l.slot && l.slot->granted ? l.slot->grant.get() : nullptr;
  capture_budget(mb, c.ratelimit, grant ? grant->tokens : 0);
  if (coordinator && grant && !grant->lease.id.empty() && !c.ratelimit.buckets.empty()) {
    coordinator->share_snapshot(grant->lease.request, c.ratelimit);
  }
  metrics.upstream_attempt(p.cfg->name, policy::outcome_label(c), 0.0);
  const Attempt attempt{p,         *key_index,
                        key_state, limiter,
                        l.model,   grant ? grant->in_flight_at_send : limiter.in_flight()};
  if (c.ok) {
    learn_success(attempt);
  } else {
    learn_failure("(in-process)", attempt, c);
  }
  json j = policy::classification_to_json(c);
  const policy::KeyState& k = p.pool.keys[*key_index];
  j["key_fingerprint"] = fingerprint;
  j["key_disabled"] = k.disabled;
  const TimePoint now = clock.now();
  j["key_cooling_s"] = k.cooling_until && *k.cooling_until > now
                           ? json(to_seconds(*k.cooling_until - now))
                           : json(nullptr);
  j["limit"] = limiter.limit();
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

awaitable<Slot> RequestEngine::acquire_slot(SlotRequest request,
                                            std::shared_ptr<SlotCancel> cancel) {
  return impl_->acquire_slot(std::move(request), std::move(cancel));
}

std::string RequestEngine::learn(const Learning& learning) { return impl_->learn(learning); }

}  // namespace sluice::engine
