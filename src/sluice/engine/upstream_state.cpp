#include "sluice/engine/upstream_state.hpp"

namespace sluice::engine {

UpstreamKeyState& UpstreamRegistry::key(const std::string& base_url,
                                        const std::string& fingerprint) {
  auto [it, inserted] = keys_.try_emplace(base_url + "|" + fingerprint);
  if (inserted) it->second.fingerprint = fingerprint;
  return it->second;
}

}  // namespace sluice::engine
