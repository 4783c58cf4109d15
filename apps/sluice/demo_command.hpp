#pragma once
// `sluice demo`: the simulator, the gateway in front of it and a workload of
// agents, all in this process on 127.0.0.1 port 0; then the same workload
// straight to the simulated provider with the official SDKs' retries, and a
// summary of both side by side. No provider key needed.
#include <ostream>

namespace sluice::cli {

struct DemoFlags {
  double seconds = 30;        // how long each run sends
  int background_agents = 4;  // plus one interactive agent
};

// Writes the live view and the summary to `out`; `live_tty` redraws the live
// line in place (ANSI), otherwise it prints one plain line per second.
int run_demo(const DemoFlags& flags, std::ostream& out, bool live_tty);

}  // namespace sluice::cli
