#pragma once
// A Clock + Timers whose time moves only when a test says so. advance() fires
// every timer that falls due, in time order (ties in scheduling order), with
// now() set to each timer's due time while it runs, so callbacks that read
// the clock or schedule further timers see a consistent world.
#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include "sluice/core/clock.hpp"

namespace sluice::testing {

class FakeClock final : public Clock, public Timers {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1'800'000'000)))
      : now_(start) {}

  TimePoint now() const override { return now_; }
  TimerId schedule_at(TimePoint at, std::function<void()> fn) override;
  bool cancel(TimerId id) override;

  // Moves time forward by `d`, firing due timers in order. Returns how many fired.
  std::size_t advance(Duration d);
  // Moves time to `t` (never backwards).
  std::size_t advance_to(TimePoint t);
  // Moves time to the earliest due timer if it is due by `limit`, firing the
  // timers due then (a callback's new timers at that instant too). Returns
  // how many fired; 0 (and no move) when none is due by `limit`.
  std::size_t advance_to_next_before(TimePoint limit);
  std::size_t pending() const { return timers_.size(); }

 private:
  // Key (due time, sequence) orders by time, then by scheduling order.
  using Key = std::pair<TimePoint, std::uint64_t>;
  TimePoint now_;
  std::uint64_t next_seq_ = 1;
  std::map<Key, std::pair<TimerId, std::function<void()>>> timers_;
};

}  // namespace sluice::testing
