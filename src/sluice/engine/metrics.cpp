#include "sluice/engine/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sluice::engine {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += value;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                               1,     2.5,  5,     10,   30,  60,   120};
  return kBuckets;
}

const std::vector<double>& queue_wait_buckets() {
  static const std::vector<double> kBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5,
                                               1,     2.5,   5,    10,   30,  60};
  return kBuckets;
}

void PromText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (const char c : help) {  // HELP escapes only backslash and line feed
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PromText::series(std::string_view name, const Labels& labels, std::string_view extra_name,
                      std::string_view extra_value) {
  out_ += name;
  if (labels.empty() && extra_name.empty()) return;
  out_ += '{';
  bool first = true;
  const auto add = [&](std::string_view n, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += n;
    out_ += "=\"";
    out_ += escape_label_value(v);
    out_ += '"';
  };
  for (const auto& [n, v] : labels) add(n, v);
  if (!extra_name.empty()) add(extra_name, extra_value);
  out_ += '}';
}

void PromText::sample(std::string_view name, const Labels& labels, double value) {
  series(name, labels, {}, {});
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void PromText::histogram(std::string_view name, const Labels& labels, const Histogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.counts().size(); ++i) {
    cumulative += h.counts()[i];
    const std::string le =
        i < h.bounds().size() ? format_value(h.bounds()[i]) : std::string("+Inf");
    series(bucket, labels, "le", le);
    out_ += ' ' + std::to_string(cumulative) + '\n';
  }
  sample(std::string(name) + "_sum", labels, h.sum());
  sample(std::string(name) + "_count", labels, static_cast<double>(h.count()));
}

Metrics::Metrics() : queue_wait_(queue_wait_buckets()) {}

void Metrics::request_finished(std::string_view route, std::string_view outcome,
                               std::string_view cls) {
  const auto key = std::make_tuple(route, outcome, cls);
  auto it = requests_.find(key);
  if (it == requests_.end()) {
    it =
        requests_
            .emplace(std::make_tuple(std::string(route), std::string(outcome), std::string(cls)), 0)
            .first;
  }
  ++it->second;
}

void Metrics::upstream_attempt(std::string_view provider, std::string_view cls, double latency_s) {
  const auto key = std::make_tuple(provider, cls);
  auto at = attempts_.find(key);
  if (at == attempts_.end()) {
    at = attempts_.emplace(std::make_tuple(std::string(provider), std::string(cls)), 0).first;
  }
  ++at->second;
  auto it = latency_.find(provider);
  if (it == latency_.end()) {
    it = latency_.emplace(std::string(provider), Histogram(latency_buckets())).first;
  }
  it->second.observe(latency_s);
}

void Metrics::queue_wait(double seconds) { queue_wait_.observe(seconds); }

void Metrics::event(RecentEvent e) {
  recent_.push_back(std::move(e));
  while (recent_.size() > kRecentEvents) recent_.pop_front();
}

std::uint64_t Metrics::requests_total() const {
  std::uint64_t n = 0;
  for (const auto& [k, v] : requests_) n += v;
  return n;
}

std::uint64_t Metrics::requests_with_outcome(std::string_view outcome) const {
  std::uint64_t n = 0;
  for (const auto& [k, v] : requests_) {
    if (std::get<1>(k) == outcome) n += v;
  }
  return n;
}

std::uint64_t Metrics::upstream_attempts_total() const {
  std::uint64_t n = 0;
  for (const auto& [k, v] : attempts_) n += v;
  return n;
}

std::uint64_t Metrics::upstream_with_class(std::string_view cls) const {
  std::uint64_t n = 0;
  for (const auto& [k, v] : attempts_) {
    if (std::get<1>(k) == cls) n += v;
  }
  return n;
}

void Metrics::render(PromText& out) const {
  out.family("sluice_requests_total", "counter",
             "Finished client requests by front-door route, outcome (ok, error, refused) and "
             "error class (none when ok).");
  for (const auto& [k, v] : requests_) {
    out.sample("sluice_requests_total",
               {{"route", std::get<0>(k)}, {"outcome", std::get<1>(k)}, {"class", std::get<2>(k)}},
               static_cast<double>(v));
  }
  out.family("sluice_upstream_attempts_total", "counter",
             "Requests sent upstream by provider and classified outcome (OK on success).");
  for (const auto& [k, v] : attempts_) {
    out.sample("sluice_upstream_attempts_total",
               {{"provider", std::get<0>(k)}, {"class", std::get<1>(k)}}, static_cast<double>(v));
  }
  out.family("sluice_upstream_latency_seconds", "histogram",
             "Time from sending upstream to the classified response head, by provider.");
  for (const auto& [provider, h] : latency_) {
    out.histogram("sluice_upstream_latency_seconds", {{"provider", provider}}, h);
  }
  out.family("sluice_queue_wait_seconds", "histogram",
             "Time spent waiting for a concurrency slot, per acquisition.");
  out.histogram("sluice_queue_wait_seconds", {}, queue_wait_);
  out.family("sluice_retries_total", "counter",
             "Retries on the same route candidate (same or rotated key).");
  out.sample("sluice_retries_total", {}, static_cast<double>(retries_));
  out.family("sluice_fallbacks_total", "counter", "Moves from one route candidate to the next.");
  out.sample("sluice_fallbacks_total", {}, static_cast<double>(fallbacks_));
  out.family("sluice_throttle_waits_total", "counter",
             "429s avoided: sends the throttle delayed or routed around instead of sending "
             "into a spent budget.");
  out.sample("sluice_throttle_waits_total", {}, static_cast<double>(throttle_waits_));
}

}  // namespace sluice::engine
