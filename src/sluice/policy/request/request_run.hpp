#pragma once
// One logical request's walk over its route chain, as a state machine with
// no I/O: the engine's driver performs the Action that `next` returns and
// reports what happened as the next Event, until `Finish`. The run holds the
// request's whole story (candidates tried and why they were passed over,
// attempts, failures, time queued and waited), so every way a request ends
// is decided here, once, with the facts for its one log line and metrics
// record; and every decision on the way is one of the policy core's:
// `decide_throttle` (send, wait for the reset, or move on), `decide_retry`
// (retry, rotate to another key, fall back, or stop), `choose_candidate`
// (the next candidate, a last-resort wait, or nothing before a time).
//
// The order of one attempt, and the event each action expects back:
//   Prepare{i}  -> Prepared{max_wait} | Unusable{why}   the candidate's provider, translation
//   TakeKey{i}  -> KeyTaken{budget}   | NoKey{free_at}  a key not cooling, its budget
//   Acquire{t}  -> Acquired{budget}   | NotAcquired     a concurrency slot within t
//   Share{t}    -> Shared{...}                          Redis mode: the slot across instances
//   Send        -> Answered{classification}             the attempt, classified once
//   Relay{...}  -> Relayed{ending}                      the answer, to the client
//   Wait{until} -> Woke                                 then the same candidate again
// A slot the driver holds is valid from Acquired until the next action that
// is not Share, Send or Relay: the driver gives it back then (as sent when
// this attempt was sent), so a wait never holds a slot.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sluice/core/error_class.hpp"
#include "sluice/core/rng.hpp"
#include "sluice/core/time.hpp"
#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/ratelimit/throttle.hpp"
#include "sluice/policy/retry/retry_budget.hpp"
#include "sluice/policy/retry/retry_decision.hpp"
#include "sluice/policy/routing/route.hpp"

namespace sluice::policy {

// How a request ended: one per request.
enum class Ending : std::uint8_t {
  kOk,
  kClientGone,     // the client hung up: its own doing, never the provider's
  kStreamDrop,     // the provider cut an answer after sluice committed to it
  kUpstreamError,  // every candidate failed; `cls` says how the last did
  kRefused,        // nothing was served (no capacity, nothing translatable)
};

// What the request is, fixed for its whole run.
struct RunSetup {
  std::string alias;                // as the caller named it, for the answer's message
  std::vector<std::string> labels;  // "provider/model" per route candidate, in order
  std::optional<TimePoint> deadline;
  Duration queue_timeout = std::chrono::seconds(30);
  // Added to a wait's end: background requests wake a moment after the
  // interactive ones waiting for the same reset, which go first.
  Duration wake_delay = Duration::zero();
  bool shared = false;   // Redis mode: a slot across instances after the local one
  int max_requeues = 4;  // concurrency errors answered by queueing again
};

// --- events: what the driver saw -------------------------------------------

struct Start {};
// The candidate can be sent to (its provider is known, the request is in its
// API); `max_wait` is the longest its provider's config lets a request wait.
struct Prepared {
  Duration max_wait = std::chrono::seconds(30);
};
// A candidate the caller's request itself cannot go to (it cannot be put in
// the candidate's API): when no candidate serves, the caller is told why.
struct Refusal {
  std::string code;     // "untranslatable_request", "previous_response_not_found", …
  std::string message;  // for the caller
  bool ours = false;    // sluice's own trouble (its store could not be read): 503; else 400
};
struct Unusable {
  std::string why;                 // for the log and the answer: "unknown provider", …
  std::optional<Refusal> refusal;  // set when the caller's request is why
};
// A key of the pool, and its provider's budget as last seen (the run sets
// max_wait and the deadline).
struct KeyTaken {
  ThrottleInput budget;
};
// Every key of the pool is cooling, until `free_at` (nullopt: disabled).
struct NoKey {
  std::optional<TimePoint> free_at;
};
struct Woke {};
// `budget`: the key's budget as it is now, when the slot took time.
struct Acquired {
  ThrottleInput budget;
};
struct NotAcquired {};
struct Shared {
  enum class Kind : std::uint8_t { kGranted, kLocal, kBusy };
  Kind kind = Kind::kLocal;  // kLocal: Redis away, local limits only
  // The budget all instances spend together, when it is newer than this
  // gateway's own view of it.
  std::optional<ThrottleInput> budget;
};
struct Answered {
  Classification classification;
  // Another key of the candidate's pool is free now, with this failure
  // already learned (a key it benched is not).
  bool another_key_free = false;
};
struct Relayed {
  Ending ending = Ending::kOk;
  std::string detail;
  // The provider cut a whole answer short before anything reached the
  // client: the run answers with an error instead.
  bool unanswered = false;
};

using Event = std::variant<Start, Prepared, Unusable, KeyTaken, NoKey, Woke, Acquired, NotAcquired,
                           Shared, Answered, Relayed>;

// --- actions: what the driver does next ------------------------------------

struct Prepare {
  std::size_t index;
};
struct TakeKey {
  std::size_t index;
};
struct Wait {
  TimePoint until;
};
struct Acquire {
  Duration timeout;
};
struct Share {
  TimePoint give_up;
};
struct Send {};
struct Relay {
  std::size_t index;
  bool by_fallback = false;  // a candidate after the first
};
// The client's error answer.
struct Reply {
  int status = 429;
  std::string code;
  std::string message;
  std::optional<Duration> retry_after;
  bool should_retry = true;
};
// The one exit: what the request's log line and metrics record say.
struct Finish {
  Ending ending = Ending::kOk;
  std::string route = "-";  // provider/model, "-" when none
  std::string detail;
  ErrorClass cls = ErrorClass::kServerError;  // kUpstreamError only
  std::optional<Reply> reply;                 // nullopt: the answer was relayed
};

using Action = std::variant<Prepare, TakeKey, Wait, Acquire, Share, Send, Relay, Finish>;

// Counters the operator sees, as the run passes them.
struct RunCounts {
  int fallbacks = 0;       // moved on to a later candidate
  int throttle_waits = 0;  // a budget or cooldown delayed the request, or it was routed around it
  int retries = 0;         // sent again: a retry, a rotation, a requeue
};

class RequestRun {
 public:
  // `retry`, `budget` and `rng` are shared with every other request and
  // must outlive the run.
  RequestRun(RunSetup setup, const RetryConfig& retry, RetryBudget& budget, Rng& rng);

