#pragma once
// The simulator's tool calls: when a request offers tools and its last turn
// is not a tool result, the sim "decides" to call one, with arguments made
// from the tool's JSON schema so that a client validating them accepts them.
// Pure functions over JSON; deterministic (no randomness).
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

struct OfferedTool {
  std::string name;
  const nlohmann::json* schema = nullptr;  // null: takes no arguments
};

// A value that satisfies `schema`: `const`, `default`, the first `enum`
// value, the first `anyOf` / `oneOf` branch, every required property of an
// object (optional ones left out), `minItems` items, numbers within their
// bounds, and local `$ref`s ("#/$defs/x", "#/definitions/x") resolved in
// `root`. A string property named "command" (or an array of strings named so)
// becomes a harmless `echo`, because agent CLIs run what a model puts there.
// Depth-limited: a self-referencing schema yields an empty object, not a loop.
nlohmann::json example_for_schema(const nlohmann::json& schema, const nlohmann::json& root);

// The call the sim makes: the tool `forced` names when the request forces
// one, else the first offered tool; nullopt when nothing is offered.
std::optional<ToolCall> choose_tool_call(const std::vector<OfferedTool>& offered,
                                         std::string_view forced);

}  // namespace sluice::sim
