#pragma once
// The request engine's insides, shared by the files that implement it
// (internal: nothing outside engine/ includes this). The seams:
//   request_engine.cpp  construction, the public face, the wire helpers
//   handle.cpp          one request: admission, attempts, classification, relay
//   learned_state.cpp   what attempts teach: cooldowns, cursors, adaptive limits,
//                       budgets; loaded from and written to the state store
//   responses_turns.cpp the Responses API's kept conversations
//   operator_views.cpp  GET /status and GET /metrics
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "sluice/core/json_text.hpp"
#include "sluice/core/log.hpp"
#include "sluice/core/text.hpp"
#include "sluice/engine/metrics.hpp"
#include "sluice/engine/request_engine.hpp"
#include "sluice/engine/upstream_state.hpp"
#include "sluice/policy/credentials/credential_pool.hpp"
#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/errors/error_body.hpp"
#include "sluice/policy/ratelimit/header_parser.hpp"
#include "sluice/policy/ratelimit/snapshot_merge.hpp"
#include "sluice/policy/ratelimit/throttle.hpp"
#include "sluice/policy/request/request_run.hpp"
#include "sluice/policy/retry/retry_budget.hpp"
#include "sluice/policy/retry/retry_decision.hpp"
#include "sluice/providers/model_facts.hpp"
#include "sluice/providers/sse_scan.hpp"
#include "sluice/state/memory_store.hpp"
#include "sluice/translate/responses_state.hpp"
#include "sluice/translate/translate.hpp"

