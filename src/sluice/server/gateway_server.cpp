#include "sluice/server/gateway_server.hpp"

#include <nlohmann/json.hpp>

#include "sluice/core/text.hpp"
#include "sluice/engine/request_engine.hpp"
#include "sluice/net/client_credentials.hpp"
#include "sluice/net/http_server.hpp"
#include "sluice/server/live_page.hpp"

namespace sluice::server {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

namespace {

const net::HeaderFields kJson = {{"content-type", "application/json"}};
const net::HeaderFields kPrometheus = {{"content-type", "text/plain; version=0.0.4; charset=utf-8"},
                                       {"cache-control", "no-store"}};
// The page may fetch only from this gateway, and never be framed.
const net::HeaderFields kPage = {
    {"content-type", "text/html; charset=utf-8"},
    {"cache-control", "no-cache"},
    {"content-security-policy",
     "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
     "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'"},
    {"x-content-type-options", "nosniff"}};

struct Route {
  config::WireApi api;
  bool needs_model;
};

// The front door's routes; anything else is a 404 in the caller's format.
std::optional<Route> route_of(std::string_view method, std::string_view path) {
  if (method != "POST") return std::nullopt;
  if (path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/embeddings" ||
      path == "/v1/responses") {
    return Route{config::WireApi::kOpenAI, true};
  }
  if (path == "/v1/messages" || path == "/v1/messages/count_tokens") {
    return Route{config::WireApi::kAnthropic, true};
  }
  return std::nullopt;
}

// Compares in time that depends only on the lengths, not on where the bytes
// differ, so a client cannot find a gateway key byte by byte.
bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

// The API a caller speaks, for answers given before a route is known:
// Anthropic's for its paths or when its SDK's anthropic-version header is
// there, OpenAI's otherwise.
config::WireApi caller_api(const net::HttpRequest& req) {
  if (req.path.starts_with("/v1/messages") || req.headers.view().get("anthropic-version")) {
    return config::WireApi::kAnthropic;
  }
  return config::WireApi::kOpenAI;
}

}  // namespace

struct GatewayServer::Impl {
  config::GatewayConfig config;
  const Clock& clock;
  engine::RequestEngine engine;
  std::unique_ptr<net::HttpServer> http;

  Impl(asio::any_io_executor ex, config::GatewayConfig cfg, const Clock& c, Rng& rng,
       state::Store* store, state::Coordinator* coordinator)
      : config(std::move(cfg)), clock(c), engine(ex, config, c, rng, store, coordinator) {
    net::ServerOptions opts;
    opts.host = config.server.host;
    opts.port = config.server.port;
    opts.max_body_bytes = config.server.max_body_bytes;
    opts.max_header_bytes = config.server.max_header_bytes;
    opts.header_timeout = config.server.request_timeout;
    opts.idle_timeout = config.server.idle_timeout;
    http = std::make_unique<net::HttpServer>(
        ex, opts, [this](net::HttpRequest& req, net::ResponseWriter& w) { return handle(req, w); });
  }

  std::string models_json() const {
    json data = json::array();
    for (const auto& m : config.models) {
      data.push_back({{"id", m.name}, {"object", "model"}, {"owned_by", "sluice"}});
    }
    return json{{"object", "list"}, {"data", std::move(data)}}.dump();
  }

  std::string alias_list() const {
    std::string s;
    for (const auto& m : config.models) s += (s.empty() ? "" : ", ") + m.name;
    return s.empty() ? std::string("none configured") : s;
  }

  struct LocalAnswer {
    int status;
    const net::HeaderFields* headers;
    std::string body;
  };

  // Plain routes that need no upstream; nullopt when the request is not one.
  std::optional<LocalAnswer> local_route(const net::HttpRequest& req) const {
    if (req.method != "GET") return std::nullopt;
    if (req.path == "/health") return LocalAnswer{200, &kJson, R"({"status":"ok"})"};
    if (req.path == "/v1/models") return LocalAnswer{200, &kJson, models_json()};
    if (req.path == "/status") return LocalAnswer{200, &kJson, engine.status_json()};
    if (req.path == "/metrics") return LocalAnswer{200, &kPrometheus, engine.metrics_text()};
    if (req.path == "/") return LocalAnswer{200, &kPage, std::string(live_page_html())};
    return std::nullopt;
  }

