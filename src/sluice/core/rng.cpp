#include "sluice/core/rng.hpp"

namespace sluice {

double SeededRng::uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }

std::uint64_t SeededRng::below(std::uint64_t n) {
  return n == 0 ? 0 : std::uniform_int_distribution<std::uint64_t>(0, n - 1)(engine_);
}

}  // namespace sluice
