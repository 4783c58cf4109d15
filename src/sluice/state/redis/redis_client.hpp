#pragma once
// One blocking hiredis connection with what a gateway needs around it: URL
// parsing (the password never leaves this file), short timeouts, Lua scripts
// by EVALSHA with a reload on NOSCRIPT, and a circuit that stops calling a
// Redis that is down for `retry_interval` so that a dead Redis costs a
// request nothing (docs/decisions/0008).
//
// Not thread-safe: one client per thread. hiredis types stay in the .cpp.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/state/store.hpp"

namespace sluice::state {

// A parsed redis:// or unix:// URL. `display` is safe to print.
struct RedisTarget {
  std::string host;  // empty for a unix socket
  int port = 6379;
  std::string socket_path;  // unix:///run/redis.sock
  std::string password;     // redis://:secret@host — never printed
  std::string username;     // redis://user:secret@host (ACL)
  int db = 0;
  std::string display;  // the URL with the password replaced by "***"
};

// An error names the URL part that is wrong, never the password.
Result<RedisTarget> parse_redis_url(std::string_view url);

// A RESP reply, copied out of hiredis.
struct RedisReply {
  enum class Type : std::uint8_t { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  std::int64_t integer = 0;
  std::string str;  // string, status or error text
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

struct RedisOptions {
  RedisTarget target;
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{500};
  // After a failure, calls fail at once (no connect attempt) for this long.
  std::chrono::milliseconds retry_interval{500};
  // Told once when Redis goes away and once when it is back.
  std::function<void(bool up, const std::string& why)> on_state_change;
};

class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command; a RESP error reply is a value (is_error()), a lost or
  // refused connection is a StoreError.
  Result<RedisReply> command(const std::vector<std::string>& argv);
  // Several commands in one round trip; replies in order.
  Result<std::vector<RedisReply>> pipeline(const std::vector<std::vector<std::string>>& commands);
  // EVALSHA, loading the script on NOSCRIPT (a restarted or flushed Redis).
  Result<RedisReply> eval(std::string_view script, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args);
  // One script call, as the coordinator's worker queues it. `script` views
  // must outlive the call (they are the coordinator's constants).
  struct EvalCall {
    std::string_view script;
    std::vector<std::string> keys;
    std::vector<std::string> args;
  };

  // --- for a caller that keeps commands in flight (the coordinator's
  // worker: it writes new commands while earlier replies are still on their
  // way, and reads replies as they come, on one thread) ---
  // Connects if need be and loads `scripts`; false when Redis cannot be used
  // now (last_failure() says why). Only with nothing in flight.
  bool prepare(const std::vector<std::string_view>& scripts);
  // The loaded script's SHA1 (after prepare()).
  const std::string& sha_of(std::string_view script) const;
  int fd() const;
  // Writes every command; false (and disconnected) on failure.
  bool send(const std::vector<std::vector<std::string>>& commands);
  // Reads what has arrived (call when fd() is readable) and appends every
  // complete reply; false (and disconnected) when the connection is lost.
  bool receive(std::vector<RedisReply>& replies);
  // Drops the connection (a reply overdue, scripts flushed): reconnects later.
  void drop(const std::string& why) { fail(why); }
  const std::string& last_failure() const { return last_failure_; }

  bool connected() const;
  const std::string& display() const { return options_.target.display; }
  // "redis <where>: <op>: <why>", how every error of this Redis reads.
  StoreError error(const std::string& op, const std::string& why) const;

 private:
  struct Context;
  bool ensure_connected();
  // Queues one command in the connection's output buffer; false (and
  // disconnected) on failure.
  bool append(const std::vector<std::string>& argv);
  void fail(const std::string& why);

  RedisOptions options_;
  std::unique_ptr<Context> ctx_;
  std::chrono::steady_clock::time_point retry_at_{};
  bool was_up_ = true;  // so the first failure is reported
  std::string last_failure_;
  std::map<std::string, std::string, std::less<>> shas_;  // script text -> sha1
};

}  // namespace sluice::state
