#pragma once
// `sluice classify`: JSON lines in (status, headers, body, provider, ...),
// one JSON line out per input with the class, traits, wait hint and parsed
// rate-limit snapshot. A malformed line yields {"error": ...} for that line
// only. The tool a user runs to learn why sluice benched a key.
#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/core/headers.hpp"
#include "sluice/policy/errors/classifier.hpp"

namespace sluice::cli {

// One parsed input line; owns the bytes the outcome view points into.
struct ClassifyInput {
  policy::UpstreamOutcome fields;  // headers/body views are filled by view()
  HeaderList headers;
  std::string body;
  std::string label;
  // A provider name sluice has no dialect for: classified with the generic
  // rules, and the verdict says so.
  std::string unknown_provider;

  policy::UpstreamOutcome view() const {
    policy::UpstreamOutcome o = fields;
    o.headers = headers.view();
    o.body = body;
    return o;
  }
};

// Parses one input line. `now` is used unless the line has a "now" field.
std::variant<ClassifyInput, std::string> parse_classify_line(std::string_view line, TimePoint now);

nlohmann::json classification_to_json(const policy::Classification& c);

// Operator rules, a JSON array: [{"name", "class", "codes", "phrases",
// "all_phrases", "unless", "dialects", "status"}]. Errors name the field path.
std::variant<std::vector<policy::ErrorRule>, std::string> parse_rules_json(std::string_view text);

// Reads JSON lines from `in`, writes one JSON line per non-blank input line.
// Returns the number of lines that were errors.
std::size_t run_classify(std::istream& in, std::ostream& out, const policy::RuleTable& rules,
                         const Clock& clock);

}  // namespace sluice::cli
