#pragma once
// `sluice status`: GET /status from a running gateway, shown as a table.
#include <ostream>
#include <string>

namespace sluice::cli {

struct StatusFlags {
  std::string url = "http://127.0.0.1:4000";
  std::string key;  // empty: SLUICE_GATEWAY_KEY, else none
};

// Prints the table and returns 0; 1 with a message on stderr when the gateway
// is unreachable, refuses the key, or answers something else.
int run_status(const StatusFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace sluice::cli
