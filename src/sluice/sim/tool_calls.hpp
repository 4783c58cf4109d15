#pragma once
// The simulator's tool calls: when a request offers tools and its last turn
// is not a tool result, the sim "decides" to call one, with arguments made
// from the tool's JSON schema so that a client validating them accepts them.
// Pure functions over JSON; deterministic (no randomness).
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::sim {

struct ToolCall {
  std::string name;
  std::string arguments;  // a JSON object as text (OpenAI's "arguments")
};

// A value that satisfies `schema`: `const`, `default`, the first `enum`
// value, the first `anyOf` / `oneOf` branch, every required property of an
// object (optional ones left out), `minItems` items, numbers within their
// bounds, and local `$ref`s ("#/$defs/x", "#/definitions/x") resolved in
// `root`. A string property named "command" (or an array of strings named so)
// becomes a harmless `echo`, because agent CLIs run what a model puts there.
// Depth-limited: a self-referencing schema yields an empty object, not a loop.
nlohmann::json example_for_schema(const nlohmann::json& schema, const nlohmann::json& root);

// Which offered tool the sim calls: the one `forced` names when the request
// forces one, else the first offered; nullopt when nothing is offered. By
// name alone, so that a request's parser converts only that tool's schema.
std::optional<std::size_t> choose_tool(const std::vector<std::string_view>& offered,
                                       std::string_view forced);

// A call to `name` with arguments that satisfy `schema` (null: takes none).
ToolCall call_tool(std::string name, const nlohmann::json* schema);

}  // namespace sluice::sim
