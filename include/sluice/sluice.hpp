#pragma once
// libsluice's C++ API: the same functions as the C ABI (sluice/sluice.h),
// with std::string in and out. Outcomes, verdicts and config diagnostics are
// JSON text, in the shapes `sluice classify` and `sluice check-config` use, so
// no internal type of sluice leaks into a user's build. Never throws for bad
// input: the JSON carries {"error": ...}. Thread-safe: no state between calls.
#include <string>
#include <string_view>

#include "sluice/sluice.h"

namespace sluice::api {

// "0.1.0"
SLUICE_API std::string_view version();

// The verdict for one upstream outcome (see sluice_classify).
SLUICE_API std::string classify(std::string_view outcome_json);

// Diagnostics and a description of a gateway config (see sluice_check_config).
SLUICE_API std::string check_config(std::string_view yaml_text,
                                    std::string_view file_name = "sluice.yaml");

}  // namespace sluice::api
