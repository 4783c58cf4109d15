#pragma once
// JSON text for anything sluice writes that may hold bytes from outside: a
// provider's error message, a caller's model name, a header. nlohmann's
// plain dump() throws on invalid UTF-8 (a message cut inside a character, a
// text/plain error body in Latin-1); here such bytes become U+FFFD instead,
// so an error answer is always written.
#include <nlohmann/json.hpp>
#include <string>

namespace sluice {

// For nlohmann::json and nlohmann::ordered_json alike (the translators keep
// the order of the caller's fields).
template <class Json>
std::string json_text(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::detail::error_handler_t::replace);
}

}  // namespace sluice
