#include "sluice/server/gateway_server.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "sluice/core/log.hpp"
#include "sluice/core/text.hpp"
#include "sluice/engine/request_engine.hpp"
#include "sluice/net/client_credentials.hpp"
#include "sluice/net/http_server.hpp"
#include "sluice/net/sleep.hpp"
#include "sluice/net/upstream_client.hpp"
#include "sluice/providers/model_facts.hpp"
#include "sluice/server/live_page.hpp"
#include "sluice/translate/translate.hpp"

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

bool any_candidate_of(const config::GatewayConfig& config,
                      const std::vector<policy::RouteTarget>& route, config::WireApi api) {
  return std::any_of(route.begin(), route.end(), [&](const policy::RouteTarget& t) {
    const config::ProviderConfig* p = config.find_provider(t.provider);
    return p != nullptr && p->api == api;
  });
}

// Anthropic's count_tokens answered here: the prompt text and the tool
// definitions at ~4 bytes a token (the estimate sluice's own budgets use).
std::string count_tokens_estimate(std::string_view body, const providers::BodyFacts& facts) {
  std::size_t bytes = facts.text_bytes;
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_object()) {
    if (auto tools = doc.find("tools"); tools != doc.end()) bytes += tools->dump().size();
  }
  return json{{"input_tokens", providers::estimate_prompt_tokens(bytes)}}.dump();
}

net::HeaderFields estimate_headers() {
  net::HeaderFields h;
  h.add("content-type", "application/json");
  h.add("x-sluice-estimate", "local");
  return h;
}

std::string_view api_name(config::WireApi api) {
  return api == config::WireApi::kAnthropic ? "the Anthropic Messages API"
                                            : "the OpenAI API (chat completions, responses, "
                                              "embeddings)";
}

// Why no candidate of `route` can serve a request in `api`; nullopt when one can.
std::optional<std::string> api_mismatch(const config::GatewayConfig& config,
                                        const std::vector<policy::RouteTarget>& route,
                                        config::WireApi api, std::string_view path) {
  // Chat Completions, Messages and Responses translate into one another;
  // embeddings, legacy completions and count_tokens need their own API.
  if (translate::api_of_path(path)) return std::nullopt;
  std::string others;
  for (const auto& t : route) {
    const config::ProviderConfig* p = config.find_provider(t.provider);
    if (p == nullptr || p->api == api) return std::nullopt;
    others += (others.empty() ? "" : ", ") + t.provider + "/" + t.upstream_model +
              " (api: " + std::string(config::to_string(p->api)) + ")";
  }
  if (route.empty()) return std::nullopt;
  return "no route candidate speaks " + std::string(api_name(api)) + ": " + others +
         "; only chat completions, messages and responses are translated between APIs, so "
         "route this model to a provider of the caller's API";
}

}  // namespace

// One config and the engine built from it. A reload makes a new generation;
// requests keep the one they started with until they finish.
struct Generation {
  config::GatewayConfig config;
  engine::RequestEngine engine;
  Generation(asio::any_io_executor ex, config::GatewayConfig cfg, const Clock& c, Rng& rng,
             ports::Timers& timers, state::Store* store, state::Coordinator* coordinator)
      : config(std::move(cfg)),
        engine(ex, config, c, rng, {timers, net::upstream_factory(ex)}, store, coordinator) {}
};

struct GatewayServer::Impl {
  const Clock& clock;
  Rng& rng;
  state::Store* store;
  state::Coordinator* coordinator;
  asio::any_io_executor engine_executor;
  net::AsioTimers timers;  // every generation's waits
  std::shared_ptr<Generation> gen;
  std::unique_ptr<net::HttpServer> http;

