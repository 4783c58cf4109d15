#pragma once
// The YAML reading sluice's loaders share (the gateway's config, the
// simulator's): typed fields with their paths and their positions in the
// file. Every check reports and carries on, so one run finds every mistake;
// unknown fields get a did-you-mean. Values are never echoed in full (a
// scalar is quoted up to 48 bytes), and secret-bearing fields only fail on
// non-scalars.
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/config/diagnostic.hpp"
#include "sluice/config/did_you_mean.hpp"
#include "sluice/config/duration_text.hpp"
#include "sluice/core/text.hpp"
#include "sluice/core/time.hpp"

namespace sluice::config {

using Names = std::vector<std::string>;

// "\"value\"", cut at 48 bytes with "...".
std::string quoted(std::string_view value);
// "a.b" / "b" when `path` is empty.
std::string child(const std::string& path, std::string_view field);
// "a[3]".
std::string element(const std::string& path, std::size_t index);
// What a node is, for "expected X, got Y": "a mapping", "a list", a quoted
// scalar, "nothing".
std::string what_is(const YAML::Node& node);
// "32MiB", "64 KiB", "1048576"; nullopt on anything else.
std::optional<double> parse_byte_size(std::string_view text);

class YamlFields {
 public:
  explicit YamlFields(std::string file) : file_(std::move(file)) {}

  // Everything found so far, in document order.
  const std::vector<Diagnostic>& errors() const { return errors_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }

  using FieldHandler =
      std::function<void(const std::string& key, const YAML::Node& value, const std::string& path)>;

  // ---- diagnostics ----
  Diagnostic at(const YAML::Mark& mark, std::string path, std::string message) const {
    Diagnostic d;
    d.file = file_;
    d.path = std::move(path);
    d.message = std::move(message);
    if (!mark.is_null()) {
      d.line = mark.line + 1;
      d.column = mark.column + 1;
    }
    return d;
  }
  void error(const YAML::Mark& mark, std::string path, std::string message) {
    errors_.push_back(at(mark, std::move(path), std::move(message)));
  }
  void error(const YAML::Node& node, std::string path, std::string message) {
    error(node.Mark(), std::move(path), std::move(message));
  }
  void warning(const YAML::Mark& mark, std::string path, std::string message) {
    warnings_.push_back(at(mark, std::move(path), std::move(message)));
  }
  void warning(const YAML::Node& node, std::string path, std::string message) {
    warning(node.Mark(), std::move(path), std::move(message));
  }

  // ---- structure ----
  bool expect_map(const YAML::Node& node, const std::string& path) {
    if (node.IsMap()) return true;
    error(node, path, "expected a mapping, got " + what_is(node));
    return false;
  }

  // Visits every entry of a mapping with free-form keys (provider names,
  // aliases, header names).
  void each_entry(const YAML::Node& map, const std::string& path, const FieldHandler& handle) {
    each_entry_at(map, path,
                  [&](const std::string& key, const YAML::Mark&, const YAML::Node& value,
                      const std::string& key_path) { handle(key, value, key_path); });
  }

  using EntryHandler = std::function<void(const std::string& key, const YAML::Mark& key_mark,
                                          const YAML::Node& value, const std::string& path)>;
  void each_entry_at(const YAML::Node& map, const std::string& path, const EntryHandler& handle) {
    if (!expect_map(map, path)) return;
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key_node = it->first;
      const YAML::Node value = it->second;
      if (!key_node.IsScalar()) {
        error(key_node, path, "expected a name as key, got " + what_is(key_node));
        continue;
      }
      const std::string key = key_node.Scalar();
      const std::string key_path = child(path, key);
      if (!seen.insert(key).second) {
        error(key_node, key_path, "duplicate key; the earlier one would be ignored");
        continue;
      }
      handle(key, key_node.Mark(), value, key_path);
    }
  }

