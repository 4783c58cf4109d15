#include "sluice/sim/tool_calls.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::sim {

namespace {

using nlohmann::json;

constexpr int kMaxDepth = 16;

const json* resolve_ref(const json& schema, const json& root) {
  auto ref = schema.find("$ref");
  if (ref == schema.end() || !ref->is_string()) return &schema;
  const auto& r = ref->get_ref<const std::string&>();
  for (std::string_view prefix : {"#/$defs/", "#/definitions/"}) {
    if (!r.starts_with(prefix)) continue;
    const std::string key(prefix.substr(2, prefix.size() - 3));  // "$defs" / "definitions"
    auto defs = root.find(key);
    if (defs == root.end() || !defs->is_object()) return nullptr;
    auto it = defs->find(r.substr(prefix.size()));
    return it == defs->end() ? nullptr : &*it;
  }
  return r == "#" ? &root : nullptr;
}

std::string first_type(const json& schema) {
  auto t = schema.find("type");
  if (t == schema.end()) {
    if (schema.contains("properties")) return "object";
    if (schema.contains("items")) return "array";
    return "";
  }
  if (t->is_string()) return t->get<std::string>();
  if (t->is_array()) {
    for (const auto& x : *t) {
      if (x.is_string() && x != "null") return x.get<std::string>();
    }
  }
  return "";
}

json example(const json& in, const json& root, int depth, std::string_view name) {
  if (depth > kMaxDepth || !in.is_object()) return json::object();
  const json* resolved = resolve_ref(in, root);
  if (resolved == nullptr || !resolved->is_object()) return json::object();
  const json& schema = *resolved;
  if (auto c = schema.find("const"); c != schema.end()) return *c;
  if (auto d = schema.find("default"); d != schema.end()) return *d;
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array() && !e->empty()) {
    return e->front();
  }
  for (const char* branches : {"anyOf", "oneOf", "allOf"}) {
    auto b = schema.find(branches);
    if (b == schema.end() || !b->is_array()) continue;
    for (const auto& branch : *b) {  // the first branch that is not just null
      if (branch.is_object() && first_type(branch) != "null") {
        return example(branch, root, depth + 1, name);
      }
    }
  }
  const std::string type = first_type(schema);
  const bool command = name == "command" || name == "cmd";
  if (type == "string") {
    std::string s = command ? "echo sluice-sim" : "sim";
    if (auto m = schema.find("minLength"); m != schema.end() && m->is_number_unsigned()) {
      const auto min = std::min<std::size_t>(m->get<std::size_t>(), 4096);
      if (s.size() < min) s.append(min - s.size(), 'x');
    }
    if (auto m = schema.find("maxLength"); m != schema.end() && m->is_number_unsigned()) {
      s.resize(std::min(s.size(), m->get<std::size_t>()));
    }
    return s;
  }
  if (type == "integer" || type == "number") {
    double v = 1;
    if (auto m = schema.find("minimum"); m != schema.end() && m->is_number()) {
      v = std::max(v, m->get<double>());
    }
    if (auto m = schema.find("exclusiveMinimum"); m != schema.end() && m->is_number()) {
      v = std::max(v, m->get<double>() + 1);
    }
    if (auto m = schema.find("maximum"); m != schema.end() && m->is_number()) {
      v = std::min(v, m->get<double>());
    }
    if (type == "integer") return static_cast<std::int64_t>(std::ceil(v));
    return v;
  }
  if (type == "boolean") return false;
  if (type == "null") return nullptr;
  if (type == "array") {
    json out = json::array();
    std::size_t n = 0;
    if (auto m = schema.find("minItems"); m != schema.end() && m->is_number_unsigned()) {
      n = std::min<std::size_t>(m->get<std::size_t>(), 16);
    }
    const auto items = schema.find("items");
    const bool string_items =
        items != schema.end() && items->is_object() && first_type(*items) == "string";
    if (command && string_items && n <= 2) {
      return json::array({"echo", "sluice-sim"});
    }
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(items != schema.end() ? example(*items, root, depth + 1, "") : json("sim"));
    }
    return out;
  }
  // An object (or a schema that names no type: an object is what tools take).
  json out = json::object();
  auto props = schema.find("properties");
  auto required = schema.find("required");
  if (props != schema.end() && props->is_object() && required != schema.end() &&
      required->is_array()) {
    for (const auto& r : *required) {
      if (!r.is_string()) continue;
      const auto& key = r.get_ref<const std::string&>();
      auto p = props->find(key);
      out[key] = p == props->end() ? json("sim") : example(*p, root, depth + 1, key);
    }
  }
  return out;
}

}  // namespace

json example_for_schema(const json& schema, const json& root) {
  return example(schema, root, 0, "");
}

std::optional<std::size_t> choose_tool(const std::vector<std::string_view>& offered,
                                       std::string_view forced) {
  if (offered.empty()) return std::nullopt;
  auto it = std::find(offered.begin(), offered.end(), forced);
  return forced.empty() || it == offered.end() ? 0 : static_cast<std::size_t>(it - offered.begin());
}

ToolCall call_tool(std::string name, const json* schema) {
  json args = schema ? example_for_schema(*schema, *schema) : json::object();
  if (!args.is_object()) args = json::object();
  return ToolCall{std::move(name), args.dump()};
}

}  // namespace sluice::sim
