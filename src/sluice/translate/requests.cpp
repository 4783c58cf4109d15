// Request translation: Messages -> Chat, Chat -> Messages, Responses -> Chat,
// Chat -> Responses (and Responses <-> Messages through Chat).
#include <algorithm>
#include <cstdio>
#include <functional>

#include "sluice/translate/json_util.hpp"
#include "sluice/translate/translate.hpp"

namespace sluice::translate {

using detail::has;
using detail::Json;
using detail::member;
using detail::text_at;

namespace {

// The longest tool name OpenAI accepts (^[a-zA-Z0-9_-]{1,64}$); Anthropic's
// limit is at least that.
constexpr std::size_t kMaxToolName = 64;

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// A name a target accepts, remembered in the context so answers map back.
std::string short_tool_name(const std::string& name, Context& ctx) {
  if (name.size() <= kMaxToolName) return name;
  char suffix[18];
  std::snprintf(suffix, sizeof suffix, "_%016llx", static_cast<unsigned long long>(fnv1a(name)));
  std::string s = name.substr(0, kMaxToolName - 17) + suffix;
  if (std::none_of(ctx.tool_names.begin(), ctx.tool_names.end(),
                   [&](const auto& p) { return p.first == s; })) {
    ctx.tool_names.emplace_back(s, name);
  }
  return s;
}

// The text of Chat content (a string or parts) or Anthropic content (a
// string or blocks): every text part, joined.
std::string joined_text(const Json& content, const char* sep = "\n\n") {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (!content.is_array()) return out;
  for (const auto& part : content) {
    const std::string type = text_at(part, "type");
    if (type == "text" || type == "input_text" || type == "output_text") {
      if (!out.empty()) out += sep;
      out += text_at(part, "text");
    }
  }
  return out;
}

void note(std::vector<std::string>& dropped, std::string what) {
  if (std::find(dropped.begin(), dropped.end(), what) == dropped.end()) {
    dropped.push_back(std::move(what));
  }
}

// Fields that only steer transport or caching on the caller's side: dropped
// without a note, since nothing the model does depends on them.
bool silent_field(std::string_view k) {
  return k == "stream_options" || k == "prompt_cache_key" || k == "store" || k == "include" ||
         k == "client_metadata" || k == "safety_identifier" || k == "service_tier" ||
         k == "cache_control" || k == "truncation" || k == "background";
}

// --- Anthropic Messages -> Chat ------------------------------------------

Json image_part_from_anthropic(const Json& block) {
  const Json* src = member(block, "source");
  if (!src) return Json();
  const std::string type = text_at(*src, "type");
  if (type == "base64") {
    return Json{
        {"type", "image_url"},
        {"image_url",
         {{"url", "data:" + text_at(*src, "media_type") + ";base64," + text_at(*src, "data")}}}};
  }
  if (type == "url")
    return Json{{"type", "image_url"}, {"image_url", {{"url", text_at(*src, "url")}}}};
  return Json();
}

std::string tool_result_text(const Json& block) {
  const Json* c = member(block, "content");
  if (!c) return "";
  return joined_text(*c, "\n");
}

RequestResult messages_to_chat(const Json& in, const RequestOptions& opt, Context ctx) {
  RequestResult r;
  std::vector<std::string> dropped;
  Json out = Json::object();
  out["model"] = opt.upstream_model.empty() ? text_at(in, "model") : opt.upstream_model;
  Json msgs = Json::array();
  if (const Json* sys = member(in, "system")) {
    const std::string text = joined_text(*sys);
    if (!text.empty()) msgs.push_back(Json{{"role", "system"}, {"content", text}});
  }
  const Json* in_msgs = member(in, "messages");
  if (!in_msgs || !in_msgs->is_array()) {
    r.error = "messages: expected an array";
    return r;
  }
  for (const auto& m : *in_msgs) {
    const std::string role = text_at(m, "role");
    const Json* content = member(m, "content");
    if (role == "system") {  // a beta Claude Code uses: system entries inside messages
      msgs.push_back(Json{{"role", "system"}, {"content", content ? joined_text(*content) : ""}});
      continue;
    }
    if (role != "user" && role != "assistant") {
      r.error = "messages: unknown role \"" + role + "\"";
      return r;
    }
    if (!content) continue;
    if (content->is_string()) {
      msgs.push_back(Json{{"role", role}, {"content", *content}});
      continue;
    }
    if (!content->is_array()) {
      r.error = "messages[].content: expected a string or an array of blocks";
      return r;
    }
    if (role == "assistant") {
      std::string text;
      Json calls = Json::array();
      for (const auto& b : *content) {
        const std::string type = text_at(b, "type");
        if (type == "text") {
          text += text_at(b, "text");
        } else if (type == "tool_use") {
          const Json* input = member(b, "input");
          calls.push_back(Json{{"id", decode_tool_id(text_at(b, "id"))},
                               {"type", "function"},
                               {"function",
                                {{"name", short_tool_name(text_at(b, "name"), ctx)},
                                 {"arguments", input ? json_text(*input) : "{}"}}}});
        } else if (type == "thinking" || type == "redacted_thinking") {
          note(dropped, "messages[].content[].thinking");
        } else {
          note(dropped, "messages[].content[]." + type);
        }
      }
      Json msg = {{"role", "assistant"}};
      msg["content"] = text.empty() && !calls.empty() ? Json(nullptr) : Json(text);
      if (!calls.empty()) msg["tool_calls"] = std::move(calls);
      msgs.push_back(std::move(msg));
      continue;
    }
    // user: tool results become tool messages (first: they answer the
    // assistant's calls just before), the rest one user message.
    Json parts = Json::array();
    for (const auto& b : *content) {
      const std::string type = text_at(b, "type");
      if (type == "tool_result") {
        std::string text = tool_result_text(b);
        if (const Json* e = member(b, "is_error"); e && e->is_boolean() && e->get<bool>()) {
          text = "Error: " + text;
        }
        msgs.push_back(Json{{"role", "tool"},
                            {"tool_call_id", decode_tool_id(text_at(b, "tool_use_id"))},
                            {"content", text}});
      } else if (type == "text") {
        parts.push_back(Json{{"type", "text"}, {"text", text_at(b, "text")}});
      } else if (type == "image") {
        Json img = image_part_from_anthropic(b);
        if (img.is_null()) {
          note(dropped, "messages[].content[].image");
        } else {
          parts.push_back(std::move(img));
        }
      } else {
        note(dropped, "messages[].content[]." + type);
      }
    }
    if (!parts.empty()) {
      // A lone text part reads best as plain content.
      if (parts.size() == 1 && parts[0]["type"] == "text") {
        msgs.push_back(Json{{"role", "user"}, {"content", parts[0]["text"]}});
      } else {
        msgs.push_back(Json{{"role", "user"}, {"content", std::move(parts)}});
      }
    }
  }
  out["messages"] = std::move(msgs);

  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "model" || k == "messages" || k == "system") continue;
    if (k == "max_tokens") {
      out["max_tokens"] = v;
    } else if (k == "temperature" || k == "top_p") {
      out[k] = v;
    } else if (k == "stop_sequences") {
      out["stop"] = v;
    } else if (k == "stream") {
      out["stream"] = v;
      if (v.is_boolean() && v.get<bool>()) out["stream_options"] = {{"include_usage", true}};
    } else if (k == "metadata") {
      if (const std::string user = text_at(v, "user_id"); !user.empty()) out["user"] = user;
    } else if (k == "tools" && v.is_array()) {
      Json tools = Json::array();
      for (const auto& t : v) {
        const std::string type = text_at(t, "type");
        if (!type.empty() && type != "custom") {
          note(dropped, "tools[]." + type);  // server tools (web_search_…, bash_…)
          continue;
        }
        Json fn = {{"name", short_tool_name(text_at(t, "name"), ctx)}};
        if (has(t, "description")) fn["description"] = t["description"];
        const Json* schema = member(t, "input_schema");
        fn["parameters"] = schema ? *schema : Json{{"type", "object"}};
        tools.push_back(Json{{"type", "function"}, {"function", std::move(fn)}});
      }
      if (!tools.empty()) out["tools"] = std::move(tools);
    } else if (k == "tool_choice" && v.is_object()) {
      const std::string type = text_at(v, "type");
      if (type == "auto") out["tool_choice"] = "auto";
      if (type == "any") out["tool_choice"] = "required";
      if (type == "none") out["tool_choice"] = "none";
      if (type == "tool") {
        out["tool_choice"] = {{"type", "function"},
                              {"function", {{"name", short_tool_name(text_at(v, "name"), ctx)}}}};
      }
      if (const Json* d = member(v, "disable_parallel_tool_use");
          d && d->is_boolean() && d->get<bool>()) {
        out["parallel_tool_calls"] = false;
      }
    } else if (!silent_field(k)) {
      note(dropped, k);  // thinking, top_k, output_config, context_management, …
    }
  }
  if (!has(out, "tools")) {
    out.erase("tool_choice");
    out.erase("parallel_tool_calls");
  }
  r.ok = Translated{json_text(out), std::move(dropped)};
  r.context = std::move(ctx);
  return r;
}

