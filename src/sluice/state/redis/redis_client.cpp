#include "sluice/state/redis/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cctype>
#include <charconv>
#include <utility>

namespace sluice::state {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

RedisReply copy_reply(const redisReply* r) {
  RedisReply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(copy_reply(r->element[i]));
      break;
    default: break;  // nil
  }
  return out;
}

struct ReplyDeleter {
  void operator()(void* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

bool parse_int(std::string_view s, int& out) {
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end;
}

}  // namespace

Result<RedisTarget> parse_redis_url(std::string_view original) {
  // The scheme is case-insensitive (RFC 3986), as the config loader treats it.
  std::string normalised(original);
  for (std::size_t i = 0; i < normalised.size() && normalised[i] != ':'; ++i) {
    normalised[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(normalised[i])));
  }
  const std::string_view url = normalised;
  RedisTarget t;
  if (url.starts_with("unix://")) {
    t.socket_path = std::string(url.substr(7));
    if (t.socket_path.empty() || t.socket_path.front() != '/') {
      return StoreError{
          "redis url: unix:// needs an absolute socket path, e.g. unix:///run/redis.sock"};
    }
    t.display = std::string(url);
    return t;
  }
  if (url.starts_with("rediss://")) {
    return StoreError{
        "redis url: rediss:// (TLS) is not supported by this build's hiredis; use a local "
        "redis:// or unix:// endpoint (or a TLS tunnel)"};
  }
  if (!url.starts_with("redis://")) {
    return StoreError{"redis url: expected redis://host:port/db or unix:///path"};
  }
  std::string_view rest = url.substr(8);
  std::string shown = "redis://";
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      t.password = std::string(userinfo);  // redis://secret@host: a bare password
      shown += "***@";
    } else {
      t.username = std::string(userinfo.substr(0, colon));
      t.password = std::string(userinfo.substr(colon + 1));
      shown += t.username + ":***@";
    }
    rest = rest.substr(at + 1);
  }
  std::string_view hostport = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_int(db, t.db) || t.db < 0)) {
      return StoreError{"redis url: the database after '/' must be a number, got \"" +
                        std::string(db) + "\""};
    }
  }
  const auto colon = hostport.rfind(':');
  if (colon != std::string_view::npos) {
    if (!parse_int(hostport.substr(colon + 1), t.port) || t.port <= 0 || t.port > 65535) {
      return StoreError{"redis url: bad port \"" + std::string(hostport.substr(colon + 1)) + "\""};
    }
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return StoreError{"redis url: no host"};
  t.host = std::string(hostport);
  shown += t.host + ":" + std::to_string(t.port) + "/" + std::to_string(t.db);
  t.display = shown;
  return t;
}

struct RedisClient::Context {
  redisContext* c = nullptr;
  ~Context() {
    if (c != nullptr) redisFree(c);
  }
};

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {}
RedisClient::~RedisClient() = default;

bool RedisClient::connected() const { return ctx_ != nullptr; }

StoreError RedisClient::error(const std::string& op, const std::string& why) const {
  return StoreError{"redis " + options_.target.display + ": " + op + ": " + why};
}

void RedisClient::fail(const std::string& why) {
  ctx_.reset();
  shas_.clear();  // the next connection may reach a Redis that never saw the scripts
  retry_at_ = std::chrono::steady_clock::now() + options_.retry_interval;
  last_failure_ = why;
  if (was_up_) {
    was_up_ = false;
    if (options_.on_state_change) options_.on_state_change(false, why);
  }
}

bool RedisClient::ensure_connected() {
  if (ctx_) return true;
  if (std::chrono::steady_clock::now() < retry_at_) return false;
  auto ctx = std::make_unique<Context>();
  const timeval ct = to_timeval(options_.connect_timeout);
  const RedisTarget& t = options_.target;
  ctx->c = t.socket_path.empty() ? redisConnectWithTimeout(t.host.c_str(), t.port, ct)
                                 : redisConnectUnixWithTimeout(t.socket_path.c_str(), ct);
  if (ctx->c == nullptr) {
    fail("cannot allocate a connection");
    return false;
  }
  if (ctx->c->err != 0) {
    fail(std::string("connect: ") + ctx->c->errstr);
    return false;
  }
  redisSetTimeout(ctx->c, to_timeval(options_.command_timeout));
  auto setup = [&](std::vector<std::string> argv) -> std::string {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& a : argv) ptrs.push_back(a.data()), lens.push_back(a.size());
    ReplyPtr r(static_cast<redisReply*>(
        redisCommandArgv(ctx->c, static_cast<int>(argv.size()), ptrs.data(), lens.data())));
    if (!r) return std::string("no reply: ") + ctx->c->errstr;
    if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
    return {};
  };
  if (!t.password.empty()) {
    std::string why =
        t.username.empty() ? setup({"AUTH", t.password}) : setup({"AUTH", t.username, t.password});
    if (!why.empty()) {
      fail("AUTH refused: " + why);  // Redis's message never echoes the password
      return false;
    }
  }
  if (t.db != 0) {
    if (std::string why = setup({"SELECT", std::to_string(t.db)}); !why.empty()) {
      fail("SELECT " + std::to_string(t.db) + ": " + why);
      return false;
    }
  }
  ctx_ = std::move(ctx);
  if (!was_up_) {
    was_up_ = true;
    if (options_.on_state_change) options_.on_state_change(true, last_failure_);
  }
  return true;
}

