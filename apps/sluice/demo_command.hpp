#pragma once
// `sluice demo`: the simulator, the gateway in front of it and a workload of
// agents, all in this process on 127.0.0.1 port 0; then the same workload
// straight to the simulated provider with the official SDKs' retries, and a
// summary of both side by side. No provider key needed.
#include <ostream>
#include <string>
#include <vector>

namespace sluice::cli {

struct DemoFlags {
  double seconds = 30;        // how long each run sends
  int background_agents = 4;  // plus one interactive agent
};

// Writes the live view and the summary to `out`; `live_tty` redraws the live
// line in place (ANSI), otherwise it prints one plain line per second.
int run_demo(const DemoFlags& flags, std::ostream& out, bool live_tty);

// `sluice bench-gauntlet`: the same two runs (direct with SDK retries, then
// through sluice, each on a fresh simulator) for each rate-limit scenario:
// rpm-wall, zai-cap-1, daily-quota, overload-storm, outage. Writes a Markdown
// table per scenario and where sluice misses a target to `out`; one progress
// line per run to `progress`.
struct GauntletFlags {
  double seconds = 12;            // how long each run sends
  std::vector<std::string> only;  // scenario names; empty: all
  std::string csv_path;           // per-second timeline; empty: none
};
int run_bench_gauntlet(const GauntletFlags& flags, std::ostream& out, std::ostream& progress);

}  // namespace sluice::cli
