#pragma once
// Small byte-string helpers shared by the parsers. ASCII-only case folding on
// purpose: provider codes and header names are ASCII, and UTF-8 text (the
// Chinese z.ai messages) must pass through untouched.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Spare bytes allocated past the end of a request body as it is read, so the
// JSON parser (simdjson reads up to 64 bytes ahead) parses the body where it
// lies instead of copying it into a padded buffer first.
inline constexpr std::size_t kBodyPadding = 64;

std::string ascii_lower(std::string_view s);
// The longest prefix of `s` of at most `max_bytes` that does not end inside
// a UTF-8 character (a provider's Chinese message cut for a log line or an
// answer stays valid text).
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes);
// "a; b; c": the parts in order, for log details and messages.
std::string join(const std::vector<std::string>& parts, std::string_view separator = "; ");
// JSON string literal for `s`, with quotes; control bytes as \u00XX.
std::string json_quote(std::string_view s);
// The escaping inside those quotes, appended to `out` (a string or the
// logger's line buffer) without a temporary: " \ \n \r \t, other control
// bytes (and DEL) as \u00XX. The logfmt and JSON log lines use it too.
template <class Out>
void append_escaped(Out& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
}
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
// The classifier scans every successful body with it: SSE2 tests 16 starts at
// once by the needle's first and last bytes (libstdc++'s find goes byte by
// byte, and glibc's memmem spends ~1,000 instructions on a 300-byte body).
bool contains(std::string_view haystack, std::string_view needle);
// Strict decimal number parse ("12", "-1", "7.66", "1e3"); nullopt on anything else.
std::optional<double> parse_number(std::string_view s);
// Strict integer parse; nullopt on anything else (including "1.5").
std::optional<long long> parse_integer(std::string_view s);
// `value` with exactly `places` decimals ("0.25" for 0.25, 2), rounded to
// nearest, as printf's "%.*f" writes it for finite values. printf's float path
// cost ~5,000 instructions per call, a tenth of a proxied request's user-space
// work for the one Server-Timing header.
std::string fixed_decimal(double value, int places);
// Appends `units` counted in 10^-places as a decimal with exactly `places`
// decimals ("12.34" for 1234, 2; "-0.05" for -5, 2). For figures already
// counted in integers (durations in nanoseconds): no floating point at all,
// a third of fixed_decimal's work.
void append_scaled(std::string& out, std::int64_t units, int places);

}  // namespace sluice
