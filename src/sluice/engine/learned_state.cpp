#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

auto RequestEngine::Impl::adopt(Impl& old) -> void {
  // Map nodes keep their addresses when the map moves, so the old engine's
  // in-flight requests keep valid references to their limiter and budget.
  registry = std::move(old.registry);
  metrics = std::move(old.metrics);
  budget = old.budget;
  for (auto& [name, rt] : providers) {
    auto it = old.providers.find(name);
    if (it == old.providers.end()) continue;
    const ProviderRuntime& before = it->second;
    for (auto& k : rt.pool.keys) {
      for (const auto& ok : before.pool.keys) {
        if (ok.fingerprint == k.fingerprint) k = ok;
      }
    }
    if (rt.cfg->strategy == before.cfg->strategy && rt.pool.keys.size() == before.pool.keys.size())
      rt.pool.cursor = before.pool.cursor;
  }
  // A changed max_concurrent applies at once to limiters that exist.
  for (auto& [scope, ks] : registry.all_mutable()) {
    for (auto& [name, rt] : providers) {
      if (scope.rfind(rt.cfg->base_url + "|", 0) != 0) continue;
      if (scope.substr(rt.cfg->base_url.size() + 1) != ks.fingerprint) continue;
      for (auto& [bucket, limiter] : ks.limiters) {
        const int max = rt.cfg->max_concurrent_for(bucket);
        policy::AdaptiveLimitConfig ac;
        ac.max = max;
        ac.initial = max;
        policy::AdaptiveLimit adaptive(ac);
        if (auto a = ks.adaptive.find(bucket); a != ks.adaptive.end()) {
          adaptive.restore(a->second.current());
          a->second = adaptive;
        }
        limiter->set_limit(adaptive.current());
      }
    }
  }
}

// What an earlier run (or another instance) learned: benched keys and the
// rotation position. A key still cooling is skipped from the first request.
auto RequestEngine::Impl::load_state(ProviderRuntime& rt) -> void {
  if (!store) return;
  const TimePoint now = clock.now();
  for (auto& k : rt.pool.keys) {
    auto got = store->get_cooldown(key_scope(rt, k.fingerprint));
    if (!got.ok()) {
      store_error("get_cooldown", got.error());
      continue;
    }
    const auto& cd = got.value();
    if (!cd) continue;
    apply_cooldown(k, *cd);
    if (!state::is_active(*cd, now)) continue;
    LogLine line("warn", "key_cooling_from_state");
    line.kv("provider", rt.cfg->name)
        .kv("key", k.fingerprint)
        .kv("class", cd->cooling_class ? to_string(*cd->cooling_class) : "-")
        .kv("reason", cd->reason);
    if (cd->disabled) {
      line.kv("disabled", true);
    } else if (cd->cooling_until) {
      line.kv("remaining_s", to_seconds(*cd->cooling_until - now));
    }
  }
  auto cursor = store->get_cursor(rt.cfg->name);
  if (cursor.ok() && cursor.value()) rt.pool.cursor = *cursor.value();
}

auto RequestEngine::Impl::apply_shared_cooldown(std::string_view scope) -> void {
  if (!store) return;
  for (auto& [name, rt] : providers) {
    for (auto& k : rt.pool.keys) {
      if (key_scope(rt, k.fingerprint) != scope) continue;
      auto got = store->get_cooldown(scope);
      if (!got.ok()) {
        store_error("get_cooldown", got.error());
        return;
      }
      if (!got.value()) continue;
      const bool was_available = policy::is_available(k, clock.now());
      apply_cooldown(k, *got.value());
      if (was_available && !policy::is_available(k, clock.now())) {
        LogLine("warn", "key_cooling_from_peer")
            .kv("provider", name)
            .kv("key", k.fingerprint)
            .kv("reason", k.cooling_reason);
      }
    }
  }
}

auto RequestEngine::Impl::save_cooldown(const ProviderRuntime& rt, const std::string& fingerprint)
    -> void {
  if (!store) return;
  for (const auto& k : rt.pool.keys) {
    if (k.fingerprint != fingerprint) continue;
    state::KeyCooldown cd;
    cd.key_scope = key_scope(rt, k.fingerprint);
    cd.cooling_until = k.cooling_until;
    cd.cooling_class = k.cooling_class;
    cd.reason = k.cooling_reason;
    cd.consecutive_failures = k.consecutive_failures;
    cd.disabled = k.disabled;
    if (auto st = store->put_cooldown(cd); !st.ok()) store_error("put_cooldown", st.error());
    return;  // siblings share one scope
  }
}

auto RequestEngine::Impl::save_cursor(ProviderRuntime& rt) -> void {
  if (!store || rt.cfg->strategy != policy::SelectionStrategy::kRoundRobin) return;
  const TimePoint now = clock.now();
  if (rt.cursor_saved_at && now - *rt.cursor_saved_at < kCursorSaveEvery) return;
  rt.cursor_saved_at = now;
  if (auto st = store->put_cursor(rt.cfg->name, rt.pool.cursor); !st.ok()) {
    store_error("put_cursor", st.error());
  }
}