  awaitable<void> fail(net::ResponseWriter& w, config::WireApi api, int status, std::string code,
                       std::string message) {
    std::string body = engine::error_body(api, status, code, message);
    co_await w.send(status, kJson, std::move(body));
  }

  bool authorized(const net::HttpRequest& req) const {
    if (!config.server.require_gateway_key) return true;
    const std::string_view presented = net::presented_api_key(req.headers.view());
    bool ok = false;
    for (const auto& k : config.server.gateway_keys) {
      ok = constant_time_equal(presented, k.secret.reveal()) || ok;  // no early exit
    }
    return ok && !presented.empty();
  }

  awaitable<void> handle(net::HttpRequest& req, net::ResponseWriter& w) {
    // The page itself holds no data (it asks for a gateway key when /status
    // needs one), so a browser can load it without headers.
    const bool open_route = req.path == "/health" || (req.method == "GET" && req.path == "/");
    if (!open_route && !authorized(req)) {
      co_await fail(w, caller_api(req), 401, "invalid_gateway_key",
                    "this gateway requires one of its gateway keys (Authorization: Bearer or "
                    "x-api-key)");
      co_return;
    }
    if (auto local = local_route(req)) {
      co_await w.send(local->status, *local->headers, std::move(local->body));
      co_return;
    }
    const auto route = route_of(req.method, req.path);
    if (!route) {
      co_await fail(w, caller_api(req), 404, "not_found",
                    "no route " + req.method + " " + req.path);
      co_return;
    }
    const config::WireApi api = route->api;
    engine::FrontRequest fr;
    fr.api = api;
    fr.method = req.method;
    fr.path = req.path;
    fr.facts = providers::inspect_body(req.body);
    if (!fr.facts.valid) {
      co_await fail(w, api, 400, "invalid_json", fr.facts.error);
      co_return;
    }
    if (!fr.facts.model) {
      co_await fail(w, api, 400, "missing_model", "the request body has no \"model\" string");
      co_return;
    }
    fr.alias = *fr.facts.model;
    if (const config::ModelAlias* alias = config.find_model(fr.alias)) {
      fr.route = alias->route;
      fr.priority = alias->priority;
      fr.queue_timeout = alias->queue_timeout;
      if (alias->deadline) fr.deadline = clock.now() + *alias->deadline;
    } else if (auto direct = policy::parse_route_target(fr.alias);
               direct && config.find_provider(direct->provider)) {
      fr.route = {*direct};
    } else {
      co_await fail(w, api, 404, "model_not_found",
                    "model \"" + fr.alias +
                        "\" is neither an alias nor provider/model; aliases: " + alias_list());
      co_return;
    }
    const HeaderView h = req.headers.view();
    if (auto p = h.get("x-sluice-priority")) {
      auto parsed = priority_from_string(*p);
      if (!parsed) {
        co_await fail(w, api, 400, "invalid_priority",
                      "x-sluice-priority must be interactive or background");
        co_return;
      }
      fr.priority = *parsed;
    }
    if (auto d = h.get("x-sluice-deadline-ms")) {
      auto ms = parse_integer(*d);
      if (!ms || *ms <= 0) {
        co_await fail(w, api, 400, "invalid_deadline",
                      "x-sluice-deadline-ms must be a positive integer");
        co_return;
      }
      fr.deadline = clock.now() + milliseconds(*ms);
    }
    fr.body = std::move(req.body);
    fr.headers = req.headers;
    co_await engine.handle(std::move(fr), w);
  }
};

GatewayServer::GatewayServer(asio::any_io_executor executor, config::GatewayConfig config,
                             const Clock& clock, Rng& rng, state::Store* store,
                             state::Coordinator* coordinator)
    : impl_(std::make_unique<Impl>(executor, std::move(config), clock, rng, store, coordinator)) {}

GatewayServer::~GatewayServer() = default;

std::string GatewayServer::start() { return impl_->http->start(); }
void GatewayServer::stop() {
  impl_->http->stop();
  impl_->engine.stop();
}
std::uint16_t GatewayServer::port() const { return impl_->http->port(); }

void GatewayServer::apply_shared_cooldown(std::string_view key_scope) {
  impl_->engine.apply_shared_cooldown(key_scope);
}

}  // namespace sluice::server
