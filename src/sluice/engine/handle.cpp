#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

auto RequestEngine::Impl::handle(FrontRequest req, ports::ResponseWriter& w) -> awaitable<void> {
  const TimePoint started = clock.now();
  // First: a continued conversation's history counts toward the estimates.
  const ResponsesState responses = responses_state(req);
  budget.record_request(started);
  // A continued conversation's history is sent (or billed) too.
  const std::int64_t est_in = providers::estimate_prompt_tokens(
      responses.continued ? responses.continued_facts.text_bytes : req.facts.text_bytes);
  const std::int64_t est_out = req.facts.max_tokens.value_or(256);
  std::optional<TimePoint> earliest_free;
  std::optional<LastFailure> last;
  std::vector<std::string> skipped;
  int attempts_total = 0;
  int attempts_on_candidate = 0;
  Duration throttled_on_candidate = Duration::zero();  // waited for its budget, toward max_wait
  int requeues = 0;  // concurrency 429s answered by queueing again, not by retrying
  std::vector<std::string> failures;  // "provider/model:CLASS" per failed attempt
  Duration queued = Duration::zero();
  // Time spent waiting on others (throttle and retry sleeps, the provider),
  // which with `queued` is taken out of the server-timing overhead.
  Duration waited = Duration::zero();
  const std::optional<translate::Api> caller_api = translate::api_of_path(req.path);
  std::string translation_error;  // why a candidate's translation was refused
  // The current candidate's translation, when it speaks another API.
  std::optional<std::size_t> translated_idx;
  std::string translated_body;
  std::optional<translate::Context> translation;
  std::vector<std::string> dropped;
  std::string refusal_code = "untranslatable_request";
  // The one exit: every way this request ends goes through here once.
  const auto end = [&](Ending ending, const std::string& route, std::string detail,
                       ErrorClass cls = ErrorClass::kServerError) {
    end_request(req, Tally{started, attempts_total, queued, failures},
                RequestEnd{ending, route, std::move(detail), cls});
  };

  std::size_t idx = 0;
  while (idx < req.route.size()) {
    const policy::RouteTarget& target = req.route[idx];
    const std::string label = target.provider + "/" + target.upstream_model;
    auto pit = providers.find(target.provider);
    const auto next_candidate = [&](std::string why) {
      skipped.push_back(label + ": " + why);
      if (idx + 1 < req.route.size()) metrics.fallback();
      ++idx;
      attempts_on_candidate = 0;
      throttled_on_candidate = Duration::zero();
    };
    if (pit == providers.end()) {
      next_candidate("unknown provider");
      continue;
    }
    ProviderRuntime& p = pit->second;
    if (!p.endpoint_error.empty()) {
      next_candidate(p.endpoint_error);
      continue;
    }
    // A candidate of another API is translated (Chat is the pivot); a
    // Responses caller passes through only to `api: responses` providers
    // and OpenAI itself (and Azure), the OpenAI-API servers known to have
    // the Responses API.
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
        if (!caller_api) {
          next_candidate("speaks the other wire API");
          continue;
        }
        translate_to = upstream_api;
      }
    }
    // Translated once per candidate (a retry or a wait comes back here).
    if (translate_to && !responses.unknown_id.empty()) {
      // Only a Responses provider may know an id sluice does not.
      translation_error =
          responses.lookup_failed
              ? "previous_response_id '" + responses.unknown_id +
                    "': the state store could not be read (see the gateway's log), and " + label +
                    " speaks the " + std::string(translate::to_string(*translate_to)) +
                    " API, which has no stored responses"
              : "Previous response with id '" + responses.unknown_id +
                    "' not found: sluice keeps the conversations of turns it served "
                    "(state.conversations), and " +
                    label + " speaks the " + std::string(translate::to_string(*translate_to)) +
                    " API, which has no stored responses";
      refusal_code = responses.lookup_failed ? "state_unavailable" : "previous_response_not_found";
      next_candidate("unknown previous_response_id");
      continue;
    }
    if (translate_to && translated_idx != idx) {
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
        translation_error = tr.error;
        next_candidate("cannot translate: " + tr.error);
        continue;
      }
      if (req.strict_translation && !tr.ok->dropped.empty()) {
        translation_error = "translation: strict, and " + label + " (the " +
                            std::string(translate::to_string(*translate_to)) +
                            " API) cannot carry: " + join(tr.ok->dropped);
        next_candidate("strict translation would drop " + join(tr.ok->dropped));
        continue;
      }
      translated_idx = idx;
      translated_body = std::move(tr.ok->body);
      dropped = std::move(tr.ok->dropped);
      translation = std::move(tr.context);
    } else if (!translate_to) {
      translation.reset();
      dropped.clear();
    }
    TimePoint now = clock.now();
    if (req.deadline && now >= *req.deadline) break;

    // 1. A key that is not cooling, by the pool's strategy.
    auto sel = policy::select_key(std::move(p.pool), p.cfg->strategy, now, rng);
    p.pool = std::move(sel.next);
    save_cursor(p);
    if (!sel.index) {
      const auto free = policy::next_available_at(p.pool, now);
      // The last candidate whose key cools down within max_wait (a 429's
      // reset, seconds away) is waited for, like a spent budget: nothing
      // else could serve the request sooner.
      const bool last_candidate = idx + 1 == req.route.size();
      if (last_candidate && free && *free - now <= p.cfg->max_wait - throttled_on_candidate &&
          (!req.deadline || *free <= *req.deadline)) {
        if (throttled_on_candidate == Duration::zero()) metrics.throttle_wait();
        const TimePoint wake_at = *free + wake_delay(req.priority);
        co_await timers.sleep_until(wake_at);
        throttled_on_candidate += clock.now() - now;
        waited += clock.now() - now;
        continue;
      }
      if (free && (!earliest_free || *free < *earliest_free)) earliest_free = free;
      next_candidate("every key is cooling");
      continue;
    }
    const std::size_t key_index = *sel.index;
    const config::ApiKey* api_key = p.cfg->keyless ? nullptr : &p.cfg->keys[key_index];
    UpstreamKeyState& key_state = registry.key(p.cfg->base_url, p.pool.keys[key_index].fingerprint);
    ModelBudget& mb = key_state.budgets[target.upstream_model];

    // 2. The provider's own budget, as its headers last said.
    policy::ThrottleInput ti = throttle_input(p, mb, now, est_in, est_out);
    ti.max_wait = std::max(Duration::zero(), p.cfg->max_wait - throttled_on_candidate);
    ti.deadline = req.deadline;
    const policy::ThrottleDecision td = policy::decide_throttle(ti);
    if (td.kind == policy::ThrottleDecision::Kind::kNotBefore) {
      metrics.throttle_wait();  // routed around a spent budget
      if (!earliest_free || td.until < *earliest_free) earliest_free = td.until;
      next_candidate("budget " + td.bucket + " is spent until its reset");
      continue;
    }
    if (td.kind == policy::ThrottleDecision::Kind::kWait) {
      // Delayed instead of sent into a spent budget. Everyone waiting for
      // the same reset wakes together, so look again rather than go:
      // the first to wake may have spent the new window already. Background
      // requests wake a moment later, so interactive ones waiting for the
      // same reset go first.
      if (throttled_on_candidate == Duration::zero()) metrics.throttle_wait();
      const TimePoint wake_at = td.until + wake_delay(req.priority);
      co_await timers.sleep_until(wake_at);
      throttled_on_candidate += clock.now() - now;
      waited += clock.now() - now;
      continue;  // the same candidate again, with what the wait changed
    }

    // 3. A concurrency slot on this key, interactive before background.
    policy::PriorityLimiter& limiter = limiter_for(key_state, p, target.upstream_model);
    Duration queue_timeout = req.queue_timeout;
    if (req.deadline) queue_timeout = std::min(queue_timeout, *req.deadline - now);
    const TimePoint before_queue = clock.now();
    // A free slot is taken here: the waiting coroutine (a frame of its
    // own) is made only when the request must queue.
    std::optional<policy::Permit> permit = limiter.try_acquire(req.priority);
    if (!permit) permit = co_await acquire(limiter, req.priority, queue_timeout);
    queued += clock.now() - before_queue;
    metrics.queue_wait(to_seconds(clock.now() - before_queue));
    if (!permit) {
      const TimePoint retry_at = clock.now() + std::chrono::seconds(1);
      if (!earliest_free || retry_at < *earliest_free) earliest_free = retry_at;
      next_candidate("no concurrency slot within the queue timeout");
      continue;
    }
    if (clock.now() > now) {
      // The budget was judged before the queue; replies that came in while
      // this request waited for its slot may have spent it.
      ti = refreshed(ti, mb, clock.now());
      if (policy::decide_throttle(ti).kind != policy::ThrottleDecision::Kind::kSendNow) {
        permit.reset();
        continue;  // the same candidate again: it will wait, or move on
      }
    }

    // 3b. Redis mode: the slot must be free across every instance too, and
    // the budget is the one all instances spend together. The local permit
    // is kept while waiting, so local priority order still holds.
    SharedLease lease{coordinator};
    if (coordinator) {
      lease.request.key_scope = key_scope(p, p.pool.keys[key_index].fingerprint);
      lease.request.bucket = p.cfg->limiter_bucket(target.upstream_model);
      lease.request.model = target.upstream_model;
      lease.request.limit = limiter.limit();
      lease.request.tokens = est_in + est_out;
      const TimePoint give_up = before_queue + queue_timeout;
      const TimePoint lease_wait_from = clock.now();
      const state::Admission admission = co_await admit_shared(lease, give_up);
      queued += clock.now() - lease_wait_from;
      if (admission.kind == state::Admission::Kind::kBusy) {
        permit.reset();
        const TimePoint retry_at = clock.now() + std::chrono::seconds(1);
        if (!earliest_free || retry_at < *earliest_free) earliest_free = retry_at;
        next_candidate("no concurrency slot across instances within the queue timeout");
        continue;
      }
      lease.id = admission.lease_id;  // empty when Redis is away: local limits only
      const auto& shared = admission.budget;
      const bool newer =
          shared.snapshot && (!mb.snapshot || shared.snapshot->taken_at >= mb.snapshot->taken_at);
      if (!lease.id.empty() && newer) {
        policy::ThrottleInput si = ti;
        si.snapshot = &*shared.snapshot;
        si.unaccounted_requests = shared.sent_requests;
        si.unaccounted_tokens = shared.sent_tokens;
        si.now = clock.now();
        const policy::ThrottleDecision sd = policy::decide_throttle(si);
        if (sd.kind != policy::ThrottleDecision::Kind::kSendNow) {
          lease.release(true);  // not sent: uncount it
          permit.reset();
          metrics.throttle_wait();
          if (sd.kind == policy::ThrottleDecision::Kind::kNotBefore) {
            if (!earliest_free || sd.until < *earliest_free) earliest_free = sd.until;
            next_candidate("shared budget " + sd.bucket + " is spent until its reset");
            continue;
          }
          co_await timers.sleep_until(sd.until);
          waited += clock.now() - si.now;
          continue;  // the same candidate again, with what the wait changed
        }
      }
    }

    // 4. Send.
    ++attempts_total;
    ++attempts_on_candidate;
    const std::int64_t own_tokens = est_in + est_out;
    ++mb.in_flight;
    mb.in_flight_tokens += own_tokens;
    ++mb.unaccounted_requests;
    mb.unaccounted_tokens += own_tokens;
    const int in_flight_at_send = limiter.in_flight();
    struct InFlight {
      ModelBudget& b;
      std::int64_t tokens;
      ~InFlight() {
        --b.in_flight;
        b.in_flight_tokens -= tokens;
      }
    } in_flight_guard{mb, own_tokens};

    // Views of bytes this frame keeps (a retry sends them again), with the
    // upstream model spliced in between: the body itself is never copied.
    ports::OutgoingBody body;
    const auto spliced = [&](const providers::SplicedBody& s) {
      body.before = s.before;
      body.middle = s.middle;
      body.after = s.after;
    };
    if (translate_to) {
      body.before = translated_body;
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
    // Named, not temporaries inside co_await (g++ 12, docs/decisions/0005).
    const std::string upstream_path =
        translate_to ? std::string(translate::path_of(*translate_to)) : req.path;
    HeaderList upstream_head = upstream_headers(req, p, api_key, translate_to.has_value());
    const TimePoint sent_at = clock.now();
    ports::SendResult sent = co_await p.upstream->send(req.method, upstream_path,
                                                       std::move(upstream_head), std::move(body));

    // 5. Classify what came back, once.
    policy::UpstreamOutcome outcome;
    outcome.dialect = p.cfg->dialect;
    outcome.now = clock.now();
    outcome.request = {.tokens = est_in, .messages = static_cast<std::int64_t>(req.facts.messages)};
    HeaderView resp_headers;  // into sent.response, which lives to the end of this attempt
    std::string resp_body;
    bool streaming = false;
    if (!sent.response) {
      outcome.transport = transport_failure_of(sent.failure);
    } else {
      outcome.status = sent.response->status();
      resp_headers = sent.response->headers();
      streaming = sent.response->status() == 200 &&
                  icontains(resp_headers.get("content-type").value_or(""), "text/event-stream");
      // Read a whole error or non-streaming body; for a stream, only until
      // its first data event, which is where an in-band error would be.
      while (true) {
        if (streaming && providers::has_data_event(resp_body)) break;
        if (streaming && resp_body.size() > kMaxStreamProbe) break;
        if (!streaming && sent.response->status() >= 300 && resp_body.size() > kMaxErrorBody) break;
        if (!streaming && resp_body.size() > kMaxBufferedBody) break;
        // What arrived with the head first: the usual reply is whole by
        // now, and taking it needs no coroutine.
        auto piece = sent.response->take_buffered();
        if (!piece && sent.response->complete()) break;
        if (!piece) piece = co_await sent.response->next();
        if (!piece) break;
        if (resp_body.empty()) {
          resp_body = std::move(*piece);  // usually the whole body: no copy
        } else {
          resp_body += *piece;
        }
      }
      if (!sent.response->complete()) {
        outcome.transport = transport_failure_of(sent.response->failure());
      }
      if (streaming) {
        outcome.stream = policy::StreamState{.first_byte_sent = false,
                                             .terminal_seen = true,  // judged after relay
                                             .data_seen = true};
      }
    }
    waited += clock.now() - sent_at;  // the provider's time, to its head and first events
    outcome.headers = resp_headers;
    outcome.body = resp_body;
    policy::Classification c = policy::classify(outcome, rules);
    if (streaming && !c.ok && outcome.transport == policy::TransportFailure::kNone) {
      // The probe saw a stream whose first events were clean: keep relaying.
      const auto parsed = policy::parse_error_body(resp_body);
      if (!parsed.has_error) c.ok = true;
    }
    capture_budget(mb, c.ratelimit, own_tokens);
    if (coordinator && !lease.id.empty() && !c.ratelimit.buckets.empty()) {
      coordinator->share_snapshot(lease.request, c.ratelimit);
    }
    {
      const std::string_view cls_name = c.ok ? std::string_view("OK") : to_string(c.cls);
      metrics.upstream_attempt(p.cfg->name, cls_name, to_seconds(clock.now() - sent_at));
    }

    const Attempt attempt{
        p, key_index, key_state, limiter, target.upstream_model, in_flight_at_send};
    if (c.ok) {
      learn_success(attempt);

      HeaderList out;
      out.reserve(256, resp_headers.fields().size() + 4);  // + sluice's own, below
      for (const auto& f : resp_headers.fields()) {
        // A translated whole answer is JSON of the caller's API, whatever
        // the provider's content-type said.
        if (translation && !streaming && iequals(f.name, "content-type")) continue;
        if (!hop_by_hop(f.name)) out.add(f.name, f.value);
      }
      if (translation && !streaming) out.add("content-type", "application/json");
      out.add("x-sluice-route", label);
      out.add("x-sluice-attempts", std::to_string(attempts_total));
      out.add(
          "x-sluice-queue-ms",
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(queued).count()));
      if (idx > 0) {
        out.add("x-sluice-fallback", std::to_string(idx) + "/" + std::to_string(req.route.size()));
      }
      if (translation && !streaming) {
        // The whole answer is needed to translate it.
        bool whole = true;
        const TimePoint reading_from = clock.now();
        while (!sent.response->complete()) {
          auto piece = co_await sent.response->next();
          if (!piece) {
            whole = sent.response->complete();
            break;
          }
          resp_body += *piece;
        }
        waited += clock.now() - reading_from;
        if (!whole) {
          std::string code = "stream_drop";
          end(Ending::kStreamDrop, label, "the provider cut a translated answer short");
          std::string msg = "upstream " + label + " cut its answer short";
          HeaderList none;
          co_await reply_error(w, req, 502, std::move(code), std::move(msg), std::nullopt, true,
                               std::move(none));
          co_return;
        }
        translate::Translated answer = translate::translate_response(*translation, resp_body);
        for (auto& d : answer.dropped) {
          if (std::find(dropped.begin(), dropped.end(), d) == dropped.end()) dropped.push_back(d);
        }
        resp_body = std::move(answer.body);
      }
      out.add("server-timing", server_timing(clock.now() - started, queued, waited));
      if (translation) {
        // After a whole answer's translation, so what it dropped is named too.
        out.add("x-sluice-translated",
                std::string(translate::to_string(translation->caller)) + "->" +
                    std::string(translate::to_string(translation->upstream)));
        if (!dropped.empty()) out.add("x-sluice-translation-dropped", join(dropped));
      }
      if (!streaming && !sent.response->complete() && !translation) {
        const Relayed relayed = co_await relay_large_body(w, *sent.response, *outcome.status, out,
                                                          std::move(resp_body));
        // The client's own hang-up is logged as such, never as the provider's.
        switch (relayed) {
          case Relayed::kWhole: end(Ending::kOk, label, "large body relayed"); break;
          case Relayed::kClientGone:
            end(Ending::kClientGone, label, "the client left during a large body");
            break;
          case Relayed::kCutShort:
            end(Ending::kStreamDrop, label,
                "the provider cut a large body short: " + sent.response->failure_message());
            break;
        }
        if (idx > 0) served_by_fallback(req, label, skipped);
        co_return;
      }
      if (!streaming) {
        keep_turn(req, responses, translation.has_value(), p, resp_body);
        if (!co_await w.send(*outcome.status, out, std::move(resp_body))) {
          end(Ending::kClientGone, label, "the client left before the answer was written");
          co_return;
        }
        std::string detail = idx > 0 ? "fallback: " + join(skipped) : std::string();
        detail += translation_note(translation, dropped);
        if (detail.starts_with("; ")) detail.erase(0, 2);
        end(Ending::kOk, label, std::move(detail));
        if (idx > 0) served_by_fallback(req, label, skipped);
        co_return;
      }
      if (idx > 0) served_by_fallback(req, label, skipped);
      // Relay the stream as it arrives; from here on nothing can be retried.
      if (!co_await w.begin_stream(200, out)) {
        end(Ending::kClientGone, label, "the client left before the stream began");
        co_return;
      }
      providers::TerminalWatch watch;
      // Translated streams go through their translator; the watch sees
      // what the client sees (its API's terminal and error events).
      std::unique_ptr<translate::StreamTranslator> translator;
      if (translation) translator = translate::make_stream_translator(*translation);
      if (translator) resp_body = translator->feed(resp_body);
      watch.feed(resp_body);
      // A kept Responses turn needs the stream's final response object.
      std::optional<translate::FinalResponseCatcher> final_response;
      if (responses.keep) final_response.emplace().feed(resp_body);
      if (!co_await w.write_chunk(resp_body)) {
        end(Ending::kClientGone, label, "the client left mid-stream");
        co_return;
      }
      while (auto piece = co_await sent.response->next()) {
        std::string translated;
        if (translator) translated = translator->feed(*piece);
        const std::string_view bytes = translator ? std::string_view(translated) : *piece;
        watch.feed(bytes);
        if (final_response) final_response->feed(bytes);
        if (!co_await w.write_chunk(bytes)) {  // the client left; drop upstream
          end(Ending::kClientGone, label, "the client left mid-stream");
          co_return;
        }
      }
      if (translator && sent.response->complete()) {
        const std::string tail = translator->finish();
        watch.feed(tail);
        if (final_response) final_response->feed(tail);
        if (!co_await w.write_chunk(tail)) {
          end(Ending::kClientGone, label, "the client left mid-stream");
          co_return;
        }
      }
      if (!watch.seen()) {
        const std::string ev = stream_error_event(
            req.api, req.path,
            "upstream " + label + " ended the stream without its terminal event");
        co_await w.write_chunk(ev);  // a client gone by now changes nothing here
        end(Ending::kStreamDrop, label, "after first byte");
      } else if (watch.error()) {
        // Nothing can be retried once bytes reached the client: it has the
        // provider's error event and a cleanly ended stream.
        end(Ending::kStreamDrop, label, "in-band error after first byte");
      } else {
        if (final_response) final_response->finish();
        if (final_response && final_response->response()) {
          keep_turn(req, responses, translation.has_value(), p, *final_response->response());
        }
        end(Ending::kOk, label,
            (idx > 0 ? "fallback stream: " + join(skipped) : std::string("stream")) +
                translation_note(translation, dropped));
      }
      co_await w.end_stream();
      co_return;
    }

    // 6. A failure: bench or slow the key as the class says, then decide.
    const policy::ClassTraits& traits = c.traits;
    learn_failure(req.alias, attempt, c);
    LogLine("warn", "upstream_failure")
        .kv("route", label)
        .kv("key", p.pool.keys[key_index].fingerprint)
        .kv("class", to_string(c.cls))
        .kv("rule", c.rule);
    failures.push_back(label + ":" + std::string(to_string(c.cls)));
    last = LastFailure{c, label};
    permit.reset();  // free the slot before any wait
    lease.release(false);
    // A concurrency 429 means we sent too many at once, not that the
    // provider failed: with the limit now lower, queue for a slot again
    // without spending a retry (bounded, should the cap be 0 in effect).
    if (traits.lower_limit && requeues < kMaxRequeues) {
      ++requeues;
      --attempts_on_candidate;
      metrics.retry();
      continue;
    }

    const TimePoint decided_at = clock.now();
    const auto pool_free = policy::next_available_at(p.pool, decided_at);
    const bool can_rotate = traits.rotate_key && pool_free && *pool_free <= decided_at;
    policy::RetryInput ri;
    ri.retryable = traits.retryable;
    ri.fallback_allowed = traits.fallback;
    ri.wait_hint = c.wait;
    ri.attempts_total = attempts_total;
    ri.attempts_on_candidate = attempts_on_candidate;
    ri.has_next_candidate = idx + 1 < req.route.size();
    ri.now = decided_at;
    ri.deadline = req.deadline;
    ri.other_key_ready = can_rotate;
    const policy::RetryDecision d = policy::decide_retry(ri, config.retry.policy, budget, rng);
    if (std::holds_alternative<policy::Stop>(d)) break;
    if (std::holds_alternative<policy::NextCandidate>(d)) {
      next_candidate(std::string(to_string(c.cls)));
      continue;
    }
    metrics.retry();
    if (const auto* after = std::get_if<policy::RetryAfter>(&d)) {
      const TimePoint before_wait = clock.now();
      const TimePoint retry_at = before_wait + after->wait;
      co_await timers.sleep_until(retry_at);
      waited += clock.now() - before_wait;
    }  // RotateKey: at once, with the key the pool picks next
  }

  // Nothing served: answer honestly, in the caller's format.
  std::optional<Duration> retry_after;
  if (earliest_free)
    retry_after = std::max(*earliest_free - clock.now(), Duration(std::chrono::milliseconds(1)));
  HeaderList extra;
  extra.add("x-sluice-attempts", std::to_string(attempts_total));
  const std::string why = join(skipped);
  if (last) {
    const auto& c = last->cls;
    const int status = c.traits.client_status;
    std::optional<Duration> ra = c.wait ? c.wait : retry_after;
    std::string msg = "upstream " + last->where + " failed: " + std::string(to_string(c.cls));
    if (c.cls != ErrorClass::kAuth && c.cls != ErrorClass::kAuthPermanent && !c.message.empty()) {
      msg += ": " + c.message;
    }
    if (!why.empty()) msg += " (" + why + ")";
    end(Ending::kUpstreamError, last->where, why, c.cls);
    co_await reply_error(w, req, status, ascii_lower(to_string(c.cls)), msg, ra, c.traits.retryable,
                         std::move(extra));
    co_return;
  }
  if (!translation_error.empty() && attempts_total == 0 && !earliest_free) {
    // Nothing was tried because the request cannot be put in a candidate's
    // API: the caller's to fix, so not retryable — unless sluice's own state
    // store could not be read, which is sluice's trouble, not the caller's.
    end(Ending::kRefused, "-", why);
    const bool ours = responses.lookup_failed;
    const std::optional<Duration> come_back =
        ours ? std::optional<Duration>(std::chrono::seconds(1)) : std::nullopt;
    co_await reply_error(w, req, ours ? 503 : 400, std::move(refusal_code), translation_error,
                         come_back, ours, std::move(extra));
    co_return;
  }
  const std::string msg = "no route candidate for \"" + req.alias + "\" can take a request now" +
                          (why.empty() ? std::string() : " (" + why + ")");
  end(Ending::kRefused, "-", why);
  // Named, not a literal inside co_await (g++ 12, docs/decisions/0005).
  std::string code = "sluice_capacity";
  const Duration wait = retry_after.value_or(std::chrono::seconds(1));
  co_await reply_error(w, req, 429, std::move(code), msg, wait, true, std::move(extra));
}

auto RequestEngine::Impl::relay_large_body(ports::ResponseWriter& w,
                                           ports::UpstreamResponse& upstream, int status,
                                           const HeaderList& headers, std::string held)
    -> awaitable<Relayed> {
  if (!co_await w.begin_stream(status, headers) || !co_await w.write_chunk(held)) {
    co_return Relayed::kClientGone;
  }
  held = std::string();  // give the memory back before the rest arrives
  while (auto piece = co_await upstream.next()) {
    if (!co_await w.write_chunk(*piece)) co_return Relayed::kClientGone;
  }
  if (!upstream.complete()) {
    w.abort();
    co_return Relayed::kCutShort;
  }
  co_await w.end_stream();
  co_return Relayed::kWhole;
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

auto RequestEngine::Impl::end_request(const FrontRequest& req, const Tally& tally,
                                      const RequestEnd& e) -> void {
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
      .kv("attempts", tally.attempts)
      .kv("outcome", log_outcome)
      .kv("queue_ms", ms(tally.queued))
      .kv("total_ms", ms(clock.now() - tally.started));
  if (!tally.failures.empty()) line.kv("failures", join(tally.failures));
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
