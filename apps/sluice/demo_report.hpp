#pragma once
// `sluice demo`'s policy of what to compute, kept pure so it is tested
// without a network: the official SDKs' retry schedule, percentiles, what the
// simulated providers allowed in a run (the goodput denominator), and the
// lines of the live view and of the summary table. demo_command.cpp wires.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/time.hpp"

namespace sluice::cli {

// ---- the official SDKs' retries (openai-python / openai-node) -------------

inline constexpr int kSdkMaxRetries = 2;

// Whether the SDK retries an answer: a transport failure (status 0), 408,
// 409, 429 and every 5xx.
bool sdk_retries_status(int status);

// The wait before retry number `retries_done` + 1 (0 for the first retry).
// A `retry-after-ms` or `retry-after` header (seconds) between 0 and 60 s is
// honoured as is; otherwise 0.5 s · 2^retries_done capped at 8 s, times a
// jitter factor 1 - 0.25·unit_random, `unit_random` in [0, 1).
Duration sdk_retry_delay(int retries_done, const std::optional<std::string>& retry_after_ms,
                         const std::optional<std::string>& retry_after, double unit_random);

// ---- statistics --------------------------------------------------------------

// Nearest-rank percentile (p in (0, 100]) of `values`; nullopt when empty.
std::optional<double> percentile(std::vector<double> values, double p);

// What one simulated key lets through at most in `span`: the tighter of its
// concurrency cap at its latency (cap · span / latency) and its request
// windows (requests_per_window · ceil(span / window)), and its daily budget
// when the run is shorter than a day window; times the share of requests a
// fault plan answers (1 − error rates: an outage allows nothing). Unlimited:
// nullopt.
struct KeyCapacity {
  std::optional<std::int64_t> concurrency;
  Duration latency = Duration::zero();
  std::optional<std::int64_t> requests_per_window;
  Duration window = std::chrono::seconds(60);
  std::optional<std::int64_t> daily;
  Duration daily_window = std::chrono::hours(24);
  double answered_share = 1.0;
};
std::optional<double> allowed_requests(const KeyCapacity& key, Duration span);

// ---- what a run measured ---------------------------------------------------

struct RunTotals {
  std::string label;                       // "through sluice", "straight to z.ai (SDK retries)"
  std::int64_t requests = 0;               // finished by the agents (ok + failed)
  std::int64_t ok = 0;                     // 2xx in the end
  std::int64_t failed = 0;                 // client-visible failures, after the SDK's retries
  std::int64_t unfinished = 0;             // still retrying when the run ended
  std::int64_t upstream_429 = 0;           // 429s the simulated providers sent
  std::int64_t upstream_attempts = 0;      // requests the simulated providers received
  std::optional<std::int64_t> fallbacks;   // nullopt: not applicable
  double allowed = 0;                      // what the providers allowed (allowed_requests)
  std::vector<double> interactive_wait_s;  // send → final answer, interactive agent
};

// "93% (372 of 400)"; "-" when nothing was allowed.
std::string format_goodput(std::int64_t ok, double allowed);
// "0.31 s / 0.62 s"; "-" without samples.
std::string format_wait(const std::vector<double>& waits_s);

// The summary table: one row per figure, one column per run.
std::vector<std::string> render_summary(const std::vector<RunTotals>& runs);

// ---- the gauntlet ------------------------------------------------------------

// One scenario's two runs and what its targets depend on.
struct ScenarioResult {
  std::string name;           // "rpm-wall"
  std::string description;    // one line: providers and agents
  bool rate_headers = false;  // the providers announce their limits (the 429 target applies)
  bool has_fallback = false;  // a fallback can serve (the failure target applies)
  double service_s = 0;       // the primary's service time
  RunTotals direct, gateway;
};

inline constexpr double kGoodputTarget = 0.97;

// Where the run through sluice misses a target: zero upstream 429s where the
// providers send rate headers; goodput >= 97% of what the providers allowed;
// interactive p99 wait no more than one service time beyond the service
// itself (p99 <= 2 x service time); zero client-visible failures (and none
// left retrying) while a fallback can serve. One line per miss.
std::vector<std::string> target_misses(const ScenarioResult& s);

// A Markdown section per scenario: "### name", its description, and the
// summary as a table with one column per run.
std::vector<std::string> render_markdown(const ScenarioResult& s);

// ---- the live view -----------------------------------------------------------

struct LiveSample {
  double elapsed_s = 0;
  double seconds = 0;         // the run's length
  double requests_per_s = 0;  // answers the agents got in the last interval
  std::int64_t ok = 0, failed = 0;
  std::string in_flight;  // "z.ai 1/1  openai 3/64"
  std::optional<std::int64_t> queued_interactive, queued_background;
  std::optional<std::int64_t> fallbacks;
  std::int64_t upstream_429 = 0;
  std::int64_t backing_off = 0;  // agents sleeping before an SDK retry
};

std::string render_live_line(const LiveSample& s);

}  // namespace sluice::cli
