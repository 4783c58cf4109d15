#include "sluice/core/text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t end = max_bytes;
  // Back off continuation bytes (10xxxxxx) to the start of their character,
  // then drop that character: it does not fit whole. At most 3 steps: a
  // longer run is not UTF-8, and is cut where it stands.
  std::size_t back = 0;
  while (back < 3 && end > back && (static_cast<unsigned char>(s[end - back]) & 0xC0) == 0x80) {
    ++back;
  }
  if ((static_cast<unsigned char>(s[end - back]) & 0xC0) == 0xC0) end -= back;
  return s.substr(0, end);
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string s;
  for (const auto& p : parts) {
    if (!s.empty()) s += separator;
    s += p;
  }
  return s;
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

bool contains(std::string_view haystack, std::string_view needle) {
  const std::size_t n = needle.size();
  if (n == 0) return true;
  if (haystack.size() < n) return false;
  const char* const h = haystack.data();
  const std::size_t starts = haystack.size() - n + 1;  // where a match may begin
  std::size_t i = 0;
#if defined(__SSE2__)
  if (n >= 2) {
    const __m128i first = _mm_set1_epi8(needle.front());
    const __m128i last = _mm_set1_epi8(needle.back());
    // Both loads stay inside the haystack: i + 15 < starts, so the second
    // one ends at i + n - 1 + 15 < haystack.size().
    for (; i + 16 <= starts; i += 16) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i + n - 1));
      auto mask = static_cast<unsigned>(
          _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last))));
      while (mask != 0) {
        const auto at = i + static_cast<std::size_t>(__builtin_ctz(mask));
        if (std::memcmp(h + at + 1, needle.data() + 1, n - 2) == 0) return true;
        mask &= mask - 1;
      }
    }
  }
#endif
  for (; i < starts; ++i) {
    if (h[i] == needle.front() && std::memcmp(h + i, needle.data(), n) == 0) return true;
  }
  return false;
}

std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<long long> parse_integer(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  long long v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

std::string fixed_decimal(double value, int places) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed,
                                       std::clamp(places, 0, 17));
  // Only a value too large for 64 characters fails; the general form says it.
  if (ec != std::errc()) return std::to_string(value);
  return std::string(buf, end);
}

void append_scaled(std::string& out, std::int64_t units, int places) {
  places = std::clamp(places, 0, 18);
  // The magnitude as unsigned, so the most negative value has one too.
  std::uint64_t magnitude =
      units < 0 ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
  if (units < 0) out += '-';
  char digits[24];  // the magnitude's digits, at least places + 1 of them
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude > 0 || n <= places);
  while (n > places) out += digits[--n];
  if (places > 0) out += '.';
  while (n > 0) out += digits[--n];
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  append_escaped(out, s);
  out += '"';
  return out;
}

}  // namespace sluice
