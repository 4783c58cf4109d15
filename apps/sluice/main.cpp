// sluice: a rate-limit-aware gateway for LLM providers. This file only wires
// subcommands to their implementations.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <variant>

#include "apps/sluice/classify_command.hpp"
#include "apps/sluice/demo_command.hpp"
#include "apps/sluice/serve_command.hpp"
#include "apps/sluice/sim_command.hpp"
#include "apps/sluice/status_command.hpp"

namespace {

int classify_main(const std::string& input_path, const std::string& rules_path, bool strict) {
  sluice::policy::RuleTable rules = sluice::policy::builtin_rules();
  if (!rules_path.empty()) {
    std::ifstream f(rules_path);
    if (!f) {
      std::cerr << "sluice classify: cannot read rules file " << rules_path << "\n";
      return 2;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    auto parsed = sluice::policy::parse_rules_json(ss.str());
    if (auto* err = std::get_if<std::string>(&parsed)) {
      std::cerr << "sluice classify: " << rules_path << ": " << *err << "\n";
      return 2;
    }
    rules.prepend(std::move(std::get<std::vector<sluice::policy::ErrorRule>>(parsed)));
  }
  sluice::SystemClock clock;
  std::size_t errors = 0;
  if (input_path.empty() || input_path == "-") {
    errors = sluice::cli::run_classify(std::cin, std::cout, rules, clock);
  } else {
    std::ifstream in(input_path);
    if (!in) {
      std::cerr << "sluice classify: cannot read " << input_path << "\n";
      return 2;
    }
    errors = sluice::cli::run_classify(in, std::cout, rules, clock);
  }
  return strict && errors > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice: a rate-limit-aware gateway for LLM providers"};
  app.set_version_flag("--version", std::string("sluice 0.1.0"));
  app.require_subcommand(1);

  std::string input_path, rules_path;
  bool strict = false;
  auto* classify = app.add_subcommand(
      "classify",
      "Classify upstream outcomes: JSON lines in (provider, status, headers, body, error, "
      "transport, stream, request), one JSON line out each (class, traits, wait, rate-limit "
      "snapshot); an unknown provider name gets the generic rules");
  classify->add_option("input", input_path, "Input file of JSON lines (default: stdin)");
  classify->add_option("--rules", rules_path,
                       "JSON file of extra classification rules, checked before the built-in ones");
  classify->add_flag("--strict", strict, "Exit 1 when any input line was malformed");

  sluice::cli::SimFlags sim_flags;
  auto* sim = app.add_subcommand(
      "sim",
      "Serve simulated LLM providers on loopback with exact rate limits, each dialect's headers, "
      "error bodies and SSE streams, and injectable faults");
  sim->add_option("--config", sim_flags.config_path, "YAML file describing several providers");
  sim->add_option("--name", sim_flags.name, "Provider name (flags mode)");
  sim->add_option("--dialect", sim_flags.dialect,
                  "openai | anthropic | openrouter | zai | kimi | groq | azure");
  sim->add_option("--listen", sim_flags.listen, "host:port (port 0 picks a free one)");
  sim->add_option("--keys", sim_flags.keys, "Comma-separated valid API keys (default: any)");
  sim->add_option("--rpm", sim_flags.rpm, "Requests per window, per key");
  sim->add_option("--tpm", sim_flags.tpm, "Tokens per window, per key (prompt + max_tokens)");
  sim->add_option("--concurrency", sim_flags.concurrency, "Requests in flight, per key");
  sim->add_option("--daily", sim_flags.daily, "Requests per daily window, per key");
  sim->add_option("--window", sim_flags.window, "The rate window, e.g. 60s or 2s");
  sim->add_option("--daily-window", sim_flags.daily_window, "The daily window, e.g. 24h or 10s");
  sim->add_option("--latency", sim_flags.latency, "Fixed latency before the status line");
  sim->add_option("--jitter", sim_flags.jitter, "Uniform extra latency in [0, jitter)");
  sim->add_option("--ttft", sim_flags.ttft, "Streams: time to first token");
  sim->add_option("--per-token", sim_flags.per_token, "Streams: time between tokens");
  sim->add_option("--seed", sim_flags.seed, "Seed for faults and jitter (deterministic)");
  sim->add_option("--answer-tokens", sim_flags.answer_tokens,
                  "Tokens (stream events) per answer, at most max_tokens (default 7)");

  sluice::cli::ServeFlags serve_flags;
  auto* serve = app.add_subcommand(
      "serve",
      "Run the gateway: OpenAI- and Anthropic-compatible, rate-limit aware. Without -c, serves a "
      "provider for each API key variable that is set, or the built-in simulator when none is");
  serve->add_option("-c,--config", serve_flags.config_path, "YAML config file");
  serve->add_option("--listen", serve_flags.listen, "host:port (default 127.0.0.1:4000)");

  std::string check_path;
  auto* check = app.add_subcommand("check-config", "Validate a config file and explain it");
  check->add_option("config", check_path, "YAML config file")->required();

  sluice::cli::StatusFlags status_flags;
  auto* status = app.add_subcommand(
      "status",
      "Show a running gateway's GET /status as a table: per provider and key, limit vs in-flight, "
      "queue by priority, budgets and resets, cooldowns; then counters and the latest events");
  status->add_option("--url", status_flags.url, "The gateway's base URL")->capture_default_str();
  status->add_option("--key", status_flags.key,
                     "Gateway key when server.gateway_keys is set (default: $SLUICE_GATEWAY_KEY)");

  sluice::cli::DemoFlags demo_flags;
  auto* demo = app.add_subcommand(
      "demo",
      "No key needed: simulated providers, the gateway and a workload of agents in one process, "
      "with a live view; then the same agents straight to the provider with SDK retries, and a "
      "summary of both");
  demo->add_option("--seconds", demo_flags.seconds, "How long each of the two runs sends")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  demo->add_option("--background-agents", demo_flags.background_agents,
                   "Background agents besides the interactive one")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));

