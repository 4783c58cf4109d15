#pragma once
// The simulator's shell: one HTTP listener per simulated provider, each
// driving its pure SimProvider model with real time (latency, stream pacing,
// faults) on one io_context thread. Control endpoints per listener:
// GET /_sim/stats, POST /_sim/reset, POST /_sim/faults.
#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/sim/sim_config.hpp"

namespace sluice::sim {

class SimServer {
 public:
  SimServer(boost::asio::any_io_executor executor, SimConfig config, const Clock& clock);
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  // Binds every provider's listener. Returns an error message, or empty.
  std::string start();
  // Must run on the io_context's thread (post it there from elsewhere).
  void stop();

  struct Listener {
    std::string name;
    std::string dialect;
    std::string host;
    std::uint16_t port;
  };
  std::vector<Listener> listeners() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::sim
