#include "sluice/server/state_backends.hpp"

#include "sluice/core/log.hpp"
#include "sluice/state/memory_store.hpp"
#include "sluice/state/redis/redis_store.hpp"
#include "sluice/state/sqlite/sqlite_store.hpp"
#include "sluice/state/write_behind_store.hpp"

namespace sluice::server {
namespace {

// Said once when Redis goes away and once when it is back.
void log_redis_state(bool up, const std::string& why) {
  if (up) {
    LogLine("info", "redis_rejoined").kv("note", "shared limits are back");
  } else {
    LogLine("warn", "redis_unavailable")
        .kv("error", why)
        .kv("note", "serving on local limits until Redis answers");
  }
}

// Writes to a file or to Redis are made on a worker thread, so the thread
// serving requests never waits for one (a Redis 5 ms away made every request
// wait 10 ms behind each Responses turn it kept). A failure is logged as the
// engine logs its own, once until the error changes.
std::unique_ptr<state::Store> written_behind(std::unique_ptr<state::Store> backend) {
  return std::make_unique<state::WriteBehindStore>(
      std::move(backend),
      state::WriteBehindStore::Options{
          .on_error =
              [last = std::string()](std::string_view op, const state::StoreError& e) mutable {
                if (e.message == last) return;
                last = e.message;
                LogLine("warn", "state_store_error").kv("op", op).kv("error", e.message);
              },
          .on_close =
              [](std::size_t queued) {
                LogLine("info", "state_closing")
                    .kv("queued_writes", static_cast<std::int64_t>(queued))
                    .kv("note", "making them before the process goes on");
              }});
}

// A damaged SQLite file is moved aside and sluice starts empty, saying so: a
// gateway that refuses to start over a cache of cooldowns would be worse
// than one that re-learns them.
std::unique_ptr<state::Store> open_local(const config::StateConfig& sc) {
  if (sc.backend == config::StateBackend::kSqlite) {
    auto opened =
        state::SqliteStore::open({.path = sc.path, .on_bad_file = state::OnBadFile::kStartEmpty});
    if (opened.ok()) {
      for (const auto& w : opened.value().warnings) LogLine("warn", "state").kv("warning", w);
      LogLine("info", "state").kv("backend", "sqlite").kv("path", sc.path);
      return written_behind(std::move(opened.value().store));
    }
    LogLine("error", "state")
        .kv("backend", "sqlite")
        .kv("path", sc.path)
        .kv("error", opened.error().message)
        .kv("fallback", "memory");
  }
  return std::make_unique<state::MemoryStore>();
}

}  // namespace

std::string open_state(const config::StateConfig& sc, StateBackends& out) {
  if (sc.backend != config::StateBackend::kRedis) {
    out.store = open_local(sc);
    return {};
  }
  auto store = state::RedisStore::open({.url = sc.url, .prefix = sc.key_prefix});
  if (!store.ok()) return store.error().message;
  for (const auto& w : store.value()->info().warnings) LogLine("warn", "state").kv("warning", w);
  LogLine("info", "state")
      .kv("backend", "redis")
      .kv("url", store.value()->info().location)
      .kv("lease_ttl_s", to_seconds(sc.lease_ttl));
  auto coordinator = state::RedisCoordinator::open({.url = sc.url,
                                                    .prefix = sc.key_prefix,
                                                    .lease_ttl = sc.lease_ttl,
                                                    .on_state_change = log_redis_state});
  if (!coordinator.ok()) return coordinator.error().message;
  out.store = written_behind(std::move(store.value()));
  out.coordinator = std::move(coordinator.value());
  return {};
}

void listen_for_cooldowns(const config::StateConfig& sc, StateBackends& backends,
                          std::function<void(std::string key_scope)> apply) {
  if (!backends.coordinator) return;
  auto target = state::parse_redis_url(sc.url);
  if (!target.ok()) return;  // open_state refused it already
  backends.events = std::make_unique<state::RedisEvents>(
      target.value(), state::redis_events_channel(sc.key_prefix),
      [apply = std::move(apply)](std::string message) {
        constexpr std::string_view kCooldown = "cooldown\n";
        if (message.starts_with(kCooldown)) apply(message.substr(kCooldown.size()));
      });
}

}  // namespace sluice::server
