#pragma once
// The state backend a config's `state:` asks for, opened once for whoever
// hosts an engine: `sluice serve` and libsluice's in-process engine, so both
// see the same cooldowns, limits and budgets the same way.
#include <functional>
#include <memory>
#include <string>

#include "sluice/config/gateway_config.hpp"
#include "sluice/state/coordinator.hpp"
#include "sluice/state/redis/redis_coordinator.hpp"
#include "sluice/state/store.hpp"

namespace sluice::server {

struct StateBackends {
  std::unique_ptr<state::Store> store;
  std::unique_ptr<state::Coordinator> coordinator;  // Redis mode only
  std::unique_ptr<state::RedisEvents> events;       // Redis mode: others' cooldowns
};

// Opens `state:`. SQLite: a damaged file is moved aside and the engine starts
// empty, saying so; one that cannot be opened at all falls back to memory
// (also said). Redis: being down now is not fatal (local limits until it
// answers); a bad URL is. Returns why it cannot be used, or "".
std::string open_state(const config::StateConfig& sc, StateBackends& out);

// Redis mode: calls `apply(key_scope)` (on the listener's thread) whenever
// another instance changes a key's cooldown. Nothing in the other modes.
void listen_for_cooldowns(const config::StateConfig& sc, StateBackends& backends,
                          std::function<void(std::string key_scope)> apply);

}  // namespace sluice::server
