#include "sluice/core/priority.hpp"

#include "sluice/core/text.hpp"

namespace sluice {

std::string_view to_string(Priority p) {
  switch (p) {
    case Priority::kInteractive: return "interactive";
    case Priority::kBackground: return "background";
  }
  return "background";
}

std::optional<Priority> priority_from_string(std::string_view name) {
  name = trim(name);
  for (const Priority p : kPriorities) {
    if (iequals(name, to_string(p))) return p;
  }
  return std::nullopt;
}

}  // namespace sluice