  sluice::cli::GauntletFlags gauntlet_flags;
  auto* gauntlet = app.add_subcommand(
      "bench-gauntlet",
      "Rate-limit scenarios (rpm-wall, zai-cap-1, daily-quota, overload-storm, outage), each run "
      "straight to the simulated providers with SDK retries and through sluice; prints Markdown");
  gauntlet->add_option("--seconds", gauntlet_flags.seconds, "How long each run sends")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  gauntlet->add_option("--scenario", gauntlet_flags.only, "Only these scenarios (repeatable)");
  gauntlet->add_option("--csv", gauntlet_flags.csv_path,
                       "Write per-second answers, upstream requests and in-flight as CSV");

  CLI11_PARSE(app, argc, argv);
  if (gauntlet->parsed()) {
    return sluice::cli::run_bench_gauntlet(gauntlet_flags, std::cout, std::cerr);
  }
  if (demo->parsed()) {
    return sluice::cli::run_demo(demo_flags, std::cout, ::isatty(STDOUT_FILENO) == 1);
  }
  if (status->parsed()) return sluice::cli::run_status(status_flags, std::cout, std::cerr);
  if (serve->parsed()) return sluice::cli::run_serve(serve_flags);
  if (check->parsed()) return sluice::cli::run_check_config(check_path);
  if (classify->parsed()) return classify_main(input_path, rules_path, strict);
  if (sim->parsed()) {
    auto config = sluice::cli::sim_config_from_flags(sim_flags);
    if (auto* err = std::get_if<std::string>(&config)) {
      std::cerr << "sluice sim: " << *err << "\n";
      return 2;
    }
    return sluice::cli::run_sim(std::get<sluice::sim::SimConfig>(std::move(config)));
  }
  return 0;
}