// --- Chat -> Anthropic Messages --------------------------------------------

Json anthropic_image(const std::string& url) {
  constexpr std::string_view kData = "data:";
  if (url.starts_with(kData)) {
    const auto semi = url.find(";base64,");
    if (semi == std::string::npos) return Json();
    return Json{{"type", "image"},
                {"source",
                 {{"type", "base64"},
                  {"media_type", url.substr(kData.size(), semi - kData.size())},
                  {"data", url.substr(semi + 8)}}}};
  }
  return Json{{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}};
}

// The URL of a Chat image_url part: {"image_url": {"url": ...}}, or the
// string form some clients send.
std::string chat_image_url(const Json& part) {
  const Json* iu = member(part, "image_url");
  if (!iu) return "";
  return iu->is_string() ? iu->get<std::string>() : text_at(*iu, "url");
}

// Blocks of Chat content (a string or parts), for Anthropic.
Json anthropic_blocks(const Json& content, std::vector<std::string>& dropped) {
  Json blocks = Json::array();
  if (content.is_string()) {
    if (!content.get<std::string>().empty()) {
      blocks.push_back(Json{{"type", "text"}, {"text", content}});
    }
    return blocks;
  }
  if (!content.is_array()) return blocks;
  for (const auto& part : content) {
    const std::string type = text_at(part, "type");
    if (type == "text" || type == "input_text" || type == "output_text" || type == "refusal") {
      std::string text = text_at(part, type == "refusal" ? "refusal" : "text");
      if (!text.empty()) blocks.push_back(Json{{"type", "text"}, {"text", std::move(text)}});
    } else if (type == "image_url") {
      Json img = anthropic_image(chat_image_url(part));
      if (img.is_null()) {
        note(dropped, "messages[].content[].image_url");
      } else {
        blocks.push_back(std::move(img));
      }
    } else {
      note(dropped, "messages[].content[]." + type);
    }
  }
  return blocks;
}

