#pragma once
// A SecretSource over two maps, for tests: no environment, no file system.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/config/secret.hpp"

namespace sluice::config {

class FakeSecretSource final : public SecretSource {
 public:
  std::map<std::string, std::string, std::less<>> env;
  std::map<std::string, std::string, std::less<>> files;
  std::vector<std::string> files_read;  // every path asked for, in order

  std::optional<std::string> get_env(std::string_view name) override {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> read_file(std::string_view path) override {
    files_read.emplace_back(path);
    const auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
};

}  // namespace sluice::config