namespace sluice::engine {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

namespace internal {

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Error bodies are read whole for the classifier; anything longer is cut.
inline constexpr std::size_t kMaxErrorBody = 1024 * 1024;
// Until this much of a 200 stream has arrived without a data event, keep
// waiting before committing the first byte to the client.
inline constexpr std::size_t kMaxStreamProbe = 64 * 1024;
// A successful non-streaming body is held whole up to this size, so a
// provider that cuts it short can still be retried elsewhere; beyond it (large
// embedding batches) the rest is relayed as it arrives rather than held.
inline constexpr std::size_t kMaxBufferedBody = 8 * 1024 * 1024;

inline std::string ceil_seconds(Duration d) {
  return std::to_string(static_cast<long long>(std::ceil(std::max(0.0, to_seconds(d)))));
}

inline bool hop_by_hop(std::string_view name) {
  static constexpr std::string_view kDrop[] = {
      "connection", "keep-alive",         "transfer-encoding",   "content-length", "te",  "trailer",
      "upgrade",    "proxy-authenticate", "proxy-authorization", "server",         "date"};
  for (auto d : kDrop) {
    if (iequals(name, d)) return true;
  }
  return false;
}

// Client headers that travel upstream; everything else (auth above all) stays.
inline bool forwarded_client_header(std::string_view name) {
  return istarts_with(name, "anthropic-") || iequals(name, "openai-beta") ||
         iequals(name, "accept") || iequals(name, "content-type") || iequals(name, "user-agent");
}

// Where a front-door path lands under a provider's base URL: base URLs carry
// the version ("https://api.openai.com/v1", "https://api.z.ai/api/paas/v4"),
// so "/v1" is dropped when the base has a path of its own.

// The error event that ends a cut stream, in the caller's API: Anthropic's
// `event: error`, the Responses API's `response.failed`, else an OpenAI
// error chunk.
inline std::string stream_error_event(config::WireApi api, std::string_view path,
                                      std::string_view message) {
  if (path == "/v1/responses") {
    return "event: response.failed\ndata: " +
           json_text(json{{"type", "response.failed"},
                          {"response",
                           {{"object", "response"},
                            {"status", "failed"},
                            {"error", {{"code", "stream_drop"}, {"message", message}}}}}}) +
           "\n\n";
  }
  if (api == config::WireApi::kAnthropic) {
    return "event: error\ndata: " +
           json_text(
               json{{"type", "error"}, {"error", {{"type", "api_error"}, {"message", message}}}}) +
           "\n\n";
  }
  return "data: " +
         json_text(
             json{{"error",
                   {{"message", message}, {"type", "server_error"}, {"code", "stream_drop"}}}}) +
         "\n\n";
}

// "; translated messages->chat, dropped: a; b" for a request's log line, or "".
inline std::string translation_note(const std::optional<translate::Context>& t,
                                    const std::vector<std::string>& dropped);

// Server-Timing (W3C): sluice's own time on the request until its head is
// written (the total less queueing and waits on the provider and for budgets)
// next to those two, in ms.
inline std::string server_timing(Duration total, Duration queued, Duration waited) {
  // In hundredths of a ms, rounded half up, from the integer count: the
  // header is written on every answer.
  const auto ms = [](std::string& out, Duration d) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    append_scaled(out, (std::max<std::int64_t>(ns, 0) + 5'000) / 10'000, 2);
  };
  std::string out;
  out.reserve(112);
  out += "sluice;dur=";
  ms(out, total - queued - waited);
  out += ";desc=\"sluice overhead\", queue;dur=";
  ms(out, queued);
  out += ", wait;dur=";
  ms(out, waited);
  out += ";desc=\"provider and throttle waits\"";
  return out;
}

inline std::string translation_note(const std::optional<translate::Context>& t,
                                    const std::vector<std::string>& dropped) {
  if (!t) return {};
  std::string note = "; translated " + std::string(translate::to_string(t->caller)) + "->" +
                     std::string(translate::to_string(t->upstream));
  if (!dropped.empty()) note += ", dropped: " + join(dropped);
  return note;
}

struct ProviderRuntime {
  const config::ProviderConfig* cfg = nullptr;
  // One endpoint per provider, so each provider's own timeouts apply.
  std::unique_ptr<ports::Upstream> upstream;
  policy::PoolState pool;
  std::string endpoint_error;  // base_url could not be parsed
  // When the rotation cursor was last written to the store (see save_cursor).
  std::optional<TimePoint> cursor_saved_at;
};

// How often a round-robin pool's cursor is written to the store. It only
// spares a restarted gateway from starting at the first key; written per
// request it was a store write on every request (a Redis round trip on the
// io thread in Redis mode).
inline constexpr Duration kCursorSaveEvery = std::chrono::seconds(1);

// A concurrency lease shared with other gateway instances (Redis mode), given
// back when the attempt ends however it ends.
struct SharedLease {
  state::Coordinator* coordinator = nullptr;
  state::AdmissionRequest request;
  std::string id;  // empty: none held
  void release(bool refund) {
    if (coordinator && !id.empty()) coordinator->release(request, id, refund);
    id.clear();
  }
  ~SharedLease() { release(false); }
};

// The longest a request waits for the coordinator's answer before going on
// with local limits (its own timeouts are far shorter: this bounds a stuck queue).
inline constexpr Duration kAdmissionWait = std::chrono::seconds(2);
// How often a request waiting for a lease held by another instance asks
// again. Short: a freed slot should not idle; each ask is one Redis call.
inline constexpr Duration kLeasePoll = std::chrono::milliseconds(10);
// How much later than interactive ones background requests wake from a wait
// for the same budget reset: long enough for the interactive ones to be sent
// and counted first, short against any window.
inline constexpr Duration kBackgroundYield = std::chrono::milliseconds(20);
inline Duration wake_delay(Priority p) {
  return p == Priority::kBackground ? kBackgroundYield : Duration::zero();
}

// Concurrency 429s one request may answer by queueing again (see handle()).
inline constexpr int kMaxRequeues = 4;

// Renews this instance's leases until the engine goes. The timer and flag
// are shared so that the engine may be destroyed while the wait is pending.
inline awaitable<void> renew_leases(std::shared_ptr<asio::steady_timer> timer,
                                    std::shared_ptr<bool> alive, state::Coordinator* coordinator) {
  const auto every =
      std::chrono::duration_cast<asio::steady_timer::duration>(coordinator->lease_ttl() / 3);
  while (*alive) {
    timer->expires_after(every);
    co_await timer->async_wait(kTuple);
    if (!*alive) co_return;
    coordinator->renew();
  }
}

// The one mapping from what the upstream port saw to what the classifier
// judges (a reset and a close mid-answer are the same class to it).
inline policy::TransportFailure transport_failure_of(ports::ClientFailure f) {
  switch (f) {
    case ports::ClientFailure::kNone: return policy::TransportFailure::kNone;
    case ports::ClientFailure::kConnect: return policy::TransportFailure::kConnect;
    case ports::ClientFailure::kTimeout: return policy::TransportFailure::kTimeout;
    case ports::ClientFailure::kTls: return policy::TransportFailure::kTls;
    case ports::ClientFailure::kEof: return policy::TransportFailure::kEof;
    case ports::ClientFailure::kReset:
    case ports::ClientFailure::kProtocol: return policy::TransportFailure::kReset;
  }
  return policy::TransportFailure::kReset;
}

// "provider/model" of a route candidate, for logs, headers and answers.
inline std::string label_of(const FrontRequest& req, std::size_t index) {
  return req.route[index].provider + "/" + req.route[index].upstream_model;
}

// This request's own send, counted in its key's budget while the attempt
// is on (in flight) and until a reply's headers account for it (unaccounted).
struct InFlight {
  ModelBudget& budget;
  std::int64_t tokens;
  InFlight(ModelBudget& b, std::int64_t t) : budget(b), tokens(t) {
    ++budget.in_flight;
    budget.in_flight_tokens += tokens;
    ++budget.unaccounted_requests;
    budget.unaccounted_tokens += tokens;
  }
  ~InFlight() {
    --budget.in_flight;
    budget.in_flight_tokens -= tokens;
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
};

// A candidate's translation of the request, made once per candidate.
struct Translation {
  std::optional<translate::Api> to;      // set while the current candidate needs it
  std::optional<std::size_t> for_index;  // the candidate the rest was made for
  std::string body;
  std::optional<translate::Context> context;
  std::vector<std::string> dropped;
};

// One attempt's answer, as far as it was read to classify it.
struct Answer {
  ports::SendResult sent;
  TimePoint at{};      // when its head came
  HeaderView headers;  // into sent.response
  std::string body;    // a whole (error) body, or a stream's first events
  bool streaming = false;
};

// What a request holds of one key while an attempt is on: the key, its
// budget and limiter, a concurrency slot, a lease across instances, its own
// send counted in the budget, and the attempt's answer.
struct Hold {
  explicit Hold(state::Coordinator* coordinator) : lease{coordinator} {}
  std::size_t key_index = 0;
  UpstreamKeyState* key_state = nullptr;
  ModelBudget* mb = nullptr;
  policy::PriorityLimiter* limiter = nullptr;
  policy::ThrottleInput budget_seen;  // the key's budget, as last judged
  std::optional<policy::Permit> permit;
  SharedLease lease;
  state::Admission admission;  // the shared budget's snapshot lives here while judged
  std::optional<InFlight> in_flight;
  bool sent = false;
  int in_flight_at_send = 0;
  Answer answer;

