#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

namespace {

std::string label_of(const FrontRequest& req, std::size_t index) {
  return req.route[index].provider + "/" + req.route[index].upstream_model;
}

}  // namespace

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
  for (const auto& t : req.route) setup.labels.push_back(t.provider + "/" + t.upstream_model);
  setup.deadline = req.deadline;
  setup.queue_timeout = req.queue_timeout;
  setup.wake_delay = wake_delay(req.priority);
  setup.shared = coordinator != nullptr;
  setup.max_requeues = kMaxRequeues;
  policy::RequestRun run(std::move(setup), config.retry.policy, budget, rng);

  // The candidate being tried, as prepared.
  std::size_t current = 0;
  ProviderRuntime* p = nullptr;
  Translation translation;
  // Its key, and what this request holds of it while an attempt is on.
  std::size_t key_index = 0;
  UpstreamKeyState* key_state = nullptr;
  ModelBudget* mb = nullptr;
  policy::PriorityLimiter* limiter = nullptr;
  policy::ThrottleInput budget_seen;  // the key's budget, as last judged
  std::optional<policy::Permit> permit;
  SharedLease lease{coordinator};
  state::Admission admission;  // the shared budget's snapshot lives here while judged
  std::optional<InFlight> in_flight;
  bool sent = false;
  int in_flight_at_send = 0;
  Answer answer;

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
      // A slot is held only through an attempt: never across a wait.
      in_flight.reset();
      permit.reset();
      lease.release(!sent);  // a lease not sent with is uncounted
      sent = false;
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
      const std::string& model = req.route[a->index].upstream_model;
      const TimePoint now = clock.now();
      auto sel = policy::select_key(std::move(p->pool), p->cfg->strategy, now, rng);
      p->pool = std::move(sel.next);
      save_cursor(*p);
      if (!sel.index) {
        event = policy::NoKey{policy::next_available_at(p->pool, now)};
        continue;
      }
      key_index = *sel.index;
      key_state = &registry.key(p->cfg->base_url, p->pool.keys[key_index].fingerprint);
      mb = &key_state->budgets[model];
      limiter = &limiter_for(*key_state, *p, model);
      budget_seen = throttle_input(*p, *mb, now, est_in, est_out);
      event = policy::KeyTaken{budget_seen};
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
      permit = limiter->try_acquire(req.priority);
      if (!permit) permit = co_await acquire(*limiter, req.priority, a->timeout);
      metrics.queue_wait(to_seconds(clock.now() - before_queue));
      if (!permit) {
        event = policy::NotAcquired{};
        continue;
      }
      if (clock.now() > before_queue) budget_seen = refreshed(budget_seen, *mb, clock.now());
      event = policy::Acquired{budget_seen};
      continue;
    }

    if (const auto* a = std::get_if<policy::Share>(&action)) {
      // Redis mode: the slot must be free across every instance too, and
      // the budget is the one all instances spend together. The local
      // permit is kept while waiting, so local priority order still holds.
      const std::string& model = req.route[current].upstream_model;
      lease.request.key_scope = key_scope(*p, p->pool.keys[key_index].fingerprint);
      lease.request.bucket = p->cfg->limiter_bucket(model);
      lease.request.model = model;
      lease.request.limit = limiter->limit();
      lease.request.tokens = own_tokens;
      admission = co_await admit_shared(lease, a->give_up);
      event = shared_event(admission, lease, *mb, budget_seen, clock.now());
      continue;
    }

    if (std::holds_alternative<policy::Send>(action)) {
      const std::size_t index = current;
      const policy::RouteTarget& target = req.route[index];
      in_flight.emplace(*mb, own_tokens);
      in_flight_at_send = limiter->in_flight();
      sent = true;
      // Views of bytes this frame keeps (a retry sends them again), with the
      // upstream model spliced in between: the body itself is never copied.
      ports::OutgoingBody body = outgoing_body(req, responses, *p, target, translation);
      // Named, not temporaries inside co_await (g++ 12, docs/decisions/0005).
      const std::string upstream_path =
          translation.to ? std::string(translate::path_of(*translation.to)) : req.path;
      HeaderList upstream_head =
          upstream_headers(req, *p, p->cfg->keyless ? nullptr : &p->cfg->keys[key_index],
                           translation.to.has_value());
      const TimePoint sent_at = clock.now();
      answer = Answer{};
      answer.sent = co_await p->upstream->send(req.method, upstream_path, std::move(upstream_head),
                                               std::move(body));
      co_await probe_answer(answer);
      policy::Classification c = classify_answer(answer, *p, req.facts, est_in);
      capture_budget(*mb, c.ratelimit, own_tokens);
      if (coordinator && !lease.id.empty() && !c.ratelimit.buckets.empty()) {
        coordinator->share_snapshot(lease.request, c.ratelimit);
      }
      {
        const std::string_view cls_name = c.ok ? std::string_view("OK") : to_string(c.cls);
        metrics.upstream_attempt(p->cfg->name, cls_name, to_seconds(clock.now() - sent_at));
      }
      const Attempt attempt{
          *p, key_index, *key_state, *limiter, target.upstream_model, in_flight_at_send};
      bool another_key_free = false;
      if (c.ok) {
        learn_success(attempt);
      } else {
        // Bench or slow the key as the class says, before the run decides.
        learn_failure(req.alias, attempt, c);
        LogLine("warn", "upstream_failure")
            .kv("route", label_of(req, index))
            .kv("key", p->pool.keys[key_index].fingerprint)
            .kv("class", to_string(c.cls))
            .kv("rule", c.rule);
        const TimePoint now = clock.now();
        const auto pool_free = policy::next_available_at(p->pool, now);
        another_key_free = pool_free && *pool_free <= now;
      }
      event = policy::Answered{std::move(c), another_key_free};
      continue;
    }

    if (const auto* a = std::get_if<policy::Relay>(&action)) {
      const std::string label = label_of(req, a->index);
      if (a->by_fallback) served_by_fallback(req, label, run.skipped());
      event = co_await relay_answer(req, w, run, started, responses, *p, *a, answer, translation);
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

// What the attempt will send: views of the caller's bytes (or of its
// translation) with the upstream model spliced in.
auto RequestEngine::Impl::outgoing_body(const FrontRequest& req, const ResponsesState& responses,
                                        const ProviderRuntime& p, const policy::RouteTarget& target,
                                        const Translation& translation) -> ports::OutgoingBody {
  ports::OutgoingBody body;
  const auto spliced = [&](const providers::SplicedBody& s) {
    body.before = s.before;
    body.middle = s.middle;
    body.after = s.after;
  };
  if (translation.to) {
    body.before = translation.body;
  } else if (responses.continued && p.cfg->base_url != responses.stored_at) {
    // A Responses provider other than the one that kept the previous turn:
    // it gets the whole conversation, not an id it does not know.
    spliced(providers::splice_model_pieces(*responses.continued, responses.continued_facts,
                                           target.upstream_model));
  } else if (req.facts.model_end > req.facts.model_begin || req.facts.model) {
    spliced(providers::splice_model_pieces(req.body, req.facts, target.upstream_model));
  } else {
    body.before = req.body;
  }
  return body;
}

// Reads a whole error or non-streaming body; for a stream, only until its
// first data event, which is where an in-band error would be.
auto RequestEngine::Impl::probe_answer(Answer& a) -> awaitable<void> {
  a.at = clock.now();
  if (!a.sent.response) co_return;
  ports::UpstreamResponse& r = *a.sent.response;
  a.headers = r.headers();
  a.streaming = r.status() == 200 &&
                icontains(a.headers.get("content-type").value_or(""), "text/event-stream");
  while (true) {
    if (a.streaming && providers::has_data_event(a.body)) break;
    if (a.streaming && a.body.size() > kMaxStreamProbe) break;
    if (!a.streaming && r.status() >= 300 && a.body.size() > kMaxErrorBody) break;
    if (!a.streaming && a.body.size() > kMaxBufferedBody) break;
    // What arrived with the head first: the usual reply is whole by now,
    // and taking it needs no coroutine.
    auto piece = r.take_buffered();
    if (!piece && r.complete()) break;
    if (!piece) piece = co_await r.next();
    if (!piece) break;
    if (a.body.empty()) {
      a.body = std::move(*piece);  // usually the whole body: no copy
    } else {
      a.body += *piece;
    }
  }
}

// The attempt's outcome, classified once (the operator's rules first).
auto RequestEngine::Impl::classify_answer(const Answer& a, const ProviderRuntime& p,
                                          const providers::BodyFacts& facts,
                                          std::int64_t est_in) const -> policy::Classification {
  policy::UpstreamOutcome outcome;
  outcome.dialect = p.cfg->dialect;
  outcome.now = a.at;
  outcome.request = {.tokens = est_in, .messages = static_cast<std::int64_t>(facts.messages)};
  if (!a.sent.response) {
    outcome.transport = transport_failure_of(a.sent.failure);
  } else {
    outcome.status = a.sent.response->status();
    if (!a.sent.response->complete()) {
      outcome.transport = transport_failure_of(a.sent.response->failure());
    }
    if (a.streaming) {
      // Judged as a clean stream so far; how it ends is judged while relaying.
      outcome.stream =
          policy::StreamState{.first_byte_sent = false, .terminal_seen = true, .data_seen = true};
    }
  }
  outcome.headers = a.headers;
  outcome.body = a.body;
  policy::Classification c = policy::classify(outcome, rules);
  if (a.streaming && !c.ok && outcome.transport == policy::TransportFailure::kNone) {
    // The probe saw a stream whose first events were clean: keep relaying.
    if (!policy::parse_error_body(a.body).has_error) c.ok = true;
  }
  return c;
}

// What the shared admission says, for the run.
auto RequestEngine::Impl::shared_event(const state::Admission& admission, SharedLease& lease,
                                       const ModelBudget& mb, const policy::ThrottleInput& seen,
                                       TimePoint now) -> policy::Event {
  using Kind = policy::Shared::Kind;
  if (admission.kind == state::Admission::Kind::kBusy) return policy::Shared{Kind::kBusy, {}};
  lease.id = admission.lease_id;  // empty when Redis is away: local limits only
  if (lease.id.empty()) return policy::Shared{Kind::kLocal, {}};
  policy::Shared granted{Kind::kGranted, {}};
  const auto& shared = admission.budget;
  if (shared.snapshot && (!mb.snapshot || shared.snapshot->taken_at >= mb.snapshot->taken_at)) {
    policy::ThrottleInput si = seen;
    si.snapshot = &*shared.snapshot;
    si.unaccounted_requests = shared.sent_requests;
    si.unaccounted_tokens = shared.sent_tokens;
    si.now = now;
    granted.budget = si;
  }
  return granted;
}

// A served attempt's answer, to the client: whole, as a large body, or as a
// stream (translated when the candidate speaks another API). Nothing can be
// retried from here; how it went is the request's ending.
auto RequestEngine::Impl::relay_answer(FrontRequest& req, ports::ResponseWriter& w,
                                       const policy::RequestRun& run, TimePoint started,
                                       const ResponsesState& responses, const ProviderRuntime& p,
                                       policy::Relay relay, Answer& answer,
                                       const Translation& translation)
    -> awaitable<policy::Relayed> {
  using policy::Ending;
  using policy::Relayed;
  const std::string label = label_of(req, relay.index);
  const std::optional<translate::Context> untranslated;
  const std::optional<translate::Context>& context =
      translation.to ? translation.context : untranslated;
  std::vector<std::string> dropped =
      translation.to ? translation.dropped : std::vector<std::string>{};
  ports::UpstreamResponse& response = *answer.sent.response;
  const int status = response.status();
  const bool streaming = answer.streaming;
  std::string& body = answer.body;
  Duration waited = run.waited();

  HeaderList out;
  out.reserve(256, answer.headers.fields().size() + 4);  // + sluice's own, below
  for (const auto& f : answer.headers.fields()) {
    // A translated whole answer is JSON of the caller's API, whatever the
    // provider's content-type said.
    if (context && !streaming && iequals(f.name, "content-type")) continue;
    if (!hop_by_hop(f.name)) out.add(f.name, f.value);
  }
  if (context && !streaming) out.add("content-type", "application/json");
  out.add("x-sluice-route", label);
  out.add("x-sluice-attempts", std::to_string(run.attempts()));
  out.add(
      "x-sluice-queue-ms",
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(run.queued()).count()));
  if (relay.index > 0) {
    out.add("x-sluice-fallback",
            std::to_string(relay.index) + "/" + std::to_string(req.route.size()));
  }
  if (context && !streaming) {
    // The whole answer is needed to translate it.
    bool whole = true;
    const TimePoint reading_from = clock.now();
    while (!response.complete()) {
      auto piece = co_await response.next();
      if (!piece) {
        whole = response.complete();
        break;
      }
      body += *piece;
    }
    waited += clock.now() - reading_from;
    if (!whole) {
      co_return Relayed{Ending::kStreamDrop, "the provider cut a translated answer short", true};
    }
    translate::Translated translated = translate::translate_response(*context, body);
    for (auto& d : translated.dropped) {
      if (std::find(dropped.begin(), dropped.end(), d) == dropped.end()) dropped.push_back(d);
    }
    body = std::move(translated.body);
  }
  out.add("server-timing", server_timing(clock.now() - started, run.queued(), waited));
  if (context) {
    // After a whole answer's translation, so what it dropped is named too.
    out.add("x-sluice-translated", std::string(translate::to_string(context->caller)) + "->" +
                                       std::string(translate::to_string(context->upstream)));
    if (!dropped.empty()) out.add("x-sluice-translation-dropped", join(dropped));
  }
  const std::string fallback_note =
      relay.by_fallback ? "fallback: " + join(run.skipped()) : std::string();

  if (!streaming && !response.complete() && !context) {
    const LargeBodyEnd relayed =
        co_await relay_large_body(w, response, status, out, std::move(body));
    // The client's own hang-up is logged as such, never as the provider's.
    switch (relayed) {
      case LargeBodyEnd::kWhole: co_return Relayed{Ending::kOk, "large body relayed", false};
      case LargeBodyEnd::kClientGone:
        co_return Relayed{Ending::kClientGone, "the client left during a large body", false};
      case LargeBodyEnd::kCutShort:
        co_return Relayed{Ending::kStreamDrop,
                          "the provider cut a large body short: " + response.failure_message(),
                          false};
    }
  }
  if (!streaming) {
    keep_turn(req, responses, context.has_value(), p, body);
    if (!co_await w.send(status, out, std::move(body))) {
      co_return Relayed{Ending::kClientGone, "the client left before the answer was written",
                        false};
    }
    std::string detail = fallback_note + translation_note(context, dropped);
    if (detail.starts_with("; ")) detail.erase(0, 2);
    co_return Relayed{Ending::kOk, std::move(detail), false};
  }

  // The stream as it arrives.
  const Relayed client_gone{Ending::kClientGone, "the client left mid-stream", false};
  if (!co_await w.begin_stream(200, out)) {
    co_return Relayed{Ending::kClientGone, "the client left before the stream began", false};
  }
  providers::TerminalWatch watch;
  // Translated streams go through their translator; the watch sees what the
  // client sees (its API's terminal and error events).
  std::unique_ptr<translate::StreamTranslator> translator;
  if (context) translator = translate::make_stream_translator(*context);
  if (translator) body = translator->feed(body);
  watch.feed(body);
  // A kept Responses turn needs the stream's final response object.
  std::optional<translate::FinalResponseCatcher> final_response;
  if (responses.keep) final_response.emplace().feed(body);
  if (!co_await w.write_chunk(body)) co_return client_gone;
  while (auto piece = co_await response.next()) {
    std::string translated;
    if (translator) translated = translator->feed(*piece);
    const std::string_view bytes = translator ? std::string_view(translated) : *piece;
    watch.feed(bytes);
    if (final_response) final_response->feed(bytes);
    if (!co_await w.write_chunk(bytes)) co_return client_gone;  // drops the upstream too
  }
  if (translator && response.complete()) {
    const std::string tail = translator->finish();
    watch.feed(tail);
    if (final_response) final_response->feed(tail);
    if (!co_await w.write_chunk(tail)) co_return client_gone;
  }
  Relayed ended{Ending::kOk, {}, false};
  if (!watch.seen()) {
    const std::string ev = stream_error_event(
        req.api, req.path, "upstream " + label + " ended the stream without its terminal event");
    co_await w.write_chunk(ev);  // a client gone by now changes nothing here
    ended = Relayed{Ending::kStreamDrop, "after first byte", false};
  } else if (watch.error()) {
    // Nothing can be retried once bytes reached the client: it has the
    // provider's error event and a cleanly ended stream.
    ended = Relayed{Ending::kStreamDrop, "in-band error after first byte", false};
  } else {
    if (final_response) final_response->finish();
    if (final_response && final_response->response()) {
      keep_turn(req, responses, context.has_value(), p, *final_response->response());
    }
    ended.detail =
        (relay.by_fallback ? "fallback stream: " + join(run.skipped()) : std::string("stream")) +
        translation_note(context, dropped);
  }
  co_await w.end_stream();
  co_return ended;
}

