#pragma once
// RateLimitSnapshot <-> text, for backends that store a snapshot as one value
// (a SQLite column, a Redis string). Line-oriented and versioned so a person
// can read it with `sqlite3` and a later sluice can tell old from new:
//
//   sluice-snapshot/1
//   taken_at 1800000000000000000          (ns since the Unix epoch)
//   retry_after 2000000000                (ns, or "-")
//   should_retry 1                        (1, 0 or "-")
//   limit_type TPM                        (escaped text)
//   bucket requests requests 60 0 20000000000 60000000000
//          name     axis     limit remaining reset_after_ns window_ns ("-" = unknown)
//   end
//
// Text fields escape '%', bytes <= 0x20 and 0x7f as %XX, so any bytes survive.
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/rate_limit_snapshot.hpp"

namespace sluice::state {

std::string encode_snapshot(const RateLimitSnapshot& snapshot);

// nullopt for anything encode_snapshot did not write (wrong version, a
// missing or malformed field): a damaged value must not become a made-up budget.
std::optional<RateLimitSnapshot> decode_snapshot(std::string_view text);

}  // namespace sluice::state