RequestResult chat_to_messages(const Json& in, const RequestOptions& opt, Context ctx) {
  RequestResult r;
  std::vector<std::string> dropped;
  Json out = Json::object();
  out["model"] = opt.upstream_model.empty() ? text_at(in, "model") : opt.upstream_model;
  std::string system;
  Json msgs = Json::array();
  // Anthropic wants user and assistant turns alternating: consecutive turns
  // of one role (tool results, then the user's text) merge into one.
  auto append = [&msgs](const std::string& role, Json blocks) {
    if (blocks.empty()) return;
    if (!msgs.empty() && msgs.back()["role"] == role) {
      for (auto& b : blocks) msgs.back()["content"].push_back(std::move(b));
    } else {
      msgs.push_back(Json{{"role", role}, {"content", std::move(blocks)}});
    }
  };
  const Json* in_msgs = member(in, "messages");
  if (!in_msgs || !in_msgs->is_array()) {
    r.error = "messages: expected an array";
    return r;
  }
  for (const auto& m : *in_msgs) {
    const std::string role = text_at(m, "role");
    const Json* content = member(m, "content");
    if (role == "system" || role == "developer") {
      // Anthropic has one system prompt: later system turns join it.
      const std::string text = content ? joined_text(*content) : "";
      if (!text.empty()) system += (system.empty() ? "" : "\n\n") + text;
    } else if (role == "user") {
      append("user", content ? anthropic_blocks(*content, dropped) : Json::array());
    } else if (role == "assistant") {
      Json blocks = content ? anthropic_blocks(*content, dropped) : Json::array();
      if (const Json* refusal = member(m, "refusal"); refusal && refusal->is_string()) {
        blocks.push_back(Json{{"type", "text"}, {"text", *refusal}});
      }
      if (const Json* calls = member(m, "tool_calls"); calls && calls->is_array()) {
        for (const auto& c : *calls) {
          const Json* fn = member(c, "function");
          if (!fn) continue;
          Json input = Json::parse(text_at(*fn, "arguments"), nullptr, false);
          if (!input.is_object()) input = Json::object();
          blocks.push_back(Json{{"type", "tool_use"},
                                {"id", encode_tool_id(text_at(c, "id"))},
                                {"name", short_tool_name(text_at(*fn, "name"), ctx)},
                                {"input", std::move(input)}});
        }
      }
      append("assistant", std::move(blocks));
    } else if (role == "tool") {
      std::string text = content ? joined_text(*content, "\n") : "";
      append("user", Json::array({Json{{"type", "tool_result"},
                                       {"tool_use_id", encode_tool_id(text_at(m, "tool_call_id"))},
                                       {"content", std::move(text)}}}));
    } else {
      r.error = "messages: unknown role \"" + role + "\"";
      return r;
    }
  }
  // Anthropic refuses a conversation that does not open with a user turn
  // (a Chat history may start with the assistant's greeting): one is put
  // before it, and said to be.
  if (!msgs.empty() && msgs[0]["role"] != "user") {
    msgs.insert(
        msgs.begin(),
        Json{{"role", "user"}, {"content", Json::array({Json{{"type", "text"}, {"text", "."}}})}});
    note(dropped, "messages[0]: a user turn \".\" was put first");
  }
  if (!system.empty()) out["system"] = system;
  out["messages"] = std::move(msgs);
  // Anthropic requires max_tokens; the newer OpenAI name wins over the old one.
  if (const Json* mt = member(in, "max_completion_tokens")) {
    out["max_tokens"] = *mt;
  } else if (const Json* mt2 = member(in, "max_tokens")) {
    out["max_tokens"] = *mt2;
  } else {
    out["max_tokens"] = opt.default_max_tokens;
  }
  bool parallel_off = false;
  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "model" || k == "messages" || k == "max_tokens" || k == "max_completion_tokens") {
      continue;
    }
    if (k == "temperature" && v.is_number()) {
      // OpenAI's range is 0..2, Anthropic's 0..1.
      out["temperature"] = std::min(1.0, v.get<double>());
      if (v.get<double>() > 1.0) note(dropped, "temperature>1");
    } else if (k == "top_p") {
      out["top_p"] = v;
    } else if (k == "stop") {
      out["stop_sequences"] = v.is_string() ? Json::array({v}) : v;
    } else if (k == "stream") {
      out["stream"] = v;
    } else if (k == "user" && v.is_string()) {
      out["metadata"] = {{"user_id", v}};
    } else if (k == "parallel_tool_calls") {
      parallel_off = v.is_boolean() && !v.get<bool>();
    } else if (k == "tools" && v.is_array()) {
      Json tools = Json::array();
      for (const auto& t : v) {
        const Json* fn = member(t, "function");
        if (text_at(t, "type") != "function" || !fn) {
          note(dropped, "tools[]." + text_at(t, "type"));
          continue;
        }
        Json tool = {{"name", short_tool_name(text_at(*fn, "name"), ctx)}};
        if (has(*fn, "description")) tool["description"] = (*fn)["description"];
        const Json* params = member(*fn, "parameters");
        tool["input_schema"] =
            params ? *params : Json{{"type", "object"}, {"properties", Json::object()}};
        tools.push_back(std::move(tool));
      }
      if (!tools.empty()) out["tools"] = std::move(tools);
    } else if (k == "tool_choice") {
      if (v.is_string()) {
        if (v == "auto") out["tool_choice"] = {{"type", "auto"}};
        if (v == "required") out["tool_choice"] = {{"type", "any"}};
        if (v == "none") out["tool_choice"] = {{"type", "none"}};
      } else if (const Json* fn = member(v, "function")) {
        out["tool_choice"] = {{"type", "tool"},
                              {"name", short_tool_name(text_at(*fn, "name"), ctx)}};
      }
    } else if (k == "n" && v.is_number_integer() && v.get<std::int64_t>() == 1) {
      continue;
    } else if (!silent_field(k)) {
      note(dropped, k);  // n, logprobs, seed, response_format, penalties, reasoning_effort, …
    }
  }
  if (parallel_off && has(out, "tools")) {
    if (!has(out, "tool_choice")) out["tool_choice"] = {{"type", "auto"}};
    if (out["tool_choice"]["type"] != "none")
      out["tool_choice"]["disable_parallel_tool_use"] = true;
  }
  if (!has(out, "tools")) out.erase("tool_choice");
  r.ok = Translated{json_text(out), std::move(dropped)};
  r.context = std::move(ctx);
  return r;
}

