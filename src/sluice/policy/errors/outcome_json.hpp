#pragma once
// An upstream outcome and the classifier's verdict as JSON: the one shape
// `sluice classify`, the C ABI (sluice_classify) and the Python package's
// sluice.classify() read and write, so they cannot disagree. Operator rules
// as JSON too. Errors are values naming the field, never throws.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sluice/core/headers.hpp"
#include "sluice/core/time.hpp"
#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/errors/rules.hpp"

namespace sluice::policy {

// One parsed outcome; owns the bytes the outcome view points into.
struct OutcomeInput {
  UpstreamOutcome fields;  // headers/body views are filled by view()
  HeaderList headers;
  std::string body;
  std::string label;
  // A provider name sluice has no dialect for: classified with the generic
  // rules, and the verdict says so.
  std::string unknown_provider;

  UpstreamOutcome view() const {
    UpstreamOutcome o = fields;
    o.headers = headers.view();
    o.body = body;
    return o;
  }
};

// Parses one outcome: {"provider", "status", "headers" (object or [[name,
// value]...]), "body", "error"/"message", "transport", "stream", "request",
// "now", "label"}. `now` is used unless the object has a "now" field.
std::variant<OutcomeInput, std::string> parse_outcome_json(std::string_view text, TimePoint now);

// The verdict: class, traits, cooldown and wait hint in seconds, the rule,
// and the parsed rate-limit buckets.
nlohmann::json classification_to_json(const Classification& c);

// The verdict for one outcome given as JSON, as `sluice classify` prints it:
// the classification, plus "label" and an unknown provider's note; or
// {"error": ...} naming the bad field.
nlohmann::json classify_json(std::string_view outcome, const RuleTable& rules, TimePoint now);

// Operator rules, a JSON array: [{"name", "class", "codes", "phrases",
// "all_phrases", "unless", "dialects", "status"}]. Errors name the field path.
std::variant<std::vector<ErrorRule>, std::string> parse_rules_json(std::string_view text);

}  // namespace sluice::policy
