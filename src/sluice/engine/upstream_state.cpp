#include "sluice/engine/upstream_state.hpp"

namespace sluice::engine {

UpstreamKeyState& UpstreamRegistry::key(const std::string& base_url,
                                        const std::string& fingerprint) {
  // Called for every attempt: the key is composed in a buffer kept per
  // thread, and a string is made only for a key seen the first time.
  thread_local std::string scratch;
  scratch.assign(base_url).append("|").append(fingerprint);
  if (auto it = keys_.find(scratch); it != keys_.end()) return it->second;
  auto& state = keys_[scratch];
  state.fingerprint = fingerprint;
  return state;
}

}  // namespace sluice::engine
