#include "apps/sluice/serve_command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "sluice/config/gateway_config.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/log.hpp"
#include "sluice/core/rng.hpp"
#include "sluice/server/gateway_server.hpp"
#include "sluice/server/state_backends.hpp"
#include "sluice/sim/sim_server.hpp"

namespace sluice::cli {

namespace {

struct KnownProvider {
  const char* env;
  const char* name;
  const char* api;
  const char* base_url;
  const char* example_model;
};

// Providers the default run knows by their usual environment variable.
constexpr KnownProvider kKnown[] = {
    {"OPENAI_API_KEY", "openai", "openai", "https://api.openai.com/v1", "gpt-4o-mini"},
    {"ANTHROPIC_API_KEY", "anthropic", "anthropic", "https://api.anthropic.com",
     "claude-sonnet-4-5"},
    {"OPENROUTER_API_KEY", "openrouter", "openai", "https://openrouter.ai/api/v1", "z-ai/glm-4.6"},
    {"ZAI_API_KEY", "zai", "openai", "https://api.z.ai/api/paas/v4", "glm-4.7"},
    {"MOONSHOT_API_KEY", "kimi", "openai", "https://api.moonshot.ai/v1", "kimi-k2-0905-preview"},
    {"GROQ_API_KEY", "groq", "openai", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile"},
};

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path);
  ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The simulated providers of the default run without any key: a z.ai-like
// primary with one request in flight per key, an OpenAI-like fallback with a
// requests-per-window wall, and an Anthropic-like provider.
sim::SimConfig demo_sim() {
  sim::SimConfig c;
  sim::ProviderSimConfig zai;
  zai.name = "sim-zai";
  zai.dialect = Dialect::kZai;
  zai.keys = {"sim-key"};
  zai.limits.concurrency = 1;
  zai.latency.fixed = std::chrono::milliseconds(150);
  zai.latency.ttft = std::chrono::milliseconds(100);
  zai.latency.per_token = std::chrono::milliseconds(15);
  sim::ProviderSimConfig oa;
  oa.name = "sim-openai";
  oa.dialect = Dialect::kOpenAI;
  oa.keys = {"sim-key"};
  oa.limits.requests_per_window = 60;
  oa.limits.window = std::chrono::seconds(10);
  oa.latency.fixed = std::chrono::milliseconds(50);
  sim::ProviderSimConfig an;
  an.name = "sim-anthropic";
  an.dialect = Dialect::kAnthropic;
  an.keys = {"sim-key"};
  an.latency.fixed = std::chrono::milliseconds(50);
  c.providers = {zai, oa, an};
  return c;
}

std::string sim_gateway_yaml(const std::vector<sim::SimServer::Listener>& l,
                             const std::string& listen) {
  const auto url = [&](std::size_t i) {
    return "http://127.0.0.1:" + std::to_string(l.at(i).port);
  };
  return "server: {listen: \"" + listen +
         "\"}\n"
         "state: {backend: memory}\n"
         "providers:\n"
         "  sim-zai: {api: openai, dialect: zai, base_url: \"" +
         url(0) +
         "/api/paas/v4\", keys: [env:SLUICE_SIM_KEY]}\n"
         "  sim-openai: {api: openai, dialect: openai, base_url: \"" +
         url(1) +
         "/v1\", keys: [env:SLUICE_SIM_KEY]}\n"
         "  sim-anthropic: {api: anthropic, dialect: anthropic, base_url: \"" +
         url(2) +
         "\", keys: [env:SLUICE_SIM_KEY]}\n"
         "models:\n"
         "  main: {route: [sim-zai/glm-5.1, sim-openai/gpt-4o-mini]}\n"
         "  aux: {route: [sim-zai/glm-5.1, sim-openai/gpt-4o-mini], priority: background}\n"
         "  claude: {route: [sim-anthropic/claude-sonnet-4-5]}\n";
}

}  // namespace

std::string default_config_from_env() {
  std::string providers;
  std::string models;
  for (const auto& k : kKnown) {
    const char* v = std::getenv(k.env);
    if (!v || !*v) continue;
    providers += "  " + std::string(k.name) + ": {api: " + k.api + ", base_url: \"" + k.base_url +
                 "\", keys: [env:" + k.env + "]}\n";
  }
  if (providers.empty()) return {};
  return "providers:\n" + providers;
}

int run_check_config(const std::string& path) {
  bool ok = false;
  const std::string text = read_file(path, ok);
  if (!ok) {
    std::cerr << "sluice check-config: cannot read " << path << "\n";
    return 2;
  }
  config::ProcessSecretSource secrets;
  auto loaded = config::load_gateway_config(text, path, secrets);
  for (const auto& w : loaded.warnings) std::cout << "warning: " << w.format() << "\n";
  for (const auto& e : loaded.errors) std::cout << "error: " << e.format() << "\n";
  if (!loaded.ok()) {
    std::cout << loaded.errors.size() << " error(s); the gateway would not start\n";
    return 1;
  }
  std::cout << config::describe(*loaded.config);
  return 0;
}

int run_serve(const ServeFlags& flags) {
  // First, so it is destroyed last: the lines of the shutdown are written too.
  LogFlusher log_flusher;
  // Declared before the io_context so it outlives it: coroutine frames still
  // pending when the loop is destroyed give their Redis leases back on the way.
  server::StateBackends shared;
  // One thread runs the loop and every socket and timer lives on it: the
  // reactor's per-descriptor locks are needed by nothing (the scheduler keeps
  // its lock, since the Redis event thread posts into the loop).
  boost::asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  SystemClock clock;
  SeededRng rng(static_cast<std::uint64_t>(clock.now().time_since_epoch().count()));
  config::ProcessSecretSource secrets;
  std::unique_ptr<sim::SimServer> sim;

  std::string text;
  std::string source = flags.config_path;
  const std::string listen = flags.listen.empty() ? "127.0.0.1:4000" : flags.listen;
  if (!flags.config_path.empty()) {
    bool ok = false;
    text = read_file(flags.config_path, ok);
    if (!ok) {
      std::cerr << "sluice serve: cannot read " << flags.config_path << "\n";
      return 2;
    }
  } else if (text = default_config_from_env(); !text.empty()) {
    text = "server: {listen: \"" + listen + "\"}\n" + text;
    source = "(default run: providers from API key variables)";
  } else {
    // No key at all: serve from simulated providers so a newcomer can try it.
    sim = std::make_unique<sim::SimServer>(io.get_executor(), demo_sim(), clock);
    if (auto err = sim->start(); !err.empty()) {
      std::cerr << "sluice serve: simulator: " << err << "\n";
      return 1;
    }
    ::setenv("SLUICE_SIM_KEY", "sim-key", 1);
    text = sim_gateway_yaml(sim->listeners(), listen);
    source = "(default run: no API key set, serving from the built-in simulator)";
  }

  // With -c, --listen replaces server.listen and passes the same checks.
  const std::string listen_override = flags.config_path.empty() ? std::string() : flags.listen;
  auto loaded = config::load_gateway_config(text, source, secrets, listen_override);
  for (const auto& w : loaded.warnings) LogLine("warn", "config").kv("warning", w.format());
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) LogLine("error", "config").kv("error", e.format());
    return 1;
  }
  config::GatewayConfig cfg = std::move(*loaded.config);
  set_log_style(cfg.server.log_format == config::LogFormat::kJson ? LogStyle::kJson
                                                                  : LogStyle::kLogfmt);
  if (auto err = server::open_state(cfg.state, shared); !err.empty()) {
    std::cerr << "sluice serve: state: " << err << "\n";
    return 1;
  }
  const config::StateConfig state_cfg = cfg.state;
  const Duration drain_timeout = cfg.server.drain_timeout;
  server::GatewayServer gateway(io.get_executor(), std::move(cfg), clock, rng, shared.store.get(),
                                shared.coordinator.get());
  if (auto err = gateway.start(); !err.empty()) {
    std::cerr << "sluice serve: " << err << "\n";
    return 1;
  }
  // Cooldowns other instances set reach this one within milliseconds.
  server::listen_for_cooldowns(state_cfg, shared, [&io, &gateway](std::string scope) {
    boost::asio::post(
        io, [&gateway, scope = std::move(scope)] { gateway.apply_shared_cooldown(scope); });
  });
  const std::string base = "http://127.0.0.1:" + std::to_string(gateway.port());
  std::cout << "sluice: serving on " << base << " " << source << "\n";
  if (sim) {
    std::cout << "try:\n  curl -s " << base
              << "/v1/chat/completions -H 'content-type: application/json' -d "
                 "'{\"model\":\"main\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'\n";
  }
  std::cout.flush();

  // SIGTERM / SIGINT: drain (stop accepting, let in-flight requests and
  // streams finish for server.drain_timeout), then exit 0; a second signal
  // stops at once. SIGHUP: reload the config file, keeping learned state.
  const Duration grace = drain_timeout;
  boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  boost::asio::signal_set hup(io, SIGHUP);
  bool draining = false;
  const auto finish = [&] {
    if (sim) sim->stop();
    shared.events.reset();  // joins the listener thread so io.run() can return
    boost::system::error_code ignored;
    stop_signals.cancel(ignored);
    hup.cancel(ignored);
  };
  std::function<void()> wait_stop = [&] {
    stop_signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (draining) {
        LogLine("warn", "shutdown").kv("note", "second signal: stopping without waiting");
        gateway.stop();
        finish();
        return;
      }
      draining = true;
      LogLine("info", "draining")
          .kv("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT")
          .kv("grace_s", to_seconds(grace));
      wait_stop();  // first: drain() may finish (and cancel the signals) before returning
      gateway.drain(grace, [&](std::size_t cut) {
        LogLine("info", "shutdown").kv("cut_requests", static_cast<std::int64_t>(cut));
        finish();
      });
    });
  };
  wait_stop();
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      wait_hup();
      if (flags.config_path.empty()) {
        LogLine("warn", "reload_skipped").kv("reason", "no config file (-c) to reload");
        return;
      }
      bool ok = false;
      const std::string next_text = read_file(flags.config_path, ok);
      if (!ok) {
        LogLine("error", "reload_failed").kv("reason", "cannot read " + flags.config_path);
        return;
      }
      auto next =
          config::load_gateway_config(next_text, flags.config_path, secrets, listen_override);
      for (const auto& w : next.warnings) LogLine("warn", "config").kv("warning", w.format());
      if (!next.ok()) {
        for (const auto& e : next.errors) LogLine("error", "reload_failed").kv("error", e.format());
        LogLine("warn", "reload_failed").kv("note", "still serving the previous config");
        return;
      }
      set_log_style(next.config->server.log_format == config::LogFormat::kJson ? LogStyle::kJson
                                                                               : LogStyle::kLogfmt);
      for (const auto& note : gateway.reload(std::move(*next.config))) {
        LogLine("warn", "reload").kv("note", note);
      }
      LogLine("info", "reloaded").kv("config", flags.config_path);
    });
  };
  wait_hup();
  io.run();
  return 0;
}

}  // namespace sluice::cli
