// One request: the driver of its RequestRun, the candidate it prepares, and its one exit.
#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

// The driver of one request: it performs what the request's run
// (policy/request/request_run.hpp) decides, through the engine's ports, and
// tells the run what happened. It decides nothing itself.
auto RequestEngine::Impl::handle(FrontRequest req, ports::ResponseWriter& w) -> awaitable<void> {
  const TimePoint started = clock.now();
  // First: a continued conversation's history counts toward the estimates.
  const ResponsesState responses = responses_state(req);
  budget.record_request(started);
  // A continued conversation's history is sent (or billed) too.
  const std::int64_t est_in = providers::estimate_prompt_tokens(
      responses.continued ? responses.continued_facts.text_bytes : req.facts.text_bytes);
  const std::int64_t est_out = req.facts.max_tokens.value_or(256);
  const std::int64_t own_tokens = est_in + est_out;

  policy::RunSetup setup;
  setup.alias = req.alias;
  setup.labels.reserve(req.route.size());
  for (std::size_t i = 0; i < req.route.size(); ++i) setup.labels.push_back(label_of(req, i));
  setup.deadline = req.deadline;
  setup.queue_timeout = req.queue_timeout;
  setup.wake_delay = wake_delay(req.priority);
  setup.shared = coordinator != nullptr;
  setup.max_requeues = kMaxRequeues;
  policy::RequestRun run(std::move(setup), config.retry.policy, budget, rng);

  // The candidate being tried, as prepared, and what this request holds of it.
  std::size_t current = 0;
  ProviderRuntime* p = nullptr;
  Translation translation;
  Hold hold(coordinator);

  policy::Event event = policy::Start{};
  while (true) {
    const policy::Action action = run.next(event, clock.now());
    const policy::RunCounts counts = run.take_counts();
    for (int i = 0; i < counts.fallbacks; ++i) metrics.fallback();
    for (int i = 0; i < counts.throttle_waits; ++i) metrics.throttle_wait();
    for (int i = 0; i < counts.retries; ++i) metrics.retry();
    if (!std::holds_alternative<policy::Share>(action) &&
        !std::holds_alternative<policy::Send>(action) &&
        !std::holds_alternative<policy::Relay>(action)) {
      hold.let_go();
    }

    if (const auto* a = std::get_if<policy::Prepare>(&action)) {
      current = a->index;
      p = nullptr;
      event = prepare(req, responses, a->index, translation);
      if (std::holds_alternative<policy::Prepared>(event)) {
        p = &providers.find(req.route[a->index].provider)->second;
      }
      continue;
    }

    if (const auto* a = std::get_if<policy::TakeKey>(&action)) {
      event = take_key(*p, req.route[a->index].upstream_model, hold, est_in, est_out);
      continue;
    }

    if (const auto* a = std::get_if<policy::Wait>(&action)) {
      co_await timers.sleep_until(a->until);
      event = policy::Woke{};
      continue;
    }

    if (const auto* a = std::get_if<policy::Acquire>(&action)) {
      const TimePoint before_queue = clock.now();
      // A free slot is taken here: the waiting coroutine (a frame of its
      // own) is made only when the request must queue.
      hold.permit = hold.limiter->try_acquire(req.priority);
      if (!hold.permit) hold.permit = co_await acquire(*hold.limiter, req.priority, a->timeout);
      metrics.queue_wait(to_seconds(clock.now() - before_queue));
      if (!hold.permit) {
        event = policy::NotAcquired{};
        continue;
      }
      if (clock.now() > before_queue) {
        hold.budget_seen = refreshed(hold.budget_seen, *hold.mb, clock.now());
      }
      event = policy::Acquired{hold.budget_seen};
      continue;
    }

    if (const auto* a = std::get_if<policy::Share>(&action)) {
      // Redis mode: the slot must be free across every instance too, and
      // the budget is the one all instances spend together. The local
      // permit is kept while waiting, so local priority order still holds.
      const std::string& model = req.route[current].upstream_model;
      SharedLease& lease = hold.lease;
      lease.request = lease_request(*p, p->pool.keys[hold.key_index].fingerprint, model,
                                    hold.limiter->limit(), own_tokens);
      hold.admission = co_await admit_shared(lease, a->give_up);
      event = shared_event(hold.admission, lease, *hold.mb, hold.budget_seen, clock.now());
      continue;
    }

    if (std::holds_alternative<policy::Send>(action)) {
      event = co_await attempt(req, responses, *p, current, translation, hold, est_in, own_tokens);
      continue;
    }

    if (const auto* a = std::get_if<policy::Relay>(&action)) {
      const std::string label = label_of(req, a->index);
      if (a->by_fallback) served_by_fallback(req, label, run.skipped());
      event =
          co_await relay_answer(req, w, run, started, responses, *p, *a, hold.answer, translation);
      continue;
    }

    // The one exit.
    const auto& finish = std::get<policy::Finish>(action);
    end_request(req, started, run, finish);
    if (finish.reply) {
      HeaderList extra;
      extra.add("x-sluice-attempts", std::to_string(run.attempts()));
      co_await reply_error(w, req, finish.reply->status, finish.reply->code, finish.reply->message,
                           finish.reply->retry_after, finish.reply->should_retry, std::move(extra));
    }
    co_return;
  }
}

