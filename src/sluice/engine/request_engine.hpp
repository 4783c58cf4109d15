#pragma once
// One logical request end to end (DESIGN "engine"): for each route candidate
// in order — pick a key from the pool, ask the throttle, take a concurrency
// slot, send, classify the outcome once, then retry, rotate the key or fall
// back as the policy core decides — and relay the answer, streaming SSE as it
// arrives. Every decision is delegated to policy/; this file performs effects.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/config/gateway_config.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/headers.hpp"
#include "sluice/core/priority.hpp"
#include "sluice/core/rng.hpp"
#include "sluice/policy/errors/classifier.hpp"
#include "sluice/ports/response_writer.hpp"
#include "sluice/ports/timers.hpp"
#include "sluice/ports/upstream.hpp"
#include "sluice/providers/model_splice.hpp"
#include "sluice/state/coordinator.hpp"
#include "sluice/state/store.hpp"

namespace sluice::engine {

struct FrontRequest {
  config::WireApi api = config::WireApi::kOpenAI;
  std::string method;
  std::string path;  // the front-door path, e.g. /v1/chat/completions
  std::string body;
  providers::BodyFacts facts;
  HeaderList headers;
  std::string alias;  // what the client asked for
  std::vector<policy::RouteTarget> route;
  Priority priority = Priority::kInteractive;
  Duration queue_timeout = std::chrono::seconds(30);
  std::optional<TimePoint> deadline;
  std::string client;  // the gateway key's name, when keys are required
  // The alias's `translation: strict`: no candidate of another API that
  // would drop a field of this request.
  bool strict_translation = false;
  // The alias's default_max_tokens (for a translation to Anthropic).
  std::optional<std::int64_t> default_max_tokens;
  // Whatever the caller needs alive until the request is finished (the
  // config generation `route` points into, a client's in-flight slot).
  std::shared_ptr<const void> keep_alive;
};

// Errors sluice itself answers, in the caller's API format.
std::string error_body(config::WireApi api, int status, std::string_view code,
                       std::string_view message);

// What the engine performs its effects through (ports/): its waits and its
// providers' endpoints. Both outlive the engine.
struct EnginePorts {
  ports::Timers& timers;
  ports::UpstreamFactory upstreams;
};

// --- the policy mode (libsluice): a caller that sends its own requests
// asks the engine for a slot and tells it what came back, so it shares the
// gateway's limits, budgets and cooldowns without sending through it.

struct SlotRequest {
  std::string provider;         // a provider's name in the config
  std::string key_fingerprint;  // empty: the provider's pool picks a key
  std::string model;            // the upstream model (z.ai limits each model)
  Priority priority = Priority::kInteractive;
  std::optional<TimePoint> deadline;  // nullopt: wait for as long as it takes
  std::int64_t estimated_tokens = 0;  // toward a token budget
};

// Ends a slot's wait at once (an asyncio task cancelled, a thread giving
// up), leaving nothing queued. Touched on the engine's executor only.
struct SlotCancel {
  bool cancelled = false;
  ports::Timer* waiting = nullptr;  // the wait in progress, if any
  // Leaves a limiter's queue now, not when the waiting coroutine next runs,
  // so whoever cancelled sees the queue without it at once.
  std::function<void()> withdraw;
  void cancel() {
    cancelled = true;
    if (withdraw) withdraw();
    if (waiting) waiting->wake();
  }
};

// What a slot holds (the concurrency permit, a Redis lease, its place in the
// in-flight counts); released when the last reference goes, which must be
// on the engine's executor.
struct SlotGrant;

struct Slot {
  bool granted = false;
  // Refused: why ("unknown_provider", "unknown_key", "keys_cooling",
  // "budget_spent", "no_slot", "deadline", "cancelled") and when to ask again.
  std::string code;
  std::string message;
  std::optional<Duration> retry_after;
  // Granted: the key to send with (index into the provider's keys).
  std::string provider;
  std::string model;
  std::string key_fingerprint;
  std::size_t key_index = 0;
  std::shared_ptr<SlotGrant> grant;
};

// What came back from a request the caller sent itself.
struct Learning {
  std::string provider;
  std::string key_fingerprint;  // empty: the provider's first key
  std::string model;
  // status/headers/body/transport as the classifier reads them (its dialect
  // is the provider's, set by the engine).
  policy::UpstreamOutcome outcome;
  const Slot* slot = nullptr;  // the slot the request was sent in, if any
};

class RequestEngine {
 public:
  // `store` (optional) keeps cooldowns, rotation cursors and adaptive limits
  // across restarts and instances: loaded here, written as they change.
  // `coordinator` (optional, Redis mode) shares concurrency leases and
  // budgets with other gateway instances; both outlive the engine.
  RequestEngine(boost::asio::any_io_executor executor, const config::GatewayConfig& config,
                const Clock& clock, Rng& rng, EnginePorts ports, state::Store* store = nullptr,
                state::Coordinator* coordinator = nullptr);
  ~RequestEngine();
  RequestEngine(const RequestEngine&) = delete;
  RequestEngine& operator=(const RequestEngine&) = delete;

  // By rvalue: the request is moved once, into the coroutine that serves it.
  boost::asio::awaitable<void> handle(FrontRequest&& request, ports::ResponseWriter& writer);

  // A JSON snapshot for GET /status: providers, key fingerprints, limits,
  // in-flight, queues by priority, budgets with their resets, cooldowns,
  // counters and recent fallbacks, rejections and cooldowns. Never contains a
  // secret.
  std::string status_json() const;

  // GET /metrics: Prometheus text exposition (version 0.0.4) of the counters,
  // histograms and per-key gauges. Never contains a secret.
  std::string metrics_text() const;

  // The policy mode. A slot for (provider, key, model): waits, within the
  // deadline, for a key that is not cooling, for the provider's budget (as
  // its headers said) and for a concurrency slot (shared across instances in
  // Redis mode), by priority. On the engine's executor.
  boost::asio::awaitable<Slot> acquire_slot(SlotRequest request,
                                            std::shared_ptr<SlotCancel> cancel);
  // Classifies an outcome and learns from it as from one of its own attempts
  // (cooldowns, budgets, adaptive limits, shared with other instances).
  // Returns the verdict as JSON (sluice_classify's shape) with what changed,
  // or {"error": ...}. On the engine's executor.
  std::string learn(const Learning& learning);

  // Another instance changed a key's cooldown (Redis pub/sub): read it from
  // the store and apply it, so a key benched there is skipped here too.
  void apply_shared_cooldown(std::string_view key_scope);

  // Stops background work (lease renewal) so the io loop can finish.
  void stop();

  // A config reload: take over what `previous` learned and holds — key
  // cooldowns and rotation positions (matched by provider name and key
  // fingerprint), concurrency limiters with their live permits and adaptive
  // limits (re-capped to the new max_concurrent), budgets, the retry budget
  // and the metrics. `previous` keeps serving the requests it already has.
  void adopt(RequestEngine& previous);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::engine
