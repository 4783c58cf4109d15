// libsluice: the public C++ API and the C ABI over it (include/sluice/).
// Everything is caught here: nothing throws across the C boundary.
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "sluice/config/gateway_config.hpp"
#include "sluice/config/secret.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/json_text.hpp"
#include "sluice/policy/errors/outcome_json.hpp"
#include "sluice/policy/errors/rules.hpp"
#include "sluice/sluice.hpp"

#ifndef SLUICE_VERSION_STRING
#error "SLUICE_VERSION_STRING is set by the build"
#endif

namespace sluice::api {
namespace {

using nlohmann::json;

json diagnostic_json(const config::Diagnostic& d) {
  return json{{"path", d.path}, {"line", d.line}, {"column", d.column}, {"message", d.message}};
}

}  // namespace

std::string_view version() { return SLUICE_VERSION_STRING; }

std::string classify(std::string_view outcome_json) {
  try {
    static const policy::RuleTable rules = policy::builtin_rules();
    return json_text(policy::classify_json(outcome_json, rules, SystemClock().now()));
  } catch (const std::exception& e) {
    return json_text(json{{"error", std::string("classify: ") + e.what()}});
  }
}

std::string check_config(std::string_view yaml_text, std::string_view file_name) {
  try {
    config::ProcessSecretSource secrets;
    const config::LoadResult r = config::load_gateway_config(yaml_text, file_name, secrets);
    json out = {{"ok", r.ok()}, {"errors", json::array()}, {"warnings", json::array()}};
    for (const auto& d : r.errors) out["errors"].push_back(diagnostic_json(d));
    for (const auto& d : r.warnings) out["warnings"].push_back(diagnostic_json(d));
    out["description"] = r.config ? config::describe(*r.config) : std::string();
    return json_text(out);
  } catch (const std::exception& e) {
    return json_text(json{{"ok", false}, {"error", std::string("check_config: ") + e.what()}});
  }
}

}  // namespace sluice::api

namespace {

// A malloc'd copy for the C caller (freed with sluice_free); NULL only when
// memory is exhausted.
char* c_copy(const std::string& s) noexcept {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

template <class F>
char* c_call(F&& f) noexcept {
  try {
    return c_copy(f());
  } catch (...) {
    return c_copy(R"({"error":"out of memory"})");
  }
}

}  // namespace

extern "C" {

const char* sluice_version(void) { return SLUICE_VERSION_STRING; }

int sluice_abi_version(void) { return SLUICE_ABI_VERSION; }

char* sluice_classify(const char* outcome_json) {
  return c_call([&] {
    if (!outcome_json) return std::string(R"({"error":"outcome: NULL"})");
    return sluice::api::classify(outcome_json);
  });
}

char* sluice_check_config(const char* yaml_text, const char* file_name) {
  return c_call([&] {
    if (!yaml_text) return std::string(R"({"ok":false,"error":"yaml_text: NULL"})");
    return sluice::api::check_config(yaml_text, file_name ? file_name : "sluice.yaml");
  });
}

void sluice_free(void* p) { std::free(p); }

}  // extern "C"
