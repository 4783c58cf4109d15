#pragma once
// An Rng that returns a scripted sequence, so jittered waits and random key
// choices are asserted exactly. After the script ends it repeats from the start.
#include <cstdint>
#include <vector>

#include "sluice/core/rng.hpp"

namespace sluice::testing {

class ScriptedRng final : public Rng {
 public:
  // Values in [0, 1); below(n) maps each to floor(v * n).
  explicit ScriptedRng(std::vector<double> script) : script_(std::move(script)) {}

  double uniform() override;
  std::uint64_t below(std::uint64_t n) override;
  std::size_t draws() const { return draws_; }

 private:
  std::vector<double> script_;
  std::size_t draws_ = 0;
};

}  // namespace sluice::testing
