#pragma once
// The pure model of one simulated provider (sans-I/O). The shell hands it
// each request with the time it arrived and gets back a ResponsePlan: what to
// write and when. No sockets, threads, clock reads or sleeps in here; all
// randomness comes from one seeded generator, so the same config, seed and
// sequence of (request, now) always yield the same plans. Not thread-safe:
// the shell serialises calls (one io_context thread).
//
// Per request, in order:
//   route (404) → key (401) → body (400) → model list (404/400)
//   → scheduled billing / quota faults → overload fault        (refusals: no budget spent)
//   → concurrency → requests/window → tokens/window → daily   (refusals: no budget spent)
//   → admitted: spends 1 request + its token cost, holds a concurrency slot until
//     on_finished(ticket) → server error / garbage / hang / stream faults, or success.
// GET …/models and Anthropic's count_tokens are never rate-limited.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/core/rng.hpp"
#include "sluice/core/time.hpp"
#include "sluice/sim/error_bodies.hpp"
#include "sluice/sim/ratelimit_headers.hpp"
#include "sluice/sim/sim_config.hpp"

namespace sluice::sim {

struct SimRequest {
  std::string method;
  std::string path;     // may carry a query string (Azure's ?api-version=…); it is ignored
  std::string api_key;  // the shell extracts it: Authorization: Bearer, x-api-key or api-key
  std::string body;
};

struct SseChunk {
  Duration delay;    // wait before writing this chunk
  std::string data;  // the exact bytes: "data: {…}\n\n" or "event: x\ndata: {…}\n\n"
};

enum class Ending : std::uint8_t {
  kComplete,        // finish the response normally
  kCloseMidStream,  // after the chunks, drop the connection: no terminal event
  kHang,            // write nothing at all; hold the connection until the client leaves
};

struct ResponsePlan {
  // Pass back to on_finished once the response is written or abandoned;
  // 0 when nothing was admitted (no slot held).
  std::uint64_t ticket = 0;
  Duration delay_before_headers{};  // latency (+ slow_headers; + generation for non-streams)
  int status = 0;                   // 0 with Ending::kHang
  HeaderPairs headers;  // content-type, date (HTTP-date of now), rate-limit headers, …
  std::string body;     // non-streaming responses
  bool streaming = false;
  std::vector<SseChunk> chunks;
  Ending ending = Ending::kComplete;
};

class SimProvider {
 public:
  // Draws from its own generator seeded with cfg.seed (reseeded by reset()).
  explicit SimProvider(ProviderSimConfig cfg);
  // Draws from `rng` instead (tests script it); `rng` must outlive the model.
  SimProvider(ProviderSimConfig cfg, Rng& rng);

  ResponsePlan on_request(const SimRequest& request, TimePoint now);
  // Frees the request's concurrency slot. Unknown, repeated or pre-reset
  // tickets are ignored.
  void on_finished(std::uint64_t ticket, TimePoint now);

  // GET /_sim/stats:
  // {"provider","dialect","requests","successes","admitted","in_flight",
  //  "rejections":{"not_found",…,"overload"},   refused, nothing spent
  //  "faults":{"server_error","garbage","hang","stream_error","close_mid_stream"},
  //  "keys":{"<key>":{"requests","admitted","successes","in_flight","max_in_flight","tokens"}}}
  nlohmann::json stats() const;
  // POST /_sim/reset: counters, windows, in-flight slots and stats back to zero;
  // the owned generator is reseeded. Config and fault settings are kept.
  void reset();
  // POST /_sim/faults: a JSON object with any FaultConfig field
  // (rates 0..1, "slow_headers": "200ms", "stream_error_after_chunks": 2,
  // "billing_after"/"quota_after": N or null). All or nothing; returns the
  // error message for bad input.
  std::optional<std::string> set_faults(const nlohmann::json& patch);
  // Changes limits at run time (a provider raising a key's cap), e.g.
  // {"concurrency": 5}; null removes the limit. Applies to the next request.
  std::optional<std::string> set_limits(const nlohmann::json& patch);
  const ProviderSimConfig& config() const { return cfg_; }
  // The budgets the model holds for `key` at `now` (what its headers would
  // say); nullopt for a key it does not accept.
  std::optional<BudgetReport> budget(const std::string& key, TimePoint now) const;

 private:
  // A fixed window, opened by the first request admitted after the previous
  // one expired, so a burst that fits in one window length always lands in one.
  struct Window {
    std::optional<TimePoint> start;
    std::int64_t requests = 0;
    std::int64_t tokens = 0;
  };
  struct KeyState {
    Window minute;  // the configured `window`
    Window day;     // the configured `daily_window`
    std::int64_t in_flight = 0;
    std::int64_t max_in_flight = 0;
    std::uint64_t requests = 0;
    std::uint64_t admitted = 0;
    std::uint64_t successes = 0;
    std::int64_t tokens = 0;
  };
  struct Counters {
    std::uint64_t requests = 0;
    std::uint64_t successes = 0;
    std::uint64_t admitted = 0;
    std::uint64_t billable_successes = 0;  // what billing_after counts
    std::array<std::uint64_t, kRefusalCount> refusals{};
    std::uint64_t garbage = 0, hang = 0, stream_error = 0, close_mid_stream = 0;
  };
  struct Call;  // one on_request invocation's context

  ResponsePlan decide(const SimRequest& request, TimePoint now);
  void start_fresh();
  Duration draw_base_latency();
  KeyState& key_state(const std::string& key);
  void expire_windows(KeyState& ks, TimePoint now) const;
  BudgetReport budget_of(const KeyState& ks, TimePoint now) const;
  void add_common_headers(const Call& call, ResponsePlan& plan, const char* content_type) const;
  ResponsePlan refuse(const Call& call, Refusal refusal, RefusalFacts facts, Tripped tripped,
                      std::optional<Duration> retry_after);
  ResponsePlan serve(const Call& call, std::string body);
  ResponsePlan admitted(Call& call, double roll);

  ProviderSimConfig cfg_;
  std::unique_ptr<SeededRng> owned_rng_;  // null when the Rng was injected
  Rng* rng_;
  std::map<std::string, KeyState, std::less<>> keys_;
  std::unordered_map<std::uint64_t, KeyState*> tickets_;
  std::uint64_t next_ticket_ = 1;  // never reset, so a pre-reset ticket cannot free a new slot
  std::uint64_t seq_ = 0;          // response ids
  Counters counters_;
};

}  // namespace sluice::sim
