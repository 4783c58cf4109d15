#pragma once
// The Coordinator port on Redis (docs/decisions/0008), and RedisEvents, the
// pub/sub listener that tells this instance when another one benched a key.
//
// Leases are members of a sorted set per (key scope, bucket) scored by their
// expiry in Redis's own clock (TIME inside the scripts), so instances with
// skewed clocks agree. Every operation is one EVALSHA, sent by a worker
// thread with a connection of its own: whatever is queued when it is free
// goes as one pipeline, so no caller waits behind another's round trip and
// a distant Redis costs each request one round trip of latency, not the
// gateway its throughput (decision 0015). Operations reach Redis in the
// order they were made. A lease released while its key is far from its limit
// is kept as a spare for this instance's next request on the key, which then
// needs no round trip at all (decision 0019).
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sluice/state/coordinator.hpp"
#include "sluice/state/redis/redis_client.hpp"

namespace sluice::state {

struct RedisCoordinatorOptions {
  std::string url = "redis://127.0.0.1:6379/0";
  std::string prefix = "sluice:";
  Duration lease_ttl = std::chrono::seconds(10);
  std::function<void(bool up, const std::string& why)> on_state_change;
};

class RedisCoordinator final : public Coordinator {
 public:
  static Result<std::unique_ptr<RedisCoordinator>> open(RedisCoordinatorOptions options);

  ~RedisCoordinator() override;

  // Blocks until the answer (tests, tools); the gateway uses admit_async.
  Admission admit(const AdmissionRequest& request) override;
  // `done` runs on the worker thread.
  void admit_async(const AdmissionRequest& request, std::function<void(Admission)> done) override;
  // These three are queued and return at once.
  void release(const AdmissionRequest& request, const std::string& lease_id, bool refund) override;
  void share_snapshot(const AdmissionRequest& request, const RateLimitSnapshot& snapshot) override;
  void renew() override;
  Duration lease_ttl() const override { return options_.lease_ttl; }

  // Leases held, spares included; spares alone (decision 0019).
  std::size_t leases_held() const;
  std::size_t spare_leases() const;
  // Waits until everything queued so far has been answered (tests).
  void flush();

 private:
  class Worker;
  RedisCoordinator(RedisCoordinatorOptions options, RedisTarget target);
  std::string lease_key(const std::string& scope, const std::string& bucket) const;
  std::string budget_key(const std::string& scope, const std::string& model) const;
  std::optional<Admission> take_spare(const AdmissionRequest& req, const std::string& leases,
                                      const std::string& budget);
  void count_send(const AdmissionRequest& req, std::string leases, std::string budget);
  // A spare lease id and its sorted set.
  struct SpareId {
    std::string id;
    std::string set;
  };
  // Takes every spare of `leases` out of held_ (held_mutex_ held); with `out`,
  // they are listed there for give_back, else dropped (they expire unrenewed).
  void take_spares_locked(const std::string& leases, std::vector<SpareId>* out);
  void give_back(std::vector<SpareId> spares);  // released in Redis

  // Leases given back while their key was far from its limit, kept for this
  // instance's next request on the key (decision 0019).
  struct SpareLeases {
    std::vector<std::string> ids;
    std::int64_t held_seen = 0;  // leases held across instances, as Redis last said
    bool used = false;           // since the last renewal
  };
  // A shared budget as Redis last answered it, and the sends admitted here on
  // spares whose count Redis has not answered yet.
  struct BudgetView {
    SharedBudget budget;
    std::int64_t pending_requests = 0;
    std::int64_t pending_tokens = 0;
    bool known = false;
  };

  RedisCoordinatorOptions options_;
  std::string instance_;  // lease ids are "<instance>:<n>"
  std::atomic<std::uint64_t> next_lease_ = 0;
  mutable std::mutex held_mutex_;
  std::map<std::string, std::string> held_;    // lease id -> its sorted set
  std::map<std::string, SpareLeases> spares_;  // by sorted set
  std::map<std::string, BudgetView> budgets_;  // by budget hash
  std::unique_ptr<Worker> worker_;             // last: stopped first
};

// Subscribes to the events channel on a thread of its own (a subscribed
// connection can do nothing else) and hands each message to `on_message`
// on that thread: post it to your executor. Reconnects by itself.
class RedisEvents {
 public:
  RedisEvents(RedisTarget target, std::string channel,
              std::function<void(std::string message)> on_message);
  ~RedisEvents();  // stops and joins the thread
  RedisEvents(const RedisEvents&) = delete;
  RedisEvents& operator=(const RedisEvents&) = delete;

  // True once subscribed (for tests that must not race the subscription).
  bool subscribed() const { return subscribed_.load(); }

 private:
  void run();

  RedisTarget target_;
  std::string channel_;
  std::function<void(std::string)> on_message_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::thread thread_;
};

}  // namespace sluice::state
