#pragma once
// What is publicly known about well-known upstream models, for model
// discovery (`GET /v1/models` answers with a context length so agents such as
// Hermes need not guess). Pure lookups; an operator's `context_length` on an
// alias always wins over this table.
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::providers {

// The context window in tokens of `model` (an upstream id such as
// "gpt-4o-mini", "claude-sonnet-4-5-20250929", "glm-4.6", "moonshotai/kimi-k2"),
// matched by family prefix after any "vendor/" part, ASCII case-insensitively;
// nullopt for models it does not know.
std::optional<std::int64_t> known_context_length(std::string_view model);

// max_tokens for a request that set none going to an API that requires it
// (Anthropic Messages): the model's published maximum output, at most
// kDefaultOutputCap, and kDefaultOutputCap for models this table does not
// know. Capped because Anthropic counts max_tokens against the output-tokens
// rate limit when a request starts (8,000 per minute at its first tier): a
// model's maximum (64,000) could never be admitted there, and 4,096 leaves
// room for a second request in the same minute.
inline constexpr std::int64_t kDefaultOutputCap = 4096;
std::int64_t default_output_tokens(std::string_view model);

}  // namespace sluice::providers
