#pragma once
// Upstream API keys and gateway keys. A Secret cannot be printed by accident:
// it has no operator<<, no conversion to a string and no formatter; the only
// way to its bytes is reveal(), which the shell calls when it builds an
// upstream auth header (or checks a client's gateway key). Everything that
// identifies a key to a human (logs, /status, check-config) uses fingerprint().
//
// SecretSource is the loader's only door to the outside world (environment
// variables and key files), so tests use a fake and the loader stays pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

class Secret {
 public:
  explicit Secret(std::string value);

  // The key itself. Only for building the upstream auth header (or comparing
  // a client's gateway key); never for messages.
  std::string_view reveal() const { return value_; }
  // "key:3f9a1c2e": 32 bits of FNV-1a 64 over the whole secret. Stable across
  // runs and instances (the credential pool and the state store use it as the
  // key's identity); shows no character of the key.
  const std::string& fingerprint() const { return fingerprint_; }

  // Same secret, whichever way it was given (env, file, literal).
  friend bool operator==(const Secret& a, const Secret& b) { return a.value_ == b.value_; }

 private:
  std::string value_;
  std::string fingerprint_;
};

// The fingerprint of any byte string, for callers that hold a key only briefly
// (e.g. a client's gateway key) and must name it without keeping it.
std::string fingerprint_of(std::string_view secret);

// How a key was given in the config. Safe to print: it names a variable or a
// file, never the value.
struct SecretRef {
  enum class Kind : std::uint8_t { kEnv, kFile, kLiteral };
  Kind kind = Kind::kLiteral;
  std::string name;  // variable name or file path (after ~ expansion); empty for literals

  // "env:ZAI_API_KEY", "file:/run/keys/zai", "literal"
  std::string describe() const;
};

// Reads what `env:VAR` and `file:PATH` refer to. nullopt: unset / unreadable.
class SecretSource {
 public:
  virtual ~SecretSource() = default;
  virtual std::optional<std::string> get_env(std::string_view name) = 0;
  virtual std::optional<std::string> read_file(std::string_view path) = 0;
};

// The real thing: the process environment and the file system.
class ProcessSecretSource final : public SecretSource {
 public:
  std::optional<std::string> get_env(std::string_view name) override;
  std::optional<std::string> read_file(std::string_view path) override;
};

}  // namespace sluice::config