  Impl(asio::any_io_executor ex, config::GatewayConfig cfg, const Clock& c, Rng& r, state::Store* s,
       state::Coordinator* co)
      : clock(c),
        rng(r),
        store(s),
        coordinator(co),
        engine_executor(ex),
        timers(ex, c),
        gen(std::make_shared<Generation>(ex, std::move(cfg), c, r, timers, s, co)) {
    const config::GatewayConfig& config = gen->config;
    net::ServerOptions opts;
    opts.host = config.server.host;
    opts.port = config.server.port;
    opts.max_body_bytes = config.server.max_body_bytes;
    opts.max_header_bytes = config.server.max_header_bytes;
    opts.reuse_port = config.server.reuse_port;
    opts.header_timeout = config.server.request_timeout;
    opts.idle_timeout = config.server.idle_timeout;
    // Refusals before a handler runs (413, 408, 400) in the caller's format
    // when its head told us which; OpenAI's otherwise (431: no whole head).
    opts.error_body = [](int status, std::string_view code, std::string_view message,
                         const net::HttpRequest& refused) {
      return engine::error_body(caller_api(refused), status, code, message);
    };
    http = std::make_unique<net::HttpServer>(
        ex, opts, [this](net::HttpRequest& req, net::ResponseWriter& w) { return handle(req, w); });
  }

  // An alias's context window: configured, else the smallest known window
  // among its route's upstream models (any of them may serve a turn).
  static std::optional<std::int64_t> context_length(const config::ModelAlias& m) {
    if (m.context_length) return m.context_length;
    std::optional<std::int64_t> smallest;
    for (const auto& t : m.route) {
      const auto known = providers::known_context_length(t.upstream_model);
      if (known && (!smallest || *known < *smallest)) smallest = known;
    }
    return smallest;
  }

  // One alias as a models-list entry, in the caller's format.
  static json model_entry(const config::ModelAlias& m, config::WireApi api) {
    const auto ctx = context_length(m);
    if (api == config::WireApi::kAnthropic) {
      json j = {{"type", "model"},
                {"id", m.name},
                {"display_name", m.name},
                {"created_at", "1970-01-01T00:00:00Z"}};
      if (ctx) j["context_length"] = *ctx;
      return j;
    }
    json j = {{"id", m.name}, {"object", "model"}, {"created", 0}, {"owned_by", "sluice"}};
    // Both names agents read: OpenRouter's context_length, vLLM's max_model_len.
    if (ctx) {
      j["context_length"] = *ctx;
      j["max_model_len"] = *ctx;
    }
    return j;
  }

  std::string models_json(const config::GatewayConfig& config, config::WireApi api) const {
    json data = json::array();
    for (const auto& m : config.models) {
      if (m.name != config::kCatchAllAlias) data.push_back(model_entry(m, api));
    }
    if (api == config::WireApi::kAnthropic) {
      json j = {{"data", data}, {"has_more", false}, {"first_id", nullptr}, {"last_id", nullptr}};
      if (!data.empty()) {
        j["first_id"] = data.front()["id"];
        j["last_id"] = data.back()["id"];
      }
      return j.dump();
    }
    return json{{"object", "list"}, {"data", std::move(data)}}.dump();
  }

  std::string alias_list(const config::GatewayConfig& config) const {
    std::string s;
    for (const auto& m : config.models) {
      if (m.name != config::kCatchAllAlias) s += (s.empty() ? "" : ", ") + m.name;
    }
    return s.empty() ? std::string("none configured") : s;
  }

  struct LocalAnswer {
    int status;
    const net::HeaderFields* headers;
    std::string body;
    std::string refusal;  // set for an error answer: its code, for the log line
  };

