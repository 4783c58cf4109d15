#pragma once
// Translation between the three APIs agents speak: OpenAI Chat Completions,
// Anthropic Messages and OpenAI Responses. Pure functions over JSON text and
// SSE bytes: no I/O, no clocks (ids and times come in through the context).
//
// Chat Completions is the pivot: Messages and Responses requests become Chat
// requests and back, and a Responses caller in front of a Messages upstream
// goes through both steps (responses -> chat -> messages, and the answer
// messages -> chat -> responses). What a target cannot carry is dropped and
// named in `dropped` (dotted paths), for the x-sluice-translation-dropped
// header, the log, and `translation: strict`, which refuses instead.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::translate {

enum class Api : std::uint8_t { kChat, kMessages, kResponses };

std::string_view to_string(Api api);  // "chat", "messages", "responses"
// The API a front-door path speaks; nullopt for paths that do not translate
// (embeddings, legacy completions, count_tokens).
std::optional<Api> api_of_path(std::string_view path);
// The path of an API under a base URL's version ("/v1/chat/completions", …).
std::string_view path_of(Api api);

// What a request translation learned that its answer needs to map back:
// shortened tool names, the caller's model name.
struct Context {
  Api caller = Api::kChat;
  Api upstream = Api::kChat;
  std::string caller_model;  // the model the caller asked for (echoed in answers)
  bool stream = false;
  // Tool names longer than a target allows, shortened: {short, original}.
  std::vector<std::pair<std::string, std::string>> tool_names;
  std::string response_id;   // for Responses answers: "resp_…" (from the caller of translate)
  std::int64_t created = 0;  // unix seconds, for Chat and Responses answers
  // What a Responses answer says of its state (translate/responses_state.hpp).
  std::string previous_response_id;
  bool stored = false;
};

struct RequestOptions {
  std::string upstream_model;
  // Anthropic requires max_tokens; used when the caller sent none.
  std::int64_t default_max_tokens = 4096;
  std::string response_id;  // see Context
  std::int64_t created = 0;
  std::string previous_response_id;  // see Context
  bool stored = false;
};

struct Translated {
  std::string body;
  std::vector<std::string> dropped;  // what the target could not carry
};

struct RequestResult {
  std::optional<Translated> ok;
  std::string error;  // set when the request cannot be translated (a 400 to the caller)
  Context context;
};

RequestResult translate_request(Api from, Api to, std::string_view body,
                                const RequestOptions& options);

// A whole (non-streamed) successful answer from the upstream, in the caller's API.
Translated translate_response(const Context& context, std::string_view body);

// A streamed answer: feed the upstream's SSE bytes as they come (any split);
// each call returns the caller's SSE bytes ready so far. finish() closes what
// a stream that ended cleanly left open (never invents a terminal event for a
// stream cut short: the caller must see that as an error).
class StreamTranslator {
 public:
  virtual ~StreamTranslator() = default;
  virtual std::string feed(std::string_view bytes) = 0;
  virtual std::string finish() = 0;
};

std::unique_ptr<StreamTranslator> make_stream_translator(const Context& context);

// Tool-call ids in the characters Anthropic accepts ([A-Za-z0-9_-]), reversibly:
// an id made of those passes as it is; any other becomes "sluice_" and its
// bytes in hex (Kimi's "functions.get_weather:0"), and decodes back.
std::string encode_tool_id(std::string_view id);
std::string decode_tool_id(std::string_view id);

}  // namespace sluice::translate
