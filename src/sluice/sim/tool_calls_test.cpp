#include "sluice/sim/tool_calls.hpp"

#include <gtest/gtest.h>

namespace sluice::sim {
namespace {

using nlohmann::json;

json example(const json& schema) { return example_for_schema(schema, schema); }

TEST(ToolCalls, RequiredPropertiesAreFilledAndOptionalOnesLeftOut) {
  const json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "city": {"type": "string"},
      "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
      "days": {"type": "integer", "minimum": 3, "maximum": 10},
      "verbose": {"type": "boolean"}
    },
    "required": ["city", "units", "days"]
  })");
  EXPECT_EQ(example(schema), json::parse(R"({"city": "sim", "units": "celsius", "days": 3})"));
}

TEST(ToolCalls, ConstDefaultAnyOfArraysAndNestedObjects) {
  const json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "kind": {"const": "search"},
      "limit": {"type": "number", "default": 25},
      "id": {"anyOf": [{"type": "null"}, {"type": "integer", "exclusiveMinimum": 0}]},
      "tags": {"type": "array", "items": {"type": "string", "minLength": 5}, "minItems": 2},
      "where": {"type": "object", "properties": {"lat": {"type": ["null", "number"]}},
                "required": ["lat"]}
    },
    "required": ["kind", "limit", "id", "tags", "where"]
  })");
  EXPECT_EQ(example(schema), json::parse(R"({"kind": "search", "limit": 25, "id": 1,
      "tags": ["simxx", "simxx"], "where": {"lat": 1.0}})"));
}

TEST(ToolCalls, CommandFieldsGetAHarmlessEcho) {
  const json schema = json::parse(R"({"type": "object", "properties": {
      "command": {"type": "string"}, "argv": {"type": "array", "items": {"type": "string"}},
      "cmd": {"type": "array", "items": {"type": "string"}}},
    "required": ["command", "cmd"]})");
  EXPECT_EQ(example(schema),
            json::parse(R"({"command": "echo sluice-sim", "cmd": ["echo", "sluice-sim"]})"));
}

TEST(ToolCalls, LocalRefsResolveAndARecursiveSchemaEnds) {
  const json schema = json::parse(R"({
    "type": "object", "properties": {"node": {"$ref": "#/$defs/node"}}, "required": ["node"],
    "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}},
                       "required": ["next"]}}})");
  json v = example(schema);
  int depth = 0;
  const json* at = &v["node"];
  while (at->is_object() && at->contains("next")) {
    at = &(*at)["next"];
    ++depth;
  }
  EXPECT_GT(depth, 3);
  EXPECT_LT(depth, 40);
  EXPECT_EQ(example(json::parse(R"({"$ref": "#/$defs/missing"})")), json::object());
}

TEST(ToolCalls, TheForcedToolWinsElseTheFirstOffered) {
  const json a = json::parse(R"({"type":"object","properties":{"q":{"type":"string"}},
                                  "required":["q"]})");
  EXPECT_EQ(choose_tool({"search", "now"}, ""), 0u);
  EXPECT_EQ(choose_tool({"search", "now"}, "now"), 1u);
  EXPECT_EQ(choose_tool({"search", "now"}, "gone"), 0u);  // a forced name not offered
  EXPECT_FALSE(choose_tool({}, ""));
  EXPECT_FALSE(choose_tool({}, "now"));
  const ToolCall search = call_tool("search", &a);
  EXPECT_EQ(search.name, "search");
  EXPECT_EQ(search.arguments, R"({"q":"sim"})");
  EXPECT_EQ(call_tool("now", nullptr).arguments, "{}");
}

TEST(ToolCalls, HostileSchemasNeverThrow) {
  for (const char* text : {R"({"type": 5})", R"({"required": "x", "properties": []})",
                           R"({"enum": []})", R"({"type":"array","minItems":1000000000})",
                           R"({"type":"string","minLength":99999999})", "[]", "null"}) {
    const json schema = json::parse(text);
    EXPECT_NO_THROW((void)example(schema)) << text;
  }
}

}  // namespace
}  // namespace sluice::sim