  // Plain routes that need no upstream; nullopt when the request is not one.
  std::optional<LocalAnswer> local_route(const Generation& g, const net::HttpRequest& req) const {
    // HEAD asks what GET would answer; the writer leaves the body out.
    if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
    if (req.path == "/health") return LocalAnswer{200, &kJson, R"({"status":"ok"})", {}};
    if (req.path == "/v1/models") {
      return LocalAnswer{200, &kJson, models_json(g.config, caller_api(req)), {}};
    }
    constexpr std::string_view kModelPrefix = "/v1/models/";
    if (req.path.starts_with(kModelPrefix) && req.path.size() > kModelPrefix.size()) {
      const std::string id = req.path.substr(kModelPrefix.size());
      const config::ModelAlias* m = g.config.find_model(id);
      // A name the catch-all would serve is a model too (Hermes asks for the
      // context length of the model it was told to use); "*" itself is not.
      if (m == nullptr && id != config::kCatchAllAlias && !policy::parse_route_target(id)) {
        m = g.config.catch_all();
      }
      if (m == nullptr || id == config::kCatchAllAlias) {
        return LocalAnswer{404, &kJson,
                           engine::error_body(caller_api(req), 404, "model_not_found",
                                              "model \"" + id + "\" is not an alias; aliases: " +
                                                  alias_list(g.config)),
                           "model_not_found"};
      }
      json entry = model_entry(*m, caller_api(req));
      entry["id"] = id;
      if (entry.contains("display_name")) entry["display_name"] = id;
      return LocalAnswer{200, &kJson, entry.dump(), {}};
    }
    if (req.path == "/status") return LocalAnswer{200, &kJson, g.engine.status_json(), {}};
    if (req.path == "/metrics") {
      return LocalAnswer{200, &kPrometheus, g.engine.metrics_text(), {}};
    }
    if (req.path == "/") return LocalAnswer{200, &kPage, std::string(live_page_html()), {}};
    return std::nullopt;
  }

  // A refusal at the front door: one log line (as every request gets; the
  // engine writes its own), then the error in the caller's format. Not
  // retryable: nothing about the request will change by sending it again.
  awaitable<void> fail(net::ResponseWriter& w, const net::HttpRequest& req, config::WireApi api,
                       int status, std::string code, std::string message, std::string alias = {},
                       std::string client = {}) {
    // By value: this coroutine runs after handle() has returned.
    log_refusal(req, status, code, message, alias, client);
    std::string body = engine::error_body(api, status, code, message);
    net::HeaderFields headers;
    headers.add("content-type", "application/json");
    headers.add("x-should-retry", "false");
    co_await w.send(status, headers, std::move(body));
  }

  static void log_refusal(const net::HttpRequest& req, int status, std::string_view code,
                          std::string_view message, std::string_view alias,
                          std::string_view client) {
    LogLine line("info", "request");
    line.kv("method", req.method).kv("path", req.path);
    if (!alias.empty()) line.kv("alias", alias);
    if (!client.empty()) line.kv("client", client);
    line.kv("outcome", "refused").kv("status", status).kv("code", code).kv("detail", message);
  }

  struct Admission {
    bool allowed = false;
    const config::GatewayKey* key = nullptr;  // the key presented, when keys are required
  };
  static Admission authorized(const config::GatewayConfig& config, const net::HttpRequest& req) {
    if (!config.server.require_gateway_key) return {true, nullptr};
    const std::string_view presented = net::presented_api_key(req.headers.view());
    const config::GatewayKey* match = nullptr;
    for (const auto& k : config.server.gateway_keys) {
      // Every key is compared, whatever matched before: no early exit.
      if (constant_time_equal(presented, k.secret.reveal())) match = &k;
    }
    if (presented.empty() || match == nullptr) return {};
    return {true, match};
  }

  // Requests in flight per client key (by fingerprint, so the count survives
  // a reload that keeps the key).
  std::unordered_map<std::string, int> client_in_flight;
  struct ClientSlot {
    std::unordered_map<std::string, int>* counts = nullptr;
    std::string fingerprint;
    ClientSlot() = default;
    ClientSlot(const ClientSlot&) = delete;
    ClientSlot& operator=(const ClientSlot&) = delete;
    ~ClientSlot() {
      if (counts != nullptr && --(*counts)[fingerprint] == 0) counts->erase(fingerprint);
    }
  };
  // What a request of a key with max_in_flight keeps until it is finished.
  struct HeldSlot {
    std::shared_ptr<const Generation> generation;
    ClientSlot slot;
  };

  // An answer whose headers are built here (send() takes them by reference).
  static awaitable<void> answer(net::ResponseWriter& w, int status, net::HeaderFields headers,
                                std::string body) {
    co_await w.send(status, headers, std::move(body));
  }