  // Everything but the key goes: a slot is held only through an attempt,
  // never across a wait, and the attempt's answer goes too (a stream cut
  // short closes its connection). A lease not sent with is uncounted.
  void let_go() {
    answer.sent.response.reset();
    in_flight.reset();
    permit.reset();
    lease.release(!sent);
    sent = false;
  }
};

}  // namespace internal
using namespace internal;  // NOLINT: the engine's own vocabulary

struct RequestEngine::Impl {
  asio::any_io_executor executor;
  const config::GatewayConfig& config;
  const Clock& clock;
  Rng& rng;
  ports::Timers& timers;
  EnginePorts ports;
  state::Store* store;
  state::Coordinator* coordinator;
  std::shared_ptr<asio::steady_timer> renew_timer;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  // Where the coordinator's answers (on its own thread) are posted back to
  // this engine's executor, while the engine lives.
  struct Mailbox {
    std::mutex m;
    bool open = true;
    asio::any_io_executor executor;
  };
  std::shared_ptr<Mailbox> mailbox = std::make_shared<Mailbox>();
  UpstreamRegistry registry;
  std::map<std::string, ProviderRuntime> providers;
  policy::RetryBudget budget;
  Metrics metrics;
  // The operator's errors.rules, checked before the built-in ones.
  policy::RuleTable rules;
  // Where Responses API conversations live without a configured store.
  state::MemoryStore own_conversations;

