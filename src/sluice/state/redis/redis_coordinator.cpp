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
return {1, b[1], tostring(b[2] or 0), tostring(b[3] or 0), redis.call('ZCARD', KEYS[1])}
)lua";

// A send admitted on a spare lease (no admission round trip): counted against
// the shared budget as kAdmit counts it, and answered with the budget and the
// number of leases held, for the next local admission.
// KEYS: lease set, budget hash. ARGV: tokens.
constexpr std::string_view kCount = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local b = redis.call('HMGET', KEYS[2], 'snap', 'sent_req', 'sent_tok')
redis.call('HINCRBY', KEYS[2], 'sent_req', 1)
redis.call('HINCRBY', KEYS[2], 'sent_tok', ARGV[1])
redis.call('PEXPIRE', KEYS[2], 86400000)
return {1, b[1], tostring((b[2] or 0) + 1), tostring((b[3] or 0) + ARGV[1]),
        redis.call('ZCARD', KEYS[1])}
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

// Spare leases (decision 0019) are kept only for limits at least this large,
// only while at most half the limit is held across instances, and at most a
// quarter of it spare here: a spare is a slot no other instance can use, so
// small caps (z.ai's 1 to 5) and keys near their limit always go to Redis.
constexpr int kSpareMinLimit = 16;

std::optional<SharedBudget> budget_of(const std::vector<RedisReply>& e) {
  if (e.size() < 4) return std::nullopt;
  SharedBudget b;
  if (e[1].type == RedisReply::Type::kString) b.snapshot = decode_snapshot(e[1].str);
  b.sent_requests = to_int(e[2]);
  b.sent_tokens = to_int(e[3]);
  return b;
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
    const std::vector<std::string_view> scripts = {kPing, kAdmit, kCount, kRelease, kShare, kRenew};
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

RedisCoordinator::~RedisCoordinator() {
  // Spares go back before the worker sends what is queued and stops.
  std::vector<SpareId> spare;
  {
    std::lock_guard lock(held_mutex_);
    for (const auto& [set, s] : spares_) take_spares_locked(set, &spare);
  }
  give_back(std::move(spare));
}

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
  std::string leases = lease_key(req.key_scope, req.bucket);
  std::string budget = budget_key(req.key_scope, req.model);
  if (auto local = take_spare(req, leases, budget)) {
    count_send(req, std::move(leases), std::move(budget));
    done(std::move(*local));
    return;
  }
  std::string id = instance_ + ":" + std::to_string(++next_lease_);
  const auto ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl);
  std::vector<std::string> keys{leases, budget};
  std::vector<std::string> args{std::to_string(req.limit), id, std::to_string(ttl_ms.count()),
                                std::to_string(req.tokens)};
  worker_->eval(kAdmit, std::move(keys), std::move(args),
                [this, id = std::move(id), leases = std::move(leases), budget = std::move(budget),
                 tokens = req.tokens, done = std::move(done)](Result<RedisReply> r) {
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
                  if (auto seen = budget_of(e)) a.budget = std::move(*seen);
                  {
                    std::lock_guard lock(held_mutex_);
                    held_.emplace(id, leases);
                    // What the next local admission starts from: this send included.
                    BudgetView& view = budgets_[budget];
                    view.budget = a.budget;
                    view.budget.sent_requests += 1;
                    view.budget.sent_tokens += tokens;
                    view.known = e.size() >= 4;
                    if (e.size() >= 5) spares_[leases].held_seen = to_int(e[4]);
                  }
                  done(std::move(a));
                });
}

// A spare lease of this key, with the budget as last seen plus the sends
// admitted here since: an admission without a round trip.
std::optional<Admission> RedisCoordinator::take_spare(const AdmissionRequest& req,
                                                      const std::string& leases,
                                                      const std::string& budget) {
  std::lock_guard lock(held_mutex_);
  const auto s = spares_.find(leases);
  const auto b = budgets_.find(budget);
  if (s == spares_.end() || s->second.ids.empty() || b == budgets_.end() || !b->second.known) {
    return std::nullopt;
  }
  Admission a;
  a.kind = Admission::Kind::kGranted;
  a.lease_id = std::move(s->second.ids.back());
  s->second.ids.pop_back();
  s->second.used = true;
  BudgetView& view = b->second;
  a.budget = view.budget;
  a.budget.sent_requests += view.pending_requests;
  a.budget.sent_tokens += view.pending_tokens;
  view.pending_requests += 1;
  view.pending_tokens += req.tokens;
  return a;
}

