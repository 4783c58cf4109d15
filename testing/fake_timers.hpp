#pragma once
// The engine's coroutine Timers port (ports/timers.hpp) on a FakeClock: a
// wait completes exactly when a test's advance() passes its time, or when it
// is woken. Each wait parks on an Asio timer that never expires by itself;
// the FakeClock callback (or wake()) cancels it, which makes the waiting
// coroutine ready on the test's io_context. Single-threaded, like the engine.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "sluice/ports/timers.hpp"
#include "testing/fake_clock.hpp"

namespace sluice::testing {

class FakeTimers final : public ports::Timers {
 public:
  FakeTimers(boost::asio::any_io_executor executor, FakeClock& clock)
      : executor_(std::move(executor)), clock_(clock) {}

  std::unique_ptr<ports::Timer> at(TimePoint when) override {
    ++made_;
    return std::make_unique<Wait>(executor_, clock_, when);
  }
  // Timers asked for so far (a test compares what two paths cost).
  std::size_t made() const { return made_; }

 private:
  class Wait final : public ports::Timer {
   public:
    Wait(boost::asio::any_io_executor executor, FakeClock& clock, TimePoint when)
        : timer_(executor, boost::asio::steady_timer::time_point::max()), clock_(clock) {
      if (when <= clock.now()) {
        done_ = true;
      } else {
        id_ = clock.schedule_at(when, [this] {
          id_ = 0;
          wake();
        });
      }
    }
    ~Wait() override {
      if (id_ != 0) clock_.cancel(id_);
    }
    boost::asio::awaitable<void> wait() override {
      if (done_) co_return;
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    void wake() override {
      done_ = true;
      timer_.cancel();
    }

   private:
    boost::asio::steady_timer timer_;
    FakeClock& clock_;
    TimerId id_ = 0;
    bool done_ = false;
  };

  boost::asio::any_io_executor executor_;
  FakeClock& clock_;
  std::size_t made_ = 0;
};

}  // namespace sluice::testing
