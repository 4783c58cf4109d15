#include "sluice/state/redis/redis_store.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "sluice/state/snapshot_codec.hpp"

namespace sluice::state {
namespace {

constexpr int kSchemaVersion = 1;

// "<size>:<bytes>" for each part: injective whatever bytes the parts hold.
std::string composite(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    out += std::to_string(p.size());
    out += ':';
    out.append(p.data(), p.size());
  }
  return out;
}

template <class Int>
bool parse_number(std::string_view s, Int& out) {
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end;
}

// One cooldown as "until\nclass\nfailures\ndisabled\nreason": reason last, so
// it may hold any byte.
std::string encode_cooldown(const KeyCooldown& c) {
  std::string out;
  out += c.cooling_until ? std::to_string(c.cooling_until->time_since_epoch().count()) : "-";
  out += '\n';
  out += c.cooling_class ? std::string(to_string(*c.cooling_class)) : "-";
  out += '\n';
  out += std::to_string(c.consecutive_failures);
  out += '\n';
  out += c.disabled ? "1" : "0";
  out += '\n';
  out += c.reason;
  return out;
}

std::optional<KeyCooldown> decode_cooldown(std::string_view scope, std::string_view v) {
  std::string_view fields[4];
  for (auto& f : fields) {
    const auto nl = v.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    f = v.substr(0, nl);
    v.remove_prefix(nl + 1);
  }
  KeyCooldown c;
  c.key_scope = std::string(scope);
  if (fields[0] != "-") {
    std::int64_t ns = 0;
    if (!parse_number(fields[0], ns)) return std::nullopt;
    c.cooling_until = TimePoint(Duration(ns));
  }
  if (fields[1] != "-") {
    c.cooling_class = error_class_from_string(fields[1]);
    if (!c.cooling_class) return std::nullopt;
  }
  if (!parse_number(fields[2], c.consecutive_failures)) return std::nullopt;
  if (fields[3] != "0" && fields[3] != "1") return std::nullopt;
  c.disabled = fields[3] == "1";
  c.reason = std::string(v);
  return c;
}

// Adds both counters atomically, saturating at INT64_MAX (HINCRBY refuses to
// overflow; pcall turns that refusal into the cap).
constexpr std::string_view kAddUsage = R"lua(
local out = {}
for i = 1, 2 do
  local ok = redis.pcall('HINCRBY', KEYS[i], ARGV[1], ARGV[i + 1])
  if type(ok) == 'table' and ok.err then
    redis.call('HSET', KEYS[i], ARGV[1], '9223372036854775807')
  end
  -- The stored string, not a Lua number: doubles lose digits near INT64_MAX.
  out[i] = redis.call('HGET', KEYS[i], ARGV[1])
end
return out
)lua";

}  // namespace

std::string redis_events_channel(const std::string& prefix) { return prefix + "events"; }
std::string cooldown_event(std::string_view key_scope) {
  return "cooldown\n" + std::string(key_scope);
}

RedisStore::RedisStore(RedisStoreOptions options, RedisTarget target)
    : options_(std::move(options)) {
  RedisOptions ro;
  ro.target = std::move(target);
  ro.on_state_change = options_.on_state_change;
  client_ = std::make_unique<RedisClient>(std::move(ro));
}

Result<std::unique_ptr<RedisStore>> RedisStore::open(RedisStoreOptions options) {
  auto target = parse_redis_url(options.url);
  if (!target.ok()) return target.error();
  std::unique_ptr<RedisStore> store(new RedisStore(std::move(options), std::move(target.value())));
  // Claim or check the schema version; a newer one is refused like SQLite's.
  auto r = store->call({"SET", store->key("schema"), std::to_string(kSchemaVersion), "NX", "GET"});
  if (!r.ok()) {
    store->warnings_.push_back("redis unreachable at start (" + r.error().message +
                               "); serving on local state until it answers");
  } else if (r.value().type == RedisReply::Type::kString) {
    int version = 0;
    if (!parse_number(r.value().str, version) || version > kSchemaVersion) {
      return StoreError{"redis " + store->client_->display() + ": key " + store->key("schema") +
                        " holds schema \"" + r.value().str + "\", newer than this sluice (" +
                        std::to_string(kSchemaVersion) + "); refusing to guess"};
    }
  }
  return store;
}

Result<RedisReply> RedisStore::call(const std::vector<std::string>& argv) {
  auto r = client_->command(argv);
  if (!r.ok()) {
    last_error_ = r.error().message;
    return r;
  }
  if (r.value().is_error()) {
    return refused(argv.front(), r.value().str);
  }
  return r;
}

