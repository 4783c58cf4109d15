#pragma once
// "Did you mean" suggestions for misspelt names (fields, providers, enum
// values): the closest candidate by edit distance, if it is close enough to
// be a typo rather than a different word.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sluice::config {

// Optimal string alignment distance (Levenshtein plus adjacent swaps),
// ASCII case-insensitive: "max_concurent" -> "max_concurrent" is 1,
// "fill_frist" -> "fill_first" is 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate within max(1, min(3, length / 3)) edits; ties go to
// the earlier candidate. nullopt when nothing is that close.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> candidates);

// " (did you mean \"x\"?)" or "" — ready to append to a message.
std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

}  // namespace sluice::config