// Counts a send admitted on a spare lease, as kAdmit would have.
void RedisCoordinator::count_send(const AdmissionRequest& req, std::string leases,
                                  std::string budget) {
  std::vector<std::string> keys{leases, budget};
  worker_->eval(kCount, std::move(keys), {std::to_string(req.tokens)},
                [this, leases = std::move(leases), budget = std::move(budget),
                 tokens = req.tokens](Result<RedisReply> r) {
                  std::lock_guard lock(held_mutex_);
                  BudgetView& view = budgets_[budget];
                  view.pending_requests = std::max<std::int64_t>(0, view.pending_requests - 1);
                  view.pending_tokens = std::max<std::int64_t>(0, view.pending_tokens - tokens);
                  const bool ok = r.ok() && !r.value().is_error() && r.value().elements.size() >= 5;
                  if (!ok) {
                    // Redis is away or lost its data: spares may no longer be
                    // leases. Drop them (they expire unrenewed); Redis decides again.
                    take_spares_locked(leases, nullptr);
                    view.known = false;
                    return;
                  }
                  const auto& e = r.value().elements;
                  if (auto seen = budget_of(e)) view.budget = std::move(*seen);
                  spares_[leases].held_seen = to_int(e[4]);
                });
}

void RedisCoordinator::take_spares_locked(const std::string& leases, std::vector<SpareId>* out) {
  const auto s = spares_.find(leases);
  if (s == spares_.end()) return;
  for (auto& id : s->second.ids) {
    held_.erase(id);
    if (out != nullptr) out->push_back({std::move(id), leases});
  }
  s->second.ids.clear();
}

void RedisCoordinator::give_back(std::vector<SpareId> spares) {
  for (auto& [id, set] : spares) {
    worker_->eval(kRelease, {set, set}, {std::move(id), "0", "0"}, nullptr);
  }
}

Admission RedisCoordinator::admit(const AdmissionRequest& req) {
  std::promise<Admission> answer;
  auto future = answer.get_future();
  admit_async(req, [&answer](Admission a) { answer.set_value(std::move(a)); });
  return future.get();
}

void RedisCoordinator::release(const AdmissionRequest& req, const std::string& lease_id,
                               bool refund) {
  std::string leases = lease_key(req.key_scope, req.bucket);
  {
    std::lock_guard lock(held_mutex_);
    // Kept for this instance's next request on the key while the key is far
    // from its limit: that request then needs no admission round trip.
    SpareLeases& s = spares_[leases];
    if (!refund && held_.contains(lease_id) && req.limit >= kSpareMinLimit &&
        s.held_seen <= req.limit / 2 && s.ids.size() < static_cast<std::size_t>(req.limit / 4)) {
      s.ids.push_back(lease_id);
      return;
    }
    held_.erase(lease_id);
  }
  // A failure here is harmless: the lease expires within its TTL.
  worker_->eval(kRelease, {std::move(leases), budget_key(req.key_scope, req.model)},
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
  std::vector<SpareId> unused;
  {
    std::lock_guard lock(held_mutex_);
    // Spares no request took since the last renewal go back to Redis.
    for (auto& [set, s] : spares_) {
      if (!s.used) take_spares_locked(set, &unused);
      s.used = false;
    }
    for (const auto& [id, set] : held_) {
      keys.push_back(set);
      args.push_back(id);
    }
  }
  give_back(std::move(unused));
  if (keys.empty()) return;
  const auto expected = static_cast<std::int64_t>(keys.size());
  worker_->eval(kRenew, std::move(keys), std::move(args), [this, expected](Result<RedisReply> r) {
    // A lease that could not be renewed had expired (or Redis lost
    // it): spares are no longer sure to be leases, so none are kept.
    if (r.ok() && !r.value().is_error() && to_int(r.value()) >= expected) return;
    std::lock_guard lock(held_mutex_);
    for (const auto& [set, s] : spares_) take_spares_locked(set, nullptr);
  });
}

std::size_t RedisCoordinator::spare_leases() const {
  std::lock_guard lock(held_mutex_);
  std::size_t n = 0;
  for (const auto& [set, s] : spares_) n += s.ids.size();
  return n;
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
