#pragma once
// The Rng port: every random choice in policy code (jitter, `random` key
// selection) draws from an injected Rng so tests can script the sequence.
#include <cstdint>
#include <random>

namespace sluice {

class Rng {
 public:
  virtual ~Rng() = default;
  // Uniform in [0, 1).
  virtual double uniform() = 0;
  // Uniform integer in [0, n); n must be > 0.
  virtual std::uint64_t below(std::uint64_t n) = 0;
};

// A seeded pseudo-random generator for production use.
class SeededRng final : public Rng {
 public:
  explicit SeededRng(std::uint64_t seed) : engine_(seed) {}
  double uniform() override;
  std::uint64_t below(std::uint64_t n) override;

 private:
  std::mt19937_64 engine_;
};

}  // namespace sluice