// --- Responses -> Chat ----------------------------------------------------

// Chat content from Responses input content (a string or parts).
Json chat_content(const Json& content, std::vector<std::string>& dropped) {
  if (content.is_string()) return content;
  Json parts = Json::array();
  if (!content.is_array()) return parts;
  for (const auto& p : content) {
    const std::string type = text_at(p, "type");
    if (type == "input_text" || type == "output_text" || type == "text") {
      parts.push_back(Json{{"type", "text"}, {"text", text_at(p, "text")}});
    } else if (type == "input_image" && has(p, "image_url")) {
      parts.push_back(
          Json{{"type", "image_url"}, {"image_url", {{"url", text_at(p, "image_url")}}}});
    } else if (type == "refusal") {
      parts.push_back(Json{{"type", "text"}, {"text", text_at(p, "refusal")}});
    } else {
      note(dropped, "input[].content[]." + type);
    }
  }
  if (parts.size() == 1 && parts[0]["type"] == "text") return parts[0]["text"];
  return parts;
}

RequestResult responses_to_chat(const Json& in, const RequestOptions& opt, Context ctx) {
  RequestResult r;
  std::vector<std::string> dropped;
  if (has(in, "previous_response_id")) {
    r.error =
        "previous_response_id: an empty or unresolved id cannot be continued on a provider of "
        "another API; send the whole conversation in input";
    return r;
  }
  Json out = Json::object();
  out["model"] = opt.upstream_model.empty() ? text_at(in, "model") : opt.upstream_model;
  Json msgs = Json::array();
  if (const std::string ins = text_at(in, "instructions"); !ins.empty()) {
    msgs.push_back(Json{{"role", "system"}, {"content", ins}});
  }
  const Json* input = member(in, "input");
  if (!input) {
    r.error = "input: missing";
    return r;
  }
  if (input->is_string()) {
    msgs.push_back(Json{{"role", "user"}, {"content", *input}});
  } else if (input->is_array()) {
    for (const auto& item : *input) {
      std::string type = text_at(item, "type");
      if (type.empty() && has(item, "role")) type = "message";
      if (type == "message") {
        std::string role = text_at(item, "role");
        if (role == "developer") role = "system";
        const Json* content = member(item, "content");
        Json c = content ? chat_content(*content, dropped) : Json("");
        if (role == "assistant" && !msgs.empty() && msgs.back()["role"] == "assistant" &&
            msgs.back()["content"].is_null()) {
          msgs.back()["content"] = std::move(c);  // text after calls of one turn
        } else {
          msgs.push_back(Json{{"role", role}, {"content", std::move(c)}});
        }
      } else if (type == "function_call") {
        Json call = {{"id", text_at(item, "call_id")},
                     {"type", "function"},
                     {"function",
                      {{"name", short_tool_name(text_at(item, "name"), ctx)},
                       {"arguments", text_at(item, "arguments")}}}};
        // Calls of one turn share one assistant message.
        if (!msgs.empty() && msgs.back()["role"] == "assistant") {
          Json& last = msgs.back();
          if (!last.contains("tool_calls")) last["tool_calls"] = Json::array();
          last["tool_calls"].push_back(std::move(call));
        } else {
          msgs.push_back(Json{{"role", "assistant"},
                              {"content", nullptr},
                              {"tool_calls", Json::array({std::move(call)})}});
        }
      } else if (type == "function_call_output") {
        const Json* o = member(item, "output");
        std::string text =
            o ? (o->is_string() ? o->get<std::string>() : joined_text(*o, "\n")) : "";
        msgs.push_back(Json{{"role", "tool"},
                            {"tool_call_id", text_at(item, "call_id")},
                            {"content", std::move(text)}});
      } else if (type == "reasoning") {
        note(dropped, "input[].reasoning");
      } else {
        note(dropped, "input[]." + type);
      }
    }
  } else {
    r.error = "input: expected a string or an array of items";
    return r;
  }
  out["messages"] = std::move(msgs);
  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "model" || k == "input" || k == "instructions") continue;
    if (k == "max_output_tokens") {
      out["max_tokens"] = v;
    } else if (k == "temperature" || k == "top_p" || k == "parallel_tool_calls" || k == "user") {
      out[k] = v;
    } else if (k == "stream") {
      out["stream"] = v;
      if (v.is_boolean() && v.get<bool>()) out["stream_options"] = {{"include_usage", true}};
    } else if (k == "tools" && v.is_array()) {
      Json tools = Json::array();
      for (const auto& t : v) {
        if (text_at(t, "type") != "function") {
          note(dropped, "tools[]." + (has(t, "type") ? text_at(t, "type") : std::string("?")));
          continue;
        }
        Json fn = {{"name", short_tool_name(text_at(t, "name"), ctx)}};
        if (has(t, "description")) fn["description"] = t["description"];
        const Json* params = member(t, "parameters");
        fn["parameters"] = params ? *params : Json{{"type", "object"}};
        if (has(t, "strict")) fn["strict"] = t["strict"];
        tools.push_back(Json{{"type", "function"}, {"function", std::move(fn)}});
      }
      if (!tools.empty()) out["tools"] = std::move(tools);
    } else if (k == "tool_choice") {
      if (v.is_string()) {
        out["tool_choice"] = v;
      } else if (text_at(v, "type") == "function") {
        out["tool_choice"] = {{"type", "function"},
                              {"function", {{"name", short_tool_name(text_at(v, "name"), ctx)}}}};
      }
    } else if (k == "text") {
      const Json* fmt = member(v, "format");
      if (fmt && text_at(*fmt, "type") == "json_schema") {
        Json schema = *fmt;
        schema.erase("type");
        out["response_format"] = {{"type", "json_schema"}, {"json_schema", std::move(schema)}};
      } else if (fmt && text_at(*fmt, "type") == "json_object") {
        out["response_format"] = {{"type", "json_object"}};
      }
    } else if (k == "metadata") {
      continue;
    } else if (!silent_field(k)) {
      note(dropped, k);  // reasoning, …
    }
  }
  if (!has(out, "tools")) {
    out.erase("tool_choice");
    out.erase("parallel_tool_calls");
  }
  r.ok = Translated{json_text(out), std::move(dropped)};
  r.context = std::move(ctx);
  return r;
}

