#include "sluice/sim/request_body.hpp"

#include <simdjson.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "sluice/providers/model_splice.hpp"

namespace sluice::sim {

namespace {

namespace dom = simdjson::dom;

// simdjson's default depth (1024) would refuse content that providers take
// (a test nests 5,000 levels). 16,384 levels cost the parser ~150 KB once per
// thread.
constexpr std::size_t kMaxDepth = 16384;

// One parser per thread, reused: its buffers grow to the largest body seen.
dom::parser& parser() {
  thread_local dom::parser p = [] {
    dom::parser q;
    if (q.allocate(64 * 1024, kMaxDepth) != simdjson::SUCCESS) throw std::bad_alloc();
    return q;
  }();
  return p;
}

// Reads that never throw. `as`: false when `j` is not a T. `at`: false when
// `j` is not an object or has no member `key`. Named results, not chained
// simdjson_result temporaries, which g++ 12 rightly calls dangling.
template <class T>
bool as(dom::element j, T& out) {
  return j.get(out) == simdjson::SUCCESS;
}
bool at(dom::element j, std::string_view key, dom::element& out) {
  return j.at_key(key).get(out) == simdjson::SUCCESS;
}

// Sizes all text below `root`: strings by their bytes (part "type" tags
// excepted), numbers (token-id arrays) as one token each. Iterative, so a
// hostile nesting depth cannot exhaust the stack. The fingerprint is taken
// only when asked: it seeds embeddings, and costs a multiply per byte.
struct TextTally {
  bool fingerprint = false;
  std::size_t bytes = 0;
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a

