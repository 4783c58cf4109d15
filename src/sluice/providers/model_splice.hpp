#pragma once
// The gateway forwards request bodies byte for byte, except the top-level
// "model" value, which becomes the chosen candidate's upstream model. The
// value is spliced in place, not re-serialised: key order, number formats,
// whitespace and unknown fields reach the provider exactly as the client
// wrote them. Never throws; malformed JSON is reported, not guessed at.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::providers {

struct BodyFacts {
  bool valid = false;
  std::string error;                 // why the body is not a JSON object, for a 400
  std::optional<std::string> model;  // the decoded top-level "model" string
  std::size_t model_begin = 0;       // byte range of the model value token, quotes included
  std::size_t model_end = 0;
  bool stream = false;                     // top-level "stream": true
  std::optional<std::int64_t> max_tokens;  // max_tokens / max_completion_tokens / max_output_tokens
  // Bytes of prompt text (message contents, prompt, input, system) as written:
  // an escape counts as its bytes in the body, not as what it stands for.
  std::size_t text_bytes = 0;
  std::size_t messages = 0;  // entries of "messages" (or "input" items)
  // The Responses API's state fields: a conversation to continue, and
  // whether this turn is to be kept (`store` defaults to true).
  std::optional<std::string> previous_response_id;
  bool store = true;
};

// Inspects a front-door request body (OpenAI or Anthropic JSON).
// `allocated`: the bytes readable from body.data() (a string's capacity);
// with kBodyPadding to spare past the body, it is parsed where it lies,
// else copied into a padded buffer first.
BodyFacts inspect_body(std::string_view body, std::size_t allocated = 0);

// The body with its top-level model value replaced by `model` (JSON-escaped).
// When the body has no model field, it is added as the first member.
std::string splice_model(std::string_view body, const BodyFacts& facts, std::string_view model);

// The same splice as three pieces to write back to back — views of `body`
// around the new bytes — so a large body is sent without being copied.
struct SplicedBody {
  std::string_view before;
  std::string middle;
  std::string_view after;
};
SplicedBody splice_model_pieces(std::string_view body, const BodyFacts& facts,
                                std::string_view model);

// Prompt tokens estimated from text bytes: ceil(bytes / 4), at least 1.
std::int64_t estimate_prompt_tokens(std::size_t text_bytes);

}  // namespace sluice::providers
