#include "sluice/state/redis/redis_coordinator.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <utility>

#include "sluice/state/snapshot_codec.hpp"

namespace sluice::state {
namespace {

// Nothing: flush() waits for its answer, which comes after everything before it.
constexpr std::string_view kPing = "return 1";

// KEYS: lease set, budget hash. ARGV: limit, lease id, ttl ms, tokens.
// Expired leases are dropped first, so a dead instance's slots come back.
constexpr std::string_view kAdmit = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return {0} end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
local b = redis.call('HMGET', KEYS[2], 'snap', 'sent_req', 'sent_tok')
redis.call('HINCRBY', KEYS[2], 'sent_req', 1)
redis.call('HINCRBY', KEYS[2], 'sent_tok', ARGV[4])
redis.call('PEXPIRE', KEYS[2], 86400000)
return {1, b[1], tostring(b[2] or 0), tostring(b[3] or 0)}
)lua";

// KEYS: lease set, budget hash. ARGV: lease id, refund (0/1), tokens.
constexpr std::string_view kRelease = R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if tonumber(redis.call('HINCRBY', KEYS[2], 'sent_req', -1)) < 0 then
    redis.call('HSET', KEYS[2], 'sent_req', 0)
  end
  if tonumber(redis.call('HINCRBY', KEYS[2], 'sent_tok', -tonumber(ARGV[3]))) < 0 then
    redis.call('HSET', KEYS[2], 'sent_tok', 0)
  end
end
return 1
)lua";

// KEYS: budget hash, lease set. ARGV: encoded snapshot, taken_at ns.
// An older snapshot never replaces a newer one. Sends still in flight (other
// leases on the key) may not be in the snapshot: they stay counted, with
// tokens pro rata.
constexpr std::string_view kShare = R"lua(
local prev = redis.call('HGET', KEYS[1], 'taken')
if prev and tonumber(prev) > tonumber(ARGV[2]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local others = math.max(0, redis.call('ZCARD', KEYS[2]) - 1)
local req = tonumber(redis.call('HGET', KEYS[1], 'sent_req') or 0)
local tok = tonumber(redis.call('HGET', KEYS[1], 'sent_tok') or 0)
local keep_req = math.min(req, others)
local keep_tok = 0
if req > 0 then keep_tok = math.floor(tok * keep_req / req) end
redis.call('HSET', KEYS[1], 'snap', ARGV[1], 'taken', ARGV[2], 'sent_req', keep_req,
           'sent_tok', keep_tok)
redis.call('PEXPIRE', KEYS[1], 86400000)
return 1
)lua";

// KEYS: lease sets; ARGV[1] ttl ms, ARGV[2..] the lease id for each key.
// XX: a lease that already expired (and may have been handed to another
// instance's request) is not resurrected.
constexpr std::string_view kRenew = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local n = 0
for i, k in ipairs(KEYS) do
  n = n + redis.call('ZADD', k, 'XX', 'CH', now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', k, ttl * 2)
end
return n
)lua";

std::string composite(std::string_view a, std::string_view b) {
  return std::to_string(a.size()) + ":" + std::string(a) + std::to_string(b.size()) + ":" +
         std::string(b);
}

std::int64_t to_int(const RedisReply& r) {
  if (r.type == RedisReply::Type::kInteger) return r.integer;
  std::int64_t v = 0;
  std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
  return v;
}

