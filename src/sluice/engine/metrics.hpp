#pragma once
// What the gateway counts for operators: plain counters and histograms that
// the engine bumps where it already logs, a short ring of recent notable
// events (fallbacks, rejections, cooldowns) for the live page, and the
// Prometheus text exposition (format 0.0.4) writer that renders them.
// Single-threaded like the rest of the engine (docs/decisions/0001). Label
// values are fingerprints, provider names, routes and classes: never secrets.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "sluice/core/time.hpp"

namespace sluice::engine {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A label value escaped per the exposition format: backslash, double quote
// and line feed become \\, \" and \n.
std::string escape_label_value(std::string_view value);

// A sample value as the format spells it: integers without a fraction,
// +Inf / -Inf / NaN by name.
std::string format_value(double value);

// Cumulative-bucket histogram with fixed upper bounds (seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // Per-bucket (not cumulative) counts; one more than bounds: the +Inf bucket.
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// Upstream latencies: 5 ms .. 2 min. Queue waits: 1 ms .. 1 min.
const std::vector<double>& latency_buckets();
const std::vector<double>& queue_wait_buckets();

// Builds one exposition document. Call family() once per metric name, then
// its samples; families are written in call order.
class PromText {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  // _bucket{le=...} lines (cumulative), _sum and _count.
  void histogram(std::string_view name, const Labels& labels, const Histogram& h);
  const std::string& text() const { return out_; }

 private:
  void series(std::string_view name, const Labels& labels, std::string_view extra_name,
              std::string_view extra_value);
  std::string out_;
};

// One line of the live page's "recent" list.
struct RecentEvent {
  TimePoint at{};
  std::string kind;  // "fallback", "rejection", "cooldown"
  std::string alias;
  std::string where;  // provider/model, or provider/key for cooldowns
  std::string cls;    // error class, or "none"
  std::string detail;
};

class Metrics {
 public:
  static constexpr std::size_t kRecentEvents = 50;

  Metrics();

  // One finished client request. outcome: "ok", "error" or "refused";
  // cls: the error class or "none".
  void request_finished(std::string_view route, std::string_view outcome, std::string_view cls);
  // One send upstream and its classification ("OK" on success).
  void upstream_attempt(std::string_view provider, std::string_view cls, double latency_s);
  void queue_wait(double seconds);
  void retry() { ++retries_; }
  void fallback() { ++fallbacks_; }
  // The throttle delayed a send, or routed around a spent budget: a 429 avoided.
  void throttle_wait() { ++throttle_waits_; }
  void event(RecentEvent e);

  std::uint64_t requests_total() const;
  std::uint64_t requests_with_outcome(std::string_view outcome) const;
  std::uint64_t upstream_attempts_total() const;
  std::uint64_t upstream_with_class(std::string_view cls) const;
  std::uint64_t retries() const { return retries_; }
  std::uint64_t fallbacks() const { return fallbacks_; }
  std::uint64_t throttle_waits() const { return throttle_waits_; }
  const std::deque<RecentEvent>& recent() const { return recent_; }

  // Every counter and histogram, as exposition families.
  void render(PromText& out) const;

 private:
  // std::less<>: looked up with string_views, a key's strings made only for a new series.
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t, std::less<>> requests_;
  std::map<std::tuple<std::string, std::string>, std::uint64_t, std::less<>> attempts_;
  std::map<std::string, Histogram, std::less<>> latency_;
  Histogram queue_wait_;
  std::uint64_t retries_ = 0;
  std::uint64_t fallbacks_ = 0;
  std::uint64_t throttle_waits_ = 0;
  std::deque<RecentEvent> recent_;
};

}  // namespace sluice::engine