auto RequestEngine::Impl::relay_large_body(ports::ResponseWriter& w,
                                           ports::UpstreamResponse& upstream, int status,
                                           const HeaderList& headers, std::string held)
    -> awaitable<LargeBodyEnd> {
  if (!co_await w.begin_stream(status, headers) || !co_await w.write_chunk(held)) {
    co_return LargeBodyEnd::kClientGone;
  }
  held = std::string();  // give the memory back before the rest arrives
  while (auto piece = co_await upstream.next()) {
    if (!co_await w.write_chunk(*piece)) co_return LargeBodyEnd::kClientGone;
  }
  if (!upstream.complete()) {
    w.abort();
    co_return LargeBodyEnd::kCutShort;
  }
  co_await w.end_stream();
  co_return LargeBodyEnd::kWhole;
}

// Waits for a slot until `timeout`; nullopt when skipped.
auto RequestEngine::Impl::acquire(policy::PriorityLimiter& limiter, Priority priority,
                                  Duration timeout, SlotCancel* cancel)
    -> awaitable<std::optional<policy::Permit>> {
  if (auto permit = limiter.try_acquire(priority)) co_return std::move(permit);
  if (timeout <= Duration::zero() || (cancel && cancel->cancelled)) co_return std::nullopt;
  const std::unique_ptr<ports::Timer> timer = timers.at(clock.now() + timeout);
  std::optional<policy::Permit> got;
  bool done = false;
  const auto ticket =
      limiter.enqueue(priority, clock.now() + timeout, [&](policy::AcquireResult r) {
        done = true;
        if (r.granted()) got = std::move(r.permit);
        timer->wake();
      });
  // If this frame is torn down while queued, the limiter must not call back into it.
  struct CancelOnExit {
    policy::PriorityLimiter& limiter;
    policy::Ticket ticket;
    bool& done;
    ~CancelOnExit() {
      if (!done) limiter.cancel(ticket);
    }
  } guard{limiter, ticket, done};
  if (!done) {
    if (cancel) {
      cancel->waiting = timer.get();
      cancel->withdraw = [&] {
        if (!done) limiter.cancel(ticket);
        done = true;
      };
    }
    co_await timer->wait();
    if (cancel) {
      cancel->waiting = nullptr;
      cancel->withdraw = nullptr;
    }
  }
  if (!done) limiter.cancel(ticket);
  co_return std::move(got);
}