std::string random_instance_id() {
  std::random_device rd;
  const std::uint64_t v =
      (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ static_cast<std::uint64_t>(::getpid());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

// The coordinator's connection and the thread that owns it. Commands are
// written as soon as they are queued, while earlier replies are still on
// their way (the thread waits on the socket and on a wake-up descriptor at
// once), and replies are matched to their commands in order. So an
// admission costs one round trip however many others are in flight, and a
// caller never waits: it queues and is called back.
class RedisCoordinator::Worker {
 public:
  using Done = std::function<void(Result<RedisReply>)>;

  Worker(RedisOptions options, Duration reply_timeout)
      : client_(std::move(options)),
        reply_timeout_(reply_timeout),
        wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        thread_([this] { run(); }) {}
  ~Worker() {
    {
      std::lock_guard lock(m_);
      stop_ = true;
    }
    wake();
    thread_.join();  // what is queued is sent first: releases are not lost on the way out
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void eval(std::string_view script, std::vector<std::string> keys, std::vector<std::string> args,
            Done done) {
    {
      std::lock_guard lock(m_);
      queue_.push_back(
          Job{RedisClient::EvalCall{script, std::move(keys), std::move(args)}, std::move(done)});
    }
    wake();
  }

  void flush() {
    std::promise<void> done;
    auto future = done.get_future();
    eval(kPing, {}, {}, [&done](Result<RedisReply>) { done.set_value(); });
    future.wait();
  }

 private:
  struct Job {
    RedisClient::EvalCall call;
    Done done;
  };
  struct InFlight {
    Done done;
    std::chrono::steady_clock::time_point sent;
  };

  void wake() {
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
  }

  // Every reply still owed fails with `why` (the connection is gone).
  void fail_in_flight(const std::string& why) {
    while (!in_flight_.empty()) {
      if (in_flight_.front().done) in_flight_.front().done(StoreError{"redis: " + why});
      in_flight_.pop_front();
    }
  }

  void run() {
    const std::vector<std::string_view> scripts = {kPing, kAdmit, kRelease, kShare, kRenew};
    bool reload = false;  // Redis lost its scripts: reconnect once nothing is in flight
    while (true) {
      // Wait for new work, or (with replies owed) for the socket too.
      int timeout_ms = -1;
      if (!in_flight_.empty()) {
        const auto due = in_flight_.front().sent + reply_timeout_;
        timeout_ms = static_cast<int>(
            std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                          due - std::chrono::steady_clock::now())
                                              .count() +
                                          1));
      }
      pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {in_flight_.empty() ? -1 : client_.fd(), POLLIN, 0}};
      {
        std::unique_lock lock(m_);
        if (stop_ && queue_.empty() && in_flight_.empty()) return;
        if (!queue_.empty()) timeout_ms = 0;  // work already waiting: look, do not sleep
      }
      if (::poll(fds, 2, timeout_ms) < 0 && errno != EINTR) fail_in_flight("poll failed");
      if (fds[0].revents & POLLIN) {
        std::uint64_t n = 0;
        (void)!::read(wake_fd_, &n, sizeof n);
      }

      // Replies, in the order their commands were written.
      if (!in_flight_.empty()) {
        if (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) {
          std::vector<RedisReply> replies;
          const bool ok = client_.receive(replies);
          for (auto& r : replies) {
            if (in_flight_.empty()) break;
            if (r.is_error() && r.str.starts_with("NOSCRIPT")) reload = true;
            if (in_flight_.front().done) in_flight_.front().done(std::move(r));
            in_flight_.pop_front();
          }
          if (!ok) fail_in_flight(client_.last_failure());
        } else if (std::chrono::steady_clock::now() >= in_flight_.front().sent + reply_timeout_) {
          client_.drop("no reply within " + std::to_string(to_seconds(reply_timeout_)) + " s");
          fail_in_flight(client_.last_failure());
        }
      }
      if (reload && in_flight_.empty()) {
        client_.drop("the scripts were flushed; loading them again");
        reload = false;
      }

      // New commands, written at once.
      std::deque<Job> batch;
      {
        std::lock_guard lock(m_);
        batch.swap(queue_);
      }
      if (batch.empty()) continue;
      if (in_flight_.empty() && !client_.prepare(scripts)) {
        for (auto& j : batch) {
          if (j.done) j.done(StoreError{"redis: " + client_.last_failure()});
        }
        continue;
      }
      std::vector<std::vector<std::string>> commands;
      commands.reserve(batch.size());
      for (const auto& j : batch) {
        std::vector<std::string> argv{"EVALSHA", client_.sha_of(j.call.script),
                                      std::to_string(j.call.keys.size())};
        argv.insert(argv.end(), j.call.keys.begin(), j.call.keys.end());
        argv.insert(argv.end(), j.call.args.begin(), j.call.args.end());
        commands.push_back(std::move(argv));
      }
      const auto now = std::chrono::steady_clock::now();
      for (auto& j : batch) in_flight_.push_back(InFlight{std::move(j.done), now});
      if (!client_.send(commands)) fail_in_flight(client_.last_failure());
    }
  }

  RedisClient client_;
  const Duration reply_timeout_;
  const int wake_fd_;
  std::mutex m_;
  std::deque<Job> queue_;
  bool stop_ = false;
  std::deque<InFlight> in_flight_;  // the worker thread's own
  std::thread thread_;              // last: started once the rest exists
};

