#include "sluice/policy/credentials/credential_pool.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "sluice/core/text.hpp"
#include "sluice/policy/errors/traits.hpp"

namespace sluice::policy {

namespace {

struct StrategyName {
  SelectionStrategy strategy;
  std::string_view name;
};
constexpr std::array<StrategyName, 4> kStrategyNames = {{
    {SelectionStrategy::kFillFirst, "fill_first"},
    {SelectionStrategy::kRoundRobin, "round_robin"},
    {SelectionStrategy::kLeastUsed, "least_used"},
    {SelectionStrategy::kRandom, "random"},
}};

// A streak longer than this doubles nothing further (the cap is reached long
// before) and keeps the counter far from overflow.
constexpr int kMaxStreak = 1 << 16;

// Failures a key may recover from by itself within seconds or minutes; a sole
// key must not be benched long for these.
bool is_transient(ErrorClass cls) {
  return cls == ErrorClass::kRateLimit || cls == ErrorClass::kConcurrencyLimit ||
         cls == ErrorClass::kAuth;
}

Duration doubled(Duration base, int times, Duration cap) {
  Duration d = std::min(base, cap);
  for (int i = 0; i < times && d > Duration::zero() && d < cap; ++i) {
    d = d > cap / 2 ? cap : d * 2;
  }
  return std::min(d, cap);
}

// True when every enabled entry in the pool is this key (or a sibling of it):
// there is nothing else to rotate to.
bool is_sole_enabled_key(const PoolState& state, const std::string& fingerprint) {
  return std::none_of(state.keys.begin(), state.keys.end(), [&](const KeyState& k) {
    return !k.disabled && k.fingerprint != fingerprint;
  });
}

std::optional<std::size_t> pick(const PoolState& state, SelectionStrategy strategy, TimePoint now,
                                Rng& rng) {
  const std::size_t n = state.keys.size();
  if (n == 0) return std::nullopt;
  const auto available = [&](std::size_t i) { return is_available(state.keys[i], now); };
  switch (strategy) {
    case SelectionStrategy::kFillFirst:
      for (std::size_t i = 0; i < n; ++i) {
        if (available(i)) return i;
      }
      return std::nullopt;
    case SelectionStrategy::kRoundRobin: {
      const std::size_t start = state.cursor % n;
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (start + k) % n;
        if (available(i)) return i;
      }
      return std::nullopt;
    }
    case SelectionStrategy::kLeastUsed: {
      std::optional<std::size_t> best;
      for (std::size_t i = 0; i < n; ++i) {
        if (available(i) && (!best || state.keys[i].uses < state.keys[*best].uses)) best = i;
      }
      return best;
    }
    case SelectionStrategy::kRandom: {
      std::uint64_t count = 0;
      for (std::size_t i = 0; i < n; ++i) count += available(i) ? 1 : 0;
      if (count == 0) return std::nullopt;
      std::uint64_t target = rng.below(count);
      for (std::size_t i = 0; i < n; ++i) {
        if (!available(i)) continue;
        if (target == 0) return i;
        --target;
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(SelectionStrategy s) {
  for (const StrategyName& entry : kStrategyNames) {
    if (entry.strategy == s) return entry.name;
  }
  return "fill_first";
}

std::optional<SelectionStrategy> selection_strategy_from_string(std::string_view name) {
  name = trim(name);
  for (const StrategyName& entry : kStrategyNames) {
    if (iequals(entry.name, name)) return entry.strategy;
  }
  return std::nullopt;
}

bool is_available(const KeyState& key, TimePoint now) {
  return !key.disabled && (!key.cooling_until || *key.cooling_until <= now);
}

bool cools_key(ErrorClass cls) {
  // One source of truth for which classes bench a key: the class traits table.
  return traits_of(cls).cool_key;
}

Selection select_key(PoolState state, SelectionStrategy strategy, TimePoint now, Rng& rng) {
  state = expire_cooldowns(std::move(state), now);
  const std::optional<std::size_t> index = pick(state, strategy, now, rng);
  if (index) {
    ++state.keys[*index].uses;
    if (strategy == SelectionStrategy::kRoundRobin) state.cursor = (*index + 1) % state.keys.size();
  }
  return Selection{index, std::move(state)};
}

PoolState record_failure(PoolState state, std::size_t index, const KeyFailure& failure,
                         TimePoint now, const PoolPolicy& policy) {
  if (index >= state.keys.size()) return state;
  const std::string fingerprint = state.keys[index].fingerprint;
  const auto for_each_sibling = [&](auto&& mark) {
    for (KeyState& key : state.keys) {
      if (key.fingerprint == fingerprint) mark(key);
    }
  };

  if (failure.disable || failure.cls == ErrorClass::kAuthPermanent) {
    for_each_sibling([&](KeyState& key) {
      key.disabled = true;
      key.cooling_until.reset();  // disabled outranks any cooldown
      key.cooling_class = failure.cls;
      key.cooling_reason = failure.reason;
    });
    return state;
  }
  // Provider-side and request-side failures say nothing about the key.
  if (!cools_key(failure.cls)) return state;

  const int streak = state.keys[index].consecutive_failures;
  Duration cooldown = std::clamp(failure.cooldown, Duration::zero(), kMaxDuration);
  if (failure.cls == ErrorClass::kRateLimit && !failure.from_provider_hint) {
    cooldown = doubled(cooldown, streak, policy.max_rate_limit_backoff);
  } else if (failure.cls == ErrorClass::kConcurrencyLimit) {
    // Applies to hints too: a concurrency slot frees when a request ends.
    cooldown = std::min(cooldown, policy.concurrency_cap);
  }
  if (is_transient(failure.cls) && !failure.from_provider_hint &&
      is_sole_enabled_key(state, fingerprint)) {
    cooldown = std::min(cooldown, policy.sole_key_transient_cap);
  }
  const TimePoint until = now + cooldown;

  for_each_sibling([&](KeyState& key) {
    if (failure.cls == ErrorClass::kRateLimit)
      key.consecutive_failures = std::min(streak + 1, kMaxStreak);
    // Never shorten a longer cooldown: the earlier verdict (a quota reset
    // hours away) is still true after a short rate-limit blip.
    if (key.cooling_until && *key.cooling_until > until) return;
    key.cooling_until = until;
    key.cooling_class = failure.cls;
    key.cooling_reason = failure.reason;
  });
  return state;
}

PoolState record_success(PoolState state, std::size_t index) {
  if (index >= state.keys.size()) return state;
  const std::string fingerprint = state.keys[index].fingerprint;
  for (KeyState& key : state.keys) {
    if (key.fingerprint == fingerprint) key.consecutive_failures = 0;
  }
  return state;
}

std::optional<TimePoint> next_available_at(const PoolState& state, TimePoint now) {
  std::optional<TimePoint> earliest;
  for (const KeyState& key : state.keys) {
    if (key.disabled) continue;
    if (is_available(key, now)) return now;
    if (!earliest || *key.cooling_until < *earliest) earliest = key.cooling_until;
  }
  return earliest;
}

PoolState expire_cooldowns(PoolState state, TimePoint now) {
  for (KeyState& key : state.keys) {
    if (key.cooling_until && *key.cooling_until <= now) {
      key.cooling_until.reset();
      // A disabled key keeps the class and reason that disabled it.
      if (!key.disabled) {
        key.cooling_class.reset();
        key.cooling_reason.clear();
      }
    }
  }
  return state;
}

}  // namespace sluice::policy