auto RequestEngine::Impl::ask_admission(const state::AdmissionRequest& request)
    -> awaitable<state::Admission> {
  struct Pending {
    std::optional<state::Admission> answer;
    ports::Timer* timer = nullptr;  // null once this frame stopped waiting
  };
  auto pending = std::make_shared<Pending>();
  const std::unique_ptr<ports::Timer> timer = timers.at(clock.now() + kAdmissionWait);
  pending->timer = timer.get();
  struct StopWaiting {
    Pending& p;
    ~StopWaiting() { p.timer = nullptr; }
  } stop_waiting{*pending};
  coordinator->admit_async(
      request, [pending, request, mb = mailbox, c = coordinator](state::Admission a) {
        std::lock_guard lock(mb->m);
        if (!mb->open) return;
        asio::post(mb->executor, [pending, request, c, a = std::move(a)]() mutable {
          if (!pending->timer) {
            // Granted after the request stopped waiting: give it straight back.
            if (a.kind == state::Admission::Kind::kGranted) c->release(request, a.lease_id, true);
            return;
          }
          pending->answer = std::move(a);
          pending->timer->wake();
        });
      });
  if (!pending->answer) co_await timer->wait();
  // No answer in time: as if Redis were away (local limits only).
  co_return pending->answer.value_or(state::Admission{});
}