auto RequestEngine::Impl::take_key(ProviderRuntime& p, const std::string& model, Hold& h,
                                   std::int64_t est_in, std::int64_t est_out) -> policy::Event {
  const TimePoint now = clock.now();
  auto sel = policy::select_key(std::move(p.pool), p.cfg->strategy, now, rng);
  p.pool = std::move(sel.next);
  save_cursor(p);
  if (!sel.index) return policy::NoKey{policy::next_available_at(p.pool, now)};
  h.key_index = *sel.index;
  h.key_state = &registry.key(p.cfg->base_url, p.pool.keys[h.key_index].fingerprint);
  h.mb = &h.key_state->budgets[model];
  h.limiter = &limiter_for(*h.key_state, p, model);
  h.budget_seen = throttle_input(p, *h.mb, now, est_in, est_out);
  return policy::KeyTaken{h.budget_seen};
}

auto RequestEngine::Impl::attempt(FrontRequest& req, const ResponsesState& responses,
                                  ProviderRuntime& p, std::size_t index,
                                  const Translation& translation, Hold& h, std::int64_t est_in,
                                  std::int64_t own_tokens) -> awaitable<policy::Answered> {
  const policy::RouteTarget& target = req.route[index];
  h.in_flight.emplace(*h.mb, own_tokens);
  h.in_flight_at_send = h.limiter->in_flight();
  h.sent = true;
  // Views of bytes this frame keeps (a retry sends them again), with the
  // upstream model spliced in between: the body itself is never copied.
  ports::OutgoingBody body = outgoing_body(req, responses, p, target, translation);
  // Named, not temporaries inside co_await (g++ 12, docs/decisions/0005).
  const std::string upstream_path =
      translation.to ? std::string(translate::path_of(*translation.to)) : req.path;
  HeaderList upstream_head = upstream_headers(
      req, p, p.cfg->keyless ? nullptr : &p.cfg->keys[h.key_index], translation.to.has_value());
  const TimePoint sent_at = clock.now();
  h.answer = Answer{};
  h.answer.sent = co_await p.upstream->send(req.method, upstream_path, std::move(upstream_head),
                                            std::move(body));
  co_await probe_answer(h.answer);
  policy::Classification c = classify_answer(h.answer, p, req.facts, est_in);
  capture_budget(*h.mb, c.ratelimit, own_tokens);
  if (coordinator && !h.lease.id.empty() && !c.ratelimit.buckets.empty()) {
    coordinator->share_snapshot(h.lease.request, c.ratelimit);
  }
  metrics.upstream_attempt(p.cfg->name, policy::outcome_label(c),
                           to_seconds(clock.now() - sent_at));
  const Attempt tried{p,          h.key_index,           *h.key_state,
                      *h.limiter, target.upstream_model, h.in_flight_at_send};
  bool another_key_free = false;
  if (c.ok) {
    learn_success(tried);
  } else {
    // Bench or slow the key as the class says, before the run decides.
    learn_failure(req.alias, tried, c);
    LogLine("warn", "upstream_failure")
        .kv("route", label_of(req, index))
        .kv("key", p.pool.keys[h.key_index].fingerprint)
        .kv("class", to_string(c.cls))
        .kv("rule", c.rule);
    const TimePoint now = clock.now();
    const auto pool_free = policy::next_available_at(p.pool, now);
    another_key_free = pool_free && *pool_free <= now;
  }
  co_return policy::Answered{std::move(c), another_key_free};
}