RedisCoordinator::RedisCoordinator(RedisCoordinatorOptions options, RedisTarget target)
    : options_(std::move(options)), instance_(random_instance_id()) {
  RedisOptions ro;
  ro.target = std::move(target);
  ro.on_state_change = options_.on_state_change;
  // Admission is on the request path: fail fast rather than hold it up.
  ro.command_timeout = std::chrono::milliseconds(250);
  worker_ = std::make_unique<Worker>(std::move(ro), std::chrono::milliseconds(250));
}

RedisCoordinator::~RedisCoordinator() = default;

Result<std::unique_ptr<RedisCoordinator>> RedisCoordinator::open(RedisCoordinatorOptions options) {
  auto target = parse_redis_url(options.url);
  if (!target.ok()) return target.error();
  if (options.lease_ttl < std::chrono::milliseconds(100)) {
    return StoreError{"state.lease_ttl must be at least 100ms"};
  }
  return std::unique_ptr<RedisCoordinator>(
      new RedisCoordinator(std::move(options), std::move(target.value())));
}

std::string RedisCoordinator::lease_key(const std::string& scope, const std::string& bucket) const {
  return options_.prefix + "leases:" + composite(scope, bucket);
}

std::string RedisCoordinator::budget_key(const std::string& scope, const std::string& model) const {
  return options_.prefix + "budget:" + composite(scope, model);
}

void RedisCoordinator::admit_async(const AdmissionRequest& req,
                                   std::function<void(Admission)> done) {
  std::string id = instance_ + ":" + std::to_string(++next_lease_);
  std::string leases = lease_key(req.key_scope, req.bucket);
  const auto ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl);
  std::vector<std::string> keys{leases, budget_key(req.key_scope, req.model)};
  std::vector<std::string> args{std::to_string(req.limit), id, std::to_string(ttl_ms.count()),
                                std::to_string(req.tokens)};
  worker_->eval(kAdmit, std::move(keys), std::move(args),
                [this, id = std::move(id), leases = std::move(leases),
                 done = std::move(done)](Result<RedisReply> r) {
                  Admission a;
                  if (!r.ok() || r.value().is_error() || r.value().elements.empty()) {
                    done(std::move(a));  // unavailable: local limits only
                    return;
                  }
                  const auto& e = r.value().elements;
                  if (to_int(e[0]) == 0) {
                    a.kind = Admission::Kind::kBusy;
                    done(std::move(a));
                    return;
                  }
                  a.kind = Admission::Kind::kGranted;
                  a.lease_id = id;
                  {
                    std::lock_guard lock(held_mutex_);
                    held_.emplace(id, leases);
                  }
                  if (e.size() >= 4) {
                    if (e[1].type == RedisReply::Type::kString) {
                      a.budget.snapshot = decode_snapshot(e[1].str);
                    }
                    a.budget.sent_requests = to_int(e[2]);
                    a.budget.sent_tokens = to_int(e[3]);
                  }
                  done(std::move(a));
                });
}

Admission RedisCoordinator::admit(const AdmissionRequest& req) {
  std::promise<Admission> answer;
  auto future = answer.get_future();
  admit_async(req, [&answer](Admission a) { answer.set_value(std::move(a)); });
  return future.get();
}

