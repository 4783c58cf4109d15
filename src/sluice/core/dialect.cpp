#include "sluice/core/dialect.hpp"

#include <array>
#include <utility>

#include "sluice/core/text.hpp"

namespace sluice {

namespace {
struct DialectName {
  Dialect dialect;
  std::string_view name;
};
constexpr std::array<DialectName, 19> kNames = {{
    {Dialect::kGeneric, "generic"},
    {Dialect::kOpenAI, "openai"},
    {Dialect::kAzure, "azure"},
    {Dialect::kAnthropic, "anthropic"},
    {Dialect::kOpenRouter, "openrouter"},
    {Dialect::kGroq, "groq"},
    {Dialect::kZai, "zai"},
    {Dialect::kKimi, "kimi"},
    {Dialect::kGemini, "gemini"},
    {Dialect::kDeepSeek, "deepseek"},
    {Dialect::kMistral, "mistral"},
    {Dialect::kCerebras, "cerebras"},
    {Dialect::kTogether, "together"},
    {Dialect::kFireworks, "fireworks"},
    {Dialect::kXai, "xai"},
    {Dialect::kNous, "nous"},
    {Dialect::kVllm, "vllm"},
    {Dialect::kLlamaCpp, "llamacpp"},
    {Dialect::kOllama, "ollama"},
}};

constexpr std::array<DialectName, 8> kAliases = {{
    {Dialect::kKimi, "moonshot"},
    {Dialect::kZai, "zhipu"},
    {Dialect::kZai, "bigmodel"},
    {Dialect::kZai, "glm"},
    {Dialect::kGemini, "google"},
    {Dialect::kAnthropic, "claude"},
    {Dialect::kLlamaCpp, "llama.cpp"},
    {Dialect::kXai, "grok"},
}};

// Host fragments, checked in order; the first match wins. More specific
// fragments come first (Azure hosts also contain "openai").
constexpr std::array<DialectName, 20> kHosts = {{
    {Dialect::kAzure, ".openai.azure.com"},
    {Dialect::kAzure, ".services.ai.azure.com"},
    {Dialect::kAzure, ".cognitiveservices.azure.com"},
    {Dialect::kOpenAI, "api.openai.com"},
    {Dialect::kAnthropic, "api.anthropic.com"},
    {Dialect::kOpenRouter, "openrouter.ai"},
    {Dialect::kGroq, "api.groq.com"},
    {Dialect::kZai, "api.z.ai"},
    {Dialect::kZai, "bigmodel.cn"},
    {Dialect::kKimi, "moonshot.cn"},
    {Dialect::kKimi, "moonshot.ai"},
    {Dialect::kKimi, "kimi.com"},
    {Dialect::kGemini, "generativelanguage.googleapis.com"},
    {Dialect::kDeepSeek, "api.deepseek.com"},
    {Dialect::kMistral, "api.mistral.ai"},
    {Dialect::kCerebras, "api.cerebras.ai"},
    {Dialect::kTogether, "api.together.xyz"},
    {Dialect::kFireworks, "api.fireworks.ai"},
    {Dialect::kXai, "api.x.ai"},
    {Dialect::kNous, "nousresearch.com"},
}};
}  // namespace

std::string_view to_string(Dialect d) {
  for (const auto& n : kNames) {
    if (n.dialect == d) return n.name;
  }
  return "generic";
}

std::optional<Dialect> dialect_from_string(std::string_view name) {
  const std::string lower = ascii_lower(trim(name));
  for (const auto& n : kNames) {
    if (n.name == lower) return n.dialect;
  }
  for (const auto& n : kAliases) {
    if (n.name == lower) return n.dialect;
  }
  return std::nullopt;
}

Dialect infer_dialect(std::string_view base_url) {
  std::string url = ascii_lower(base_url);
  // Keep only the authority: scheme://host[:port]/path -> host[:port]
  if (auto p = url.find("://"); p != std::string::npos) url.erase(0, p + 3);
  if (auto p = url.find_first_of("/?#"); p != std::string::npos) url.erase(p);
  if (auto p = url.rfind('@'); p != std::string::npos) url.erase(0, p + 1);
  for (const auto& h : kHosts) {
    if (url.find(h.name) != std::string::npos) return h.dialect;
  }
  if (url.find(":11434") != std::string::npos) return Dialect::kOllama;
  return Dialect::kGeneric;
}

}  // namespace sluice
