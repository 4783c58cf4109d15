// Whole answers: Chat -> Messages, Messages -> Chat, Chat -> Responses,
// Responses -> Chat (and Messages <-> Responses through Chat).
#include <algorithm>

#include "sluice/translate/answers.hpp"
#include "sluice/translate/json_util.hpp"
#include "sluice/translate/translate.hpp"

namespace sluice::translate {

using detail::has;
using detail::int_at;
using detail::Json;
using detail::member;
using detail::text_at;

std::string original_tool_name(const Context& ctx, const std::string& name) {
  for (const auto& [short_name, original] : ctx.tool_names) {
    if (short_name == name) return original;
  }
  return name;
}

std::string anthropic_stop_reason(std::string_view finish) {
  if (finish == "length") return "max_tokens";
  if (finish == "tool_calls" || finish == "function_call") return "tool_use";
  if (finish == "content_filter") return "refusal";
  return "end_turn";
}

std::string chat_finish_reason(std::string_view stop) {
  if (stop == "max_tokens") return "length";
  if (stop == "tool_use") return "tool_calls";
  if (stop == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

Json anthropic_usage_from_chat(const Json& usage) {
  const std::int64_t prompt = int_at(usage, "prompt_tokens");
  std::int64_t cached = 0;
  if (const Json* d = member(usage, "prompt_tokens_details")) cached = int_at(*d, "cached_tokens");
  Json u = {{"input_tokens", std::max<std::int64_t>(0, prompt - cached)},
            {"output_tokens", int_at(usage, "completion_tokens")}};
  if (cached > 0) u["cache_read_input_tokens"] = cached;
  return u;
}

Json chat_usage_from_anthropic(const Json& usage) {
  const auto get = [&usage](const char* k) { return int_at(usage, k); };
  const std::int64_t cache_read = get("cache_read_input_tokens");
  const std::int64_t prompt = get("input_tokens") + cache_read + get("cache_creation_input_tokens");
  const std::int64_t completion = get("output_tokens");
  Json u = {{"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"total_tokens", prompt + completion}};
  u["prompt_tokens_details"] = {{"cached_tokens", cache_read}};
  return u;
}

Json responses_usage_from_chat(const Json& usage) {
  const std::int64_t prompt = int_at(usage, "prompt_tokens");
  const std::int64_t completion = int_at(usage, "completion_tokens");
  std::int64_t cached = 0;
  std::int64_t reasoning = 0;
  if (const Json* d = member(usage, "prompt_tokens_details")) cached = int_at(*d, "cached_tokens");
  if (const Json* d = member(usage, "completion_tokens_details")) {
    reasoning = int_at(*d, "reasoning_tokens");
  }
  return Json{{"input_tokens", prompt},
              {"input_tokens_details", {{"cached_tokens", cached}}},
              {"output_tokens", completion},
              {"output_tokens_details", {{"reasoning_tokens", reasoning}}},
              {"total_tokens", prompt + completion}};
}

Json responses_envelope(const Context& ctx, const std::string& model) {
  Json r;
  r["id"] = ctx.response_id.empty() ? std::string("resp_sluice") : ctx.response_id;
  r["object"] = "response";
  r["created_at"] = ctx.created;
  r["status"] = "in_progress";
  r["error"] = nullptr;
  r["incomplete_details"] = nullptr;
  r["model"] = model;
  r["output"] = Json::array();
  r["parallel_tool_calls"] = true;
  r["previous_response_id"] =
      ctx.previous_response_id.empty() ? Json(nullptr) : Json(ctx.previous_response_id);
  r["store"] = ctx.stored;
  r["tool_choice"] = "auto";
  r["tools"] = Json::array();
  r["usage"] = nullptr;
  r["metadata"] = Json::object();
  return r;
}

void finish_responses_envelope(Json& r, std::string_view finish, const Json* usage) {
  if (finish == "length") {
    r["status"] = "incomplete";
    r["incomplete_details"] = {{"reason", "max_output_tokens"}};
  } else if (finish == "content_filter") {
    r["status"] = "incomplete";
    r["incomplete_details"] = {{"reason", "content_filter"}};
  } else {
    r["status"] = "completed";
  }
  if (usage) r["usage"] = responses_usage_from_chat(*usage);
}

Json chat_usage_from_responses(const Json& usage) {
  const std::int64_t prompt = int_at(usage, "input_tokens");
  const std::int64_t completion = int_at(usage, "output_tokens");
  std::int64_t cached = 0;
  std::int64_t reasoning = 0;
  if (const Json* d = member(usage, "input_tokens_details")) cached = int_at(*d, "cached_tokens");
  if (const Json* d = member(usage, "output_tokens_details")) {
    reasoning = int_at(*d, "reasoning_tokens");
  }
  return Json{{"prompt_tokens", prompt},
              {"completion_tokens", completion},
              {"total_tokens", prompt + completion},
              {"prompt_tokens_details", {{"cached_tokens", cached}}},
              {"completion_tokens_details", {{"reasoning_tokens", reasoning}}}};
}

std::string chat_finish_from_responses(const Json& response, bool called_tools) {
  if (text_at(response, "status") == "incomplete") {
    const Json* d = member(response, "incomplete_details");
    const std::string reason = d ? text_at(*d, "reason") : "";
    return reason == "content_filter" ? "content_filter" : "length";
  }
  return called_tools ? "tool_calls" : "stop";
}

namespace {

Translated chat_to_messages_answer(const Context& ctx, const Json& in) {
  Translated t;
  Json out;
  out["id"] = "msg_" + text_at(in, "id");
  out["type"] = "message";
  out["role"] = "assistant";
  out["model"] = has(in, "model") ? in["model"] : Json(ctx.caller_model);
  Json content = Json::array();
  std::string finish = "stop";
  const Json* choices = member(in, "choices");
  if (choices && choices->is_array() && !choices->empty()) {
    const Json& c0 = (*choices)[0];
    finish = text_at(c0, "finish_reason");
    if (const Json* msg = member(c0, "message")) {
      if (has(*msg, "reasoning_content")) t.dropped.push_back("reasoning_content");
      const Json* c = member(*msg, "content");
      std::string text = c && c->is_string() ? c->get<std::string>() : "";
      if (const std::string refusal = text_at(*msg, "refusal"); !refusal.empty()) text += refusal;
      if (!text.empty()) content.push_back(Json{{"type", "text"}, {"text", text}});
      if (const Json* calls = member(*msg, "tool_calls"); calls && calls->is_array()) {
        for (const auto& call : *calls) {
          const Json* fn = member(call, "function");
          if (!fn) continue;
          Json input = Json::parse(text_at(*fn, "arguments"), nullptr, false);
          if (!input.is_object()) input = Json::object();
          content.push_back(Json{{"type", "tool_use"},
                                 {"id", encode_tool_id(text_at(call, "id"))},
                                 {"name", original_tool_name(ctx, text_at(*fn, "name"))},
                                 {"input", std::move(input)}});
        }
      }
    }
  }
  out["content"] = std::move(content);
  out["stop_reason"] = anthropic_stop_reason(finish);
  out["stop_sequence"] = nullptr;
  const Json* usage = member(in, "usage");
  out["usage"] =
      usage ? anthropic_usage_from_chat(*usage) : Json{{"input_tokens", 0}, {"output_tokens", 0}};
  t.body = json_text(out);
  return t;
}

Json messages_to_chat_json(const Context& ctx, const Json& in, std::vector<std::string>& dropped) {
  Json out;
  out["id"] = text_at(in, "id");
  out["object"] = "chat.completion";
  out["created"] = ctx.created;
  out["model"] = has(in, "model") ? in["model"] : Json(ctx.caller_model);
  std::string text;
  std::string reasoning;
  Json calls = Json::array();
  if (const Json* content = member(in, "content"); content && content->is_array()) {
    for (const auto& b : *content) {
      const std::string type = text_at(b, "type");
      if (type == "text") {
        text += text_at(b, "text");
      } else if (type == "thinking") {
        reasoning += text_at(b, "thinking");
      } else if (type == "tool_use") {
        const Json* input = member(b, "input");
        calls.push_back(Json{{"id", decode_tool_id(text_at(b, "id"))},
                             {"type", "function"},
                             {"function",
                              {{"name", original_tool_name(ctx, text_at(b, "name"))},
                               {"arguments", input ? json_text(*input) : "{}"}}}});
      } else if (type != "redacted_thinking") {
        dropped.push_back("content[]." + type);
      }
    }
  }
  Json msg = {{"role", "assistant"}};
  msg["content"] = text.empty() && !calls.empty() ? Json(nullptr) : Json(text);
  if (!reasoning.empty()) msg["reasoning_content"] = reasoning;  // DeepSeek's field
  if (!calls.empty()) msg["tool_calls"] = std::move(calls);
  out["choices"] =
      Json::array({Json{{"index", 0},
                        {"message", std::move(msg)},
                        {"logprobs", nullptr},
                        {"finish_reason", chat_finish_reason(text_at(in, "stop_reason"))}}});
  if (const Json* usage = member(in, "usage")) out["usage"] = chat_usage_from_anthropic(*usage);
  return out;
}

Translated chat_to_responses_answer(const Context& ctx, const Json& in) {
  Translated t;
  Json r = responses_envelope(ctx, has(in, "model") ? text_at(in, "model") : ctx.caller_model);
  std::string finish = "stop";
  const Json* choices = member(in, "choices");
  if (choices && choices->is_array() && !choices->empty()) {
    const Json& c0 = (*choices)[0];
    finish = text_at(c0, "finish_reason");
    if (const Json* msg = member(c0, "message")) {
      const Json* c = member(*msg, "content");
      const std::string text = c && c->is_string() ? c->get<std::string>() : "";
      if (!text.empty()) {
        r["output"].push_back(Json{{"id", "msg_" + r["id"].get<std::string>().substr(5)},
                                   {"type", "message"},
                                   {"status", finish == "length" ? "incomplete" : "completed"},
                                   {"content", Json::array({Json{{"type", "output_text"},
                                                                 {"annotations", Json::array()},
                                                                 {"text", text}}})},
                                   {"role", "assistant"}});
      }
      if (const Json* calls = member(*msg, "tool_calls"); calls && calls->is_array()) {
        int n = 0;
        for (const auto& call : *calls) {
          const Json* fn = member(call, "function");
          if (!fn) continue;
          r["output"].push_back(
              Json{{"id", "fc_" + std::to_string(n++) + "_" + text_at(call, "id")},
                   {"type", "function_call"},
                   {"status", "completed"},
                   {"arguments", text_at(*fn, "arguments")},
                   {"call_id", text_at(call, "id")},
                   {"name", original_tool_name(ctx, text_at(*fn, "name"))}});
        }
      }
    }
  }
  finish_responses_envelope(r, finish, member(in, "usage"));
  t.body = json_text(r);
  return t;
}

// A Responses object as a Chat completion: message text (and refusals),
// function calls as tool_calls, reasoning summaries as reasoning_content.
Json responses_to_chat_json(const Context& ctx, const Json& in, std::vector<std::string>& dropped) {
  Json out = {{"id", has(in, "id") ? text_at(in, "id") : std::string("chatcmpl-sluice")},
              {"object", "chat.completion"},
              {"created", has(in, "created_at") ? in["created_at"] : Json(ctx.created)},
              {"model", has(in, "model") ? text_at(in, "model") : ctx.caller_model}};
  std::string text;
  std::string refusal;
  std::string reasoning;
  Json calls = Json::array();
  if (const Json* output = member(in, "output"); output && output->is_array()) {
    for (const auto& item : *output) {
      const std::string type = text_at(item, "type");
      if (type == "message") {
        const Json* content = member(item, "content");
        if (!content || !content->is_array()) continue;
        for (const auto& part : *content) {
          const std::string pt = text_at(part, "type");
          if (pt == "output_text") text += text_at(part, "text");
          if (pt == "refusal") refusal += text_at(part, "refusal");
        }
      } else if (type == "function_call") {
        calls.push_back(Json{{"id", text_at(item, "call_id")},
                             {"type", "function"},
                             {"function",
                              {{"name", original_tool_name(ctx, text_at(item, "name"))},
                               {"arguments", text_at(item, "arguments")}}}});
      } else if (type == "reasoning") {
        if (const Json* summary = member(item, "summary"); summary && summary->is_array()) {
          for (const auto& part : *summary) reasoning += text_at(part, "text");
        }
      } else if (!type.empty()) {
        dropped.push_back("output[]." + type);
      }
    }
  }
  Json msg = {{"role", "assistant"}};
  msg["content"] =
      text.empty() && (!calls.empty() || !refusal.empty()) ? Json(nullptr) : Json(text);
  if (!refusal.empty()) msg["refusal"] = refusal;
  if (!reasoning.empty()) msg["reasoning_content"] = reasoning;
  const bool called = !calls.empty();
  if (called) msg["tool_calls"] = std::move(calls);
  out["choices"] = Json::array({Json{{"index", 0},
                                     {"message", std::move(msg)},
                                     {"logprobs", nullptr},
                                     {"finish_reason", chat_finish_from_responses(in, called)}}});
  if (const Json* usage = member(in, "usage")) out["usage"] = chat_usage_from_responses(*usage);
  return out;
}

}  // namespace

Translated translate_response(const Context& ctx, std::string_view body) {
  const Json in = detail::object_from(body);
  if (ctx.upstream == Api::kChat && ctx.caller == Api::kMessages) {
    return chat_to_messages_answer(ctx, in);
  }
  if (ctx.upstream == Api::kChat && ctx.caller == Api::kResponses) {
    return chat_to_responses_answer(ctx, in);
  }
  if (ctx.upstream == Api::kMessages) {
    Translated t;
    const Json chat = messages_to_chat_json(ctx, in, t.dropped);
    if (ctx.caller == Api::kChat) {
      t.body = json_text(chat);
      return t;
    }
    if (ctx.caller == Api::kResponses) {
      Translated r = chat_to_responses_answer(ctx, chat);
      r.dropped = std::move(t.dropped);
      return r;
    }
  }
  if (ctx.upstream == Api::kResponses && ctx.caller != Api::kResponses) {
    Translated t;
    const Json chat = responses_to_chat_json(ctx, in, t.dropped);
    if (ctx.caller == Api::kChat) {
      t.body = json_text(chat);
      return t;
    }
    Translated m = chat_to_messages_answer(ctx, chat);
    for (auto& d : t.dropped) m.dropped.push_back(std::move(d));
    return m;
  }
  return Translated{std::string(body), {}};
}

}  // namespace sluice::translate