// --- Chat -> Responses -------------------------------------------------------

// Responses input content from Chat content (a string or parts).
Json responses_content(const Json& content, bool assistant, std::vector<std::string>& dropped) {
  const char* text_type = assistant ? "output_text" : "input_text";
  if (content.is_string()) {
    if (!assistant) return content;
    return Json::array({Json{{"type", text_type}, {"text", content}}});
  }
  Json parts = Json::array();
  if (!content.is_array()) return parts;
  for (const auto& p : content) {
    const std::string type = text_at(p, "type");
    if (type == "text") {
      parts.push_back(Json{{"type", text_type}, {"text", text_at(p, "text")}});
    } else if (type == "refusal" && assistant) {
      parts.push_back(Json{{"type", "refusal"}, {"refusal", text_at(p, "refusal")}});
    } else if (type == "image_url" && !assistant) {
      const Json* iu = member(p, "image_url");
      Json img = {{"type", "input_image"}, {"image_url", chat_image_url(p)}};
      if (iu && has(*iu, "detail")) img["detail"] = (*iu)["detail"];
      parts.push_back(std::move(img));
    } else if (type == "file" && !assistant && has(p, "file")) {
      Json file = {{"type", "input_file"}};
      for (const char* k : {"file_data", "file_id", "filename"}) {
        if (has(p["file"], k)) file[k] = p["file"][k];
      }
      parts.push_back(std::move(file));
    } else {
      note(dropped, "messages[].content[]." + type);
    }
  }
  return parts;
}

