#pragma once
// One finding of the config loader, addressed the way a person finds it: the
// file position and the field path (`models.main.route[1]`).
#include <string>

namespace sluice::config {

struct Diagnostic {
  std::string file;  // as given to the loader, e.g. "config.yaml"
  std::string path;  // "models.main.route[1]"; empty for the document as a whole
  std::string message;
  int line = 0;  // 1-based; 0 when no position is known
  int column = 0;

  // "config.yaml:14:7: models.main.route[1]: unknown provider \"anthropc\" ..."
  // The position and the path are left out when unknown or empty.
  std::string format() const;
};

}  // namespace sluice::config
