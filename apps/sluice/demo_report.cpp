#include "apps/sluice/demo_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "apps/sluice/status_view.hpp"
#include "sluice/core/text.hpp"

namespace sluice::cli {

namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

Duration from_seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

}  // namespace

bool sdk_retries_status(int status) {
  return status == 0 || status == 408 || status == 409 || status == 429 || status >= 500;
}

Duration sdk_retry_delay(int retries_done, const std::optional<std::string>& retry_after_ms,
                         const std::optional<std::string>& retry_after, double unit_random) {
  std::optional<double> hint_s;
  if (retry_after_ms) {
    if (auto ms = parse_number(trim(*retry_after_ms))) hint_s = *ms / 1000.0;
  }
  if (!hint_s && retry_after) {
    if (auto s = parse_number(trim(*retry_after))) hint_s = *s;
  }
  if (hint_s && *hint_s > 0 && *hint_s <= 60) return from_seconds(*hint_s);
  const double base = std::min(0.5 * std::pow(2.0, std::max(0, retries_done)), 8.0);
  const double jitter = 1.0 - 0.25 * std::clamp(unit_random, 0.0, 1.0);
  return from_seconds(base * jitter);
}

std::optional<double> percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double rank =
      std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size()));
  const auto idx = static_cast<std::size_t>(std::max(1.0, rank)) - 1;
  return values[std::min(idx, values.size() - 1)];
}

std::optional<double> allowed_requests(const KeyCapacity& key, Duration span) {
  std::optional<double> best;
  const auto tighter = [&best](double v) { best = best ? std::min(*best, v) : v; };
  const double span_s = std::max(0.0, to_seconds(span));
  if (key.concurrency && key.latency > Duration::zero()) {
    tighter(static_cast<double>(*key.concurrency) * std::floor(span_s / to_seconds(key.latency)));
  }
  if (key.requests_per_window && key.window > Duration::zero()) {
    tighter(static_cast<double>(*key.requests_per_window) *
            std::ceil(span_s / to_seconds(key.window)));
  }
  if (key.daily && key.daily_window > Duration::zero()) {
    tighter(static_cast<double>(*key.daily) * std::ceil(span_s / to_seconds(key.daily_window)));
  }
  if (best) *best *= std::clamp(key.answered_share, 0.0, 1.0);
  return best;
}

std::string format_goodput(std::int64_t ok, double allowed) {
  if (allowed <= 0) return "-";
  const double pct = 100.0 * static_cast<double>(ok) / allowed;
  return fixed(pct, 0) + "% (" + std::to_string(ok) + " of " + fixed(allowed, 0) + ")";
}

std::string format_wait(const std::vector<double>& waits_s) {
  const auto p50 = percentile(waits_s, 50);
  const auto p99 = percentile(waits_s, 99);
  if (!p50 || !p99) return "-";
  return fixed(*p50, 2) + " s / " + fixed(*p99, 2) + " s";
}

namespace {

std::vector<std::vector<std::string>> summary_rows(const std::vector<RunTotals>& runs) {
  std::vector<std::vector<std::string>> rows;
  const auto row = [&](std::string name, auto cell) {
    std::vector<std::string> cells = {std::move(name)};
    for (const auto& r : runs) cells.push_back(cell(r));
    rows.push_back(std::move(cells));
  };
  row("upstream 429s", [](const RunTotals& r) { return std::to_string(r.upstream_429); });
  row("goodput (ok / providers allowed)",
      [](const RunTotals& r) { return format_goodput(r.ok, r.allowed); });
  row("interactive wait p50 / p99",
      [](const RunTotals& r) { return format_wait(r.interactive_wait_s); });
  row("fallbacks", [](const RunTotals& r) {
    return r.fallbacks ? std::to_string(*r.fallbacks) : std::string("-");
  });
  row("client-visible failures", [](const RunTotals& r) { return std::to_string(r.failed); });
  row("requests answered ok", [](const RunTotals& r) { return std::to_string(r.ok); });
  row("still retrying at the end", [](const RunTotals& r) { return std::to_string(r.unfinished); });
  row("upstream attempts", [](const RunTotals& r) { return std::to_string(r.upstream_attempts); });
  return rows;
}

}  // namespace

std::vector<std::string> render_summary(const std::vector<RunTotals>& runs) {
  std::vector<std::string> header = {""};
  for (const auto& r : runs) header.push_back(r.label);
  return format_table(header, summary_rows(runs));
}

std::vector<std::string> target_misses(const ScenarioResult& s) {
  std::vector<std::string> out;
  const RunTotals& g = s.gateway;
  const auto miss = [&](const std::string& what) { out.push_back(s.name + ": " + what); };
  if (s.rate_headers && g.upstream_429 > 0) {
    miss(std::to_string(g.upstream_429) + " upstream 429s (target 0)");
  }
  if (g.allowed > 0 && static_cast<double>(g.ok) < kGoodputTarget * g.allowed) {
    miss("goodput " + format_goodput(g.ok, g.allowed) + " (target >= 97%)");
  }
  if (const auto p99 = percentile(g.interactive_wait_s, 99);
      p99 && s.service_s > 0 && *p99 > 2 * s.service_s) {
    miss("interactive p99 wait " + fixed(*p99, 2) + " s, " + fixed(*p99 - s.service_s, 2) +
         " s beyond the " + fixed(s.service_s, 2) +
         " s service time (target <= " + fixed(s.service_s, 2) + " s)");
  }
  if (s.has_fallback && g.failed + g.unfinished > 0) {
    miss(std::to_string(g.failed) + " client-visible failures and " + std::to_string(g.unfinished) +
         " still retrying with a fallback (target 0)");
  }
  return out;
}

std::vector<std::string> render_markdown(const ScenarioResult& s) {
  std::vector<std::string> out = {"### " + s.name, "", s.description, ""};
  std::string header = "| |", rule = "|---|";
  for (const RunTotals* r : {&s.direct, &s.gateway}) {
    header += " " + r->label + " |";
    rule += "---|";
  }
  out.push_back(header);
  out.push_back(rule);
  for (const auto& cells : summary_rows({s.direct, s.gateway})) {
    std::string line = "|";
    for (const auto& c : cells) line += " " + c + " |";
    out.push_back(line);
  }
  return out;
}

std::string render_live_line(const LiveSample& s) {
  char clock[48];
  std::snprintf(clock, sizeof clock, "[%3.0fs/%.0fs]", std::floor(s.elapsed_s), s.seconds);
  std::string out = std::string(clock) + " " + fixed(s.requests_per_s, 1) + " req/s  ok " +
                    std::to_string(s.ok) + "  failed " + std::to_string(s.failed) +
                    "  in flight/limit " + (s.in_flight.empty() ? "-" : s.in_flight);
  if (s.queued_interactive || s.queued_background) {
    out += "  queued " + std::to_string(s.queued_interactive.value_or(0)) + " int/" +
           std::to_string(s.queued_background.value_or(0)) + " bg";
  }
  if (s.backing_off > 0) out += "  backing off " + std::to_string(s.backing_off);
  if (s.fallbacks) out += "  fallbacks " + std::to_string(*s.fallbacks);
  out += "  upstream 429s " + std::to_string(s.upstream_429);
  return out;
}

}  // namespace sluice::cli
