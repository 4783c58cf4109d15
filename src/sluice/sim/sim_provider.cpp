#include "sluice/sim/sim_provider.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "sluice/config/duration_text.hpp"
#include "sluice/sim/success_bodies.hpp"
#include "sluice/sim/wire_time.hpp"

namespace sluice::sim {

namespace {

using nlohmann::json;

struct Route {
  Endpoint endpoint;
  std::string implied_model;  // Azure: the deployment named in the path; kModel: the id asked for
};

// Each dialect's API prefixes (its provider's own, plus /v1 everywhere).
std::vector<std::string_view> openai_prefixes(Dialect d) {
  switch (d) {
    case Dialect::kZai: return {"/v1", "/api/paas/v4", "/api/coding/paas/v4"};
    case Dialect::kOpenRouter: return {"/v1", "/api/v1"};
    case Dialect::kGroq: return {"/v1", "/openai/v1"};
    case Dialect::kAzure: return {"/v1", "/openai/v1"};
    default: return {"/v1"};
  }
}

// GET …/models/{id}: the id (which may hold slashes, "org/model"), or nullopt.
std::optional<std::string> model_id_in(std::string_view method, std::string_view rest) {
  constexpr std::string_view kModels = "/models/";
  if (method != "GET" || !rest.starts_with(kModels) || rest.size() == kModels.size()) {
    return std::nullopt;
  }
  return std::string(rest.substr(kModels.size()));
}

// The Responses API exists at OpenAI and Azure (and, in the sim, at a generic
// OpenAI-compatible server); z.ai, Kimi, Groq, OpenRouter and the rest answer
// it with a 404, as the real ones do.
bool has_responses_api(Dialect d) {
  return d == Dialect::kOpenAI || d == Dialect::kAzure || d == Dialect::kGeneric;
}

std::optional<Endpoint> openai_endpoint(Dialect d, std::string_view method, std::string_view rest,
                                        bool allow_models) {
  if (method == "POST" && rest == "/chat/completions") return Endpoint::kChatCompletions;
  if (method == "POST" && rest == "/completions") return Endpoint::kCompletions;
  if (method == "POST" && rest == "/embeddings") return Endpoint::kEmbeddings;
  if (method == "POST" && rest == "/responses" && has_responses_api(d)) {
    return Endpoint::kResponses;
  }
  if (allow_models && method == "GET" && rest == "/models") return Endpoint::kModels;
  return std::nullopt;
}

std::optional<Route> match_route(Dialect d, std::string_view method, std::string_view path) {
  if (d == Dialect::kAnthropic) {
    if (method == "POST" && path == "/v1/messages") return Route{Endpoint::kMessages, {}};
    if (method == "POST" && path == "/v1/messages/count_tokens") {
      return Route{Endpoint::kCountTokens, {}};
    }
    if (method == "GET" && path == "/v1/models") return Route{Endpoint::kModels, {}};
    if (path.starts_with("/v1/")) {
      if (auto id = model_id_in(method, path.substr(3))) return Route{Endpoint::kModel, *id};
    }
    return std::nullopt;
  }
  for (std::string_view prefix : openai_prefixes(d)) {
    if (path.starts_with(prefix)) {
      const std::string_view rest = path.substr(prefix.size());
      if (auto e = openai_endpoint(d, method, rest, true)) return Route{*e, {}};
      if (auto id = model_id_in(method, rest)) return Route{Endpoint::kModel, *id};
    }
  }
  constexpr std::string_view kDeployments = "/openai/deployments/";
  if (d == Dialect::kAzure && path.starts_with(kDeployments)) {
    std::string_view rest = path.substr(kDeployments.size());
    const auto slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
    if (auto e = openai_endpoint(d, method, rest.substr(slash), false)) {
      return Route{*e, std::string(rest.substr(0, slash))};
    }
  }
  return std::nullopt;
}

std::string_view request_id_header(Dialect d) {
  switch (d) {
    case Dialect::kAnthropic: return "request-id";
    case Dialect::kAzure: return "apim-request-id";
    default: return "x-request-id";
  }
}

Duration scaled(Duration d, double factor) {
  return Duration(static_cast<Duration::rep>(static_cast<double>(d.count()) * factor));
}

Duration until(TimePoint t, TimePoint now) { return t > now ? t - now : Duration::zero(); }

std::int64_t unix_seconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

struct SimProvider::Call {
  const SimRequest& request;
  TimePoint now;
  Duration base_latency{};
  std::string_view path;  // without the query string
  std::optional<Route> route;
  KeyState* key = nullptr;  // null when the key was refused
  ParsedRequest parsed;
  std::string request_id;
};

SimProvider::SimProvider(ProviderSimConfig cfg)
    : cfg_(std::move(cfg)),
      owned_rng_(std::make_unique<SeededRng>(cfg_.seed)),
      rng_(owned_rng_.get()) {
  start_fresh();
}

SimProvider::SimProvider(ProviderSimConfig cfg, Rng& rng) : cfg_(std::move(cfg)), rng_(&rng) {
  start_fresh();
}

void SimProvider::start_fresh() {
  keys_.clear();
  tickets_.clear();
  counters_ = Counters{};
  seq_ = 0;
  for (const auto& k : cfg_.keys) keys_.try_emplace(k);  // listed in stats from the start
}

void SimProvider::reset() {
  if (owned_rng_) {
    owned_rng_ = std::make_unique<SeededRng>(cfg_.seed);
    rng_ = owned_rng_.get();
  }
  start_fresh();
}

Duration SimProvider::draw_base_latency() {
  Duration d = cfg_.latency.fixed + cfg_.faults.slow_headers;
  if (cfg_.latency.jitter > Duration::zero()) d += scaled(cfg_.latency.jitter, rng_->uniform());
  return d;
}

SimProvider::KeyState& SimProvider::key_state(const std::string& key) {
  auto it = keys_.find(key);
  if (it == keys_.end()) it = keys_.emplace(key, KeyState{}).first;
  return it->second;
}

void SimProvider::expire_windows(KeyState& ks, TimePoint now) const {
  auto expire = [now](Window& w, Duration length) {
    if (w.start && now >= *w.start + length) w = Window{};
  };
  expire(ks.minute, cfg_.limits.window);
  expire(ks.day, cfg_.limits.daily_window);
}

BudgetReport SimProvider::budget_of(const KeyState& ks, TimePoint now) const {
  const LimitsConfig& l = cfg_.limits;
  auto full_at = [now](const Window& w, Duration length) {
    return w.start ? *w.start + length : now;
  };
  BudgetReport r;
  if (l.requests_per_window) {
    r.requests = BucketReport{*l.requests_per_window, *l.requests_per_window - ks.minute.requests,
                              full_at(ks.minute, l.window)};
  }
  if (l.tokens_per_window) {
    r.tokens = BucketReport{*l.tokens_per_window, *l.tokens_per_window - ks.minute.tokens,
                            full_at(ks.minute, l.window)};
  }
  if (l.daily) {
    r.daily = BucketReport{*l.daily, *l.daily - ks.day.requests, full_at(ks.day, l.daily_window)};
  }
  return r;
}

void SimProvider::add_common_headers(const Call& call, ResponsePlan& plan,
                                     const char* content_type) const {
  plan.headers.emplace_back("content-type", content_type);
  plan.headers.emplace_back("date", format_http_date(call.now));
  plan.headers.emplace_back(std::string(request_id_header(cfg_.dialect)), call.request_id);
}

ResponsePlan SimProvider::refuse(const Call& call, Refusal refusal, RefusalFacts facts,
                                 Tripped tripped, std::optional<Duration> retry_after) {
  ++counters_.refusals[static_cast<std::size_t>(refusal)];
  facts.method = call.request.method;
  facts.path = call.path;
  facts.model = call.parsed.model;
  facts.api_key = call.request.api_key;
  facts.now = call.now;
  facts.request_id = call.request_id;
  if (cfg_.dialect == Dialect::kOpenRouter && call.key &&
      (tripped == Tripped::kRequests || tripped == Tripped::kDaily)) {
    const BudgetReport b = budget_of(*call.key, call.now);
    const auto& bucket = tripped == Tripped::kRequests ? b.requests : b.daily;
    if (bucket) facts.echoed_headers = openrouter_ratelimit_triple(*bucket);
  }
  ErrorReply reply = render_refusal(cfg_.dialect, refusal, facts);
  ResponsePlan plan;
  plan.delay_before_headers = call.base_latency;
  plan.status = reply.status;
  plan.body = std::move(reply.body);
  add_common_headers(call, plan, "application/json");
  if (call.key) {
    append_ratelimit_headers(plan.headers, cfg_.dialect, budget_of(*call.key, call.now), call.now,
                             tripped);
  }
  if (retry_after && reply.status == 429) {
    append_retry_after(plan.headers, cfg_.dialect, *retry_after);
  }
  return plan;
}

ResponsePlan SimProvider::serve(const Call& call, std::string body) {
  ++counters_.successes;
  if (call.key) ++call.key->successes;
  ResponsePlan plan;
  plan.delay_before_headers = call.base_latency;
  plan.status = 200;
  plan.body = std::move(body);
  add_common_headers(call, plan, "application/json");
  if (call.key) {
    append_ratelimit_headers(plan.headers, cfg_.dialect, budget_of(*call.key, call.now), call.now,
                             Tripped::kNone);
  }
  return plan;
}

ResponsePlan SimProvider::on_request(const SimRequest& request, TimePoint now) {
  ResponsePlan plan = decide(request, now);
  // A server stamps Date as it writes the head, after its latency (and, for
  // a whole answer, the generation), not when the request arrived.
  for (auto& [name, value] : plan.headers) {
    if (name == "date") value = format_http_date(now + plan.delay_before_headers);
  }
  return plan;
}

ResponsePlan SimProvider::decide(const SimRequest& request, TimePoint now) {
  ++counters_.requests;
  ++seq_;
  Call call{request, now};
  call.request_id = "req_sim_" + std::to_string(seq_);
  call.base_latency = draw_base_latency();
  call.path = std::string_view(request.path).substr(0, request.path.find('?'));
  call.route = match_route(cfg_.dialect, request.method, call.path);

  const bool key_ok = cfg_.keys.empty() || std::find(cfg_.keys.begin(), cfg_.keys.end(),
                                                     request.api_key) != cfg_.keys.end();
  if (key_ok) {
    call.key = &key_state(request.api_key);
    ++call.key->requests;
    expire_windows(*call.key, now);
  }
  if (!call.route) return refuse(call, Refusal::kNotFound, {}, Tripped::kNone, std::nullopt);
  if (!key_ok) return refuse(call, Refusal::kAuth, {}, Tripped::kNone, std::nullopt);

  const Endpoint endpoint = call.route->endpoint;
  if (endpoint == Endpoint::kModels) {
    return serve(call, render_models_body(cfg_.dialect, cfg_.models, unix_seconds(now)));
  }
  if (endpoint == Endpoint::kModel) {
    call.parsed.model = call.route->implied_model;
    const bool listed = cfg_.models.empty() ? call.parsed.model == "sim-model"
                                            : std::find(cfg_.models.begin(), cfg_.models.end(),
                                                        call.parsed.model) != cfg_.models.end();
    if (!listed) return refuse(call, Refusal::kModelNotFound, {}, Tripped::kNone, std::nullopt);
    return serve(call, render_model_body(cfg_.dialect, call.parsed.model, unix_seconds(now)));
  }
  auto parsed = parse_request(endpoint, request.body, call.route->implied_model);
  if (auto* bad = std::get_if<BadRequest>(&parsed)) {
    RefusalFacts f;
    f.bad = std::move(*bad);
    return refuse(call, Refusal::kBadRequest, std::move(f), Tripped::kNone, std::nullopt);
  }
  call.parsed = std::move(std::get<ParsedRequest>(parsed));
  if (!cfg_.models.empty() &&
      std::find(cfg_.models.begin(), cfg_.models.end(), call.parsed.model) == cfg_.models.end()) {
    return refuse(call, Refusal::kModelNotFound, {}, Tripped::kNone, std::nullopt);
  }
  if (endpoint == Endpoint::kCountTokens) {
    return serve(call, render_count_tokens_body(call.parsed.prompt_tokens));
  }

  // One roll per budgeted request decides its fault, whatever the outcome,
  // so plans stay reproducible when the fault settings change at run time.
  const double roll = rng_->uniform();
  const FaultConfig& faults = cfg_.faults;
  if (faults.billing_after && counters_.billable_successes >= *faults.billing_after) {
    return refuse(call, Refusal::kBilling, {}, Tripped::kNone, std::nullopt);
  }
  if (faults.quota_after && counters_.admitted >= *faults.quota_after) {
    // A plan quota comes back at the next daily boundary (UTC midnight for 24 h).
    const Duration day = cfg_.limits.daily_window;
    const TimePoint back = TimePoint((now.time_since_epoch() / day + 1) * day);
    RefusalFacts f;
    f.limit = static_cast<std::int64_t>(*faults.quota_after);
    f.used = static_cast<std::int64_t>(counters_.admitted);
    f.requested = 1;
    f.wait = until(back, now);
    f.reset_at = back;
    return refuse(call, Refusal::kQuota, std::move(f), Tripped::kNone, until(back, now));
  }
  if (roll < faults.overload_rate) {
    return refuse(call, Refusal::kOverload, {}, Tripped::kNone, std::nullopt);
  }

  KeyState& ks = *call.key;
  const LimitsConfig& limits = cfg_.limits;
  const std::int64_t cost = call.parsed.cost();
  const BudgetReport budget = budget_of(ks, now);
  if (limits.concurrency && ks.in_flight >= *limits.concurrency) {
    RefusalFacts f;
    f.limit = *limits.concurrency;
    f.used = ks.in_flight;
    f.requested = 1;
    return refuse(call, Refusal::kConcurrency, std::move(f), Tripped::kNone, std::nullopt);
  }
  if (budget.requests && budget.requests->remaining < 1) {
    RefusalFacts f;
    f.limit = budget.requests->limit;
    f.used = ks.minute.requests;
    f.requested = 1;
    f.wait = until(budget.requests->full_at, now);
    const Duration wait = f.wait;
    return refuse(call, Refusal::kRequestsPerWindow, std::move(f), Tripped::kRequests, wait);
  }
  if (budget.tokens && cost > budget.tokens->limit) {
    // Waiting never helps a request larger than the whole window.
    RefusalFacts f;
    f.limit = budget.tokens->limit;
    f.used = ks.minute.tokens;
    f.requested = cost;
    return refuse(call, Refusal::kTooLarge, std::move(f), Tripped::kNone, std::nullopt);
  }
  if (budget.tokens && cost > budget.tokens->remaining) {
    RefusalFacts f;
    f.limit = budget.tokens->limit;
    f.used = ks.minute.tokens;
    f.requested = cost;
    f.wait = until(budget.tokens->full_at, now);
    const Duration wait = f.wait;
    return refuse(call, Refusal::kTokensPerWindow, std::move(f), Tripped::kTokens, wait);
  }
  if (budget.daily && budget.daily->remaining < 1) {
    RefusalFacts f;
    f.limit = budget.daily->limit;
    f.used = ks.day.requests;
    f.requested = 1;
    f.wait = until(budget.daily->full_at, now);
    f.reset_at = budget.daily->full_at;
    const Duration wait = f.wait;
    return refuse(call, Refusal::kDaily, std::move(f), Tripped::kDaily, wait);
  }

  // Admitted: spend the budget and hold a slot.
  if (!ks.minute.start) ks.minute.start = now;
  if (!ks.day.start) ks.day.start = now;
  ks.minute.requests += 1;
  ks.minute.tokens += cost;
  ks.day.requests += 1;
  ks.day.tokens += cost;
  ks.in_flight += 1;
  ks.max_in_flight = std::max(ks.max_in_flight, ks.in_flight);
  ks.admitted += 1;
  ks.tokens += cost;
  counters_.admitted += 1;
  return admitted(call, roll);
}

ResponsePlan SimProvider::admitted(Call& call, double roll) {
  const FaultConfig& f = cfg_.faults;
  const std::uint64_t ticket = next_ticket_++;
  tickets_.emplace(ticket, call.key);

  // The roll's ranges, after overload's [0, overload_rate): one fault at most.
  double edge = f.overload_rate;
  auto hit = [&](double rate) {
    const bool in = roll >= edge && roll < edge + rate;
    edge += rate;
    return in;
  };
  const bool server_error = hit(f.server_error_rate);
  const bool garbage = hit(f.garbage_rate);
  const bool hang = hit(f.hang_rate);
  const bool stream_error = hit(f.stream_error_rate) && call.parsed.stream;
  const bool close_mid = hit(f.close_mid_stream_rate) && call.parsed.stream;

  if (server_error) {
    ResponsePlan plan = refuse(call, Refusal::kServerError, {}, Tripped::kNone, std::nullopt);
    plan.ticket = ticket;
    return plan;
  }
  if (hang) {
    ++counters_.hang;
    ResponsePlan plan;
    plan.ticket = ticket;
    plan.delay_before_headers = call.base_latency;
    plan.ending = Ending::kHang;
    return plan;
  }

  const Endpoint endpoint = call.route->endpoint;
  ResponsePlan plan;
  plan.ticket = ticket;
  plan.delay_before_headers = call.base_latency;
  plan.status = 200;
  if (garbage) {
    ++counters_.garbage;
    plan.body = std::string(garbage_body());
    add_common_headers(call, plan, "application/json");
    append_ratelimit_headers(plan.headers, cfg_.dialect, budget_of(*call.key, call.now), call.now,
                             Tripped::kNone);
    return plan;
  }
  if (endpoint == Endpoint::kEmbeddings) {
    plan = serve(call, render_embeddings_body(call.parsed));
    plan.ticket = ticket;
    ++counters_.billable_successes;
    return plan;
  }

  const Generation g = make_generation(cfg_.name, endpoint, seq_, call.parsed,
                                       unix_seconds(call.now), cfg_.answer_tokens);
  if (!call.parsed.stream) {
    plan = serve(call, render_generation_body(endpoint, g));
    plan.ticket = ticket;
    // A non-streaming answer takes as long as the same stream would.
    plan.delay_before_headers +=
        cfg_.latency.ttft +
        cfg_.latency.per_token * static_cast<Duration::rep>(g.pieces.size() - 1);
    ++counters_.billable_successes;
    return plan;
  }

  std::vector<StreamEvent> events = render_generation_stream(cfg_.dialect, endpoint, g);
  plan.streaming = true;
  add_common_headers(call, plan, "text/event-stream; charset=utf-8");
  plan.headers.emplace_back("cache-control", "no-cache");
  append_ratelimit_headers(plan.headers, cfg_.dialect, budget_of(*call.key, call.now), call.now,
                           Tripped::kNone);
  // Faults strike after k events, never letting the terminal event out.
  std::size_t keep = events.size();
  if (stream_error || close_mid) {
    const auto k = static_cast<std::size_t>(std::max<std::int64_t>(0, f.stream_error_after_chunks));
    keep = std::min(k, events.size() - 1);
  }
  bool first_token = true;
  for (std::size_t i = 0; i < keep; ++i) {
    Duration delay = Duration::zero();
    if (events[i].token) {
      delay = first_token ? cfg_.latency.ttft : cfg_.latency.per_token;
      first_token = false;
    }
    plan.chunks.push_back({delay, std::move(events[i].data)});
  }
  if (stream_error) {
    ++counters_.stream_error;
    auto failure = endpoint == Endpoint::kResponses
                       ? render_responses_failure(g, static_cast<std::int64_t>(keep))
                       : render_stream_error(cfg_.dialect, g.id, g.model, call.now);
    for (auto& e : failure) plan.chunks.push_back({cfg_.latency.per_token, std::move(e)});
  } else if (close_mid) {
    ++counters_.close_mid_stream;
    plan.ending = Ending::kCloseMidStream;
  } else {
    ++counters_.successes;
    ++call.key->successes;
    ++counters_.billable_successes;
  }
  return plan;
}

std::optional<BudgetReport> SimProvider::budget(const std::string& key, TimePoint now) const {
  const bool accepted =
      cfg_.keys.empty() || std::find(cfg_.keys.begin(), cfg_.keys.end(), key) != cfg_.keys.end();
  if (!accepted) return std::nullopt;
  auto it = keys_.find(key);
  KeyState ks = it == keys_.end() ? KeyState{} : it->second;
  expire_windows(ks, now);
  return budget_of(ks, now);
}

void SimProvider::on_finished(std::uint64_t ticket, TimePoint now) {
  (void)now;  // slots free immediately; the time is part of the port for future pacing
  auto it = tickets_.find(ticket);
  if (it == tickets_.end()) return;
  it->second->in_flight -= 1;
  tickets_.erase(it);
}

json SimProvider::stats() const {
  json rejections = json::object();
  for (std::size_t i = 0; i < kRefusalCount; ++i) {
    const auto r = static_cast<Refusal>(i);
    if (r == Refusal::kServerError) continue;  // an admitted request that failed: a fault
    rejections[std::string(stats_name(r))] = counters_.refusals[i];
  }
  json faults = {
      {"server_error", counters_.refusals[static_cast<std::size_t>(Refusal::kServerError)]},
      {"garbage", counters_.garbage},
      {"hang", counters_.hang},
      {"stream_error", counters_.stream_error},
      {"close_mid_stream", counters_.close_mid_stream},
  };
  json keys = json::object();
  std::int64_t in_flight = 0;
  for (const auto& [key, ks] : keys_) {
    in_flight += ks.in_flight;
    keys[key] = {{"requests", ks.requests},           {"admitted", ks.admitted},
                 {"successes", ks.successes},         {"in_flight", ks.in_flight},
                 {"max_in_flight", ks.max_in_flight}, {"tokens", ks.tokens}};
  }
  return json{{"provider", cfg_.name},
              {"dialect", std::string(to_string(cfg_.dialect))},
              {"requests", counters_.requests},
              {"successes", counters_.successes},
              {"admitted", counters_.admitted},
              {"in_flight", in_flight},
              {"rejections", std::move(rejections)},
              {"faults", std::move(faults)},
              {"keys", std::move(keys)}};
}

std::optional<std::string> SimProvider::set_limits(const json& patch) {
  if (!patch.is_object()) return std::string("limits: expected a JSON object");
  LimitsConfig next = cfg_.limits;
  for (const auto& [name, value] : patch.items()) {
    if (name != "concurrency") return "limits." + name + ": unknown (known: concurrency)";
    if (value.is_null()) {
      next.concurrency.reset();
    } else if (value.is_number_integer() && value.get<std::int64_t>() > 0) {
      next.concurrency = value.get<std::int64_t>();
    } else {
      return std::string("limits.concurrency: expected a positive integer or null");
    }
  }
  cfg_.limits = next;
  return std::nullopt;
}

std::optional<std::string> SimProvider::set_faults(const json& patch) {
  if (!patch.is_object()) return std::string("faults: expected a JSON object");
  FaultConfig next = cfg_.faults;
  const std::array<std::pair<std::string_view, double*>, 6> rates = {{
      {"server_error_rate", &next.server_error_rate},
      {"overload_rate", &next.overload_rate},
      {"stream_error_rate", &next.stream_error_rate},
      {"close_mid_stream_rate", &next.close_mid_stream_rate},
      {"hang_rate", &next.hang_rate},
      {"garbage_rate", &next.garbage_rate},
  }};
  for (const auto& [name, value] : patch.items()) {
    const std::string path = "faults." + name;
    auto rate = std::find_if(rates.begin(), rates.end(),
                             [&name = name](const auto& r) { return r.first == name; });
    if (rate != rates.end()) {
      if (!value.is_number() || !(value.get<double>() >= 0.0 && value.get<double>() <= 1.0)) {
        return path + ": expected a number between 0 and 1";
      }
      *rate->second = value.get<double>();
    } else if (name == "slow_headers") {
      std::optional<Duration> d;
      if (value.is_string()) d = config::parse_duration(value.get<std::string>());
      if (value.is_number_integer() && value.get<std::int64_t>() == 0) d = Duration::zero();
      if (!d) return path + ": expected a duration such as \"200ms\" or \"2s\"";
      next.slow_headers = *d;
    } else if (name == "stream_error_after_chunks") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
        return path + ": expected a non-negative integer";
      }
      next.stream_error_after_chunks = value.get<std::int64_t>();
    } else if (name == "billing_after" || name == "quota_after") {
      auto& slot = name == "billing_after" ? next.billing_after : next.quota_after;
      if (value.is_null()) {
        slot.reset();
      } else if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
        slot = value.get<std::uint64_t>();
      } else {
        return path + ": expected a non-negative integer or null";
      }
    } else {
      return path + ": unknown field";
    }
  }
  if (auto err = validate_faults(next, "")) return err;
  cfg_.faults = next;
  return std::nullopt;
}

}  // namespace sluice::sim
