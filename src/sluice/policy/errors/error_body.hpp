#pragma once
// Extracts the fields the classifier needs from an upstream error body of any
// shape (providers.md §0.3): OpenAI/Anthropic/Gemini/z.ai/Moonshot/xAI/
// Cerebras/Mistral/vLLM/llama.cpp/Ollama/Azure-edge JSON, a JSON array
// wrapper, OpenRouter's upstream JSON nested as a string in metadata.raw, an
// SSE stream with an in-band error frame, or plain text and HTML.
// Never throws; unknown shapes leave fields empty.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/time.hpp"

namespace sluice::policy {

struct SseSummary {
  bool is_sse = false;
  bool data_seen = false;      // at least one data frame that is not an error
  bool terminal_seen = false;  // [DONE], message_stop, response.completed
  bool error_frame = false;    // an in-band error frame was found (and used below)
  std::string finish_reason;   // last non-empty choices[0].finish_reason
};

struct ErrorBody {
  bool json = false;
  bool has_error = false;    // the body carries an error object, string or frame
  std::string message;       // the upstream's own words, original case
  std::string type;          // error.type / top-level type
  std::string code;          // error.code (numbers as digits) / top-level code
  std::string status;        // Gemini error.status, e.g. RESOURCE_EXHAUSTED
  std::string error_type;    // OpenRouter typed code (metadata.error_type, error_type)
  std::string reason;        // Gemini ErrorInfo.reason
  std::string limit_source;  // OpenRouter metadata.limit_source
  std::string provider_name;
  std::string availability_code;
  std::optional<bool> availability_retryable;
  std::vector<std::string> quota_ids;   // Gemini QuotaFailure violations[].quotaId
  std::optional<Duration> retry_delay;  // Gemini RetryInfo.retryDelay
  std::optional<double> retry_after_s;  // body retry_after / availability.retry_after
  // OpenRouter echoes the rate-limit headers in error.metadata.headers.
  std::vector<std::pair<std::string, std::string>> echoed_headers;
  // OpenRouter's metadata.raw: the upstream provider's own error, one level deep.
  std::string inner_message, inner_code, inner_type;
  SseSummary sse;
  // Lower-cased text every phrase rule matches against: messages, codes,
  // types, quota ids, or the raw body when it is not JSON.
  std::string haystack;
  // Every code-like field, lower-cased, for code rules.
  std::vector<std::string> codes;
};

ErrorBody parse_error_body(std::string_view body);

}  // namespace sluice::policy