  void add(dom::element root) {
    std::vector<dom::element> todo{root};
    while (!todo.empty()) {
      const dom::element j = todo.back();
      todo.pop_back();
      switch (j.type()) {
        case dom::element_type::STRING: {
          std::string_view s;
          (void)as(j, s);
          bytes += s.size();
          if (fingerprint) {
            for (unsigned char c : s) hash = (hash ^ c) * 1099511628211ull;
          }
          break;
        }
        case dom::element_type::INT64:
        case dom::element_type::UINT64:
        case dom::element_type::DOUBLE: bytes += 4; break;
        case dom::element_type::OBJECT: {
          dom::object o;
          (void)as(j, o);
          // "type" values ("text", "image_url") name parts; they are not text.
          for (auto [key, value] : o) {
            if (key != "type") todo.push_back(value);
          }
          break;
        }
        case dom::element_type::ARRAY: {
          dom::array a;
          (void)as(j, a);
          for (dom::element child : a) todo.push_back(child);
          break;
        }
        case dom::element_type::BOOL:
        case dom::element_type::NULL_VALUE: break;
      }
    }
  }
};

constexpr std::int64_t kMaxOutputTokens = 100'000'000;

BadRequest bad(BadRequest::Why why, std::string param) { return BadRequest{why, std::move(param)}; }

// A member that is there and not null, as an API reads "present".
std::optional<dom::element> member(dom::element j, std::string_view key) {
  dom::element v;
  if (!at(j, key, v) || v.is_null()) return std::nullopt;
  return v;
}

// A string member, or "" when absent or not a string (never fails).
std::string_view string_at(dom::element j, std::string_view key) {
  dom::element v;
  std::string_view s;
  return at(j, key, v) && as(v, s) ? s : std::string_view();
}

// The tool call a request asks for, in its API's shape: the tool a forcing
// tool_choice names, else the first offered; none when `tool_choice` is
// `none`. Only the chosen tool's schema is converted for tool_calls.
std::optional<ToolCall> tool_call_for(Endpoint endpoint, dom::element doc) {
  dom::array tools;
  if (dom::element e; !at(doc, "tools", e) || !as(e, tools)) return std::nullopt;
  std::vector<std::string_view> names;
  std::vector<std::optional<dom::element>> schemas;
  const std::string_view schema_field =
      endpoint == Endpoint::kMessages ? "input_schema" : "parameters";
  for (dom::element t : tools) {
    if (!t.is_object()) continue;
    dom::element fn = t;  // Anthropic and Responses: the tool itself
    if (endpoint == Endpoint::kChatCompletions) {
      if (!at(t, "function", fn) || !fn.is_object()) continue;
    } else if (endpoint == Endpoint::kResponses) {
      if (string_at(t, "type") != "function") continue;  // web_search, namespace, …
    } else if (dom::element type; at(t, "type", type)) {
      // Anthropic server tools (web_search_20250305, bash_20250124, …)
      if (std::string_view kind; !as(type, kind) || kind != "custom") continue;
    }
    std::string_view name;
    if (dom::element e; !at(fn, "name", e) || !as(e, name)) continue;
    dom::element schema;
    const bool has_schema = at(fn, schema_field, schema) && schema.is_object();
    names.push_back(name);
    schemas.push_back(has_schema ? std::optional(schema) : std::nullopt);
  }
  std::string_view forced;
  dom::element choice;
  if (at(doc, "tool_choice", choice)) {
    if (std::string_view word; as(choice, word) && word == "none") return std::nullopt;
    if (choice.is_object()) {
      const std::string_view type = string_at(choice, "type");
      if (type == "none") return std::nullopt;
      dom::element f;
      if (at(choice, "function", f) && f.is_object()) {
        forced = string_at(f, "name");  // chat: {type: function, function: {name}}
      } else if (type == "tool" || type == "function") {
        forced = string_at(choice, "name");  // Anthropic {type: tool}; Responses
      }
    }
  }
  const std::optional<std::size_t> pick = choose_tool(names, forced);
  if (!pick) return std::nullopt;
  if (!schemas[*pick]) return call_tool(std::string(names[*pick]), nullptr);
  const nlohmann::json schema = nlohmann::json::parse(simdjson::minify(*schemas[*pick]));
  return call_tool(std::string(names[*pick]), &schema);
}

bool is_type(dom::element j, std::string_view type) {
  return j.is_object() && string_at(j, "type") == type;
}

// Whether the conversation's last turn hands a tool's result back: then the
// model answers with text rather than calling again.
bool ends_with_tool_result(Endpoint endpoint, dom::element doc) {
  dom::array turns;
  const char* list = endpoint == Endpoint::kResponses ? "input" : "messages";
  if (dom::element e; !at(doc, list, e) || !as(e, turns) || turns.size() == 0) return false;
  dom::element last;
  for (dom::element turn : turns) last = turn;  // DOM arrays are walked, not indexed from the end
  if (endpoint == Endpoint::kResponses) {
    return is_type(last, "function_call_output") || is_type(last, "custom_tool_call_output");
  }
  if (!last.is_object()) return false;
  if (endpoint == Endpoint::kChatCompletions) return string_at(last, "role") == "tool";
  dom::array content;
  if (dom::element e; !at(last, "content", e) || !as(e, content)) return false;
  return std::any_of(content.begin(), content.end(),
                     [](dom::element block) { return is_type(block, "tool_result"); });
}

}  // namespace

bool generates_text(Endpoint e) {
  return e == Endpoint::kChatCompletions || e == Endpoint::kCompletions ||
         e == Endpoint::kMessages || e == Endpoint::kResponses;
}

bool is_rate_limited(Endpoint e) { return generates_text(e) || e == Endpoint::kEmbeddings; }

std::int64_t estimate_prompt_tokens(std::size_t text_bytes) {
  // The gateway's own estimate, so simulated budgets and sluice's throttle agree.
  return providers::estimate_prompt_tokens(text_bytes);
}

std::variant<ParsedRequest, BadRequest> parse_request(Endpoint endpoint, std::string_view body,
                                                      std::string_view implied_model) {
  using Why = BadRequest::Why;
  ParsedRequest out;
  if (endpoint == Endpoint::kModels || endpoint == Endpoint::kModel) {
    return out;  // a GET: no body to read
  }

  dom::element doc;
  if (parser().parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) {
    return bad(Why::kInvalidJson, "");
  }
  if (!doc.is_object()) return bad(Why::kNotAnObject, "");

  if (auto m = member(doc, "model")) {
    std::string_view model;
    if (!as(*m, model)) return bad(Why::kInvalidType, "model");
    if (model.empty()) return bad(Why::kInvalidValue, "model");
    out.model = std::string(model);
  } else if (!implied_model.empty()) {
    out.model = std::string(implied_model);
  } else {
    return bad(Why::kMissing, "model");
  }

  if (auto s = member(doc, "stream")) {
    bool stream = false;
    if (!as(*s, stream)) return bad(Why::kInvalidType, "stream");
    out.stream = stream && generates_text(endpoint);
  }

  TextTally text{.fingerprint = endpoint == Endpoint::kEmbeddings};
  // Adds `field` when present, the way the API reads optional text.
  const auto add_if_there = [&](std::string_view field) {
    dom::element e;
    if (at(doc, field, e)) text.add(e);
  };
  switch (endpoint) {
    case Endpoint::kChatCompletions:
    case Endpoint::kMessages:
    case Endpoint::kCountTokens: {
      auto msgs = member(doc, "messages");
      if (!msgs) return bad(Why::kMissing, "messages");
      if (!msgs->is_array()) return bad(Why::kInvalidType, "messages");
      dom::array list;
      (void)as(*msgs, list);
      if (list.begin() == list.end()) return bad(Why::kInvalidValue, "messages");
      for (dom::element m : list) {
        if (!m.is_object()) return bad(Why::kInvalidType, "messages");
        dom::element c;
        if (at(m, "content", c)) text.add(c);
      }
      add_if_there("system");  // Anthropic
      break;
    }
    case Endpoint::kCompletions: {
      auto p = member(doc, "prompt");
      if (!p) return bad(Why::kMissing, "prompt");
      if (!p->is_string() && !p->is_array()) return bad(Why::kInvalidType, "prompt");
      text.add(*p);
      break;
    }
    case Endpoint::kEmbeddings: {
      auto in = member(doc, "input");
      if (!in) return bad(Why::kMissing, "input");
      if (!in->is_string() && !in->is_array()) return bad(Why::kInvalidType, "input");
      if (in->is_array()) {
        dom::array list;
        (void)as(*in, list);
        if (list.begin() == list.end()) return bad(Why::kInvalidValue, "input");
        // An array of strings is a batch; an array of numbers is one tokenized input.
        if ((*list.begin()).is_string()) {
          out.inputs = static_cast<std::size_t>(std::distance(list.begin(), list.end()));
        }
      }
      text.add(*in);
      break;
    }
    case Endpoint::kResponses: {
      auto in = member(doc, "input");
      if (!in) return bad(Why::kMissing, "input");
      if (!in->is_string() && !in->is_array()) return bad(Why::kInvalidType, "input");
      text.add(*in);
      add_if_there("instructions");
      break;
    }
    case Endpoint::kModels:
    case Endpoint::kModel: break;
  }
  if (endpoint == Endpoint::kEmbeddings) {
    if (auto f = member(doc, "encoding_format")) {
      std::string_view format;
      if (!as(*f, format)) {
        return bad(Why::kInvalidType, "encoding_format");
      }
      if (format != "float" && format != "base64") {
        return bad(Why::kInvalidValue, "encoding_format");
      }
      out.base64_embeddings = format == "base64";
    }
  }
  out.prompt_tokens = estimate_prompt_tokens(text.bytes);
  out.text_hash = text.hash;

  if (generates_text(endpoint)) {
    // OpenAI's newer name wins over the old one; Anthropic only has
    // max_tokens, Responses only max_output_tokens.
    const char* field = endpoint == Endpoint::kResponses ? "max_output_tokens"
                        : (endpoint != Endpoint::kMessages && member(doc, "max_completion_tokens"))
                            ? "max_completion_tokens"
                            : "max_tokens";
    out.max_tokens = kDefaultMaxTokens;
    if (auto mt = member(doc, field)) {
      // Past int64 is an integer too: too large, not the wrong type.
      if (mt->is_uint64() && !mt->is_int64()) return bad(Why::kInvalidValue, field);
      std::int64_t v = 0;
      if (!as(*mt, v)) {
        return bad(Why::kInvalidType, field);
      }
      // Far beyond any model's output limit; also keeps cost() clear of overflow.
      if (v <= 0 || v > kMaxOutputTokens) return bad(Why::kInvalidValue, field);
      out.max_tokens = v;
    }
    if (endpoint != Endpoint::kCompletions && !ends_with_tool_result(endpoint, doc)) {
      out.tool_call = tool_call_for(endpoint, doc);
    }
  }
  return out;
}

}  // namespace sluice::sim
