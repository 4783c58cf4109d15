// One attempt: what is sent (body and headers) and what came back, classified once.
#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

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

}  // namespace sluice::engine
