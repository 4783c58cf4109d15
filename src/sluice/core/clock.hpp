#pragma once
// The Clock and Timers ports. Policy code never reads a clock: callers pass
// `now`. The shell reads a Clock and schedules on Timers; tests substitute
// testing::FakeClock, whose advance() fires due timers in order.
#include <cstdint>
#include <functional>

#include "sluice/core/time.hpp"

namespace sluice {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

using TimerId = std::uint64_t;

class Timers {
 public:
  virtual ~Timers() = default;
  // Runs `fn` once, at or after `at`. Returns an id for cancel().
  virtual TimerId schedule_at(TimePoint at, std::function<void()> fn) = 0;
  // Returns true when the timer was pending and will now never run.
  virtual bool cancel(TimerId id) = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

}  // namespace sluice
