#pragma once
// `sluice classify`: JSON lines in (status, headers, body, provider, ...),
// one JSON line out per input with the class, traits, wait hint and parsed
// rate-limit snapshot. A malformed line yields {"error": ...} for that line
// only. The tool a user runs to learn why sluice benched a key. The JSON
// shapes are policy/errors/outcome_json's, shared with the C ABI and Python.
#include <iosfwd>

#include "sluice/core/clock.hpp"
#include "sluice/policy/errors/outcome_json.hpp"

namespace sluice::cli {

// Reads JSON lines from `in`, writes one JSON line per non-blank input line.
// Returns the number of lines that were errors.
std::size_t run_classify(std::istream& in, std::ostream& out, const policy::RuleTable& rules,
                         const Clock& clock);

}  // namespace sluice::cli