  Impl(asio::any_io_executor ex, const config::GatewayConfig& cfg, const Clock& c, Rng& r,
       EnginePorts engine_ports, state::Store* s, state::Coordinator* coord)
      : executor(ex),
        config(cfg),
        clock(c),
        rng(r),
        timers(engine_ports.timers),
        ports(std::move(engine_ports)),
        store(s),
        coordinator(coord),
        budget(cfg.retry.budget),
        rules(policy::builtin_rules()) {
    mailbox->executor = ex;
    rules.prepend(cfg.error_rules);
    if (coordinator) {
      renew_timer = std::make_shared<asio::steady_timer>(ex);
      asio::co_spawn(ex, renew_leases(renew_timer, alive, coordinator), asio::detached);
    }
    for (const auto& p : cfg.providers) {
      ProviderRuntime rt;
      rt.cfg = &p;
      ports::MadeUpstream made =
          ports.upstreams(p.base_url, {.connect_timeout = p.timeouts.connect,
                                       .first_byte_timeout = p.timeouts.first_byte,
                                       .idle_timeout = p.timeouts.idle});
      rt.upstream = std::move(made.upstream);
      if (!rt.upstream) rt.endpoint_error = made.error;
      if (p.keyless) {
        rt.pool.keys.push_back(policy::KeyState{.fingerprint = "keyless"});
      }
      for (const auto& k : p.keys) {
        rt.pool.keys.push_back(policy::KeyState{.fingerprint = k.secret.fingerprint()});
      }
      load_state(rt);
      providers.emplace(p.name, std::move(rt));
    }
  }

  ~Impl() {
    stop();
    std::lock_guard lock(mailbox->m);
    mailbox->open = false;  // the coordinator's late answers go nowhere from now on
  }

