#pragma once
// Successful answers in each wire format: OpenAI chat/completions/embeddings/
// models, Anthropic messages/count_tokens/models, and their SSE streams with
// usage in the final event (providers.md §20).
#include <cstdint>
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

  std::int64_t completion_tokens() const { return static_cast<std::int64_t>(pieces.size()); }
  std::string text() const;
};

// "This is a simulated answer from <provider>.", cut to `max_tokens` pieces.
Generation make_generation(std::string_view provider_name, Endpoint endpoint, std::uint64_t seq,
                           const ParsedRequest& request, std::int64_t created);

std::string render_generation_body(Endpoint endpoint, const Generation& g);
std::string render_embeddings_body(const ParsedRequest& request);
std::string render_models_body(Dialect dialect, const std::vector<std::string>& models,
                               std::int64_t created);
std::string render_count_tokens_body(std::int64_t input_tokens);

struct StreamEvent {
  std::string data;    // exact bytes: "data: {…}\n\n" or "event: x\ndata: {…}\n\n"
  bool token = false;  // carries an output token (paced by ttft / per_token)
};

// The whole stream; its last event is the terminal one ([DONE] or message_stop).
// OpenAI-family streams always end with a usage chunk (choices: []) before
// [DONE], as with stream_options.include_usage; OpenRouter opens with its
// ": OPENROUTER PROCESSING" keep-alive comment.
std::vector<StreamEvent> render_generation_stream(Dialect dialect, Endpoint endpoint,
                                                  const Generation& g);

}  // namespace sluice::sim
