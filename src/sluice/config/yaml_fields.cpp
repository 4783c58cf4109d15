#include "sluice/config/yaml_fields.hpp"

#include <array>

#include "sluice/core/text.hpp"

namespace sluice::config {

namespace {

// Long enough to recognise a value, short enough to keep a message on a line.
constexpr std::size_t kQuotedValueLimit = 48;

}  // namespace

std::string quoted(std::string_view value) {
  std::string shown(value.substr(0, kQuotedValueLimit));
  if (value.size() > kQuotedValueLimit) shown += "...";
  return "\"" + shown + "\"";
}

std::string child(const std::string& path, std::string_view field) {
  return path.empty() ? std::string(field) : path + "." + std::string(field);
}

std::string element(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// What a node is, for "expected X, got Y". Scalars are quoted: they are
// never secrets here, because secret-bearing fields only fail on non-scalars.
std::string what_is(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return quoted(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// "32MiB", "64 KiB", "1048576"; nullopt on anything else.
std::optional<double> parse_byte_size(std::string_view text) {
  text = trim(text);
  std::size_t unit_start = text.size();
  while (unit_start > 0 && ((text[unit_start - 1] >= 'a' && text[unit_start - 1] <= 'z') ||
                            (text[unit_start - 1] >= 'A' && text[unit_start - 1] <= 'Z'))) {
    --unit_start;
  }
  const auto number = parse_number(text.substr(0, unit_start));
  if (!number || *number < 0) return std::nullopt;
  const std::string unit = ascii_lower(text.substr(unit_start));
  struct Unit {
    std::string_view name;
    double bytes;
  };
  static constexpr std::array<Unit, 8> kUnits = {{{"", 1},
                                                  {"b", 1},
                                                  {"kb", 1e3},
                                                  {"mb", 1e6},
                                                  {"gb", 1e9},
                                                  {"kib", 1024.0},
                                                  {"mib", 1024.0 * 1024},
                                                  {"gib", 1024.0 * 1024 * 1024}}};
  for (const Unit& u : kUnits) {
    if (u.name == unit) return *number * u.bytes;
  }
  return std::nullopt;
}

}  // namespace sluice::config
