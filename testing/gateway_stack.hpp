#pragma once
// A gateway test stack: `sluice sim` providers and `sluice serve` in front of
// them, both on 127.0.0.1 port 0 in one io thread. Header-only, for tests.
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "sluice/config/fake_secret_source.hpp"
#include "sluice/config/gateway_config.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/rng.hpp"
#include "sluice/server/gateway_server.hpp"
#include "sluice/sim/sim_server.hpp"
#include "sluice/state/store.hpp"
#include "testing/http_client.hpp"
#include "testing/io_thread.hpp"

namespace sluice::testing {

inline sim::ProviderSimConfig sim_provider(std::string name, Dialect d) {
  sim::ProviderSimConfig p;
  p.name = std::move(name);
  p.dialect = d;
  p.listen = "127.0.0.1:0";
  p.keys = {"good-key"};
  return p;
}

// A simulator with the given providers, and a gateway whose YAML is produced
// by `yaml(ports)` once the simulator's ports are known.
class GatewayStack {
 public:
  GatewayStack(std::vector<sim::ProviderSimConfig> sims,
               std::function<std::string(const std::vector<std::uint16_t>&)> yaml,
               state::Store* store = nullptr,
               std::function<void(const std::vector<std::uint16_t>&)> before_gateway = {}) {
    sim::SimConfig sc;
    sc.providers = std::move(sims);
    sim_ = std::make_unique<sim::SimServer>(loop_.io().get_executor(), std::move(sc), clock_);
    EXPECT_EQ(sim_->start(), "");
    std::vector<std::uint16_t> ports;
    for (const auto& l : sim_->listeners()) ports.push_back(l.port);
    config::FakeSecretSource secrets;
    secrets.env["HOME"] = "/tmp";
    auto loaded = config::load_gateway_config(yaml(ports), "test.yaml", secrets);
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.format();
    // Port 0 always: tests run in parallel and must never collide.
    loaded.config->server.host = "127.0.0.1";
    loaded.config->server.port = 0;
    if (before_gateway) before_gateway(ports);
    gateway_ = std::make_unique<server::GatewayServer>(loop_.io().get_executor(), *loaded.config,
                                                       clock_, rng_, store);
    EXPECT_EQ(gateway_->start(), "");
    loop_.start();
  }
  ~GatewayStack() {
    loop_.drain([this] {
      gateway_->stop();
      sim_->stop();
    });
  }
  std::uint16_t port() const { return gateway_->port(); }
  std::uint16_t sim_port(std::size_t i) const { return sim_->listeners().at(i).port; }
  // Runs `f` on the io thread with the gateway and waits for it to return.
  template <class F>
  auto on_gateway(F f) -> decltype(f(std::declval<server::GatewayServer&>())) {
    using R = decltype(f(std::declval<server::GatewayServer&>()));
    std::promise<R> done;
    boost::asio::post(loop_.io(), [&] {
      if constexpr (std::is_void_v<R>) {
        f(*gateway_);
        done.set_value();
      } else {
        done.set_value(f(*gateway_));
      }
    });
    return done.get_future().get();
  }
  // SIGHUP's path: validate `yaml` and hand it to the running gateway.
  std::vector<std::string> reload(const std::string& yaml) {
    config::FakeSecretSource secrets;
    secrets.env["HOME"] = "/tmp";
    auto loaded = config::load_gateway_config(yaml, "reload.yaml", secrets);
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.format();
    if (!loaded.ok()) return {};
    loaded.config->server.host = "127.0.0.1";
    loaded.config->server.port = 0;
    return on_gateway([&](server::GatewayServer& g) { return g.reload(*loaded.config); });
  }
  nlohmann::json sim_stats(std::size_t i) const {
    HttpClient c(sim_port(i));
    return nlohmann::json::parse(c.request("GET", "/_sim/stats").body);
  }
  // Waits for an event, not a time: until simulated provider `i` has `n`
  // requests in flight (a request has taken its slot and reached it). False
  // after 5 s without it.
  bool wait_for_in_flight(std::size_t i, int n) const {
    for (int tries = 0; tries < 1000; ++tries) {
      if (sim_stats(i)["in_flight"] == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

 private:
  SystemClock clock_;
  SeededRng rng_{7};
  // Declared before the servers: the destructor drains the loop first, and the
  // io_context must outlive every socket and timer the servers own.
  testing::IoThread loop_;
  std::unique_ptr<sim::SimServer> sim_;
  std::unique_ptr<server::GatewayServer> gateway_;
};

inline std::string url(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

}  // namespace sluice::testing