auto RequestEngine::Impl::prepare(FrontRequest& req, const ResponsesState& responses,
                                  std::size_t index, Translation& translation) -> policy::Event {
  const policy::RouteTarget& target = req.route[index];
  const std::string label = label_of(req, index);
  auto pit = providers.find(target.provider);
  if (pit == providers.end()) return policy::Unusable{"unknown provider", std::nullopt};
  ProviderRuntime& p = pit->second;
  if (!p.endpoint_error.empty()) return policy::Unusable{p.endpoint_error, std::nullopt};
  // A candidate of another API is translated (Chat is the pivot); a
  // Responses caller passes through only to `api: responses` providers
  // and OpenAI itself (and Azure), the OpenAI-API servers known to have
  // the Responses API.
  const std::optional<translate::Api> caller_api = translate::api_of_path(req.path);
  std::optional<translate::Api> translate_to;
  {
    const bool responses_native =
        p.cfg->dialect == Dialect::kOpenAI || p.cfg->dialect == Dialect::kAzure;
    const translate::Api upstream_api =
        p.cfg->api == config::WireApi::kAnthropic ? translate::Api::kMessages
        : p.cfg->api == config::WireApi::kResponses ||
                (caller_api == translate::Api::kResponses && responses_native)
            ? translate::Api::kResponses
            : translate::Api::kChat;
    // Other paths (embeddings, count_tokens, …) go only to their own API.
    if (caller_api ? *caller_api != upstream_api : p.cfg->api != req.api) {
      if (!caller_api) return policy::Unusable{"speaks the other wire API", std::nullopt};
      translate_to = upstream_api;
    }
  }
  const policy::Prepared prepared{p.cfg->max_wait};
  translation.to.reset();  // a translation kept for another candidate stays for it
  if (!translate_to) return prepared;
  const std::string api_name(translate::to_string(*translate_to));
  if (!responses.unknown_id.empty()) {
    // Only a Responses provider may know an id sluice does not.
    policy::Refusal refusal;
    refusal.ours = responses.lookup_failed;
    refusal.code = refusal.ours ? "state_unavailable" : "previous_response_not_found";
    refusal.message =
        refusal.ours
            ? "previous_response_id '" + responses.unknown_id +
                  "': the state store could not be read (see the gateway's log), and " + label +
                  " speaks the " + api_name + " API, which has no stored responses"
            : "Previous response with id '" + responses.unknown_id +
                  "' not found: sluice keeps the conversations of turns it served "
                  "(state.conversations), and " +
                  label + " speaks the " + api_name + " API, which has no stored responses";
    return policy::Unusable{"unknown previous_response_id", std::move(refusal)};
  }
  // Translated once per candidate (a retry or a wait comes back here).
  if (translation.for_index == index) {
    translation.to = translate_to;
    return prepared;
  }
  translate::RequestOptions topt;
  topt.upstream_model = target.upstream_model;
  topt.created =
      std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  topt.response_id = new_response_id();
  topt.default_max_tokens =
      req.default_max_tokens.value_or(providers::default_output_tokens(target.upstream_model));
  topt.previous_response_id = responses.previous_id;
  topt.stored = responses.keep;
  translate::RequestResult tr = translate::translate_request(
      *caller_api, *translate_to, responses.continued ? *responses.continued : req.body, topt);
  if (!tr.ok) {
    const std::string why = "cannot translate: " + tr.error;
    return policy::Unusable{why, policy::Refusal{"untranslatable_request", tr.error, false}};
  }
  if (req.strict_translation && !tr.ok->dropped.empty()) {
    const std::string dropped = join(tr.ok->dropped);
    return policy::Unusable{"strict translation would drop " + dropped,
                            policy::Refusal{"untranslatable_request",
                                            "translation: strict, and " + label + " (the " +
                                                api_name + " API) cannot carry: " + dropped,
                                            false}};
  }
  translation.for_index = index;
  translation.to = translate_to;
  translation.body = std::move(tr.ok->body);
  translation.dropped = std::move(tr.ok->dropped);
  translation.context = std::move(tr.context);
  return prepared;
}

auto RequestEngine::Impl::end_request(const FrontRequest& req, TimePoint started,
                                      const policy::RequestRun& run, const policy::Finish& e)
    -> void {
  using policy::Ending;
  std::string_view log_outcome = "ok";
  std::string_view counted = "error";
  std::string_view cls = "none";
  switch (e.ending) {
    case Ending::kOk: counted = "ok"; break;
    case Ending::kClientGone: log_outcome = cls = "CLIENT_DISCONNECT"; break;
    case Ending::kStreamDrop: log_outcome = cls = to_string(ErrorClass::kStreamDrop); break;
    case Ending::kUpstreamError: log_outcome = cls = to_string(e.cls); break;
    case Ending::kRefused: log_outcome = counted = "refused"; break;
  }
  const auto ms = [](Duration d) {
    return static_cast<std::int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  LogLine line("info", "request");
  line.kv("alias", req.alias).kv("priority", to_string(req.priority));
  if (!req.client.empty()) line.kv("client", req.client);
  line.kv("route", e.route)
      .kv("attempts", run.attempts())
      .kv("outcome", log_outcome)
      .kv("queue_ms", ms(run.queued()))
      .kv("total_ms", ms(clock.now() - started));
  if (!run.failures().empty()) line.kv("failures", join(run.failures()));
  if (!e.detail.empty()) line.kv("detail", e.detail);

  metrics.request_finished(req.path, counted, cls);
  if (e.ending != Ending::kOk) {
    metrics.event({.at = clock.now(),
                   .kind = "rejection",
                   .alias = req.alias,
                   .where = e.route,
                   .cls = std::string(cls),
                   .detail = e.detail});
  }
}

}  // namespace sluice::engine
