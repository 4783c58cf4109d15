#include "apps/sluice/status_command.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

#include "apps/sluice/http_fetch.hpp"
#include "apps/sluice/status_view.hpp"

namespace sluice::cli {

int run_status(const StatusFlags& flags, std::ostream& out, std::ostream& err) {
  std::string key = flags.key;
  if (key.empty()) {
    if (const char* env = std::getenv("SLUICE_GATEWAY_KEY")) key = env;
  }
  net::HeaderFields headers;
  if (!key.empty()) headers.add("authorization", "Bearer " + key);
  const FetchReply reply =
      fetch_blocking(flags.url, "/status", std::move(headers), std::chrono::seconds(5));
  if (reply.status == 0) {
    err << "sluice status: cannot reach the gateway at " << flags.url << " (" << reply.error
        << "); is `sluice serve` running? (--url picks another)\n";
    return 1;
  }
  if (reply.status == 401 || reply.status == 403) {
    err << "sluice status: the gateway at " << flags.url << " refused "
        << (key.empty() ? "the request without a gateway key" : "the gateway key") << " (HTTP "
        << reply.status << "); pass --key or set SLUICE_GATEWAY_KEY\n";
    return 1;
  }
  if (reply.status != 200) {
    err << "sluice status: " << flags.url << "/status answered HTTP " << reply.status << "\n";
    return 1;
  }
  nlohmann::json status;
  try {
    status = nlohmann::json::parse(reply.body);
  } catch (const nlohmann::json::parse_error&) {
    err << "sluice status: " << flags.url << "/status did not answer JSON; is it a sluice "
        << "gateway?\n";
    return 1;
  }
  out << "sluice status: " << flags.url << "\n\n";
  for (const auto& line : render_status(status)) out << line << "\n";
  return 0;
}

}  // namespace sluice::cli
