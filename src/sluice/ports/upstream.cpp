#include "sluice/ports/upstream.hpp"

namespace sluice::ports {

std::string_view to_string(ClientFailure f) {
  switch (f) {
    case ClientFailure::kNone: return "none";
    case ClientFailure::kConnect: return "connect";
    case ClientFailure::kTimeout: return "timeout";
    case ClientFailure::kReset: return "reset";
    case ClientFailure::kEof: return "eof";
    case ClientFailure::kTls: return "tls";
    case ClientFailure::kProtocol: return "protocol";
  }
  return "unknown";
}

}  // namespace sluice::ports
