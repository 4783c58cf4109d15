#pragma once
// The closed set of upstream outcome classes. Every failure is mapped to one
// of these exactly once, at the boundary (policy/errors); retry, cooldown,
// fallback and the client-facing answer all key off the class.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

enum class ErrorClass : std::uint8_t {
  kRateLimit,         // per-credential request/token window, short
  kConcurrencyLimit,  // too many in-flight requests for this credential
  kQuotaExhausted,    // a long window (day/week/plan) is empty; resets later
  kOverloaded,        // provider-wide capacity, not this credential
  kBilling,           // money, credits, plan: needs a human
  kAuth,              // credential rejected; may recover (rotation, refresh)
  kAuthPermanent,     // account/key/region barred: disabled until config changes
  kModelNotFound,
  kContextOverflow,
  kPayloadTooLarge,
  kFormatError,
  kContentPolicy,
  kTimeout,
  kServerError,
  kStreamDrop,  // stream ended without its terminal event or an in-band error
  kUnknown,
};

inline constexpr std::size_t kErrorClassCount = 16;

inline constexpr std::array<ErrorClass, kErrorClassCount> kAllErrorClasses = {
    ErrorClass::kRateLimit,       ErrorClass::kConcurrencyLimit, ErrorClass::kQuotaExhausted,
    ErrorClass::kOverloaded,      ErrorClass::kBilling,          ErrorClass::kAuth,
    ErrorClass::kAuthPermanent,   ErrorClass::kModelNotFound,    ErrorClass::kContextOverflow,
    ErrorClass::kPayloadTooLarge, ErrorClass::kFormatError,      ErrorClass::kContentPolicy,
    ErrorClass::kTimeout,         ErrorClass::kServerError,      ErrorClass::kStreamDrop,
    ErrorClass::kUnknown,
};

// "RATE_LIMIT", "CONCURRENCY_LIMIT", ...
std::string_view to_string(ErrorClass c);
std::optional<ErrorClass> error_class_from_string(std::string_view name);

}  // namespace sluice
