#include "sluice/core/clock.hpp"

namespace sluice {

TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

}  // namespace sluice
