#pragma once
// A connection's timeout, cheap to re-arm: every read and write of a proxied
// request arms it, so it must not cost a timer-queue insert, a cancel and an
// aborted handler each time (four of each per request before). arm() only
// moves a deadline; one wait stays pending and, when it ends, either waits on
// to the current deadline, stops (disarmed), or reports expiry. The wait is
// restarted only when a deadline comes earlier than the pending wait's end,
// or after stop().
// Included by net/*.cpp only.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "sluice/core/time.hpp"

namespace sluice::net {

class Watchdog {
 public:
  using clock = boost::asio::steady_timer::clock_type;

  // `on_expiry` runs on the executor when an armed deadline passes (it
  // cancels the connection's pending I/O).
  Watchdog(const boost::asio::any_io_executor& ex, std::function<void()> on_expiry)
      : timer_(ex), state_(std::make_shared<State>()) {
    state_->on_expiry = std::move(on_expiry);
  }
  ~Watchdog() { state_->alive = false; }  // the timer's destructor cancels the wait
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void arm(Duration d) {
    State& s = *state_;
    s.expired = false;
    s.deadline = clock::now() + std::chrono::duration_cast<clock::duration>(d);
    // A pending wait that ends by the new deadline carries on to it.
    if (s.waiting && s.wait_end <= s.deadline) return;
    start();
  }
  void disarm() { state_->deadline = kNever; }
  // Disarms and ends the pending wait now, for a connection going idle: a
  // wait left pending would keep its io_context running (a CLI's run() would
  // not return, a drained server would not exit) until the wait ended.
  void stop() {
    disarm();
    if (!state_->waiting) return;
    state_->waiting = false;
    ++state_->generation;  // its handler, even one already queued, is void
    timer_.cancel();
  }
  // The last armed deadline passed before disarm() (reset by arm()).
  bool expired() const { return state_->expired; }

 private:
  static constexpr clock::time_point kNever = clock::time_point::max();

  // Shared with the pending wait's handler, which may run after the owner is
  // gone (a completion already queued when the timer was destroyed).
  struct State {
    bool alive = true;
    bool waiting = false;
    bool expired = false;
    clock::time_point deadline = kNever;
    clock::time_point wait_end;
    std::uint64_t generation = 0;  // the wait whose handler still counts
    std::function<void()> on_expiry;
  };

  void start() {
    State& s = *state_;
    s.waiting = true;
    s.wait_end = s.deadline;
    const std::uint64_t generation = ++s.generation;
    timer_.expires_at(s.deadline);  // cancels the wait it replaces
    timer_.async_wait([this, st = state_, generation](const boost::system::error_code&) {
      if (!st->alive || generation != st->generation) return;  // gone, or replaced
      st->waiting = false;
      if (st->deadline == kNever) return;  // disarmed meanwhile
      if (clock::now() < st->deadline) {   // re-armed meanwhile: wait on
        start();
        return;
      }
      st->expired = true;
      st->on_expiry();
    });
  }

  boost::asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace sluice::net
