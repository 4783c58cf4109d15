#pragma once
// Small, non-throwing accessors over nlohmann::ordered_json for the
// translators: a missing member or one of the wrong type reads as absent.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sluice/core/json_text.hpp"

namespace sluice::translate::detail {

using Json = nlohmann::ordered_json;

inline const Json* member(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

inline std::string text_at(const Json& j, const char* key) {
  const Json* m = member(j, key);
  return m && m->is_string() ? m->get<std::string>() : std::string();
}

inline std::int64_t int_at(const Json& j, const char* key) {
  const Json* m = member(j, key);
  return m && m->is_number_integer() ? m->get<std::int64_t>() : 0;
}

inline bool has(const Json& j, const char* key) { return member(j, key) != nullptr; }

// A JSON object parsed from text; an empty object when it is not one.
inline Json object_from(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_object() ? j : Json::object();
}

}  // namespace sluice::translate::detail
