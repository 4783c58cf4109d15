#pragma once
// Provider dialects: how a provider spells its rate-limit headers and error
// bodies. The wire API (OpenAI or Anthropic JSON) is a separate setting; many
// dialects speak the OpenAI wire format with their own headers and codes.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

enum class Dialect : std::uint8_t {
  kGeneric,  // unknown OpenAI-compatible server: parse everything, assume nothing
  kOpenAI,
  kAzure,
  kAnthropic,
  kOpenRouter,
  kGroq,
  kZai,
  kKimi,
  kGemini,
  kDeepSeek,
  kMistral,
  kCerebras,
  kTogether,
  kFireworks,
  kXai,
  kNous,
  kVllm,
  kLlamaCpp,
  kOllama,
};
// Every dialect, in order.
inline constexpr std::array kDialects = {
    Dialect::kGeneric,    Dialect::kOpenAI,    Dialect::kAzure,   Dialect::kAnthropic,
    Dialect::kOpenRouter, Dialect::kGroq,      Dialect::kZai,     Dialect::kKimi,
    Dialect::kGemini,     Dialect::kDeepSeek,  Dialect::kMistral, Dialect::kCerebras,
    Dialect::kTogether,   Dialect::kFireworks, Dialect::kXai,     Dialect::kNous,
    Dialect::kVllm,       Dialect::kLlamaCpp,  Dialect::kOllama};
static_assert(kDialects.back() == Dialect::kOllama && kDialects.size() == 19);

std::string_view to_string(Dialect d);
// Accepts the names above in lower case, plus common aliases ("moonshot",
// "zhipu", "bigmodel", "google", "claude").
std::optional<Dialect> dialect_from_string(std::string_view name);
// Infers the dialect from a provider base URL's host; kGeneric when unknown.
Dialect infer_dialect(std::string_view base_url);

}  // namespace sluice
