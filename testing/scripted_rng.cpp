#include "testing/scripted_rng.hpp"

#include <algorithm>

namespace sluice::testing {

double ScriptedRng::uniform() {
  if (script_.empty()) return 0.0;
  const double v = script_[draws_ % script_.size()];
  ++draws_;
  return std::clamp(v, 0.0, 0.999999999);
}

std::uint64_t ScriptedRng::below(std::uint64_t n) {
  if (n == 0) return 0;
  const auto i = static_cast<std::uint64_t>(uniform() * static_cast<double>(n));
  return std::min(i, n - 1);
}

}  // namespace sluice::testing