Result<std::optional<std::string>> RedisStore::hget(std::string_view hash, std::string_view field) {
  auto r = call({"HGET", key(hash), std::string(field)});
  if (!r.ok()) return r.error();
  if (r.value().is_nil()) return std::nullopt;
  return std::optional<std::string>(std::move(r.value().str));
}

Status RedisStore::write(std::string_view op, std::vector<std::vector<std::string>> commands) {
  if (batching_) {
    batch_writes_.emplace_back(std::string(op), commands.size());
    for (auto& c : commands) batch_.push_back(std::move(c));
    return Done{};
  }
  auto replies = client_->pipeline(commands);
  if (!replies.ok()) {
    last_error_ = replies.error().message;
    return replies.error();
  }
  if (auto failed = check_replies(op, replies.value(), 0, replies.value().size())) return *failed;
  return Done{};
}

std::optional<StoreError> RedisStore::check_replies(std::string_view op,
                                                    const std::vector<RedisReply>& replies,
                                                    std::size_t from, std::size_t count) {
  for (std::size_t i = from; i < from + count && i < replies.size(); ++i) {
    if (replies[i].is_error()) {
      return refused(std::string(op), replies[i].str);
    }
  }
  return std::nullopt;
}

void RedisStore::begin_writes() { batching_ = true; }

std::vector<Store::FailedWrite> RedisStore::end_writes() {
  batching_ = false;
  std::vector<FailedWrite> failed;
  if (batch_.empty()) return failed;
  auto replies = client_->pipeline(batch_);
  std::size_t at = 0;
  for (const auto& [op, count] : batch_writes_) {
    if (!replies.ok()) {
      failed.push_back({op, replies.error()});
    } else if (auto e = check_replies(op, replies.value(), at, count)) {
      failed.push_back({op, *e});
    }
    at += count;
  }
  if (!replies.ok()) last_error_ = replies.error().message;
  batch_.clear();
  batch_writes_.clear();
  return failed;
}

Status RedisStore::put_cooldown(const KeyCooldown& cooldown) {
  return write(
      "put_cooldown",
      {{"HSET", key("cooldowns"), cooldown.key_scope, encode_cooldown(cooldown)},
       {"PUBLISH", redis_events_channel(options_.prefix), cooldown_event(cooldown.key_scope)}});
}

Result<std::optional<KeyCooldown>> RedisStore::get_cooldown(std::string_view key_scope) {
  auto v = hget("cooldowns", key_scope);
  if (!v.ok()) return v.error();
  if (!v.value()) return std::nullopt;
  auto c = decode_cooldown(key_scope, *v.value());
  if (!c) return StoreError{"redis: the cooldown record for a key is damaged; ignoring it"};
  return c;
}

Status RedisStore::erase_cooldown(std::string_view key_scope) {
  return write("erase_cooldown", {{"HDEL", key("cooldowns"), std::string(key_scope)}});
}

Result<std::vector<KeyCooldown>> RedisStore::list_cooldowns() {
  auto r = call({"HGETALL", key("cooldowns")});
  if (!r.ok()) return r.error();
  std::vector<KeyCooldown> out;
  const auto& e = r.value().elements;
  for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
    if (auto c = decode_cooldown(e[i].str, e[i + 1].str)) out.push_back(std::move(*c));
  }
  std::sort(out.begin(), out.end(),
            [](const KeyCooldown& a, const KeyCooldown& b) { return a.key_scope < b.key_scope; });
  return out;
}

Status RedisStore::put_cursor(std::string_view pool_id, std::size_t cursor) {
  return write("put_cursor",
               {{"HSET", key("cursors"), std::string(pool_id), std::to_string(cursor)}});
}

Result<std::optional<std::size_t>> RedisStore::get_cursor(std::string_view pool_id) {
  auto v = hget("cursors", pool_id);
  if (!v.ok()) return v.error();
  if (!v.value()) return std::nullopt;
  std::size_t cursor = 0;
  if (!parse_number(*v.value(), cursor)) return StoreError{"redis: a rotation cursor is damaged"};
  return std::optional<std::size_t>(cursor);
}

Status RedisStore::put_adaptive_limit(std::string_view key_scope, std::string_view bucket,
                                      int limit) {
  return write("put_adaptive_limit",
               {{"HSET", key("adaptive"), composite({key_scope, bucket}), std::to_string(limit)}});
}

