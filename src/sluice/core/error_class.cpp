#include "sluice/core/error_class.hpp"

namespace sluice {

namespace {
constexpr std::array<std::string_view, kErrorClassCount> kNames = {
    "RATE_LIMIT",   "CONCURRENCY_LIMIT", "QUOTA_EXHAUSTED", "OVERLOADED",       "BILLING",
    "AUTH",         "AUTH_PERMANENT",    "MODEL_NOT_FOUND", "CONTEXT_OVERFLOW", "PAYLOAD_TOO_LARGE",
    "FORMAT_ERROR", "CONTENT_POLICY",    "TIMEOUT",         "SERVER_ERROR",     "STREAM_DROP",
    "UNKNOWN",
};
}  // namespace

std::string_view to_string(ErrorClass c) { return kNames[static_cast<std::size_t>(c)]; }

std::optional<ErrorClass> error_class_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<ErrorClass>(i);
  }
  return std::nullopt;
}

}  // namespace sluice
