// A served answer, to the client (whole, large, or streamed), and error answers.
#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

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

  const std::string ok_detail =
      (relay.by_fallback ? "fallback stream: " + join(run.skipped()) : std::string("stream")) +
      translation_note(context, dropped);
  co_return co_await relay_stream(req, w, responses, p, label, out, response, body, context,
                                  ok_detail);
}

// A stream as it arrives: translated when the candidate speaks another API,
// watched for its terminal event, kept when it is a Responses turn to keep.
auto RequestEngine::Impl::relay_stream(FrontRequest& req, ports::ResponseWriter& w,
                                       const ResponsesState& responses, const ProviderRuntime& p,
                                       const std::string& label, const HeaderList& out,
                                       ports::UpstreamResponse& response, std::string& first,
                                       const std::optional<translate::Context>& context,
                                       const std::string& ok_detail) -> awaitable<policy::Relayed> {
  using policy::Ending;
  using policy::Relayed;
  std::string& body = first;
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
    ended.detail = ok_detail;
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

}  // namespace sluice::engine
