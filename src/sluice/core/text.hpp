#pragma once
// Small byte-string helpers shared by the parsers. ASCII-only case folding on
// purpose: provider codes and header names are ASCII, and UTF-8 text (the
// Chinese z.ai messages) must pass through untouched.
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

std::string ascii_lower(std::string_view s);
// JSON string literal for `s`, with quotes; control bytes as \u00XX.
std::string json_quote(std::string_view s);
std::string_view trim(std::string_view s);
// Inline: header lookups call it for every field of every request, and most
// calls end at the length check.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
bool istarts_with(std::string_view s, std::string_view prefix);
// Whether `needle` occurs in `haystack`, ASCII letters compared without case.
bool icontains(std::string_view haystack, std::string_view needle);
// True when `needle` (already lower case) occurs in `haystack` (already lower case).
// memmem, not string_view::find: glibc's is vectorised, libstdc++'s find goes
// byte by byte (the classifier scans every successful body with it).
inline bool contains(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  // memmem's pointers must not be null: an empty view's may be.
  if (haystack.size() < needle.size()) return false;
  return ::memmem(haystack.data(), haystack.size(), needle.data(), needle.size()) != nullptr;
}
// Strict decimal number parse ("12", "-1", "7.66", "1e3"); nullopt on anything else.
std::optional<double> parse_number(std::string_view s);
// Strict integer parse; nullopt on anything else (including "1.5").
std::optional<long long> parse_integer(std::string_view s);

}  // namespace sluice
