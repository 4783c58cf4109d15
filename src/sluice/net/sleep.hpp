#pragma once
// Waiting on the io loop: a plain pause, and the engine's Timers port
// (ports/timers.hpp) on Asio steady timers, by the engine's Clock.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "sluice/core/clock.hpp"
#include "sluice/core/time.hpp"
#include "sluice/ports/timers.hpp"

namespace sluice::net {

// A coroutine pause on the current executor; nothing for a non-positive wait.
boost::asio::awaitable<void> sleep_for(Duration d);

class AsioTimers final : public ports::Timers {
 public:
  AsioTimers(boost::asio::any_io_executor executor, const Clock& clock)
      : executor_(std::move(executor)), clock_(clock) {}
  std::unique_ptr<ports::Timer> at(TimePoint when) override;

 private:
  boost::asio::any_io_executor executor_;
  const Clock& clock_;
};

}  // namespace sluice::net