RequestResult chat_to_responses(const Json& in, const RequestOptions& opt, Context ctx) {
  RequestResult r;
  std::vector<std::string> dropped;
  Json out = Json::object();
  out["model"] = opt.upstream_model.empty() ? text_at(in, "model") : opt.upstream_model;
  const Json* in_msgs = member(in, "messages");
  if (!in_msgs || !in_msgs->is_array()) {
    r.error = "messages: expected an array";
    return r;
  }
  Json input = Json::array();
  for (const auto& m : *in_msgs) {
    const std::string role = text_at(m, "role");
    const Json* content = member(m, "content");
    if (role == "system" || role == "developer" || role == "user") {
      input.push_back(
          Json{{"type", "message"},
               {"role", role},
               {"content", content ? responses_content(*content, false, dropped) : Json("")}});
    } else if (role == "assistant") {
      if (content) {
        Json c = responses_content(*content, true, dropped);
        if (!c.empty()) {
          input.push_back(
              Json{{"type", "message"}, {"role", "assistant"}, {"content", std::move(c)}});
        }
      }
      if (has(m, "reasoning_content")) note(dropped, "messages[].reasoning_content");
      if (const Json* calls = member(m, "tool_calls"); calls && calls->is_array()) {
        for (const auto& call : *calls) {
          const Json* fn = member(call, "function");
          input.push_back(Json{{"type", "function_call"},
                               {"call_id", text_at(call, "id")},
                               {"name", short_tool_name(fn ? text_at(*fn, "name") : "", ctx)},
                               {"arguments", fn ? text_at(*fn, "arguments") : "{}"}});
        }
      }
    } else if (role == "tool") {
      input.push_back(Json{{"type", "function_call_output"},
                           {"call_id", text_at(m, "tool_call_id")},
                           {"output", content ? joined_text(*content, "\n") : ""}});
    } else {
      note(dropped, "messages[]." + role);
    }
  }
  out["input"] = std::move(input);
  // The answer comes back translated under sluice's own id: nothing for the
  // provider to keep.
  out["store"] = false;
  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "model" || k == "messages") continue;
    if (k == "max_tokens" || k == "max_completion_tokens") {
      // The Responses API refuses fewer than 16 (a health check's 1).
      out["max_output_tokens"] =
          v.is_number_integer() ? Json(std::max<std::int64_t>(16, v.get<std::int64_t>())) : v;
    } else if (k == "n" && v.is_number_integer() && v.get<std::int64_t>() == 1) {
      continue;  // one answer is all there is
    } else if (k == "temperature" || k == "top_p" || k == "parallel_tool_calls" || k == "user" ||
               k == "stream" || k == "metadata" || k == "prompt_cache_key" ||
               k == "safety_identifier" || k == "service_tier") {
      out[k] = v;
    } else if (k == "reasoning_effort" && v.is_string()) {
      out["reasoning"] = {{"effort", v}};
    } else if (k == "tools" && v.is_array()) {
      Json tools = Json::array();
      for (const auto& t : v) {
        const Json* fn = member(t, "function");
        if (text_at(t, "type") != "function" || !fn) {
          note(dropped, "tools[]." + (has(t, "type") ? text_at(t, "type") : std::string("?")));
          continue;
        }
        Json tool = {{"type", "function"}, {"name", short_tool_name(text_at(*fn, "name"), ctx)}};
        if (has(*fn, "description")) tool["description"] = (*fn)["description"];
        const Json* params = member(*fn, "parameters");
        tool["parameters"] = params ? *params : Json{{"type", "object"}};
        if (has(*fn, "strict")) tool["strict"] = (*fn)["strict"];
        tools.push_back(std::move(tool));
      }
      if (!tools.empty()) out["tools"] = std::move(tools);
    } else if (k == "tool_choice") {
      if (v.is_string()) {
        out["tool_choice"] = v;
      } else if (const Json* fn = member(v, "function")) {
        out["tool_choice"] = {{"type", "function"},
                              {"name", short_tool_name(text_at(*fn, "name"), ctx)}};
      } else {
        note(dropped, "tool_choice." + text_at(v, "type"));
      }
    } else if (k == "response_format") {
      const std::string type = text_at(v, "type");
      if (type == "json_schema" && has(v, "json_schema")) {
        Json fmt = v["json_schema"];
        fmt["type"] = "json_schema";
        out["text"] = {{"format", std::move(fmt)}};
      } else if (type == "json_object") {
        out["text"] = {{"format", {{"type", "json_object"}}}};
      }
    } else if (!silent_field(k)) {
      note(dropped, k);  // n, stop, seed, logprobs, penalties, logit_bias, …
    }
  }
  if (!has(out, "tools")) {
    out.erase("tool_choice");
    out.erase("parallel_tool_calls");
  }
  r.ok = Translated{json_text(out), std::move(dropped)};
  r.context = std::move(ctx);
  return r;
}

}  // namespace

