#include "apps/sluice/classify_command.hpp"

#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "sluice/core/text.hpp"

namespace sluice::cli {

using nlohmann::json;

std::size_t run_classify(std::istream& in, std::ostream& out, const policy::RuleTable& rules,
                         const Clock& clock) {
  std::size_t errors = 0;
  std::size_t line_no = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    json result = policy::classify_json(line, rules, clock.now());
    if (result.contains("error")) {
      result["error"] =
          "line " + std::to_string(line_no) + ": " + result["error"].get<std::string>();
      ++errors;
    }
    // Replace invalid UTF-8 from upstream bodies instead of failing the line.
    out << result.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  }
  return errors;
}

}  // namespace sluice::cli
