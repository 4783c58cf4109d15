#pragma once
// `sluice sim`: serve simulated providers on loopback, from a YAML file or
// from flags for one provider. Runs until SIGINT or SIGTERM.
#include <optional>
#include <string>
#include <variant>

#include "sluice/sim/sim_config.hpp"

namespace sluice::cli {

// Flags for a single simulated provider, as strings so errors can name them.
struct SimFlags {
  std::string config_path;
  std::string name = "sim";
  std::string dialect = "openai";
  std::string listen = "127.0.0.1:8001";
  std::string keys;  // comma-separated; empty: any key is accepted
  std::optional<std::int64_t> rpm, tpm, concurrency, daily;
  std::string window = "60s";
  std::string daily_window = "24h";
  std::string latency = "0ms", jitter = "0ms", ttft = "0ms", per_token = "0ms";
  std::uint64_t seed = 1;
  std::int64_t answer_tokens = 7;
};

// Builds the run's config from the flags (or the YAML file they name).
std::variant<sim::SimConfig, std::string> sim_config_from_flags(const SimFlags& flags);

// Serves until a signal arrives. Returns the process exit code.
int run_sim(sim::SimConfig config);

}  // namespace sluice::cli
