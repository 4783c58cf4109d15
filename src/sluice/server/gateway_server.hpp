#pragma once
// `sluice serve`'s front door: the OpenAI and Anthropic routes, model aliases
// and direct provider/model addressing, request controls (x-sluice-priority,
// x-sluice-deadline-ms), /v1/models, /health and /status. Thin: parsing and
// routing here, every decision in engine/ and policy/.
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sluice/config/gateway_config.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/rng.hpp"
#include "sluice/engine/request_engine.hpp"
#include "sluice/net/http_server.hpp"
#include "sluice/state/coordinator.hpp"
#include "sluice/state/store.hpp"

namespace sluice::server {

class GatewayServer {
 public:
  // `store` (optional, outlives the server) persists what the engine learns;
  // `coordinator` (optional, outlives it too) shares limits across instances.
  GatewayServer(boost::asio::any_io_executor executor, config::GatewayConfig config,
                const Clock& clock, Rng& rng, state::Store* store = nullptr,
                state::Coordinator* coordinator = nullptr);
  ~GatewayServer();
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  std::string start();  // empty on success
  void stop();          // on the io thread
  // Graceful stop, on the io thread: stop accepting, close idle connections,
  // let in-flight requests and streams finish for up to `grace`, then stop;
  // `done(cut)` runs after, with how many requests the grace period cut.
  void drain(Duration grace, std::function<void(std::size_t cut)> done);
  // SIGHUP, on the io thread: serve `next` (already validated) from now on
  // without dropping a connection; requests in flight finish on the old
  // config. Learned state carries over (RequestEngine::adopt). Returns notes
  // on parts that only a restart applies (listen address, state backend).
  std::vector<std::string> reload(config::GatewayConfig next);
  std::uint16_t port() const;
  // The front door without a socket (libsluice's transport mode): one
  // request answered through `w` exactly as over HTTP. On the io thread;
  // `req` must live until the returned awaitable is done.
  boost::asio::awaitable<void> serve(net::HttpRequest& req, ports::ResponseWriter& w);
  // The engine serving now (libsluice's policy mode). On the io thread.
  engine::RequestEngine& engine();
  // On the io thread: another instance changed this key scope's cooldown.
  void apply_shared_cooldown(std::string_view key_scope);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::server
