#include "sluice/net/http_head.hpp"

#include <array>
#include <boost/beast/http/status.hpp>
#include <cstring>

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
      replaced = iequals(headers[j].first, name);
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
  // Branch-free passes (the value's vectorises); the exact test only for a
  // value holding some control byte (a tab is allowed).
  unsigned char token = 1;
  for (unsigned char c : name) token &= kToken[c];
  if (token == 0) return false;
  unsigned char control = 0;
  for (unsigned char c : value) control |= static_cast<unsigned char>(c < 0x20);
  if (control == 0) return true;
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