void RedisCoordinator::release(const AdmissionRequest& req, const std::string& lease_id,
                               bool refund) {
  {
    std::lock_guard lock(held_mutex_);
    held_.erase(lease_id);
  }
  // A failure here is harmless: the lease expires within its TTL.
  worker_->eval(kRelease,
                {lease_key(req.key_scope, req.bucket), budget_key(req.key_scope, req.model)},
                {lease_id, refund ? "1" : "0", std::to_string(req.tokens)}, nullptr);
}

void RedisCoordinator::share_snapshot(const AdmissionRequest& req,
                                      const RateLimitSnapshot& snapshot) {
  worker_->eval(
      kShare, {budget_key(req.key_scope, req.model), lease_key(req.key_scope, req.bucket)},
      {encode_snapshot(snapshot), std::to_string(snapshot.taken_at.time_since_epoch().count())},
      nullptr);
}

void RedisCoordinator::renew() {
  std::vector<std::string> keys;
  std::vector<std::string> args;
  args.push_back(std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl).count()));
  {
    std::lock_guard lock(held_mutex_);
    if (held_.empty()) return;
    for (const auto& [id, set] : held_) {
      keys.push_back(set);
      args.push_back(id);
    }
  }
  worker_->eval(kRenew, std::move(keys), std::move(args), nullptr);
}

std::size_t RedisCoordinator::leases_held() const {
  std::lock_guard lock(held_mutex_);
  return held_.size();
}

void RedisCoordinator::flush() { worker_->flush(); }

RedisEvents::RedisEvents(RedisTarget target, std::string channel,
                         std::function<void(std::string)> on_message)
    : target_(std::move(target)),
      channel_(std::move(channel)),
      on_message_(std::move(on_message)),
      thread_([this] { run(); }) {}

RedisEvents::~RedisEvents() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RedisEvents::run() {
  const timeval connect_timeout{0, 200'000};
  while (!stop_) {
    redisContext* c =
        target_.socket_path.empty()
            ? redisConnectWithTimeout(target_.host.c_str(), target_.port, connect_timeout)
            : redisConnectUnixWithTimeout(target_.socket_path.c_str(), connect_timeout);
    bool ok = c != nullptr && c->err == 0;
    auto command = [&](std::vector<std::string> argv) {
      std::vector<const char*> p;
      std::vector<size_t> l;
      for (const auto& s : argv) p.push_back(s.data()), l.push_back(s.size());
      return redisAppendCommandArgv(c, static_cast<int>(argv.size()), p.data(), l.data()) ==
             REDIS_OK;
    };
    if (ok && !target_.password.empty()) {
      ok = target_.username.empty() ? command({"AUTH", target_.password})
                                    : command({"AUTH", target_.username, target_.password});
    }
    if (ok) ok = command({"SUBSCRIBE", channel_});
    // Flush the commands; replies arrive through the poll loop below.
    int done = 0;
    while (ok && done == 0) ok = redisBufferWrite(c, &done) == REDIS_OK;
    while (ok && !stop_) {
      pollfd pfd{c->fd, POLLIN, 0};
      const int n = ::poll(&pfd, 1, 100);  // wakes to notice stop_
      if (n < 0) break;
      if (n == 0) continue;
      if (redisBufferRead(c) != REDIS_OK) break;
      void* raw = nullptr;
      while (redisGetReplyFromReader(c, &raw) == REDIS_OK && raw != nullptr) {
        auto* r = static_cast<redisReply*>(raw);
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->str != nullptr) {
          const std::string kind(r->element[0]->str, r->element[0]->len);
          if (kind == "subscribe") subscribed_ = true;
          if (kind == "message" && r->element[2]->str != nullptr) {
            on_message_(std::string(r->element[2]->str, r->element[2]->len));
          }
        }
        freeReplyObject(r);
        raw = nullptr;
      }
    }
    subscribed_ = false;
    if (c != nullptr) redisFree(c);
    // Redis is away: try again shortly, noticing stop_ meanwhile.
    for (int i = 0; i < 5 && !stop_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace sluice::state