auto RequestEngine::Impl::save_adaptive(const ProviderRuntime& rt, const UpstreamKeyState& key,
                                        const std::string& bucket, int limit) -> void {
  if (!store) return;
  auto st = store->put_adaptive_limit(key_scope(rt, key.fingerprint), bucket, limit);
  if (!st.ok()) store_error("put_adaptive_limit", st.error());
}

auto RequestEngine::Impl::limiter_for(UpstreamKeyState& key, const ProviderRuntime& p,
                                      const std::string& model) -> policy::PriorityLimiter& {
  // z.ai caps each model separately (glm-5.1: 1, glm-4.7: 2 ...); others per key.
  const std::string bucket = p.cfg->limiter_bucket(model);
  auto it = key.limiters.find(bucket);
  if (it == key.limiters.end()) {
    const int limit = p.cfg->max_concurrent_for(model);
    it = key.limiters.emplace(bucket, std::make_unique<policy::PriorityLimiter>(limit)).first;
    policy::AdaptiveLimitConfig ac;
    ac.max = limit;
    ac.initial = limit;
    policy::AdaptiveLimit adaptive(ac);
    if (store) {  // a limit learned earlier (concurrency 429s) survives restarts
      auto learned = store->get_adaptive_limit(key_scope(p, key.fingerprint), bucket);
      if (learned.ok() && learned.value()) {
        adaptive.restore(*learned.value());
        it->second->set_limit(adaptive.current());
      }
    }
    key.adaptive.emplace(bucket, adaptive);
  }
  return *it->second;
}

auto RequestEngine::Impl::capture_budget(ModelBudget& b, const RateLimitSnapshot& snap,
                                         std::int64_t own_tokens) -> void {
  if (snap.buckets.empty() && !snap.retry_after) return;
  b.snapshot = policy::merge_same_window(b.snapshot ? &*b.snapshot : nullptr, snap);
  // Everything else in flight may or may not be counted: assume not.
  b.unaccounted_requests = std::max<std::int64_t>(0, b.in_flight - 1);
  b.unaccounted_tokens = std::max<std::int64_t>(0, b.in_flight_tokens - own_tokens);
}

auto RequestEngine::Impl::learn_success(const Attempt& a) -> void {
  ProviderRuntime& p = a.p;
  const bool had_streak = p.pool.keys[a.key_index].consecutive_failures > 0;
  p.pool = policy::record_success(std::move(p.pool), a.key_index);
  // A streak the store still holds would double the next cooldown after a
  // restart: written once, when it ends (not on every success).
  if (had_streak) save_cooldown(p, p.pool.keys[a.key_index].fingerprint);
  const std::string bucket = p.cfg->limiter_bucket(a.model);
  if (a.key.adaptive.at(bucket).on_success(a.in_flight_at_send, clock.now())) {
    limit_moved(a, bucket);
  }
}

auto RequestEngine::Impl::learn_failure(std::string_view alias, const Attempt& a,
                                        const policy::Classification& c) -> void {
  ProviderRuntime& p = a.p;
  const policy::ClassTraits& traits = c.traits;
  if ((traits.cool_key && !traits.lower_limit) || traits.disable_key) {
    policy::KeyFailure kf;
    kf.cls = c.cls;
    kf.cooldown = c.cooldown.value_or(traits.default_cooldown);
    kf.from_provider_hint = c.wait.has_value() && c.cooldown && *c.cooldown == *c.wait;
    kf.disable = traits.disable_key;
    kf.reason = std::string(to_string(c.cls)) + " via " + c.rule;
    p.pool = policy::record_failure(std::move(p.pool), a.key_index, kf, clock.now(), {});
    const policy::KeyState& k = p.pool.keys[a.key_index];
    save_cooldown(p, k.fingerprint);
    metrics.event({.at = clock.now(),
                   .kind = "cooldown",
                   .alias = std::string(alias),
                   .where = p.cfg->name + " " + k.fingerprint,
                   .cls = std::string(to_string(c.cls)),
                   .detail = k.cooling_reason});
  }
  if (traits.lower_limit) {
    const std::string bucket = p.cfg->limiter_bucket(a.model);
    if (a.key.adaptive.at(bucket).on_concurrency_limit(clock.now(), a.in_flight_at_send)) {
      limit_moved(a, bucket);
    }
  }
}

auto RequestEngine::Impl::limit_moved(const Attempt& a, const std::string& bucket) -> void {
  const int limit = a.key.adaptive.at(bucket).current();
  a.limiter.set_limit(limit);
  save_adaptive(a.p, a.key, bucket, limit);
}

}  // namespace sluice::engine
