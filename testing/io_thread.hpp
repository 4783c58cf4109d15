#pragma once
// Runs an io_context on a background thread for tests, and shuts it down in
// the right order: post the servers' stop(), let every coroutine finish on its
// own (drain), and only then destroy what they referenced. Stopping the
// io_context first would leave suspended frames that are destroyed after the
// objects they point into (a limiter, a simulated provider).
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

namespace sluice::testing {

class IoThread {
 public:
  IoThread() = default;
  ~IoThread() { drain({}); }
  boost::asio::io_context& io() { return io_; }

  void start() {
    thread_ = std::thread([this] {
      io_.run();
      done_.set_value();
    });
  }
  // Posts `stop` to the io thread, waits up to `bound` for all work to end,
  // then forces the loop to stop. Idempotent.
  void drain(std::function<void()> stop,
             std::chrono::milliseconds bound = std::chrono::seconds(5)) {
    if (!thread_.joinable()) return;
    if (stop) boost::asio::post(io_, std::move(stop));
    if (done_future_.wait_for(bound) != std::future_status::ready) io_.stop();
    thread_.join();
  }

 private:
  boost::asio::io_context io_;
  std::promise<void> done_;
  std::future<void> done_future_ = done_.get_future();
  std::thread thread_;
};

}  // namespace sluice::testing
