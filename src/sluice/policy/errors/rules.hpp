#pragma once
// The classifier's pattern table: data, not code. Built-in rules come from
// providers.md §18–§21; operators prepend their own (config `errors.rules`,
// or `sluice classify --rules FILE`) without recompiling.
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/dialect.hpp"
#include "sluice/core/error_class.hpp"

namespace sluice::policy {

struct ErrorRule {
  std::string name;
  std::vector<Dialect> dialects;  // empty: any dialect
  std::vector<int> statuses;      // empty: any status (or none)
  // Matches when any code-like field (error.code, error.type, Gemini status,
  // OpenRouter error_type/limit_source, ...) equals one of these, or the text
  // contains "[code]" (z.ai's bracketed form). Lower case.
  std::vector<std::string> codes;
  std::vector<std::string> any_phrases;  // the text contains one of these (lower case)
  std::vector<std::string> all_phrases;  // the text contains every one of these
  std::vector<std::string> unless;       // the text contains none of these
  ErrorClass cls = ErrorClass::kUnknown;

  // A rule must say something about the body: codes or phrases.
  bool valid() const { return !codes.empty() || !any_phrases.empty() || !all_phrases.empty(); }
};

class RuleTable {
 public:
  RuleTable() = default;
  explicit RuleTable(std::vector<ErrorRule> rules) : rules_(std::move(rules)) {}

  // Operator rules are checked before every built-in one.
  void prepend(std::vector<ErrorRule> rules);
  const std::vector<ErrorRule>& rules() const { return rules_; }

 private:
  std::vector<ErrorRule> rules_;
};

const RuleTable& builtin_rules();

}  // namespace sluice::policy