  // Not a coroutine: it decides at once and returns the one awaitable that
  // answers (an error, a local route, or the engine). As a coroutine it cost
  // a 2.4 KiB frame per request, allocated and freed around the engine's own.
  awaitable<void> handle(net::HttpRequest& req, net::ResponseWriter& w) {
    // This request keeps its generation alive, whatever reloads happen meanwhile.
    std::shared_ptr<Generation> g = gen;
    const config::GatewayConfig& config = g->config;
    // The page itself holds no data (it asks for a gateway key when /status
    // needs one), so a browser can load it without headers.
    const bool open_route =
        req.path == "/health" || ((req.method == "GET" || req.method == "HEAD") && req.path == "/");
    const Admission admission = open_route ? Admission{true, nullptr} : authorized(config, req);
    if (!admission.allowed) {
      return fail(w, req, caller_api(req), 401, "invalid_gateway_key",
                  "this gateway requires one of its gateway keys (Authorization: Bearer or "
                  "x-api-key)");
    }
    if (auto local = local_route(*g, req)) {
      if (!local->refusal.empty()) {
        log_refusal(req, local->status, local->refusal, "", "", "");
      }
      return answer(w, local->status, *local->headers, std::move(local->body));
    }
    const auto route = route_of(req.method, req.path);
    if (!route) {
      return fail(w, req, caller_api(req), 404, "not_found",
                  "no route " + req.method + " " + req.path);
    }
    const config::WireApi api = route->api;
    engine::FrontRequest fr;
    fr.api = api;
    fr.facts = providers::inspect_body(req.body, req.body.capacity());
    const std::string client = admission.key ? admission.key->name : std::string();
    if (!fr.facts.valid) return fail(w, req, api, 400, "invalid_json", fr.facts.error, {}, client);
    if (!fr.facts.model) {
      return fail(w, req, api, 400, "missing_model", "the request body has no \"model\" string", {},
                  client);
    }
    fr.alias = *fr.facts.model;
    const config::ModelAlias* alias = config.find_model(fr.alias);
    auto direct = alias ? std::nullopt : policy::parse_route_target(fr.alias);
    if (direct && !config.find_provider(direct->provider)) direct.reset();
    if (!alias && !direct) alias = config.catch_all();  // clients' own model names
    if (alias) {
      fr.route = alias->route;
      fr.priority = alias->priority;
      fr.queue_timeout = alias->queue_timeout;
      fr.strict_translation = alias->strict_translation;
      fr.default_max_tokens = alias->default_max_tokens;
      if (alias->deadline) fr.deadline = clock.now() + *alias->deadline;
    } else if (direct) {
      fr.route = {*direct};
    } else {
      return fail(w, req, api, 404, "model_not_found",
                  "model \"" + fr.alias +
                      "\" is neither an alias nor provider/model; aliases: " + alias_list(config),
                  fr.alias, client);
    }
    // Counting tokens with no Anthropic candidate to ask: a local estimate,
    // said to be one, rather than a refusal (Claude Code counts before it
    // sends, whatever provider serves it).
    if (req.path == "/v1/messages/count_tokens" && !any_candidate_of(config, fr.route, api)) {
      return answer(w, 200, estimate_headers(), count_tokens_estimate(req.body, fr.facts));
    }
    // A route none of whose candidates speaks the caller's API cannot serve
    // it, now or later: a configuration matter, not a rate limit to retry.
    if (auto why = api_mismatch(config, fr.route, api, req.path)) {
      return fail(w, req, api, 400, "no_candidate_for_api", *why, fr.alias, client);
    }
    const HeaderView h = req.headers.view();
    if (auto p = h.get("x-sluice-priority")) {
      auto parsed = priority_from_string(*p);
      if (!parsed) {
        return fail(w, req, api, 400, "invalid_priority",
                    "x-sluice-priority must be interactive or background", fr.alias, client);
      }
      fr.priority = *parsed;
    }
    if (auto d = h.get("x-sluice-deadline-ms")) {
      auto ms = parse_integer(*d);
      if (!ms || *ms <= 0) {
        return fail(w, req, api, 400, "invalid_deadline",
                    "x-sluice-deadline-ms must be a positive integer", fr.alias, client);
      }
      fr.deadline = clock.now() + milliseconds(*ms);
    }
    fr.keep_alive = g;
    if (const config::GatewayKey* key = admission.key) {
      fr.client = key->name;
      if (key->background_only) fr.priority = Priority::kBackground;
      if (key->max_in_flight) {
        std::string fingerprint = key->secret.fingerprint();
        if (client_in_flight[fingerprint] >= *key->max_in_flight) {
          net::HeaderFields busy;
          busy.add("content-type", "application/json");
          busy.add("retry-after", "1");
          busy.add("x-should-retry", "true");
          return answer(
              w, 429, std::move(busy),
              engine::error_body(api, 429, "gateway_key_busy",
                                 "gateway key " + key->name + " already has " +
                                     std::to_string(*key->max_in_flight) +
                                     " requests in flight, its limit (server.gateway_keys)"));
        }
        ++client_in_flight[fingerprint];
        auto held = std::make_shared<HeldSlot>();
        held->generation = g;
        held->slot.counts = &client_in_flight;
        held->slot.fingerprint = std::move(fingerprint);
        fr.keep_alive = std::move(held);
      }
    }
    fr.method = std::move(req.method);
    fr.path = std::move(req.path);
    fr.body = std::move(req.body);
    fr.headers = std::move(req.headers);  // views into it stay valid: the arena moves whole
    return g->engine.handle(std::move(fr), w);
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
  impl_->gen->engine.stop();
}

std::vector<std::string> GatewayServer::reload(config::GatewayConfig next) {
  std::vector<std::string> notes;
  const config::GatewayConfig& now = impl_->gen->config;
  // What the listening socket and the state backend were built from stays.
  if (next.server.listen != now.server.listen || next.server.host != now.server.host ||
      next.server.port != now.server.port) {
    notes.push_back("server.listen changed: takes effect at the next restart");
    next.server.host = now.server.host;
    next.server.port = now.server.port;
    next.server.listen = now.server.listen;
    next.server.loopback = now.server.loopback;
  }
  if (next.server.max_body_bytes != now.server.max_body_bytes ||
      next.server.max_header_bytes != now.server.max_header_bytes ||
      next.server.request_timeout != now.server.request_timeout ||
      next.server.idle_timeout != now.server.idle_timeout) {
    notes.push_back("server size limits and timeouts take effect at the next restart");
  }
  if (next.state.backend != now.state.backend || next.state.path != now.state.path ||
      next.state.url != now.state.url) {
    notes.push_back("state changed: takes effect at the next restart");
  }
  auto fresh =
      std::make_shared<Generation>(impl_->engine_executor, std::move(next), impl_->clock,
                                   impl_->rng, impl_->timers, impl_->store, impl_->coordinator);
  fresh->engine.adopt(impl_->gen->engine);
  impl_->gen->engine.stop();  // its lease renewal: the new engine renews the same leases
  impl_->gen = std::move(fresh);
  return notes;
}

namespace {
// Waits until nothing is in flight or the grace period is over, polling the
// server (a drain happens once per process; 20 ms costs nothing).
asio::awaitable<void> finish_drain(net::HttpServer* http, const Clock* clock, TimePoint until,
                                   std::function<void(std::size_t cut)> done) {
  while (http->busy_connections() > 0 && clock->now() < until) {
    co_await net::sleep_for(std::chrono::milliseconds(20));
  }
  done(http->busy_connections());
}
}  // namespace

void GatewayServer::drain(Duration grace, std::function<void(std::size_t cut)> done) {
  impl_->http->drain();
  Impl* impl = impl_.get();
  asio::co_spawn(impl->engine_executor,
                 finish_drain(impl->http.get(), &impl->clock, impl->clock.now() + grace,
                              [impl, done = std::move(done)](std::size_t cut) {
                                impl->http->stop();
                                impl->gen->engine.stop();
                                if (done) done(cut);
                              }),
                 asio::detached);
}
asio::awaitable<void> GatewayServer::serve(net::HttpRequest& req, ports::ResponseWriter& w) {
  return impl_->handle(req, w);
}

engine::RequestEngine& GatewayServer::engine() { return impl_->gen->engine; }

std::uint16_t GatewayServer::port() const { return impl_->http->port(); }

void GatewayServer::apply_shared_cooldown(std::string_view key_scope) {
  impl_->gen->engine.apply_shared_cooldown(key_scope);
}

}  // namespace sluice::server
