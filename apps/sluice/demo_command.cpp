#include "apps/sluice/demo_command.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <streambuf>
#include <string>
#include <vector>

#include "apps/sluice/demo_report.hpp"
#include "apps/sluice/http_fetch.hpp"
#include "sluice/config/gateway_config.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/rng.hpp"
#include "sluice/net/sleep.hpp"
#include "sluice/server/gateway_server.hpp"
#include "sluice/sim/sim_server.hpp"

namespace sluice::cli {

namespace {

namespace asio = boost::asio;
using nlohmann::json;
using std::chrono::milliseconds;

// The simulated key. Not a secret, but it never appears in output anyway.
constexpr const char* kKeyVar = "SLUICE_DEMO_KEY";
constexpr const char* kKey = "sluice-demo-key";
// After `seconds`, agents start nothing new; answers still arrive for this long,
// and an SDK retry that would start later is abandoned ("still retrying").
constexpr Duration kGrace = std::chrono::seconds(5);
constexpr Duration kInteractiveThink = milliseconds(500);

// A workload: simulated providers, the gateway's routes over them, and agents.
struct Scenario {
  std::string name;
  std::string description;
  sim::SimConfig sims;
  // Per provider: the path its API lives under, the route's model, and extra
  // gateway provider fields ("max_concurrent: 1").
  std::vector<std::string> base_paths, models, provider_extras;
  std::string chat_queue_timeout = "5s", batch_queue_timeout = "100ms";
  int interactive_agents = 1;
  int background_agents = 4;
  bool rate_headers = false;
};

sim::ProviderSimConfig provider(std::string name, Dialect dialect, Duration latency,
                                std::uint64_t seed) {
  sim::ProviderSimConfig p;
  p.name = std::move(name);
  p.dialect = dialect;
  p.keys = {kKey};
  p.latency.fixed = latency;
  p.seed = seed;
  return p;
}

// z.ai-like primary: one request in flight per key, ~300 ms each (no rate
// headers, no retry-after, as the real one). OpenAI-like fallback: a wall of
// 20 requests per 2 s window, with its headers and retry-after.
Scenario demo_scenario(int background) {
  sim::ProviderSimConfig zai = provider("zai", Dialect::kZai, milliseconds(300), 11);
  zai.limits.concurrency = 1;
  sim::ProviderSimConfig oa = provider("openai", Dialect::kOpenAI, milliseconds(100), 12);
  oa.limits.requests_per_window = 20;
  oa.limits.window = std::chrono::seconds(2);
  Scenario s{.name = "demo"};
  s.sims.providers = {zai, oa};
  s.base_paths = {"/api/paas/v4", "/v1"};
  s.models = {"glm-5.1", "gpt-4o-mini"};
  s.provider_extras = {"max_concurrent: 1", ""};
  s.background_agents = background;
  return s;
}

// An OpenAI-like provider with a request window of `rpm` per 2 s.
sim::ProviderSimConfig openai_like(std::string name, std::int64_t rpm, std::uint64_t seed) {
  sim::ProviderSimConfig p = provider(std::move(name), Dialect::kOpenAI, milliseconds(150), seed);
  p.limits.requests_per_window = rpm;
  p.limits.window = std::chrono::seconds(2);
  return p;
}

// A primary and an OpenAI-like fallback (40 per 2 s), 1 interactive + 5
// background agents.
Scenario with_fallback(std::string name, std::string description, sim::ProviderSimConfig primary) {
  Scenario s{.name = std::move(name), .description = std::move(description)};
  s.sims.providers = {std::move(primary), openai_like("backup", 40, 22)};
  s.base_paths = {"/v1", "/v1"};
  s.models = {"gpt-4o-mini", "gpt-4o-mini"};
  s.provider_extras = {"", ""};
  s.background_agents = 5;
  s.rate_headers = true;
  return s;
}

std::vector<Scenario> gauntlet_scenarios() {
  std::vector<Scenario> out;
  {
    sim::ProviderSimConfig oa = provider("openai", Dialect::kOpenAI, milliseconds(100), 12);
    oa.limits.requests_per_window = 20;
    oa.limits.window = std::chrono::seconds(2);
    Scenario s{.name = "rpm-wall",
               .description =
                   "OpenAI-like provider, 20 requests per 2 s window, 100 ms each; "
                   "1 interactive + 7 greedy background agents."};
    s.sims.providers = {oa};
    s.base_paths = {"/v1"};
    s.models = {"gpt-4o-mini"};
    s.provider_extras = {""};
    s.batch_queue_timeout = "5s";
    s.background_agents = 7;
    s.rate_headers = true;
    out.push_back(std::move(s));
  }
  {
    sim::ProviderSimConfig zai = provider("zai", Dialect::kZai, milliseconds(300), 11);
    zai.limits.concurrency = 1;
    Scenario s{.name = "zai-cap-1",
               .description =
                   "z.ai-like provider, 1 request in flight per key, 300 ms each, no "
                   "rate headers; 1 interactive + 4 background agents, no fallback."};
    s.sims.providers = {zai};
    s.base_paths = {"/api/paas/v4"};
    s.models = {"glm-5.1"};
    s.provider_extras = {"max_concurrent: 1"};
    s.chat_queue_timeout = "10s";
    s.batch_queue_timeout = "10s";
    s.background_agents = 4;
    out.push_back(std::move(s));
  }
  {
    sim::ProviderSimConfig oa = openai_like("openai", 40, 12);
    oa.limits.daily = 30;
    out.push_back(with_fallback("daily-quota",
                                "OpenAI-like primary, 40 per 2 s but 30 requests per day; "
                                "fallback OpenAI-like, 40 per 2 s; 150 ms each; 1 interactive + "
                                "5 background agents.",
                                oa));
  }
  {
    sim::ProviderSimConfig oa = openai_like("openai", 40, 12);
    oa.faults.overload_rate = 0.6;
    out.push_back(with_fallback("overload-storm",
                                "OpenAI-like primary, 40 per 2 s, 60% of requests answered 503 "
                                "overloaded; fallback OpenAI-like, 40 per 2 s; 150 ms each; 1 "
                                "interactive + 5 background agents.",
                                oa));
  }
  {
    sim::ProviderSimConfig oa = openai_like("openai", 40, 12);
    oa.faults.server_error_rate = 1.0;
    out.push_back(with_fallback("outage",
                                "OpenAI-like primary answering 500 to every request; fallback "
                                "OpenAI-like, 40 per 2 s; 150 ms each; 1 interactive + 5 "
                                "background agents.",
                                oa));
  }
  return out;
}

KeyCapacity capacity_of(const sim::ProviderSimConfig& p) {
  KeyCapacity k{.concurrency = p.limits.concurrency,
                .latency = p.latency.fixed,
                .requests_per_window = p.limits.requests_per_window,
                .window = p.limits.window,
                .daily = p.limits.daily,
                .daily_window = p.limits.daily_window};
  k.answered_share = 1.0 - p.faults.server_error_rate - p.faults.overload_rate;
  return k;
}

std::string gateway_yaml(const Scenario& sc, const std::vector<std::uint16_t>& ports) {
  std::string y =
      "server: {listen: \"127.0.0.1:0\"}\n"
      "state: {backend: memory}\n"
      "providers:\n";
  std::string route;
  for (std::size_t i = 0; i < sc.sims.providers.size(); ++i) {
    const auto& p = sc.sims.providers[i];
    y += "  " + p.name + ": {api: openai, dialect: " + std::string(to_string(p.dialect)) +
         ", base_url: \"http://127.0.0.1:" + std::to_string(ports.at(i)) + sc.base_paths[i] +
         "\", keys: [env:" + kKeyVar + "], max_wait: 3s" +
         (sc.provider_extras[i].empty() ? "" : ", " + sc.provider_extras[i]) + "}\n";
    route += (i ? ", " : "") + p.name + "/" + sc.models[i];
  }
  y += "models:\n";
  y += "  chat: {route: [" + route + "], queue_timeout: " + sc.chat_queue_timeout + "}\n";
  y += "  batch: {route: [" + route +
       "], priority: background, queue_timeout: " + sc.batch_queue_timeout + "}\n";
  return y;
}

std::string chat_body(const std::string& model, int n) {
  return json{{"model", model},
              {"max_tokens", 32},
              {"messages", json::array({{{"role", "user"},
                                         {"content", "step " + std::to_string(n) +
                                                         ": summarise the last tool output"}}})}}
      .dump();
}

// The engine logs every request; the demo's output is the live view.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

struct Answer {
  bool interactive = false;
  bool ok = false;
  bool unfinished = false;
  double wait_s = 0;
};

// One run: the agents' shared state, on the io thread only.
struct Run {
  explicit Run(asio::io_context& io)
      : client(std::make_unique<net::UpstreamClient>(io.get_executor(), client_options())) {}
  static net::ClientOptions client_options() {
    net::ClientOptions o;
    o.connect_timeout = std::chrono::seconds(5);
    o.first_byte_timeout = std::chrono::seconds(20);
    o.idle_timeout = std::chrono::seconds(20);
    return o;
  }