  // Like each_entry, for a fixed set of field names: anything else is an
  // error with a suggestion. Null values count as absent (`field:` alone).
  void each_field(const YAML::Node& map, const std::string& path, const Names& allowed,
                  const FieldHandler& handle) {
    each_entry_at(
        map, path,
        [&](const std::string& key, const YAML::Mark& key_mark, const YAML::Node& value,
            const std::string& key_path) {
          if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            const std::string hint = did_you_mean(key, allowed);
            error(key_mark, key_path,
                  "unknown field" +
                      (hint.empty() ? " (expected one of: " + join(allowed, ", ") + ")" : hint));
            return;
          }
          if (value.IsNull()) return;
          handle(key, value, key_path);
        });
  }

  struct ListItem {
    YAML::Node node;  // so diagnostics point at the element
    std::string text;
    std::string path;  // "providers.zai.keys[2]"
  };

  // A list, or one scalar standing for a list of one. Non-scalar elements are
  // reported and left out.
  std::vector<ListItem> string_list(const YAML::Node& node, const std::string& path) {
    std::vector<ListItem> out;
    if (node.IsScalar()) {
      out.push_back(ListItem{node, node.Scalar(), element(path, 0)});
      return out;
    }
    if (!node.IsSequence()) {
      error(node, path, "expected a list of strings, got " + what_is(node));
      return out;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      if (!item.IsScalar()) {
        error(item, element(path, i), "expected a string, got " + what_is(item));
        continue;
      }
      out.push_back(ListItem{item, item.Scalar(), element(path, i)});
    }
    return out;
  }

  // ---- scalars ----
  std::optional<std::string> string_value(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) return node.Scalar();
    error(node, path, "expected a string, got " + what_is(node));
    return std::nullopt;
  }

  std::optional<long long> integer(const YAML::Node& node, const std::string& path, long long min,
                                   long long max) {
    const auto value = node.IsScalar() ? parse_integer(node.Scalar()) : std::nullopt;
    if (!value) {
      error(node, path, "expected an integer, got " + what_is(node));
      return std::nullopt;
    }
    if (*value < min || *value > max) {
      error(node, path,
            max == std::numeric_limits<int>::max()
                ? "must be at least " + std::to_string(min) + ", got " + std::to_string(*value)
                : "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + std::to_string(*value));
      return std::nullopt;
    }
    return value;
  }

  std::optional<int> int_value(const YAML::Node& node, const std::string& path, int min,
                               int max = std::numeric_limits<int>::max()) {
    const auto value = integer(node, path, min, max);
    if (!value) return std::nullopt;
    return static_cast<int>(*value);
  }

  std::optional<double> fraction(const YAML::Node& node, const std::string& path) {
    const auto value = node.IsScalar() ? parse_number(node.Scalar()) : std::nullopt;
    if (!value) {
      error(node, path, "expected a number, got " + what_is(node));
      return std::nullopt;
    }
    if (*value < 0 || *value > 1) {
      error(node, path, "must be between 0 and 1, got " + node.Scalar());
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) {
      const std::string v = ascii_lower(node.Scalar());
      if (v == "true" || v == "yes" || v == "on") return true;
      if (v == "false" || v == "no" || v == "off") return false;
    }
    error(node, path, "expected true or false, got " + what_is(node));
    return std::nullopt;
  }

  // allow_zero: 0 means "never wait" for waits, and is nonsense for timeouts.
  std::optional<Duration> duration(const YAML::Node& node, const std::string& path,
                                   bool allow_zero) {
    const auto value = node.IsScalar() ? parse_duration(node.Scalar()) : std::nullopt;
    if (!value) {
      error(node, path,
            "expected a duration such as 200ms, 2s, 1.5s, 1m or 1h (at most " +
                format_duration(kMaxConfigDuration) + "), got " + what_is(node));
      return std::nullopt;
    }
    if (!allow_zero && *value <= Duration::zero()) {
      error(node, path, "must be longer than 0");
      return std::nullopt;
    }
    return value;
  }

  // Limits from 1KiB (smaller cannot hold a request head) to 4GiB (larger is
  // a typo, and must fit a size_t on any platform sluice builds for).
  std::optional<std::size_t> byte_size(const YAML::Node& node, const std::string& path) {
    constexpr double kMin = 1024, kMax = 4.0 * 1024 * 1024 * 1024;
    const auto value = node.IsScalar() ? parse_byte_size(node.Scalar()) : std::nullopt;
    if (!value) {
      error(node, path,
            "expected a size in bytes such as 65536, 64KiB or 32MiB, got " + what_is(node));
      return std::nullopt;
    }
    if (*value < kMin || *value > kMax) {
      error(node, path, "must be between 1KiB and 4GiB");
      return std::nullopt;
    }
    return static_cast<std::size_t>(*value);
  }

  // A case-insensitive choice among `names`; the index into `names`.
  std::optional<std::size_t> choice(const YAML::Node& node, const std::string& path,
                                    std::string_view what, const Names& names) {
    if (!node.IsScalar()) {
      error(node, path, "expected one of " + join(names, ", ") + ", got " + what_is(node));
      return std::nullopt;
    }
    const std::string& value = node.Scalar();
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (iequals(trim(value), names[i])) return i;
    }
    const std::string hint = did_you_mean(value, names);
    error(node, path,
          "unknown " + std::string(what) + " " + quoted(value) +
              (hint.empty() ? " (expected one of: " + join(names, ", ") + ")" : hint));
    return std::nullopt;
  }

  // A case-insensitive choice among an enum's `values`, each named by its
  // to_string: the enum's one name table.
  template <class E, std::size_t N>
  std::optional<E> enum_choice(const YAML::Node& node, const std::string& path,
                               std::string_view what, const std::array<E, N>& values) {
    Names names;
    for (const E e : values) names.emplace_back(to_string(e));
    const auto i = choice(node, path, what, names);
    if (!i) return std::nullopt;
    return values[*i];
  }

 protected:
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;

 private:
  std::string file_;
};

}  // namespace sluice::config
