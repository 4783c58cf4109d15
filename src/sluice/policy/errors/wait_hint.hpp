#pragma once
// Retry hints written into error bodies: "Please try again in 1.898s"
// (OpenAI, Groq), "Please retry in 25.9s" (Gemini text), "try again after 3
// seconds" (Moonshot), "Please retry after 60 seconds" (Azure), "reset at
// 2026-08-22 11:16:11" (z.ai, Beijing time), "regain access on 2026-10-01"
// (Anthropic spend limit).
#include <optional>
#include <string_view>

#include "sluice/core/time.hpp"

namespace sluice::policy {

// `lower_text` is the lower-cased message text; `reference` is the
// response's Date (or now), used for absolute timestamps.
std::optional<Duration> body_wait_hint(std::string_view lower_text, TimePoint reference);

}  // namespace sluice::policy