std::string_view to_string(Api api) {
  switch (api) {
    case Api::kChat: return "chat";
    case Api::kMessages: return "messages";
    case Api::kResponses: return "responses";
  }
  return "?";
}

std::optional<Api> api_of_path(std::string_view path) {
  if (path == "/v1/chat/completions") return Api::kChat;
  if (path == "/v1/messages") return Api::kMessages;
  if (path == "/v1/responses") return Api::kResponses;
  return std::nullopt;
}

std::string_view path_of(Api api) {
  switch (api) {
    case Api::kChat: return "/v1/chat/completions";
    case Api::kMessages: return "/v1/messages";
    case Api::kResponses: return "/v1/responses";
  }
  return "/";
}

std::string encode_tool_id(std::string_view id) {
  const bool plain = !id.empty() && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
  if (plain && !id.starts_with("sluice_")) return std::string(id);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sluice_";
  for (unsigned char c : id) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string decode_tool_id(std::string_view id) {
  constexpr std::string_view kPrefix = "sluice_";
  if (!id.starts_with(kPrefix) || (id.size() - kPrefix.size()) % 2 != 0) return std::string(id);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = kPrefix.size(); i < id.size(); i += 2) {
    const int hi = nibble(id[i]);
    const int lo = nibble(id[i + 1]);
    if (hi < 0 || lo < 0) return std::string(id);
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

RequestResult translate_request(Api from, Api to, std::string_view body,
                                const RequestOptions& options) {
  Context ctx;
  ctx.caller = from;
  ctx.upstream = to;
  ctx.response_id = options.response_id;
  ctx.previous_response_id = options.previous_response_id;
  ctx.stored = options.stored;
  ctx.created = options.created;
  const Json in = Json::parse(body, nullptr, false);
  if (!in.is_object()) {
    RequestResult r;
    r.error = "the request body is not a JSON object";
    return r;
  }
  ctx.caller_model = text_at(in, "model");
  if (const Json* s = member(in, "stream"); s && s->is_boolean()) ctx.stream = s->get<bool>();
  if (from == to) {
    RequestResult r;
    r.error = "nothing to translate";
    return r;
  }
  if (from == Api::kMessages && to == Api::kChat) return messages_to_chat(in, options, ctx);
  if (from == Api::kChat && to == Api::kMessages) return chat_to_messages(in, options, ctx);
  if (from == Api::kResponses && to == Api::kChat) return responses_to_chat(in, options, ctx);
  if (from == Api::kResponses && to == Api::kMessages) {
    // Through Chat: both steps' losses are named.
    RequestResult first = responses_to_chat(in, RequestOptions{options}, ctx);
    if (!first.ok) return first;
    const Json chat = Json::parse(first.ok->body, nullptr, false);
    RequestResult second = chat_to_messages(chat, options, std::move(first.context));
    if (second.ok) {
      for (auto& d : first.ok->dropped) note(second.ok->dropped, std::move(d));
    }
    second.context.caller = Api::kResponses;
    second.context.upstream = Api::kMessages;
    return second;
  }
  if (from == Api::kChat && to == Api::kResponses) return chat_to_responses(in, options, ctx);
  if (from == Api::kMessages && to == Api::kResponses) {
    // Through Chat, as Responses -> Messages is.
    RequestResult first = messages_to_chat(in, RequestOptions{options}, ctx);
    if (!first.ok) return first;
    const Json chat = Json::parse(first.ok->body, nullptr, false);
    RequestResult second = chat_to_responses(chat, options, std::move(first.context));
    if (second.ok) {
      for (auto& d : first.ok->dropped) note(second.ok->dropped, std::move(d));
    }
    second.context.caller = Api::kMessages;
    second.context.upstream = Api::kResponses;
    return second;
  }
  RequestResult r;
  r.error = "no translation from the " + std::string(to_string(from)) + " API to the " +
            std::string(to_string(to)) + " API";
  return r;
}

}  // namespace sluice::translate
