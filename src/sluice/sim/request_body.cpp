#include "sluice/sim/request_body.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "sluice/providers/model_splice.hpp"

namespace sluice::sim {

namespace {

using nlohmann::json;

// Sizes all text below `root`: strings by their bytes (part "type" tags
// excepted), numbers (token-id arrays) as one token each. Iterative, so a
// hostile nesting depth cannot exhaust the stack.
struct TextTally {
  std::size_t bytes = 0;
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a

  void add(const json& root) {
    std::vector<const json*> todo{&root};
    while (!todo.empty()) {
      const json* j = todo.back();
      todo.pop_back();
      if (j->is_string()) {
        const auto& s = j->get_ref<const std::string&>();
        bytes += s.size();
        for (unsigned char c : s) hash = (hash ^ c) * 1099511628211ull;
      } else if (j->is_number()) {
        bytes += 4;
      } else if (j->is_object()) {
        // "type" values ("text", "image_url") name parts; they are not text.
        for (auto it = j->begin(); it != j->end(); ++it) {
          if (it.key() != "type") todo.push_back(&it.value());
        }
      } else if (j->is_array()) {
        for (const auto& child : *j) todo.push_back(&child);
      }
    }
  }
};

constexpr std::int64_t kMaxOutputTokens = 100'000'000;

BadRequest bad(BadRequest::Why why, std::string param) { return BadRequest{why, std::move(param)}; }

bool present(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && !it->is_null();
}

// A string member, or "" when absent or not a string (never throws).
std::string_view string_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                          : std::string_view();
}

// The tools a request offers, in its API's shape, and the name a forcing
// tool_choice gives ("" when none). `none` as the choice offers nothing.
struct Offer {
  std::vector<OfferedTool> tools;
  std::string forced;
};

Offer offered_tools(Endpoint endpoint, const json& doc) {
  Offer offer;
  auto tools = doc.find("tools");
  if (tools == doc.end() || !tools->is_array()) return offer;
  for (const auto& t : *tools) {
    if (!t.is_object()) continue;
    const json* fn = &t;  // Anthropic and Responses: the tool itself
    const char* schema_field = endpoint == Endpoint::kMessages ? "input_schema" : "parameters";
    if (endpoint == Endpoint::kChatCompletions) {
      auto f = t.find("function");
      if (f == t.end() || !f->is_object()) continue;
      fn = &*f;
    } else if (endpoint == Endpoint::kResponses) {
      if (string_at(t, "type") != "function") continue;  // web_search, namespace, …
    } else if (t.contains("type") && string_at(t, "type") != "custom") {
      continue;  // Anthropic server tools (web_search_20250305, bash_20250124, …)
    }
    auto name = fn->find("name");
    if (name == fn->end() || !name->is_string()) continue;
    auto schema = fn->find(schema_field);
    offer.tools.push_back(OfferedTool{
        name->get<std::string>(), schema != fn->end() && schema->is_object() ? &*schema : nullptr});
  }
  auto choice = doc.find("tool_choice");
  if (choice != doc.end()) {
    if (choice->is_string() && *choice == "none") offer.tools.clear();
    if (choice->is_object()) {
      const std::string_view type = string_at(*choice, "type");
      if (type == "none") offer.tools.clear();
      if (auto f = choice->find("function"); f != choice->end() && f->is_object()) {
        offer.forced =
            std::string(string_at(*f, "name"));  // chat: {type: function, function: {name}}
      } else if (type == "tool" || type == "function") {
        offer.forced =
            std::string(string_at(*choice, "name"));  // Anthropic {type: tool}; Responses
      }
    }
  }
  return offer;
}

// Whether the conversation's last turn hands a tool's result back: then the
// model answers with text rather than calling again.
bool ends_with_tool_result(Endpoint endpoint, const json& doc) {
  if (endpoint == Endpoint::kResponses) {
    auto input = doc.find("input");
    if (input == doc.end() || !input->is_array() || input->empty()) return false;
    const json& last = input->back();
    return last.is_object() && (string_at(last, "type") == "function_call_output" ||
                                string_at(last, "type") == "custom_tool_call_output");
  }
  auto msgs = doc.find("messages");
  if (msgs == doc.end() || !msgs->is_array() || msgs->empty()) return false;
  const json& last = msgs->back();
  if (!last.is_object()) return false;
  if (endpoint == Endpoint::kChatCompletions) return string_at(last, "role") == "tool";
  auto content = last.find("content");
  if (content == last.end() || !content->is_array()) return false;
  return std::any_of(content->begin(), content->end(), [](const json& block) {
    return block.is_object() && string_at(block, "type") == "tool_result";
  });
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

  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return bad(Why::kInvalidJson, "");
  if (!doc.is_object()) return bad(Why::kNotAnObject, "");

  if (present(doc, "model")) {
    const json& m = doc["model"];
    if (!m.is_string()) return bad(Why::kInvalidType, "model");
    out.model = m.get<std::string>();
    if (out.model.empty()) return bad(Why::kInvalidValue, "model");
  } else if (!implied_model.empty()) {
    out.model = std::string(implied_model);
  } else {
    return bad(Why::kMissing, "model");
  }

  if (present(doc, "stream")) {
    if (!doc["stream"].is_boolean()) return bad(Why::kInvalidType, "stream");
    out.stream = doc["stream"].get<bool>() && generates_text(endpoint);
  }

  TextTally text;
  switch (endpoint) {
    case Endpoint::kChatCompletions:
    case Endpoint::kMessages:
    case Endpoint::kCountTokens: {
      if (!present(doc, "messages")) return bad(Why::kMissing, "messages");
      const json& msgs = doc["messages"];
      if (!msgs.is_array()) return bad(Why::kInvalidType, "messages");
      if (msgs.empty()) return bad(Why::kInvalidValue, "messages");
      for (const auto& m : msgs) {
        if (!m.is_object()) return bad(Why::kInvalidType, "messages");
        if (auto c = m.find("content"); c != m.end()) text.add(*c);
      }
      if (auto s = doc.find("system"); s != doc.end()) text.add(*s);  // Anthropic
      break;
    }
    case Endpoint::kCompletions: {
      if (!present(doc, "prompt")) return bad(Why::kMissing, "prompt");
      const json& p = doc["prompt"];
      if (!p.is_string() && !p.is_array()) return bad(Why::kInvalidType, "prompt");
      text.add(p);
      break;
    }
    case Endpoint::kEmbeddings: {
      if (!present(doc, "input")) return bad(Why::kMissing, "input");
      const json& in = doc["input"];
      if (!in.is_string() && !in.is_array()) return bad(Why::kInvalidType, "input");
      if (in.is_array() && in.empty()) return bad(Why::kInvalidValue, "input");
      // An array of strings is a batch; an array of numbers is one tokenized input.
      out.inputs = (in.is_array() && in.front().is_string()) ? in.size() : 1;
      text.add(in);
      break;
    }
    case Endpoint::kResponses: {
      if (!present(doc, "input")) return bad(Why::kMissing, "input");
      const json& in = doc["input"];
      if (!in.is_string() && !in.is_array()) return bad(Why::kInvalidType, "input");
      text.add(in);
      if (auto s = doc.find("instructions"); s != doc.end()) text.add(*s);
      break;
    }
    case Endpoint::kModels:
    case Endpoint::kModel: break;
  }
  if (endpoint == Endpoint::kEmbeddings && present(doc, "encoding_format")) {
    const json& f = doc["encoding_format"];
    if (!f.is_string()) return bad(Why::kInvalidType, "encoding_format");
    if (f != "float" && f != "base64") return bad(Why::kInvalidValue, "encoding_format");
    out.base64_embeddings = f == "base64";
  }
  out.prompt_tokens = estimate_prompt_tokens(text.bytes);
  out.text_hash = text.hash;

  if (generates_text(endpoint)) {
    // OpenAI's newer name wins over the old one; Anthropic only has
    // max_tokens, Responses only max_output_tokens.
    const char* field = endpoint == Endpoint::kResponses ? "max_output_tokens"
                        : (endpoint != Endpoint::kMessages && present(doc, "max_completion_tokens"))
                            ? "max_completion_tokens"
                            : "max_tokens";
    out.max_tokens = kDefaultMaxTokens;
    if (present(doc, field)) {
      const json& mt = doc[field];
      if (!mt.is_number_integer()) return bad(Why::kInvalidType, field);
      const auto v = mt.get<std::int64_t>();
      // Far beyond any model's output limit; also keeps cost() clear of overflow.
      if (v <= 0 || v > kMaxOutputTokens) return bad(Why::kInvalidValue, field);
      out.max_tokens = v;
    }
    if (endpoint != Endpoint::kCompletions && !ends_with_tool_result(endpoint, doc)) {
      Offer offer = offered_tools(endpoint, doc);
      out.tool_call = choose_tool_call(offer.tools, offer.forced);
    }
  }
  return out;
}

}  // namespace sluice::sim
