#pragma once
// `sluice serve` and `sluice check-config`.
#include <string>

namespace sluice::cli {

struct ServeFlags {
  std::string config_path;  // empty: the default run (see serve_command.cpp)
  std::string listen;       // overrides server.listen
};

int run_serve(const ServeFlags& flags);
int run_check_config(const std::string& config_path);

// The YAML of the default run when no config file is given: a provider for
// every well-known API key variable that is set. Empty when none is set.
std::string default_config_from_env();

}  // namespace sluice::cli