  Action next(const Event& event, TimePoint now);

  // The story so far.
  int attempts() const { return attempts_total_; }
  Duration queued() const { return queued_; }
  // Waiting on others: budgets, cooldowns, retry backoff, the provider.
  Duration waited() const { return waited_; }
  const std::vector<std::string>& failures() const { return failures_; }
  const std::vector<std::string>& skipped() const { return skipped_; }
  // Counters since the last call.
  RunCounts take_counts();

 private:
  struct Candidate {
    CandidateAvailability availability;
    int attempts = 0;
    Duration waited = Duration::zero();  // for a budget or a cooldown, toward max_wait
    Duration max_wait = Duration::zero();
  };

  Action at(std::size_t index, TimePoint now);
  Action send(TimePoint now);
  Action wait_until(TimePoint until, TimePoint now, bool counts_toward_max_wait);
  Action move_on(std::string why, TimePoint now);
  Action failed(const Answered& a, TimePoint now);
  Action give_up(TimePoint now);
  ThrottleDecision judge(ThrottleInput budget) const;
  std::vector<CandidateAvailability> availabilities() const;
  Candidate& current() { return candidates_[index_]; }
  const std::string& label() const { return setup_.labels[index_]; }

  RunSetup setup_;
  const RetryConfig& retry_;
  RetryBudget& budget_;
  Rng& rng_;

  std::size_t index_ = 0;
  std::vector<Candidate> candidates_;
  TimePoint since_{};             // when the current action began
  TimePoint judged_at_{};         // when the candidate's budget was judged
  Duration judged_max_wait_{};    // … with what it could still wait then
  TimePoint give_up_queue_at_{};  // the end of the current slot's queue timeout
  bool wait_counts_ = false;      // the current wait counts toward max_wait
  int attempts_total_ = 0;
  int requeues_ = 0;
  Duration queued_ = Duration::zero();
  Duration waited_ = Duration::zero();
  std::vector<std::string> failures_;  // "provider/model:CLASS" per failed attempt
  std::vector<std::string> skipped_;   // "provider/model: why" per candidate passed over
  std::optional<Classification> last_;
  std::string last_where_;
  std::optional<Refusal> refusal_;
  RunCounts counts_;
};

}  // namespace sluice::policy
