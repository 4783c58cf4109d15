#include "sluice/providers/model_facts.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "sluice/core/text.hpp"

namespace sluice::providers {

namespace {

// Longest prefix first where families nest (gpt-4o before gpt-4, gpt-4.1
// before gpt-4). Figures are the providers' published context windows.
constexpr std::array<std::pair<std::string_view, std::int64_t>, 31> kContext = {{
    {"gpt-5", 400'000},
    {"gpt-4.1", 1'047'576},
    {"gpt-4o", 128'000},
    {"gpt-4-turbo", 128'000},
    {"gpt-4", 8'192},
    {"gpt-3.5-turbo", 16'385},
    {"o1", 200'000},
    {"o3", 200'000},
    {"o4-mini", 200'000},
    {"codex-mini", 200'000},
    {"claude-sonnet-4", 200'000},
    {"claude-opus-4", 200'000},
    {"claude-haiku-4", 200'000},
    {"claude-3", 200'000},
    {"glm-4.5", 128'000},
    {"glm-4.6", 200'000},
    {"glm-4.7", 200'000},
    {"glm-5", 200'000},
    {"kimi-k2", 256'000},
    {"moonshot-v1-128k", 128'000},
    {"moonshot-v1-32k", 32'768},
    {"moonshot-v1-8k", 8'192},
    {"deepseek-chat", 128'000},
    {"deepseek-reasoner", 128'000},
    {"gemini-2.5", 1'048'576},
    {"gemini-2.0", 1'048'576},
    {"llama-3.3-70b", 128'000},
    {"llama-3.1-8b", 128'000},
    {"mistral-large", 128'000},
    {"qwen3-coder", 262'144},
    {"grok-4", 256'000},
}};

// Published maximum output tokens, for the models whose APIs require
// max_tokens. Longest prefix wins, as above.
constexpr std::array<std::pair<std::string_view, std::int64_t>, 9> kMaxOutput = {{
    {"claude-sonnet-4", 64'000},
    {"claude-opus-4", 32'000},
    {"claude-opus-4-5", 64'000},
    {"claude-haiku-4", 64'000},
    {"claude-3-7-sonnet", 64'000},
    {"claude-3-5-sonnet", 8'192},
    {"claude-3-5-haiku", 8'192},
    {"claude-3-opus", 4'096},
    {"claude-3-haiku", 4'096},
}};

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace

namespace {

template <std::size_t N>
std::optional<std::int64_t> longest_prefix(
    std::string_view model, const std::array<std::pair<std::string_view, std::int64_t>, N>& table) {
  if (const auto slash = model.rfind('/'); slash != std::string_view::npos) {
    model = model.substr(slash + 1);  // "openai/gpt-4o" on OpenRouter
  }
  std::optional<std::int64_t> best;
  std::size_t best_len = 0;
  for (const auto& [prefix, tokens] : table) {
    if (prefix.size() > best_len && starts_with_ci(model, prefix)) {
      best = tokens;
      best_len = prefix.size();
    }
  }
  return best;
}

}  // namespace

std::optional<std::int64_t> known_context_length(std::string_view model) {
  return longest_prefix(model, kContext);
}

std::int64_t default_output_tokens(std::string_view model) {
  return std::min(longest_prefix(model, kMaxOutput).value_or(kDefaultOutputCap), kDefaultOutputCap);
}

}  // namespace sluice::providers
