// libFuzzer target: API translation. Byte 0 picks the caller and upstream
// APIs and where a stream is cut; the rest is a request body, and the same
// bytes are fed as an answer and as an SSE stream. Nothing may throw or
// crash; a stream fed in two pieces must translate exactly as fed whole; a
// translated request is always a JSON object; the Responses-state helpers
// take the same bytes as a request, a kept conversation and a stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sluice/translate/responses_state.hpp"
#include "sluice/translate/translate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace t = sluice::translate;
  if (size == 0) return 0;
  constexpr t::Api kApis[] = {t::Api::kChat, t::Api::kMessages, t::Api::kResponses};
  const t::Api from = kApis[data[0] % 3];
  const t::Api to = kApis[(data[0] / 3) % 3];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  t::RequestOptions opt;
  opt.upstream_model = "m";
  const t::RequestResult r = t::translate_request(from, to, bytes, opt);
  if (r.ok && !nlohmann::json::parse(r.ok->body, nullptr, false).is_object()) std::abort();
  if (!r.ok && r.error.empty()) std::abort();  // a refusal always says why

  t::Context ctx;
  ctx.caller = from;
  ctx.upstream = to;
  (void)t::translate_response(ctx, bytes);

  const std::size_t cut = bytes.empty() ? 0 : (data[0] * 7u) % (bytes.size() + 1);
  auto whole = t::make_stream_translator(ctx);
  std::string a = whole->feed(bytes);
  a += whole->finish();
  auto split = t::make_stream_translator(ctx);
  std::string b = split->feed(bytes.substr(0, cut));
  b += split->feed(bytes.substr(cut));
  b += split->finish();
  if (a != b) std::abort();

  // Responses state: the same bytes as request, conversation and stream.
  if (auto c = t::continue_conversation(bytes, {std::string(bytes)})) {
    if (!nlohmann::json::parse(*c, nullptr, false).is_object()) std::abort();
  }
  (void)t::record_turn(bytes, bytes, t::KeptTurn{});
  (void)t::parse_kept(bytes);
  t::FinalResponseCatcher catch_whole, catch_split;
  catch_whole.feed(bytes);
  catch_split.feed(bytes.substr(0, cut));
  catch_split.feed(bytes.substr(cut));
  catch_whole.finish();
  catch_split.finish();
  if (catch_whole.response() != catch_split.response()) std::abort();
  return 0;
}
