#include "sluice/config/secret.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sluice::config {

namespace {

std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

std::string fingerprint_of(std::string_view secret) {
  // Folding the halves keeps every input bit in the 32 shown; 32 bits tell a
  // handful of keys apart and are far too few to recover any key from.
  const std::uint64_t hash = fnv1a64(secret);
  const auto folded = static_cast<std::uint32_t>((hash >> 32) ^ (hash & 0xffffffffULL));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "key:";
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kHex[(folded >> shift) & 0xfU]);
  return out;
}

Secret::Secret(std::string value)
    : value_(std::move(value)), fingerprint_(fingerprint_of(value_)) {}

std::string SecretRef::describe() const {
  switch (kind) {
    case Kind::kEnv: return "env:" + name;
    case Kind::kFile: return "file:" + name;
    case Kind::kLiteral: break;
  }
  return "literal";
}

std::optional<std::string> ProcessSecretSource::get_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::optional<std::string> ProcessSecretSource::read_file(std::string_view path) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(content).str();
}

}  // namespace sluice::config
