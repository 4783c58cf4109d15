#include "sluice/net/sleep.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::net {

boost::asio::awaitable<void> sleep_for(Duration d) {
  if (d <= Duration::zero()) co_return;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  timer.expires_after(std::chrono::duration_cast<boost::asio::steady_timer::duration>(d));
  co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
}

namespace {

class AsioTimer final : public ports::Timer {
 public:
  AsioTimer(boost::asio::any_io_executor executor, Duration after) : timer_(executor) {
    timer_.expires_after(std::chrono::duration_cast<boost::asio::steady_timer::duration>(
        std::max(after, Duration::zero())));
  }
  boost::asio::awaitable<void> wait() override {
    if (woken_) co_return;  // woken before anyone waited
    co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  void wake() override {
    woken_ = true;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  bool woken_ = false;
};

}  // namespace

std::unique_ptr<ports::Timer> AsioTimers::at(TimePoint when) {
  return std::make_unique<AsioTimer>(executor_, when - clock_.now());
}

}  // namespace sluice::net
