#include "sluice/net/http_head.hpp"

#include <array>
#include <boost/beast/http/status.hpp>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sluice/core/text.hpp"

namespace sluice::net {

namespace {

// RFC 9110 token characters, as a table: every byte of every field name
// written is checked.
constexpr std::array<unsigned char, 256> kToken = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = 1;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = 1;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = 1;
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) t[c] = 1;
  return t;
}();

#if defined(__SSE2__)
// Whether all 16 bytes are letters, digits or dashes. Signed compares: a byte
// of 0x80 or more is negative and fails each range; or-ing 0x20 maps A-Z onto
// a-z and nothing else onto a-z.
bool plain_bytes(__m128i v) {
  const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
  const __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                      _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
  const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                      _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
  const __m128i dash = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
  return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(alpha, digit), dash)) == 0xFFFF;
}
#endif

// Whether `name` is made of letters, digits and dashes only, 16 bytes a test:
// nearly every field name is, and a byte-by-byte table walk costs ~6
// instructions a byte. Loads overlap instead of reading past the name (a
// byte tested twice is still tested). False sends the caller to the table.
bool plain_token(std::string_view name) {
#if defined(__SSE2__)
  const char* const p = name.data();
  const std::size_t n = name.size();
  if (n >= 16) {
    for (std::size_t i = 0; i + 16 <= n; i += 16) {
      if (!plain_bytes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)))) return false;
    }
    return plain_bytes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
  }
  if (n >= 8) {
    std::int64_t head = 0, tail = 0;
    std::memcpy(&head, p, 8);
    std::memcpy(&tail, p + n - 8, 8);
    return plain_bytes(_mm_set_epi64x(tail, head));
  }
  if (n >= 4) {
    std::int32_t head = 0, tail = 0;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return plain_bytes(_mm_set_epi32(tail, head, tail, head));
  }
#endif
  (void)name;
  return false;
}

bool framing_field(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection");
}

// Appends "name: value\r\n" for each writable field that no later field of
// the same name replaces. Cheap checks first (most end at a length compare);
// each line is copied in place, not appended in four pieces.
void append_fields(std::string& out, const HeaderFields& headers) {
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto& [name, value] = headers[i];
    if (framing_field(name)) continue;
    bool replaced = false;
    for (std::size_t j = i + 1; j < headers.size() && !replaced; ++j) {
      replaced = iequals(headers[j].name, name);
    }
    if (replaced || !writable_field(name, value)) continue;
    const std::size_t at = out.size();
    out.resize(at + name.size() + value.size() + 4);
    char* p = out.data() + at;
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = ':';
    *p++ = ' ';
    std::memcpy(p, value.data(), value.size());
    p += value.size();
    *p++ = '\r';
    *p = '\n';
  }
}

std::size_t fields_size(const HeaderFields& headers) {
  std::size_t n = 0;
  for (const auto& [name, value] : headers) n += name.size() + value.size() + 4;
  return n;
}

}  // namespace

bool writable_field(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  if (!plain_token(name)) {
    for (unsigned char c : name) {
      if (kToken[c] == 0) return false;
    }
  }
  // Whether any byte is below 0x20, eight at a time (exact for "any": a
  // borrow only runs on from a byte that is itself below), with overlapping
  // loads for the ends; the exact test only for a value holding some control
  // byte (a tab is allowed).
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  const auto below_in = [](std::uint64_t w) { return (w - kOnes * 0x20) & ~w & (kOnes * 0x80); };
  const char* const v = value.data();
  const std::size_t n = value.size();
  std::uint64_t below = 0;
  if (n >= 8) {
    std::uint64_t w = 0;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&w, v + i, 8);
      below |= below_in(w);
    }
    std::memcpy(&w, v + n - 8, 8);
    below |= below_in(w);
  } else if (n >= 4) {
    std::uint32_t head = 0, tail = 0;
    std::memcpy(&head, v, 4);
    std::memcpy(&tail, v + n - 4, 4);
    below = below_in((std::uint64_t{tail} << 32) | head);
  } else {
    for (std::size_t i = 0; i < n; ++i) below |= static_cast<unsigned char>(v[i]) < 0x20;
  }
  if (below == 0) return true;
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

std::string response_head(int status, unsigned version, const HeaderFields& headers,
                          bool keep_alive, std::optional<std::size_t> content_length) {
  std::string out;
  out.reserve(64 + fields_size(headers));
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ").append(std::to_string(status)).append(" ");
  out.append(boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status)));
  out.append("\r\n");
  append_fields(out, headers);
  const bool bodiless = (status >= 100 && status < 200) || status == 204 || status == 304;
  if (!bodiless) {
    if (content_length) {
      out.append("content-length: ").append(std::to_string(*content_length)).append("\r\n");
    } else {
      out.append("transfer-encoding: chunked\r\n");
    }
  }
  // What each version assumes without the field: 1.1 stays open, 1.0 closes.
  if (version == 10 && keep_alive) out.append("connection: keep-alive\r\n");
  if (version != 10 && !keep_alive) out.append("connection: close\r\n");
  out.append("\r\n");
  return out;
}

std::string request_head(std::string_view method, std::string_view target, std::string_view host,
                         const HeaderFields& headers, std::size_t content_length) {
  std::string out;
  out.reserve(64 + method.size() + target.size() + host.size() + fields_size(headers));
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  // Host first, unless a given field replaces it (as Beast's `set` would).
  bool host_given = false;
  for (const auto& [name, value] : headers) {
    host_given = host_given || (iequals(name, "host") && writable_field(name, value));
  }
  if (!host_given) out.append("host: ").append(host).append("\r\n");
  append_fields(out, headers);
  if (content_length > 0 || method == "POST" || method == "PUT" || method == "PATCH") {
    out.append("content-length: ").append(std::to_string(content_length)).append("\r\n");
  }
  out.append("\r\n");
  return out;
}

}  // namespace sluice::net
