#include "apps/sluice/demo_command.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <cmath>
#include <cstdlib>
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

// z.ai-like primary: one request in flight per key, ~300 ms each (no rate
// headers, no retry-after, as the real one). OpenAI-like fallback: a wall of
// 20 requests per 2 s window, with its headers and retry-after.
sim::SimConfig demo_providers() {
  sim::ProviderSimConfig zai;
  zai.name = "zai";
  zai.dialect = Dialect::kZai;
  zai.keys = {kKey};
  zai.limits.concurrency = 1;
  zai.latency.fixed = milliseconds(300);
  zai.seed = 11;
  sim::ProviderSimConfig oa;
  oa.name = "openai";
  oa.dialect = Dialect::kOpenAI;
  oa.keys = {kKey};
  oa.limits.requests_per_window = 20;
  oa.limits.window = std::chrono::seconds(2);
  oa.latency.fixed = milliseconds(100);
  oa.seed = 12;
  sim::SimConfig c;
  c.providers = {zai, oa};
  return c;
}

KeyCapacity capacity_of(const sim::ProviderSimConfig& p) {
  return {.concurrency = p.limits.concurrency,
          .latency = p.latency.fixed,
          .requests_per_window = p.limits.requests_per_window,
          .window = p.limits.window};
}

std::string gateway_yaml(std::uint16_t zai_port, std::uint16_t oa_port) {
  const auto base = [](std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); };
  return std::string(
             "server: {listen: \"127.0.0.1:0\"}\n"
             "state: {backend: memory}\n"
             "providers:\n"
             "  zai: {api: openai, dialect: zai, base_url: \"") +
         base(zai_port) + "/api/paas/v4\", keys: [env:" + kKeyVar +
         "], max_concurrent: 1, max_wait: 3s}\n"
         "  openai: {api: openai, dialect: openai, base_url: \"" +
         base(oa_port) + "/v1\", keys: [env:" + kKeyVar +
         "], max_wait: 3s}\n"
         "models:\n"
         "  chat: {route: [zai/glm-5.1, openai/gpt-4o-mini], queue_timeout: 5s}\n"
         "  batch: {route: [zai/glm-5.1, openai/gpt-4o-mini], priority: background, "
         "queue_timeout: 100ms}\n";
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
  net::Endpoint target;  // the gateway, or the z.ai-like provider
  std::string path;      // "/v1/chat/completions" or "/chat/completions"
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
  std::string model = "glm-5.1";
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

// Upstream 429s so far, as the simulated providers counted them.
asio::awaitable<std::int64_t> upstream_429s(Run* run) {
  std::int64_t n = 0;
  for (const auto& ep : run->sims) {
    const std::string path = "/_sim/stats";
    json stats = co_await get_json(run, ep, path);
    if (stats.is_object()) n += count_429(stats);
  }
  co_return n;
}

struct LiveOut {
  std::ostream* out;
  bool tty;
  double seconds;
};

asio::awaitable<void> ticker(Run* run, LiveOut live) {
  std::size_t seen = 0;
  TimePoint last = run->start;
  while (!run->done) {
    co_await net::sleep_for(std::chrono::seconds(1));
    if (run->done) break;
    const TimePoint now = run->clock.now();
    LiveSample s{.elapsed_s = to_seconds(now - run->start), .seconds = live.seconds};
    const std::size_t answered = run->answers.size();
    s.requests_per_s =
        static_cast<double>(answered - seen) / std::max(0.001, to_seconds(now - last));
    seen = answered;
    last = now;
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
    if (live.tty) {
      *live.out << "\r\033[K" << render_live_line(s) << std::flush;
    } else {
      *live.out << render_live_line(s) << "\n" << std::flush;
    }
  }
  if (live.tty) *live.out << "\r\033[K" << std::flush;
  run->ticking = false;
}

// Runs the workload, then fills `totals` and stops the servers.
asio::awaitable<void> conduct(Run* run, int background, LiveOut live, RunTotals* totals,
                              std::function<void()> stop_servers) {
  run->start = run->clock.now();
  run->last_answer = run->start;
  run->stop_sending = run->start + std::chrono::duration_cast<Duration>(
                                       std::chrono::duration<double>(live.seconds));
  run->hard_end = run->stop_sending + kGrace;
  const auto ex = co_await asio::this_coro::executor;
  run->agents_running = 1 + background;
  asio::co_spawn(ex, agent(run, true), asio::detached);
  for (int i = 0; i < background; ++i) asio::co_spawn(ex, agent(run, false), asio::detached);
  run->ticking = true;
  asio::co_spawn(ex, ticker(run, live), asio::detached);
  while (run->agents_running > 0) co_await net::sleep_for(milliseconds(20));
  run->done = true;
  while (run->ticking) co_await net::sleep_for(milliseconds(20));

  totals->upstream_429 = co_await upstream_429s(run);
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
  // The providers this run could use: both behind the gateway, z.ai alone direct.
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
std::string run_once(bool direct, const DemoFlags& flags, LiveOut live, RunTotals& totals) {
  asio::io_context io(1);
  SystemClock clock;
  SeededRng gateway_rng(7);
  const sim::SimConfig sim_config = demo_providers();
  sim::SimServer sims(io.get_executor(), sim_config, clock);
  if (auto err = sims.start(); !err.empty()) return "simulator: " + err;
  const auto listeners = sims.listeners();

  std::unique_ptr<server::GatewayServer> gateway;
  if (!direct) {
    config::ProcessSecretSource secrets;
    auto loaded = config::load_gateway_config(
        gateway_yaml(listeners.at(0).port, listeners.at(1).port), "(sluice demo)", secrets);
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
  run->sim_configs = sim_config.providers;
  for (const auto& l : listeners) run->sims.push_back(loopback(l.port));
  if (direct) {
    run->target = loopback(listeners.at(0).port, "/api/paas/v4");
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
  asio::co_spawn(io, conduct(run.get(), flags.background_agents, live, &totals, stop_servers),
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
  std::string err = run_once(false, flags, live, gw);
  if (err.empty()) {
    out << "\nrun 2: the same agents straight to zai with the official SDKs' retries (2 retries,\n"
        << "       retry-after up to 60 s, else 0.5 s * 2^n up to 8 s with jitter), fresh "
           "simulator\n"
        << std::flush;
    RunTotals direct{.label = "straight to zai (SDK retries)"};
    err = run_once(true, flags, live, direct);
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

}  // namespace sluice::cli
