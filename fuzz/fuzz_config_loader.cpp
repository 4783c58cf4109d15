// libFuzzer target: the gateway config loader on arbitrary YAML, with a fake
// secret source (no environment, no file system). It must never crash, hang
// or throw; a result has a config exactly when it has no errors; and neither
// the diagnostics nor describe() may reveal a secret read from the
// environment or a key file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sluice/config/fake_secret_source.hpp"
#include "sluice/config/gateway_config.hpp"

namespace {

constexpr std::string_view kEnvSecret = "sk-fuzz-env-secret-7f3a9c1e5b";
constexpr std::string_view kFileSecret = "sk-fuzz-file-secret-2d8e4b6a0c";

bool leaks(std::string_view text) {
  return text.find(kEnvSecret) != std::string_view::npos ||
         text.find(kFileSecret) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  sluice::config::FakeSecretSource secrets;
  secrets.env["HOME"] = "/home/fuzz";
  for (const char* name : {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ZAI_API_KEY",
                           "OPENROUTER_API_KEY", "KEY", "GW_KEY"}) {
    secrets.env[name] = std::string(kEnvSecret);
  }
  secrets.files["/run/keys/a"] = std::string(kFileSecret) + "\n";
  secrets.files["/home/fuzz/key"] = std::string(kFileSecret);

  const auto r = sluice::config::load_gateway_config(yaml, "fuzz.yaml", secrets);
  if (r.ok() != r.errors.empty() || r.config.has_value() != r.errors.empty()) std::abort();
  // The input may spell a secret itself; only check what came from the source.
  if (leaks(yaml)) return 0;
  for (const auto& d : r.errors) {
    if (leaks(d.format())) std::abort();
  }
  for (const auto& d : r.warnings) {
    if (leaks(d.format())) std::abort();
  }
  if (r.config && leaks(sluice::config::describe(*r.config))) std::abort();
  return 0;
}
