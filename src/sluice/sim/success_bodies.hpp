#pragma once
// Successful answers in each wire format: OpenAI chat/completions/embeddings/
// models, Anthropic messages/count_tokens/models, and their SSE streams with
// usage in the final event (providers.md §20).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/dialect.hpp"
#include "sluice/sim/request_body.hpp"

namespace sluice::sim {

// One generated answer: a short deterministic text, one piece per token.
struct Generation {
  std::string id;  // "chatcmpl-sim-7", "cmpl-sim-7", "msg_sim_7"
  std::string model;
  std::int64_t created = 0;  // unix seconds
  std::int64_t prompt_tokens = 0;
  std::vector<std::string> pieces;
  bool truncated = false;  // max_tokens cut it short: "length" / "max_tokens"
  // Set when the answer is a tool call; `pieces` then split its arguments.
  std::optional<ToolCall> tool_call;
  std::string call_id;  // "call_sim_7" (OpenAI) / "toolu_sim_7" (Anthropic)

  std::int64_t completion_tokens() const { return static_cast<std::int64_t>(pieces.size()); }
  std::string text() const;
};

// "This is a simulated answer from <provider>." (7 tokens; `answer_tokens`
// makes it longer, the sentence again and again), cut to `max_tokens`
// pieces; or, when the request gets a tool call, its arguments in pieces of
// up to 8 bytes (never inside a UTF-8 character).
Generation make_generation(std::string_view provider_name, Endpoint endpoint, std::uint64_t seq,
                           const ParsedRequest& request, std::int64_t created,
                           std::int64_t answer_tokens = 7);

std::string render_generation_body(Endpoint endpoint, const Generation& g);
std::string render_embeddings_body(const ParsedRequest& request);
std::string render_models_body(Dialect dialect, const std::vector<std::string>& models,
                               std::int64_t created);
// GET …/models/{id}: one entry of the list above.
std::string render_model_body(Dialect dialect, std::string_view model, std::int64_t created);

// The Responses API's in-band failure (`response.failed`): what a stream
// fault looks like on that API, numbered after the `sequence_number` events
// sent before it. Nothing follows it.
std::vector<std::string> render_responses_failure(const Generation& g,
                                                  std::int64_t sequence_number);

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);
std::string render_count_tokens_body(std::int64_t input_tokens);

struct StreamEvent {
  std::string data;    // exact bytes: "data: {…}\n\n" or "event: x\ndata: {…}\n\n"
  bool token = false;  // carries an output token (paced by ttft / per_token)
};

// The whole stream; its last event is the terminal one ([DONE], message_stop,
// response.completed or, when max_output_tokens cut it, response.incomplete).
// OpenAI-family streams always end with a usage chunk (choices: []) before
// [DONE], as with stream_options.include_usage; OpenRouter opens with its
// ": OPENROUTER PROCESSING" keep-alive comment.
std::vector<StreamEvent> render_generation_stream(Dialect dialect, Endpoint endpoint,
                                                  const Generation& g);

}  // namespace sluice::sim
