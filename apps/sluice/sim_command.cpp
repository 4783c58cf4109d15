#include "apps/sluice/sim_command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "sluice/config/duration_text.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/text.hpp"
#include "sluice/sim/sim_server.hpp"

namespace sluice::cli {

namespace {

std::optional<std::string> duration_flag(const std::string& flag, const std::string& value,
                                         Duration& out) {
  auto d = config::parse_duration(value);
  if (!d)
    return "--" + flag + ": expected a duration such as 200ms, 2s, 1.5s or 1m, got \"" + value +
           "\"";
  out = *d;
  return std::nullopt;
}

}  // namespace

std::variant<sim::SimConfig, std::string> sim_config_from_flags(const SimFlags& f) {
  if (!f.config_path.empty()) {
    std::ifstream in(f.config_path);
    if (!in) return "cannot read " + f.config_path;
    std::stringstream ss;
    ss << in.rdbuf();
    auto loaded = sim::load_sim_config_yaml(ss.str(), f.config_path);
    if (auto* err = std::get_if<std::string>(&loaded)) return *err;
    return std::get<sim::SimConfig>(std::move(loaded));
  }
  sim::ProviderSimConfig p;
  p.name = f.name;
  auto dialect = dialect_from_string(f.dialect);
  if (!dialect) return "--dialect: unknown dialect \"" + f.dialect + "\"";
  p.dialect = *dialect;
  p.listen = f.listen;
  for (std::string_view rest = f.keys; !rest.empty();) {
    const auto comma = rest.find(',');
    const std::string_view key = trim(rest.substr(0, comma));
    if (!key.empty()) p.keys.emplace_back(key);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  const auto positive = [](const char* flag, const std::optional<std::int64_t>& v,
                           std::optional<std::int64_t>& dst) -> std::optional<std::string> {
    if (!v) return std::nullopt;
    if (*v < 1) return std::string("--") + flag + ": expected a positive integer";
    dst = *v;
    return std::nullopt;
  };
  for (auto err : {positive("rpm", f.rpm, p.limits.requests_per_window),
                   positive("tpm", f.tpm, p.limits.tokens_per_window),
                   positive("concurrency", f.concurrency, p.limits.concurrency),
                   positive("daily", f.daily, p.limits.daily),
                   duration_flag("window", f.window, p.limits.window),
                   duration_flag("daily-window", f.daily_window, p.limits.daily_window),
                   duration_flag("latency", f.latency, p.latency.fixed),
                   duration_flag("jitter", f.jitter, p.latency.jitter),
                   duration_flag("ttft", f.ttft, p.latency.ttft),
                   duration_flag("per-token", f.per_token, p.latency.per_token)}) {
    if (err) return *err;
  }
  p.seed = f.seed;
  if (f.answer_tokens < 1) return "--answer-tokens: expected a positive integer";
  p.answer_tokens = f.answer_tokens;
  if (!sim::sim_supports(p.dialect)) {
    return "--dialect: the simulator speaks " + std::string(sim::supported_dialect_list());
  }
  if (auto err = sim::validate_provider(p, "flags")) return *err;
  sim::SimConfig c;
  c.providers.push_back(std::move(p));
  return c;
}

int run_sim(sim::SimConfig config) {
  // One thread, every socket and timer on it (as in serve): no reactor locks.
  boost::asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  SystemClock clock;
  sim::SimServer server(io.get_executor(), std::move(config), clock);
  if (auto err = server.start(); !err.empty()) {
    std::cerr << "sluice sim: " << err << "\n";
    return 1;
  }
  for (const auto& l : server.listeners()) {
    std::cout << "sim: " << l.name << " (" << l.dialect << ") listening on http://" << l.host << ":"
              << l.port << "\n";
  }
  std::cout.flush();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace sluice::cli
