#pragma once
// Request priority classes. Interactive work (an agent's main turn) is served
// before background work (summaries, vision, sub-agents, cron jobs) that
// shares the same upstream key; background work may be skipped when it waited
// too long, interactive work never jumps behind it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

// Lower value = served first, so the enumerators order by precedence.
enum class Priority : std::uint8_t { kInteractive, kBackground };
inline constexpr std::array kPriorities = {Priority::kInteractive, Priority::kBackground};

inline constexpr std::size_t kPriorityCount = 2;

// "interactive", "background"
std::string_view to_string(Priority p);
// Case-insensitive; nullopt for any other name.
std::optional<Priority> priority_from_string(std::string_view name);

}  // namespace sluice