  void adopt(Impl& old);
  void stop() {
    *alive = false;
    // Once: the renewal's frame keeps its own reference to the timer, and the
    // loop may be gone by the time the engine is (engine tests destroy it first).
    if (renew_timer) renew_timer->cancel();
    renew_timer.reset();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // The store's scope for one key: cooldowns belong to (base_url, key), so two
  // providers behind one URL and key share them (decision 0006).
  static std::string key_scope(const ProviderRuntime& p, const std::string& fingerprint) {
    return p.cfg->base_url + "|" + fingerprint;
  }

  // The same failure again (a store that is down) is not logged again.
  void store_error(std::string_view what, const state::StoreError& e) {
    if (e.message == last_store_error) return;
    last_store_error = e.message;
    LogLine("warn", "state_store_error").kv("op", what).kv("error", e.message);
  }
  std::string last_store_error;

  // --- learned state (learned_state.cpp) ---------------------------------
  // What an earlier run (or another instance) learned: benched keys and the
  // rotation position. A key still cooling is skipped from the first request.
  void load_state(ProviderRuntime& rt);

  static void apply_cooldown(policy::KeyState& k, const state::KeyCooldown& cd) {
    k.cooling_until = cd.cooling_until;
    k.cooling_class = cd.cooling_class;
    k.cooling_reason = cd.reason;
    k.consecutive_failures = cd.consecutive_failures;
    k.disabled = cd.disabled;
  }

  void apply_shared_cooldown(std::string_view scope);

  void save_cooldown(const ProviderRuntime& rt, const std::string& fingerprint);

  void save_cursor(ProviderRuntime& rt);

  void save_adaptive(const ProviderRuntime& rt, const UpstreamKeyState& key,
                     const std::string& bucket, int limit);

  policy::PriorityLimiter& limiter_for(UpstreamKeyState& key, const ProviderRuntime& p,
                                       const std::string& model);

  // One attempt's key, for what its outcome teaches.
  struct Attempt {
    ProviderRuntime& p;
    std::size_t key_index;
    UpstreamKeyState& key;
    policy::PriorityLimiter& limiter;
    const std::string& model;
    int in_flight_at_send;
  };
  // A success ends the key's failure streak and may raise its adaptive limit.
  void learn_success(const Attempt& a);
  // A failure benches or disables the key as its class says (a concurrency
  // 429 lowers the limit instead: the key is fine, we sent too many at once).
  void learn_failure(std::string_view alias, const Attempt& a, const policy::Classification& c);
  // The key's adaptive limit moved: its limiter and the store follow.
  void limit_moved(const Attempt& a, const std::string& bucket);

  // --- admission, shared by requests and the policy mode's slots ---------
  // Waits for a slot until `timeout`; nullopt when skipped (or cancelled).
  awaitable<std::optional<policy::Permit>> acquire(policy::PriorityLimiter& limiter,
                                                   Priority priority, Duration timeout,
                                                   SlotCancel* cancel = nullptr);
  // A pause that a slot's cancellation ends early.
  awaitable<void> cancellable_sleep(TimePoint until, SlotCancel* cancel);
  // What the throttle is asked about one key's budget for one model.
  policy::ThrottleInput throttle_input(const ProviderRuntime& p, const ModelBudget& mb,
                                       TimePoint now, std::int64_t est_in,
                                       std::int64_t est_out) const {
    policy::ThrottleInput ti;
    ti.threshold = p.cfg->rpm_throttle_threshold;
    ti.estimated_input_tokens = est_in;
    ti.estimated_output_tokens = est_out;
    return refreshed(ti, mb, now);
  }
  // The same question with the budget as it is `now` (replies that came in
  // while the request waited may have spent it); the request's own limits
  // (max_wait, deadline, estimates) stay.
  static policy::ThrottleInput refreshed(policy::ThrottleInput ti, const ModelBudget& mb,
                                         TimePoint now) {
    ti.snapshot = mb.snapshot ? &*mb.snapshot : nullptr;
    ti.now = now;
    ti.unaccounted_requests = mb.unaccounted_requests;
    ti.unaccounted_tokens = mb.unaccounted_tokens;
    ti.in_flight_requests = mb.in_flight;
    return ti;
  }
  // Redis mode: one admission, asked without blocking the loop (the
  // coordinator answers on its own thread and the answer is posted back, or
  // at once from a spare lease).
  awaitable<state::Admission> ask_admission(const state::AdmissionRequest& request);
  // Redis mode: asks for a lease until one is free across the instances or
  // `give_up` passes (kBusy then).
  awaitable<state::Admission> admit_shared(const SharedLease& lease, TimePoint give_up,
                                           SlotCancel* cancel = nullptr);

  // --- the policy mode (slots.cpp) ----------------------------------------
  awaitable<Slot> acquire_slot(SlotRequest r, std::shared_ptr<SlotCancel> cancel);
  // A slot's key now: the one asked for or the pool's pick; else when one
  // frees up, or why none will (`refusal` set).
  struct KeyPick {
    std::optional<std::size_t> index;
    std::optional<TimePoint> free_at;
    std::string refusal_code;
    std::string refusal;
  };
  KeyPick pick_slot_key(ProviderRuntime& p, std::optional<std::size_t> wanted, TimePoint now);
  // The provider and key a slot request names, or why it names none
  // (`refusal_code` set).
  struct SlotTarget {
    ProviderRuntime* provider = nullptr;
    std::optional<std::size_t> wanted;  // the key asked for by fingerprint
    std::string refusal_code;
    std::string refusal;
  };
  SlotTarget slot_target(const SlotRequest& r);
  // What a slot's Redis step says (lease across instances, the budget they
  // spend together): go on, look again from the start, or refuse.
  struct SharedStep {
    enum class Kind : std::uint8_t { kGo, kAgain, kRefuse };
    Kind kind = Kind::kGo;
    std::string code;
    std::string message;
    std::optional<Duration> retry_after;
  };
  awaitable<SharedStep> share_slot(SharedLease& lease, const ModelBudget& mb,
                                   const policy::ThrottleInput& ti, TimePoint give_up,
                                   SlotCancel* cancel, const std::string& where);
  // The slot granted: its send is counted in `mb` until it is given back.
  static Slot granted_slot(const SlotRequest& r, ModelBudget& mb, std::shared_ptr<SlotGrant> grant,
                           int in_flight, policy::Permit permit, std::string fingerprint,
                           std::size_t key_index);
  std::string learn(const Learning& l);

  // --- one request (handle.cpp) ------------------------------------------

  // `translated`: the body is in the provider's API, not the caller's, so
  // headers that describe the caller's API (anthropic-beta, openai-beta) stay.
  HeaderList upstream_headers(const FrontRequest& req, const ProviderRuntime& p,
                              const config::ApiKey* key, bool translated = false);

  // A non-streaming body larger than kMaxBufferedBody: what was held goes
  // first, then the rest as it arrives (chunked). If the provider stops short
  // the client's connection is dropped without the terminal chunk, so the
  // client sees a truncated body, never a complete-looking one.
  enum class LargeBodyEnd { kWhole, kClientGone, kCutShort };
  awaitable<LargeBodyEnd> relay_large_body(ports::ResponseWriter& w,
                                           ports::UpstreamResponse& upstream, int status,
                                           const HeaderList& headers, std::string held);

  void capture_budget(ModelBudget& b, const RateLimitSnapshot& snap, std::int64_t own_tokens);

  awaitable<void> reply_error(ports::ResponseWriter& w, const FrontRequest& req, int status,
                              std::string code, std::string message,
                              std::optional<Duration> retry_after, bool should_retry,
                              HeaderList extra);

  // The request's one exit: its log line, its metrics record, and an entry
  // in the live page's recent list for anything but success.
  void end_request(const FrontRequest& req, TimePoint started, const policy::RequestRun& run,
                   const policy::Finish& e);

  // --- the Responses API's kept conversations (responses_turns.cpp) ------
  // The Responses API's state for one request (translate/responses_state.hpp).
  struct ResponsesState {
    // The request continued with its kept history, for candidates other
    // than the provider that made the previous turn (which has it).
    std::optional<std::string> continued;
    providers::BodyFacts continued_facts;
    std::string stored_at;       // that provider's base URL
    std::string own_body;        // the caller's request as sent: what a kept turn records
    std::string previous_id;     // the caller's previous_response_id
    std::string unknown_id;      // … when nothing here knows it
    bool lookup_failed = false;  // the store could not say
    bool keep = false;           // keep this turn for a later previous_response_id
  };

  state::Store& conversations() { return store ? *store : own_conversations; }

  // Looks up the conversation `req` continues. When the id is sluice's own,
  // no provider knows it, so `req` itself is continued for every candidate.
  ResponsesState responses_state(FrontRequest& req);

  // Keeps a served turn under its response id.
  void keep_turn(const FrontRequest& req, const ResponsesState& rs, bool translated,
                 const ProviderRuntime& p, std::string_view response);
  std::string new_response_id();
  std::random_device entropy;  // response ids (responses_turns.cpp)

  void served_by_fallback(const FrontRequest& req, const std::string& label,
                          const std::vector<std::string>& skipped) {
    metrics.event({.at = clock.now(),
                   .kind = "fallback",
                   .alias = req.alias,
                   .where = label,
                   .cls = "none",
                   .detail = join(skipped)});
  }

  // One request: the driver of its RequestRun (handle.cpp).
  awaitable<void> handle(FrontRequest req, ports::ResponseWriter& w);
  // The candidate at `index`, ready to send to (translated once when it
  // speaks another API), or why it cannot be.
  policy::Event prepare(FrontRequest& req, const ResponsesState& responses, std::size_t index,
                        Translation& translation);
  // A key of the candidate's pool for `model`, and its budget as last seen;
  // or when one frees up.
  policy::Event take_key(ProviderRuntime& p, const std::string& model, Hold& h, std::int64_t est_in,
                         std::int64_t est_out);
  // One attempt on the held key: sent, its answer probed and classified
  // once, and what it teaches learned before the run decides.
  awaitable<policy::Answered> attempt(FrontRequest& req, const ResponsesState& responses,
                                      ProviderRuntime& p, std::size_t index,
                                      const Translation& translation, Hold& h, std::int64_t est_in,
                                      std::int64_t own_tokens);
  ports::OutgoingBody outgoing_body(const FrontRequest& req, const ResponsesState& responses,
                                    const ProviderRuntime& p, const policy::RouteTarget& target,
                                    const Translation& translation);
  awaitable<void> probe_answer(Answer& a);
  policy::Classification classify_answer(const Answer& a, const ProviderRuntime& p,
                                         const providers::BodyFacts& facts,
                                         std::int64_t est_in) const;
  static policy::Event shared_event(const state::Admission& admission, SharedLease& lease,
                                    const ModelBudget& mb, const policy::ThrottleInput& seen,
                                    TimePoint now);
  // What Redis mode asks for one send on `fingerprint` of `p` for `model`.
  static state::AdmissionRequest lease_request(const ProviderRuntime& p,
                                               const std::string& fingerprint,
                                               const std::string& model, int limit,
                                               std::int64_t tokens) {
    return {.key_scope = key_scope(p, fingerprint),
            .bucket = p.cfg->limiter_bucket(model),
            .model = model,
            .limit = limit,
            .tokens = tokens};
  }
  awaitable<policy::Relayed> relay_answer(FrontRequest& req, ports::ResponseWriter& w,
                                          const policy::RequestRun& run, TimePoint started,
                                          const ResponsesState& responses, const ProviderRuntime& p,
                                          policy::Relay relay, Answer& answer,
                                          const Translation& translation);
  // A stream as it arrives, from its `first` events on (relay.cpp).
  awaitable<policy::Relayed> relay_stream(FrontRequest& req, ports::ResponseWriter& w,
                                          const ResponsesState& responses, const ProviderRuntime& p,
                                          const std::string& label, const HeaderList& out,
                                          ports::UpstreamResponse& response, std::string& first,
                                          const std::optional<translate::Context>& context,
                                          const std::string& ok_detail);

  // --- operator views (operator_views.cpp) -------------------------------
  const UpstreamKeyState* upstream_of(const ProviderRuntime& p, const std::string& fp) const {
    auto it = registry.all().find(p.cfg->base_url + "|" + fp);
    return it == registry.all().end() ? nullptr : &it->second;
  }

  // What a budget bucket holds now: as the provider last said, or full again
  // once its reset has passed (when its limit is known).
  struct BudgetView {
    std::optional<std::int64_t> remaining;
    std::optional<std::int64_t> limit;
    std::optional<Duration> reset_in;
  };
  static BudgetView view_of(const RateLimitSnapshot& snap, const RateLimitBucket& b,
                            TimePoint now) {
    BudgetView v{b.remaining, b.limit, std::nullopt};
    if (b.reset_after) {
      const TimePoint reset_at = snap.taken_at + *b.reset_after;
      if (reset_at > now) {
        v.reset_in = reset_at - now;
      } else if (b.limit) {
        v.remaining = b.limit;
      }
    }
    return v;
  }

  static bool cooling(const policy::KeyState& k, TimePoint now) {
    return k.disabled || (k.cooling_until && *k.cooling_until > now);
  }

  std::string status_json() const;

  std::string metrics_text() const;
};

}  // namespace sluice::engine