auto RequestEngine::Impl::admit_shared(const SharedLease& lease, TimePoint give_up,
                                       SlotCancel* cancel) -> awaitable<state::Admission> {
  while (true) {
    state::Admission admission = co_await ask_admission(lease.request);
    if (admission.kind != state::Admission::Kind::kBusy) co_return admission;
    if (clock.now() >= give_up || (cancel && cancel->cancelled)) co_return admission;
    const TimePoint poll_at = clock.now() + kLeasePoll;
    co_await cancellable_sleep(poll_at, cancel);
  }
}

auto RequestEngine::Impl::reply_error(ports::ResponseWriter& w, const FrontRequest& req, int status,
                                      std::string code, std::string message,
                                      std::optional<Duration> retry_after, bool should_retry,
                                      HeaderList extra) -> awaitable<void> {
  HeaderList h = std::move(extra);
  h.add("content-type", "application/json");
  h.add("x-should-retry", should_retry ? "true" : "false");
  if (retry_after) {
    h.add("retry-after", ceil_seconds(*retry_after));
    h.add("retry-after-ms",
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(*retry_after).count()));
  }
  std::string body = error_body(req.api, status, code, message);
  co_await w.send(status, h, std::move(body));
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

// `translated`: the body is in the provider's API, not the caller's, so
// headers that describe the caller's API (anthropic-beta, openai-beta) stay.
auto RequestEngine::Impl::upstream_headers(const FrontRequest& req, const ProviderRuntime& p,
                                           const config::ApiKey* key, bool translated)
    -> HeaderList {
  HeaderList h;
  for (const auto& f : req.headers.view().fields()) {
    if (translated && !iequals(f.name, "accept") && !iequals(f.name, "user-agent") &&
        !iequals(f.name, "content-type")) {
      continue;
    }
    if (forwarded_client_header(f.name)) h.add(f.name, f.value);
  }
  if (p.cfg->api == config::WireApi::kAnthropic && !req.headers.view().get("anthropic-version")) {
    h.add("anthropic-version", "2023-06-01");
  }
  for (const auto& [n, v] : p.cfg->headers) h.add(n, v);
  if (key) {
    if (p.cfg->api == config::WireApi::kAnthropic) {
      h.add("x-api-key", key->secret.reveal());
    } else if (p.cfg->dialect == Dialect::kAzure) {
      h.add("api-key", key->secret.reveal());
    } else {
      h.add("authorization", "Bearer " + std::string(key->secret.reveal()));
    }
  }
  return h;
}

}  // namespace sluice::engine
