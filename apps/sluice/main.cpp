// sluice: a rate-limit-aware gateway for LLM providers. This file only wires
// subcommands to their implementations.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <variant>

#include "apps/sluice/classify_command.hpp"

namespace {

int classify_main(const std::string& input_path, const std::string& rules_path, bool strict) {
  sluice::policy::RuleTable rules = sluice::policy::builtin_rules();
  if (!rules_path.empty()) {
    std::ifstream f(rules_path);
    if (!f) {
      std::cerr << "sluice classify: cannot read rules file " << rules_path << "\n";
      return 2;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    auto parsed = sluice::cli::parse_rules_json(ss.str());
    if (auto* err = std::get_if<std::string>(&parsed)) {
      std::cerr << "sluice classify: " << rules_path << ": " << *err << "\n";
      return 2;
    }
    rules.prepend(std::move(std::get<std::vector<sluice::policy::ErrorRule>>(parsed)));
  }
  sluice::SystemClock clock;
  std::size_t errors = 0;
  if (input_path.empty() || input_path == "-") {
    errors = sluice::cli::run_classify(std::cin, std::cout, rules, clock);
  } else {
    std::ifstream in(input_path);
    if (!in) {
      std::cerr << "sluice classify: cannot read " << input_path << "\n";
      return 2;
    }
    errors = sluice::cli::run_classify(in, std::cout, rules, clock);
  }
  return strict && errors > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice: a rate-limit-aware gateway for LLM providers"};
  app.set_version_flag("--version", std::string("sluice 0.1.0"));
  app.require_subcommand(1);

  std::string input_path, rules_path;
  bool strict = false;
  auto* classify = app.add_subcommand(
      "classify",
      "Classify upstream outcomes: JSON lines in (provider, status, headers, body, transport, "
      "stream, request), one JSON line out each (class, traits, wait, rate-limit snapshot)");
  classify->add_option("input", input_path, "Input file of JSON lines (default: stdin)");
  classify->add_option("--rules", rules_path,
                       "JSON file of extra classification rules, checked before the built-in ones");
  classify->add_flag("--strict", strict, "Exit 1 when any input line was malformed");

  CLI11_PARSE(app, argc, argv);
  if (classify->parsed()) return classify_main(input_path, rules_path, strict);
  return 0;
}
