#include "testing/fake_clock.hpp"

#include <algorithm>

namespace sluice::testing {

TimerId FakeClock::schedule_at(TimePoint at, std::function<void()> fn) {
  const std::uint64_t seq = next_seq_++;
  timers_.emplace(Key{at, seq}, std::make_pair(TimerId{seq}, std::move(fn)));
  return seq;
}

bool FakeClock::cancel(TimerId id) {
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->second.first == id) {
      timers_.erase(it);
      return true;
    }
  }
  return false;
}

std::size_t FakeClock::advance(Duration d) { return advance_to(now_ + d); }

std::size_t FakeClock::advance_to(TimePoint t) {
  std::size_t fired = 0;
  // Re-read begin() every round: a callback may schedule or cancel timers.
  while (!timers_.empty() && timers_.begin()->first.first <= t) {
    auto node = timers_.extract(timers_.begin());
    if (node.key().first > now_) now_ = node.key().first;
    node.mapped().second();
    ++fired;
  }
  if (t > now_) now_ = t;
  return fired;
}

std::size_t FakeClock::advance_to_next_before(TimePoint limit) {
  if (timers_.empty() || timers_.begin()->first.first > limit) return 0;
  const TimePoint due = std::max(timers_.begin()->first.first, now_);
  return advance_to(due);
}

}  // namespace sluice::testing
