#include "sluice/policy/errors/traits.hpp"

#include <array>

namespace sluice::policy {

namespace {
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
constexpr Duration kNone = Duration::zero();

// Order follows ErrorClass. Cooldown choices are explained in
// docs/decisions/0003-error-classes-and-cooldowns.md.
const std::array<ClassTraits, kErrorClassCount> kTraits = {{
    //  retry  rotate cool   lower  disable fallback status cooldown
    {true, true, true, false, false, true, 429, seconds(5)},   // RATE_LIMIT
    {true, false, true, true, false, true, 429, seconds(1)},   // CONCURRENCY_LIMIT
    {false, true, true, false, false, true, 429, hours(1)},    // QUOTA_EXHAUSTED
    {true, false, false, false, false, true, 503, kNone},      // OVERLOADED
    {false, true, true, false, false, true, 402, hours(6)},    // BILLING
    {false, true, true, false, false, true, 502, minutes(5)},  // AUTH
    {false, true, true, false, true, true, 502, kNone},        // AUTH_PERMANENT
    {false, false, false, false, false, true, 404, kNone},     // MODEL_NOT_FOUND
    {false, false, false, false, false, true, 400, kNone},     // CONTEXT_OVERFLOW
    {false, false, false, false, false, true, 413, kNone},     // PAYLOAD_TOO_LARGE
    {false, false, false, false, false, true, 400, kNone},     // FORMAT_ERROR
    {false, false, false, false, false, false, 400, kNone},    // CONTENT_POLICY
    {true, false, false, false, false, true, 504, kNone},      // TIMEOUT
    {true, false, false, false, false, true, 502, kNone},      // SERVER_ERROR
    {true, false, false, false, false, true, 502, kNone},      // STREAM_DROP
    {true, false, false, false, false, true, 502, kNone},      // UNKNOWN
}};
}  // namespace

const ClassTraits& traits_of(ErrorClass c) { return kTraits[static_cast<std::size_t>(c)]; }

}  // namespace sluice::policy