bool RedisClient::append(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) ptrs.push_back(a.data()), lens.push_back(a.size());
  if (redisAppendCommandArgv(ctx_->c, static_cast<int>(argv.size()), ptrs.data(), lens.data()) !=
      REDIS_OK) {
    fail(ctx_->c->errstr);
    return false;
  }
  return true;
}

Result<std::vector<RedisReply>> RedisClient::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (!ensure_connected()) return error("unavailable", last_failure_);
  for (const auto& argv : commands) {
    if (!append(argv)) return error(commands.front().front(), last_failure_);
  }
  std::vector<RedisReply> out;
  out.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_->c, &raw) != REDIS_OK) {
      const std::string why = ctx_->c->err != 0 ? ctx_->c->errstr : "no reply";
      fail(why);
      return error(commands[i].front(), why);
    }
    ReplyPtr r(static_cast<redisReply*>(raw));
    out.push_back(copy_reply(r.get()));
  }
  return out;
}

Result<RedisReply> RedisClient::command(const std::vector<std::string>& argv) {
  auto replies = pipeline({argv});
  if (!replies.ok()) return replies.error();
  return std::move(replies.value().front());
}

Result<RedisReply> RedisClient::eval(std::string_view script, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto it = shas_.find(script);
    if (it == shas_.end()) {
      auto loaded = command({"SCRIPT", "LOAD", std::string(script)});
      if (!loaded.ok()) return loaded.error();
      if (loaded.value().type != RedisReply::Type::kString) {
        return error("SCRIPT LOAD", loaded.value().str);
      }
      it = shas_.emplace(std::string(script), loaded.value().str).first;
    }
    std::vector<std::string> argv{"EVALSHA", it->second, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = command(argv);
    if (!r.ok()) return r;
    if (r.value().is_error() && r.value().str.starts_with("NOSCRIPT")) {
      shas_.erase(it);  // Redis restarted or was flushed: load again
      continue;
    }
    return r;
  }
  return error("EVALSHA", "script cache keeps losing the script");
}

bool RedisClient::prepare(const std::vector<std::string_view>& scripts) {
  if (!ensure_connected()) return false;
  std::vector<std::vector<std::string>> loads;
  std::vector<std::string_view> wanted;
  for (auto script : scripts) {
    if (shas_.find(script) != shas_.end()) continue;
    loads.push_back({"SCRIPT", "LOAD", std::string(script)});
    wanted.push_back(script);
  }
  if (loads.empty()) return true;
  auto loaded = pipeline(loads);
  if (!loaded.ok()) return false;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (loaded.value()[i].type != RedisReply::Type::kString) {
      fail("SCRIPT LOAD: " + loaded.value()[i].str);
      return false;
    }
    shas_.emplace(std::string(wanted[i]), loaded.value()[i].str);
  }
  return true;
}

const std::string& RedisClient::sha_of(std::string_view script) const {
  return shas_.find(script)->second;
}

int RedisClient::fd() const { return ctx_ ? ctx_->c->fd : -1; }

bool RedisClient::send(const std::vector<std::vector<std::string>>& commands) {
  if (!ctx_) return false;
  for (const auto& argv : commands) {
    if (!append(argv)) return false;
  }
  int done = 0;
  while (!done) {
    if (redisBufferWrite(ctx_->c, &done) != REDIS_OK) {
      fail(ctx_->c->err != 0 ? ctx_->c->errstr : "write failed");
      return false;
    }
  }
  return true;
}

bool RedisClient::receive(std::vector<RedisReply>& replies) {
  if (!ctx_) return false;
  if (redisBufferRead(ctx_->c) != REDIS_OK) {
    fail(ctx_->c->err != 0 ? ctx_->c->errstr : "connection lost");
    return false;
  }
  while (true) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(ctx_->c, &raw) != REDIS_OK) {
      fail(ctx_->c->err != 0 ? ctx_->c->errstr : "protocol error");
      return false;
    }
    if (raw == nullptr) return true;  // no complete reply left
    ReplyPtr r(static_cast<redisReply*>(raw));
    replies.push_back(copy_reply(r.get()));
  }
}

}  // namespace sluice::state
