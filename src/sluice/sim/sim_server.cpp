#include "sluice/sim/sim_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "sluice/core/text.hpp"
#include "sluice/net/client_credentials.hpp"
#include "sluice/net/http_server.hpp"
#include "sluice/net/sleep.hpp"
#include "sluice/sim/sim_provider.hpp"

namespace sluice::sim {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

namespace {

// A hung request is held at most this long, so a forgotten client cannot pin
// a coroutine forever; real clients time out long before.
constexpr auto kHangLimit = std::chrono::minutes(10);

const net::HeaderFields kJson = {{"content-type", "application/json"}};

}  // namespace

struct SimServer::Impl {
  asio::any_io_executor executor;
  const Clock& clock;
  struct Entry {
    std::unique_ptr<SimProvider> model;
    std::unique_ptr<net::HttpServer> server;
    std::string host;
  };
  std::vector<Entry> entries;
  bool stopping = false;

  // The control endpoints; nullopt when the path is not one of them.
  static std::optional<std::pair<int, std::string>> control(SimProvider& model,
                                                            const net::HttpRequest& req) {
    if (req.path == "/_sim/stats" && req.method == "GET") return {{200, model.stats().dump()}};
    if (req.path == "/_sim/reset" && req.method == "POST") {
      model.reset();
      return {{200, R"({"reset":true})"}};
    }
    const bool faults = req.path == "/_sim/faults";
    if ((faults || req.path == "/_sim/limits") && req.method == "POST") {
      const json patch = json::parse(req.body, nullptr, false);
      std::optional<std::string> err = patch.is_discarded()
                                           ? std::optional<std::string>("body: malformed JSON")
                                       : faults ? model.set_faults(patch)
                                                : model.set_limits(patch);
      if (err) return {{400, json{{"error", {{"message", *err}}}}.dump()}};
      return {{200, faults ? R"({"faults":"updated"})" : R"({"limits":"updated"})"}};
    }
    return std::nullopt;
  }

  awaitable<void> handle(SimProvider& model, net::HttpRequest& req, net::ResponseWriter& w) {
    // Built outside co_await expressions: g++ 12 miscompiles literal-to-string
    // temporaries inside them (docs/decisions/0005).
    if (auto reply = control(model, req)) {
      co_await w.send(reply->first, kJson, std::move(reply->second));
      co_return;
    }

    SimRequest sreq;
    sreq.method = req.method;
    sreq.path = req.path;
    sreq.api_key = std::string(net::presented_api_key(req.headers.view()));
    sreq.body = req.body;
    ResponsePlan plan = model.on_request(sreq, clock.now());
    // The slot is freed however this coroutine ends: sent, aborted, or torn down.
    struct Finish {
      SimProvider& model;
      const Clock& clock;
      std::uint64_t ticket;
      ~Finish() {
        if (ticket != 0) model.on_finished(ticket, clock.now());
      }
    } finish{model, clock, plan.ticket};

    co_await net::sleep_for(plan.delay_before_headers);
    if (plan.ending == Ending::kHang) {
      // Held in short slices so stop() ends a hang promptly (shutdown drains).
      const auto until = std::chrono::steady_clock::now() + kHangLimit;
      while (!stopping && std::chrono::steady_clock::now() < until) {
        co_await net::sleep_for(std::chrono::milliseconds(50));
      }
      w.abort();
      co_return;
    }
    net::HeaderFields headers;
    for (const auto& [name, value] : plan.headers) headers.add(name, value);
    if (!plan.streaming) {
      co_await w.send(plan.status, headers, std::move(plan.body));
      co_return;
    }
    if (!co_await w.begin_stream(plan.status, headers)) co_return;
    for (const SseChunk& chunk : plan.chunks) {
      co_await net::sleep_for(chunk.delay);
      if (!co_await w.write_chunk(chunk.data)) co_return;
    }
    if (plan.ending == Ending::kCloseMidStream) {
      w.abort();
      co_return;
    }
    co_await w.end_stream();
  }
};

SimServer::SimServer(asio::any_io_executor executor, SimConfig config, const Clock& clock)
    : impl_(std::make_unique<Impl>(Impl{executor, clock, {}})) {
  for (auto& pc : config.providers) {
    Impl::Entry e;
    std::string listen = pc.listen;
    e.model = std::make_unique<SimProvider>(std::move(pc));
    net::ServerOptions opts;
    const auto colon = listen.rfind(':');
    opts.host = colon == std::string::npos ? listen : listen.substr(0, colon);
    if (colon != std::string::npos) {
      opts.port = static_cast<std::uint16_t>(parse_integer(listen.substr(colon + 1)).value_or(0));
    }
    e.host = opts.host;
    SimProvider* model = e.model.get();
    Impl* impl = impl_.get();
    e.server = std::make_unique<net::HttpServer>(
        executor, opts, [impl, model](net::HttpRequest& req, net::ResponseWriter& w) {
          return impl->handle(*model, req, w);
        });
    impl_->entries.push_back(std::move(e));
  }
}

SimServer::~SimServer() = default;

std::string SimServer::start() {
  for (auto& e : impl_->entries) {
    if (auto err = e.server->start(); !err.empty()) {
      return e.model->config().name + ": " + err;
    }
  }
  return {};
}

void SimServer::stop() {
  impl_->stopping = true;
  for (auto& e : impl_->entries) e.server->stop();
}

std::vector<SimServer::Listener> SimServer::listeners() const {
  std::vector<Listener> out;
  for (const auto& e : impl_->entries) {
    out.push_back({e.model->config().name, std::string(to_string(e.model->config().dialect)),
                   e.host, e.server->port()});
  }
  return out;
}

}  // namespace sluice::sim
