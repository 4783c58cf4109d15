#pragma once
// What the simulator needs from a request body: the model, whether to
// stream, and the token cost it charges against the key's budget. Never
// throws: malformed input comes back as a BadRequest the dialect words.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "sluice/sim/tool_calls.hpp"

namespace sluice::sim {

enum class Endpoint : std::uint8_t {
  kChatCompletions,  // POST …/chat/completions
  kCompletions,      // POST …/completions
  kEmbeddings,       // POST …/embeddings
  kModels,           // GET …/models
  kMessages,         // POST /v1/messages (Anthropic)
  kCountTokens,      // POST /v1/messages/count_tokens (Anthropic)
  kResponses,        // POST …/responses (OpenAI Responses API)
  kModel,            // GET …/models/{id}
};

// Generation endpoints produce text (and may stream).
bool generates_text(Endpoint e);
// Endpoints that spend the key's budget; listing models and counting tokens are free.
bool is_rate_limited(Endpoint e);

// Completion budget when the request names none.
inline constexpr std::int64_t kDefaultMaxTokens = 256;

struct ParsedRequest {
  std::string model;
  bool stream = false;
  std::int64_t prompt_tokens = 1;  // estimated from the text
  std::int64_t max_tokens = 0;     // reserved output tokens; 0 when nothing is generated
  std::size_t inputs = 1;          // embeddings: how many vectors to return
  std::uint64_t text_hash = 0;     // fingerprint of the text, seeds embedding values
  bool base64_embeddings = false;  // embeddings: encoding_format "base64"
  // Set when the request offers tools and its last turn is not a tool
  // result: the sim answers by calling this one instead of with text.
  std::optional<ToolCall> tool_call;

  // What the request costs the key's token window: prompt + reserved output,
  // charged up front (as Azure and Anthropic's OTPM estimate do).
  std::int64_t cost() const { return prompt_tokens + max_tokens; }
};

struct BadRequest {
  enum class Why : std::uint8_t {
    kInvalidJson,   // not JSON at all
    kNotAnObject,   // JSON, but not an object
    kMissing,       // a required parameter is absent
    kInvalidType,   // a parameter has the wrong type
    kInvalidValue,  // right type, impossible value (max_tokens: 0, messages: [])
  };
  Why why = Why::kInvalidJson;
  std::string param;  // "model", "messages", "max_tokens", …; empty for kInvalidJson
};

// `implied_model` stands in for a missing "model" (Azure deployment routes
// name the model in the path).
std::variant<ParsedRequest, BadRequest> parse_request(Endpoint endpoint, std::string_view body,
                                                      std::string_view implied_model = {});

// Prompt tokens from text size: ceil(bytes / 4), at least 1. Bytes, not
// characters: 4 bytes is ~1 token of English, and a CJK character (3 bytes)
// is ~0.75 of one, close to what real tokenizers give.
std::int64_t estimate_prompt_tokens(std::size_t text_bytes);

}  // namespace sluice::sim