Result<std::optional<int>> RedisStore::get_adaptive_limit(std::string_view key_scope,
                                                          std::string_view bucket) {
  auto v = hget("adaptive", composite({key_scope, bucket}));
  if (!v.ok()) return v.error();
  if (!v.value()) return std::nullopt;
  int limit = 0;
  if (!parse_number(*v.value(), limit)) return StoreError{"redis: an adaptive limit is damaged"};
  return std::optional<int>(limit);
}

Status RedisStore::put_snapshot(std::string_view key_scope, std::string_view model,
                                const RateLimitSnapshot& snapshot) {
  return write("put_snapshot", {{"HSET", key("snapshots"), composite({key_scope, model}),
                                 encode_snapshot(snapshot)}});
}

Result<std::optional<RateLimitSnapshot>> RedisStore::get_snapshot(std::string_view key_scope,
                                                                  std::string_view model) {
  auto v = hget("snapshots", composite({key_scope, model}));
  if (!v.ok()) return v.error();
  if (!v.value()) return std::nullopt;
  auto s = decode_snapshot(*v.value());
  if (!s) return StoreError{"redis: a rate-limit snapshot is damaged; ignoring it"};
  return s;
}

Result<UsageCounts> RedisStore::add_usage(const UsageKey& key_, UsageCounts delta) {
  if (auto bad = detail::check_usage_delta(delta)) return *bad;
  auto r = client_->eval(kAddUsage, {key("usage:requests"), key("usage:tokens")},
                         {composite({key_.key_scope, key_.model, key_.day}),
                          std::to_string(delta.requests), std::to_string(delta.tokens)});
  if (!r.ok()) {
    last_error_ = r.error().message;
    return r.error();
  }
  if (r.value().is_error() || r.value().elements.size() != 2) {
    return refused("add_usage", r.value().str);
  }
  UsageCounts out;
  if (!parse_number(r.value().elements[0].str, out.requests) ||
      !parse_number(r.value().elements[1].str, out.tokens)) {
    return client_->error("add_usage", "unexpected reply");
  }
  return out;
}

Result<UsageCounts> RedisStore::get_usage(const UsageKey& key_) {
  const std::string field = composite({key_.key_scope, key_.model, key_.day});
  auto replies = client_->pipeline(
      {{"HGET", key("usage:requests"), field}, {"HGET", key("usage:tokens"), field}});
  if (!replies.ok()) return replies.error();
  UsageCounts out;
  const auto& r = replies.value();
  if ((!r[0].is_nil() && !parse_number(r[0].str, out.requests)) ||
      (!r[1].is_nil() && !parse_number(r[1].str, out.tokens))) {
    return client_->error("get_usage", "a usage counter is damaged");
  }
  return out;
}

// One key per conversation, "<expires ns>\n<text>": Redis drops it a little
// after it expires by its own clock, and the expiry inside the value lets
// get_conversation honour the caller's `now` exactly, as the other backends do.
Status RedisStore::put_conversation(std::string_view response_id, std::string_view conversation,
                                    TimePoint now, TimePoint expires) {
  if (expires <= now) {  // gone at once: nothing of it stays
    return write("put_conversation", {{"DEL", key("conversation:" + std::string(response_id))}});
  }
  const auto ttl_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(expires - now).count() + 1000;
  std::string value = std::to_string(expires.time_since_epoch().count());
  value += '\n';
  value.append(conversation.data(), conversation.size());
  return write("put_conversation", {{"SET", key("conversation:" + std::string(response_id)),
                                     std::move(value), "PX", std::to_string(ttl_ms)}});
}

Result<std::optional<std::string>> RedisStore::get_conversation(std::string_view response_id,
                                                                TimePoint now) {
  auto r = call({"GET", key("conversation:" + std::string(response_id))});
  if (!r.ok()) return r.error();
  if (r.value().is_nil()) return std::nullopt;
  std::string_view v = r.value().str;
  const auto nl = v.find('\n');
  std::int64_t expires_ns = 0;
  if (nl == std::string_view::npos || !parse_number(v.substr(0, nl), expires_ns)) {
    return StoreError{last_error_ = "redis: a stored conversation is damaged; ignoring it"};
  }
  if (TimePoint(Duration(expires_ns)) <= now) return std::nullopt;
  return std::optional<std::string>(std::string(v.substr(nl + 1)));
}

StoreInfo RedisStore::info() const {
  StoreInfo i;
  i.backend = "redis";
  i.location = client_->display();
  i.schema_version = kSchemaVersion;
  i.warnings = warnings_;
  i.last_error = last_error_;
  return i;
}

}  // namespace sluice::state