  SystemClock clock;
  SeededRng rng{2024};
  std::unique_ptr<net::UpstreamClient> client;  // reset at the end: closes keep-alives
  bool direct = false;
  std::string direct_model;  // the primary's model, when direct
  net::Endpoint target;      // the gateway, or the z.ai-like provider
  std::string path;          // "/v1/chat/completions" or "/chat/completions"
  net::HeaderFields headers;
  TimePoint start, stop_sending, hard_end, last_answer;
  std::vector<Answer> answers;
  int agents_running = 0;
  int backing_off = 0;
  bool ticking = false;
  bool done = false;
  // What the ticker needs besides the agents' counters.
  std::vector<net::Endpoint> sims;
  std::vector<sim::ProviderSimConfig> sim_configs;
  std::optional<net::Endpoint> gateway;
  // When set, one CSV row per tick: "t,answers_per_s,upstream_per_s,upstream_in_flight"
  // (prefixed by the caller's scenario and mode).
  std::vector<std::string>* timeline = nullptr;
};

// One logical request the way the official SDKs send it: up to 2 retries on
// transport failures, 408, 409, 429 and 5xx, waiting as sdk_retry_delay says.
asio::awaitable<Answer> sdk_request(Run* run, std::string body, bool interactive) {
  Answer a{.interactive = interactive};
  const TimePoint sent = run->clock.now();
  for (int retries = 0;; ++retries) {
    net::HeaderFields headers = run->headers;
    const std::string method = "POST";
    FetchReply r =
        co_await fetch(*run->client, run->target, method, run->path, std::move(headers), body);
    if (r.status >= 200 && r.status < 300) {
      a.ok = true;
      break;
    }
    if (!sdk_retries_status(r.status) || retries >= kSdkMaxRetries) break;
    const Duration delay = sdk_retry_delay(retries, r.header("retry-after-ms"),
                                           r.header("retry-after"), run->rng.uniform());
    if (run->clock.now() + delay > run->hard_end) {
      a.unfinished = true;
      break;
    }
    ++run->backing_off;
    co_await net::sleep_for(delay);
    --run->backing_off;
  }
  a.wait_s = to_seconds(run->clock.now() - sent);
  co_return a;
}

asio::awaitable<void> agent(Run* run, bool interactive) {
  std::string model = run->direct_model;
  if (!run->direct) model = interactive ? "chat" : "batch";
  for (int n = 1; run->clock.now() < run->stop_sending; ++n) {
    Answer a = co_await sdk_request(run, chat_body(model, n), interactive);
    run->answers.push_back(a);
    run->last_answer = run->clock.now();
    if (interactive) co_await net::sleep_for(kInteractiveThink);
  }
  --run->agents_running;
}

std::int64_t count_429(const json& stats) {
  std::int64_t n = 0;
  const json& rej = stats.value("rejections", json::object());
  for (const char* kind : {"concurrency", "rpm", "tpm", "daily"}) {
    n += rej.value(kind, std::int64_t{0});
  }
  return n;
}

asio::awaitable<json> get_json(Run* run, net::Endpoint ep, std::string path) {
  const std::string method = "GET";
  net::HeaderFields no_headers;
  std::string no_body;
  FetchReply r = co_await fetch(*run->client, std::move(ep), method, std::move(path),
                                std::move(no_headers), std::move(no_body));
  if (r.status != 200) co_return json();
  co_return json::parse(r.body, nullptr, false);
}

// Upstream 429s (or, with `attempts`, all requests) so far, as the simulated
// providers counted them.
asio::awaitable<std::int64_t> upstream_429s(Run* run, bool attempts = false) {
  std::int64_t n = 0;
  for (const auto& ep : run->sims) {
    const std::string path = "/_sim/stats";
    json stats = co_await get_json(run, ep, path);
    if (!stats.is_object()) continue;
    n += attempts ? stats.value("requests", std::int64_t{0}) : count_429(stats);
  }
  co_return n;
}

struct LiveOut {
  std::ostream* out;  // nullptr: no live view
  bool tty;
  double seconds;
};

asio::awaitable<void> ticker(Run* run, LiveOut live) {
  std::size_t seen = 0;
  std::int64_t attempts_seen = 0;
  TimePoint last = run->start;
  while (!run->done) {
    co_await net::sleep_for(std::chrono::seconds(1));
    if (run->done) break;
    const TimePoint now = run->clock.now();
    LiveSample s{.elapsed_s = to_seconds(now - run->start), .seconds = live.seconds};
    const std::size_t answered = run->answers.size();
    const double interval = std::max(0.001, to_seconds(now - last));
    s.requests_per_s = static_cast<double>(answered - seen) / interval;
    seen = answered;
    last = now;
    if (run->timeline != nullptr) {
      std::int64_t attempts = 0, in_flight = 0;
      for (const auto& ep : run->sims) {
        const std::string path = "/_sim/stats";
        json stats = co_await get_json(run, ep, path);
        if (!stats.is_object()) continue;
        attempts += stats.value("requests", std::int64_t{0});
        in_flight += stats.value("in_flight", std::int64_t{0});
      }
      char row[128];
      std::snprintf(row, sizeof row, "%.1f,%.1f,%.1f,%lld", s.elapsed_s, s.requests_per_s,
                    static_cast<double>(attempts - attempts_seen) / interval,
                    static_cast<long long>(in_flight));
      attempts_seen = attempts;
      run->timeline->push_back(row);
    }
    for (const auto& a : run->answers) (a.ok ? s.ok : s.failed) += a.unfinished ? 0 : 1;
    s.backing_off = run->backing_off;
    s.upstream_429 = co_await upstream_429s(run);
    if (run->gateway) {
      const std::string path = "/status";
      json st = co_await get_json(run, *run->gateway, path);
      std::int64_t qi = 0, qb = 0;
      for (const auto& p : st.value("providers", json::array())) {
        for (const auto& k : p.value("keys", json::array())) {
          const json limiters = k.value("limiters", json::object());
          for (const auto& [bucket, l] : limiters.items()) {
            if (!s.in_flight.empty()) s.in_flight += "  ";
            s.in_flight += p.value("name", std::string("?")) + " " +
                           std::to_string(l.value("in_flight", 0)) + "/" +
                           std::to_string(l.value("limit", 0));
            const json& by = l.value("queued_by_priority", json::object());
            qi += by.value("interactive", std::int64_t{0});
            qb += by.value("background", std::int64_t{0});
          }
        }
      }
      s.queued_interactive = qi;
      s.queued_background = qb;
      s.fallbacks = st.value("counters", json::object()).value("fallbacks", std::int64_t{0});
    } else {
      for (std::size_t i = 0; i < run->sims.size(); ++i) {
        const std::string path = "/_sim/stats";
        json stats = co_await get_json(run, run->sims[i], path);
        if (!stats.is_object() || stats.value("requests", 0) == 0) continue;
        if (!s.in_flight.empty()) s.in_flight += "  ";
        const auto& cap = run->sim_configs[i].limits.concurrency;
        s.in_flight += run->sim_configs[i].name + " " +
                       std::to_string(stats.value("in_flight", 0)) + "/" +
                       (cap ? std::to_string(*cap) : std::string("-"));
      }
    }
    if (run->done) break;
    if (live.out == nullptr) continue;
    if (live.tty) {
      *live.out << "\r\033[K" << render_live_line(s) << std::flush;
    } else {
      *live.out << render_live_line(s) << "\n" << std::flush;
    }
  }
  if (live.out != nullptr && live.tty) *live.out << "\r\033[K" << std::flush;
  run->ticking = false;
}

// Runs the workload, then fills `totals` and stops the servers.
asio::awaitable<void> conduct(Run* run, int interactive, int background, LiveOut live,
                              RunTotals* totals, std::function<void()> stop_servers) {
  run->start = run->clock.now();
  run->last_answer = run->start;
  run->stop_sending = run->start + std::chrono::duration_cast<Duration>(
                                       std::chrono::duration<double>(live.seconds));
  run->hard_end = run->stop_sending + kGrace;
  const auto ex = co_await asio::this_coro::executor;
  run->agents_running = interactive + background;
  for (int i = 0; i < interactive; ++i) asio::co_spawn(ex, agent(run, true), asio::detached);
  for (int i = 0; i < background; ++i) asio::co_spawn(ex, agent(run, false), asio::detached);
  run->ticking = true;
  asio::co_spawn(ex, ticker(run, live), asio::detached);
  while (run->agents_running > 0) co_await net::sleep_for(milliseconds(20));
  run->done = true;
  while (run->ticking) co_await net::sleep_for(milliseconds(20));

  totals->upstream_429 = co_await upstream_429s(run);
  totals->upstream_attempts = co_await upstream_429s(run, true);
  if (run->gateway) {
    const std::string path = "/status";
    json st = co_await get_json(run, *run->gateway, path);
    totals->fallbacks = st.value("counters", json::object()).value("fallbacks", std::int64_t{0});
  }
  const Duration span = run->last_answer - run->start;
  for (const auto& a : run->answers) {
    if (a.unfinished) {
      ++totals->unfinished;
      continue;
    }
    ++totals->requests;
    (a.ok ? totals->ok : totals->failed) += 1;
    if (a.interactive) totals->interactive_wait_s.push_back(a.wait_s);
  }
  // The providers this run could use: all behind the gateway, the primary alone direct.
  for (std::size_t i = 0; i < run->sim_configs.size(); ++i) {
    if (run->direct && i > 0) break;
    totals->allowed += allowed_requests(capacity_of(run->sim_configs[i]), span).value_or(0);
  }
  stop_servers();
}

net::Endpoint loopback(std::uint16_t port, std::string base_path = {}) {
  return net::Endpoint{.tls = false, .host = "127.0.0.1", .port = port, .base_path = base_path};
}

// One run in a fresh io_context with a fresh simulator. Empty on success.
std::string run_once(const Scenario& sc, bool direct, LiveOut live, RunTotals& totals,
                     std::vector<std::string>* timeline = nullptr) {
  asio::io_context io(1);
  SystemClock clock;
  SeededRng gateway_rng(7);
  const sim::SimConfig& sim_config = sc.sims;
  sim::SimServer sims(io.get_executor(), sim_config, clock);
  if (auto err = sims.start(); !err.empty()) return "simulator: " + err;
  const auto listeners = sims.listeners();

  std::unique_ptr<server::GatewayServer> gateway;
  if (!direct) {
    config::ProcessSecretSource secrets;
    std::vector<std::uint16_t> ports;
    for (const auto& l : listeners) ports.push_back(l.port);
    auto loaded = config::load_gateway_config(gateway_yaml(sc, ports), "(sluice demo)", secrets);
    if (!loaded.ok()) {
      sims.stop();
      io.run();
      return "gateway config: " + loaded.errors.front().format();
    }
    loaded.config->server.port = 0;
    gateway = std::make_unique<server::GatewayServer>(io.get_executor(), *loaded.config, clock,
                                                      gateway_rng);
    if (auto err = gateway->start(); !err.empty()) {
      sims.stop();
      io.run();
      return "gateway: " + err;
    }
  }

  auto run = std::make_unique<Run>(io);
  run->direct = direct;
  run->timeline = timeline;
  run->sim_configs = sim_config.providers;
  for (const auto& l : listeners) run->sims.push_back(loopback(l.port));
  if (direct) {
    run->target = loopback(listeners.at(0).port, sc.base_paths.at(0));
    run->direct_model = sc.models.at(0);
    run->path = "/chat/completions";
    run->headers = {{"content-type", "application/json"},
                    {"authorization", std::string("Bearer ") + kKey}};
  } else {
    run->gateway = loopback(gateway->port());
    run->target = *run->gateway;
    run->path = "/v1/chat/completions";
    run->headers = {{"content-type", "application/json"}};
  }
  auto stop_servers = [&] {
    run->client.reset();  // closes the agents' keep-alive connections
    if (gateway) gateway->stop();
    sims.stop();
  };
  asio::co_spawn(
      io,
      conduct(run.get(), sc.interactive_agents, sc.background_agents, live, &totals, stop_servers),
      asio::detached);
  io.run();
  return {};
}

}  // namespace

int run_demo(const DemoFlags& flags, std::ostream& out, bool live_tty) {
  if (!(flags.seconds > 0) || flags.background_agents < 0) {
    std::cerr << "sluice demo: --seconds must be positive\n";
    return 2;
  }
  ::setenv(kKeyVar, kKey, 1);
  const LiveOut live{.out = &out, .tty = live_tty, .seconds = flags.seconds};
  char secs[32];
  std::snprintf(secs, sizeof secs, "%g", flags.seconds);
  out << "sluice demo: " << secs << " s of 1 interactive + " << flags.background_agents
      << " background agents, run twice; everything simulated on 127.0.0.1\n"
      << "  providers: zai (z.ai-like: 1 request in flight per key, 300 ms each)\n"
      << "             openai (OpenAI-like: 20 requests per 2 s window, 100 ms each)\n\n"
      << "run 1: through sluice (route zai/glm-5.1 then openai/gpt-4o-mini; alias chat is\n"
      << "       interactive, batch background)\n"
      << std::flush;

  NullBuffer null;
  std::streambuf* const saved_clog = std::clog.rdbuf(&null);
  RunTotals gw{.label = "through sluice"};
  const Scenario sc = demo_scenario(flags.background_agents);
  std::string err = run_once(sc, false, live, gw);
  if (err.empty()) {
    out << "\nrun 2: the same agents straight to zai with the official SDKs' retries (2 retries,\n"
        << "       retry-after up to 60 s, else 0.5 s * 2^n up to 8 s with jitter), fresh "
           "simulator\n"
        << std::flush;
    RunTotals direct{.label = "straight to zai (SDK retries)"};
    err = run_once(sc, true, live, direct);
    if (err.empty()) {
      out << "\nsummary (" << secs << " s each; wait = send to final answer, incl. queueing and "
          << "retries)\n";
      for (const auto& line : render_summary({gw, direct})) out << "  " << line << "\n";
      out << std::flush;
    }
  }
  std::clog.rdbuf(saved_clog);
  if (!err.empty()) {
    std::cerr << "sluice demo: " << err << "\n";
    return 1;
  }
  return 0;
}

int run_bench_gauntlet(const GauntletFlags& flags, std::ostream& out, std::ostream& progress) {
  if (!(flags.seconds > 0)) {
    std::cerr << "sluice bench-gauntlet: --seconds must be positive\n";
    return 2;
  }
  ::setenv(kKeyVar, kKey, 1);
  std::vector<Scenario> scenarios;
  for (auto& sc : gauntlet_scenarios()) {
    if (flags.only.empty() ||
        std::find(flags.only.begin(), flags.only.end(), sc.name) != flags.only.end()) {
      scenarios.push_back(std::move(sc));
    }
  }
  if (scenarios.empty()) {
    std::cerr << "sluice bench-gauntlet: no such scenario\n";
    return 2;
  }
  NullBuffer null;
  std::streambuf* const saved_clog = std::clog.rdbuf(&null);
  const LiveOut live{.out = nullptr, .tty = false, .seconds = flags.seconds};
  std::vector<std::string> misses;
  std::vector<std::string> csv = {
      "scenario,mode,t,answers_per_s,upstream_per_s,upstream_in_flight"};
  std::string err;
  for (const auto& sc : scenarios) {
    ScenarioResult r{.name = sc.name,
                     .description = sc.description,
                     .rate_headers = sc.rate_headers,
                     .has_fallback = sc.sims.providers.size() > 1,
                     .service_s = to_seconds(sc.sims.providers.at(0).latency.fixed)};
    r.direct.label = "direct, SDK retries";
    r.gateway.label = "through sluice";
    for (const bool direct : {true, false}) {
      progress << "gauntlet: " << sc.name << (direct ? " direct" : " through sluice") << "\n"
               << std::flush;
      std::vector<std::string> rows;
      err = run_once(sc, direct, live, direct ? r.direct : r.gateway, &rows);
      if (!err.empty()) break;
      for (const auto& row : rows) {
        csv.push_back(sc.name + (direct ? ",direct," : ",sluice,") + row);
      }
    }
    if (!err.empty()) break;
    for (const auto& line : render_markdown(r)) out << line << "\n";
    out << "\n" << std::flush;
    for (auto& m : target_misses(r)) misses.push_back(std::move(m));
  }
  std::clog.rdbuf(saved_clog);
  if (!err.empty()) {
    std::cerr << "sluice bench-gauntlet: " << err << "\n";
    return 1;
  }
  if (!flags.csv_path.empty()) {
    std::ofstream f(flags.csv_path);
    for (const auto& row : csv) f << row << "\n";
    if (!f) {
      std::cerr << "sluice bench-gauntlet: cannot write " << flags.csv_path << "\n";
      return 1;
    }
  }
  out << "### Where sluice misses a target\n\n";
  if (misses.empty()) out << "Nowhere: every target met.\n";
  for (const auto& m : misses) out << "- " << m << "\n";
  return 0;
}

}  // namespace sluice::cli
