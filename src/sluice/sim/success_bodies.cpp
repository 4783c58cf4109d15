#include "sluice/sim/success_bodies.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

#include "sluice/core/json_text.hpp"
#include "sluice/sim/wire_time.hpp"

namespace sluice::sim {

namespace {

using Json = nlohmann::ordered_json;

std::string data_event(const Json& j) { return "data: " + json_text(j) + "\n\n"; }

std::string named_event(std::string_view name, const Json& j) {
  return "event: " + std::string(name) + "\ndata: " + json_text(j) + "\n\n";
}

Json openai_usage(const Generation& g) {
  return Json{{"prompt_tokens", g.prompt_tokens},
              {"completion_tokens", g.completion_tokens()},
              {"total_tokens", g.prompt_tokens + g.completion_tokens()}};
}

const char* openai_finish(const Generation& g) {
  return g.tool_call ? "tool_calls" : g.truncated ? "length" : "stop";
}
const char* anthropic_stop(const Generation& g) {
  return g.tool_call ? "tool_use" : g.truncated ? "max_tokens" : "end_turn";
}

Json chat_tool_call(const Generation& g, bool with_arguments) {
  return Json{{"id", g.call_id},
              {"type", "function"},
              {"function",
               {{"name", g.tool_call->name},
                {"arguments", with_arguments ? g.tool_call->arguments : std::string()}}}};
}

Json anthropic_tool_use(const Generation& g, bool with_input) {
  Json input = with_input ? Json::parse(g.tool_call->arguments, nullptr, false) : Json::object();
  if (input.is_discarded()) input = Json::object();
  return Json{{"type", "tool_use"},
              {"id", g.call_id},
              {"name", g.tool_call->name},
              {"input", std::move(input)}};
}

Json chunk_head(const Generation& g, std::string_view object) {
  Json j;
  j["id"] = g.id;
  j["object"] = object;
  j["created"] = g.created;
  j["model"] = g.model;
  return j;
}

// splitmix64: a tiny, well-mixed hash for deterministic embedding values.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr std::size_t kEmbeddingDims = 8;

std::vector<StreamEvent> openai_family_stream(Dialect dialect, Endpoint endpoint,
                                              const Generation& g) {
  std::vector<StreamEvent> out;
  const bool chat = endpoint == Endpoint::kChatCompletions;
  const std::string_view object = chat ? "chat.completion.chunk" : "text_completion";
  if (dialect == Dialect::kOpenRouter) out.push_back({": OPENROUTER PROCESSING\n\n", false});
  auto choice = [&](Json delta_or_text, Json finish) {
    Json c;
    c["index"] = 0;
    if (chat) {
      c["delta"] = std::move(delta_or_text);
    } else {
      c["text"] = std::move(delta_or_text);
      c["logprobs"] = nullptr;
    }
    c["finish_reason"] = std::move(finish);
    Json j = chunk_head(g, object);
    if (dialect == Dialect::kOpenRouter) j["provider"] = "sim";
    j["choices"] = Json::array({std::move(c)});
    return j;
  };
  if (chat && g.tool_call) {
    // The call's head (id, name, empty arguments), then its arguments in pieces.
    out.push_back(
        {data_event(choice(
             Json{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", Json::array({[&] {
                                                                  Json c = chat_tool_call(g, false);
                                                                  c["index"] = 0;
                                                                  return c;
                                                                }()})}},
             nullptr)),
         false});
    for (const auto& piece : g.pieces) {
      Json delta = {
          {"tool_calls", Json::array({{{"index", 0}, {"function", {{"arguments", piece}}}}})}};
      out.push_back({data_event(choice(std::move(delta), nullptr)), true});
    }
  } else if (chat) {
    out.push_back(
        {data_event(choice(Json{{"role", "assistant"}, {"content", ""}}, nullptr)), false});
  }
  for (const auto& piece : g.tool_call ? std::vector<std::string>{} : g.pieces) {
    out.push_back(
        {data_event(choice(chat ? Json{{"content", piece}} : Json(piece), nullptr)), true});
  }
  out.push_back({data_event(choice(chat ? Json::object() : Json(""), openai_finish(g))), false});
  Json usage = chunk_head(g, object);
  usage["choices"] = Json::array();
  usage["usage"] = openai_usage(g);
  out.push_back({data_event(usage), false});
  out.push_back({"data: [DONE]\n\n", false});
  return out;
}

std::vector<StreamEvent> anthropic_stream(const Generation& g) {
  std::vector<StreamEvent> out;
  Json message;
  message["id"] = g.id;
  message["type"] = "message";
  message["role"] = "assistant";
  message["model"] = g.model;
  message["content"] = Json::array();
  message["stop_reason"] = nullptr;
  message["stop_sequence"] = nullptr;
  message["usage"] = {{"input_tokens", g.prompt_tokens}, {"output_tokens", 1}};
  out.push_back(
      {named_event("message_start", Json{{"type", "message_start"}, {"message", message}}), false});
  Json block = g.tool_call ? anthropic_tool_use(g, false) : Json{{"type", "text"}, {"text", ""}};
  out.push_back({named_event("content_block_start", Json{{"type", "content_block_start"},
                                                         {"index", 0},
                                                         {"content_block", std::move(block)}}),
                 false});
  out.push_back({named_event("ping", Json{{"type", "ping"}}), false});
  for (const auto& piece : g.pieces) {
    Json delta = g.tool_call ? Json{{"type", "input_json_delta"}, {"partial_json", piece}}
                             : Json{{"type", "text_delta"}, {"text", piece}};
    out.push_back({named_event("content_block_delta", Json{{"type", "content_block_delta"},
                                                           {"index", 0},
                                                           {"delta", std::move(delta)}}),
                   true});
  }
  out.push_back(
      {named_event("content_block_stop", Json{{"type", "content_block_stop"}, {"index", 0}}),
       false});
  out.push_back(
      {named_event("message_delta",
                   Json{{"type", "message_delta"},
                        {"delta", {{"stop_reason", anthropic_stop(g)}, {"stop_sequence", nullptr}}},
                        {"usage", {{"output_tokens", g.completion_tokens()}}}}),
       false});
  out.push_back({named_event("message_stop", Json{{"type", "message_stop"}}), false});
  return out;
}

// --- OpenAI Responses API ---------------------------------------------------

std::string responses_item_id(const Generation& g) {
  const std::string n = g.id.substr(g.id.rfind('_') + 1);
  return (g.tool_call ? "fc_sim_" : "msg_sim_") + n;
}

// The one output item: an assistant message or a function call. `done`
// gives its final form; otherwise what response.output_item.added shows.
Json responses_item(const Generation& g, bool done) {
  const char* status =
      done ? (g.truncated && !g.tool_call ? "incomplete" : "completed") : "in_progress";
  if (g.tool_call) {
    return Json{
        {"id", responses_item_id(g)}, {"type", "function_call"},
        {"status", status},           {"arguments", done ? g.tool_call->arguments : std::string()},
        {"call_id", g.call_id},       {"name", g.tool_call->name}};
  }
  Json content = Json::array();
  if (done) {
    content.push_back(Json{{"type", "output_text"},
                           {"annotations", Json::array()},
                           {"logprobs", Json::array()},
                           {"text", g.text()}});
  }
  return Json{{"id", responses_item_id(g)},
              {"type", "message"},
              {"status", status},
              {"content", std::move(content)},
              {"role", "assistant"}};
}

// The response object; `done` is its final form (output and usage).
Json responses_object(const Generation& g, bool done) {
  const bool incomplete = done && g.truncated && !g.tool_call;
  Json r;
  r["id"] = g.id;
  r["object"] = "response";
  r["created_at"] = g.created;
  r["status"] = !done ? "in_progress" : incomplete ? "incomplete" : "completed";
  r["background"] = false;
  r["error"] = nullptr;
  r["incomplete_details"] = incomplete ? Json{{"reason", "max_output_tokens"}} : Json(nullptr);
  r["instructions"] = nullptr;
  r["max_output_tokens"] = nullptr;
  r["model"] = g.model;
  r["output"] = done ? Json::array({responses_item(g, true)}) : Json::array();
  r["parallel_tool_calls"] = true;
  r["previous_response_id"] = nullptr;
  r["reasoning"] = {{"effort", nullptr}, {"summary", nullptr}};
  r["store"] = false;
  r["temperature"] = 1.0;
  r["text"] = {{"format", {{"type", "text"}}}};
  r["tool_choice"] = "auto";
  r["tools"] = Json::array();
  r["top_p"] = 1.0;
  r["truncation"] = "disabled";
  r["usage"] = done ? Json{{"input_tokens", g.prompt_tokens},
                           {"input_tokens_details", {{"cached_tokens", 0}}},
                           {"output_tokens", g.completion_tokens()},
                           {"output_tokens_details", {{"reasoning_tokens", 0}}},
                           {"total_tokens", g.prompt_tokens + g.completion_tokens()}}
                    : Json(nullptr);
  r["metadata"] = Json::object();
  return r;
}

// The event sequence OpenAI sends: created, in_progress, the item added, its
// deltas, its done events, then completed (or incomplete when cut short).
std::vector<StreamEvent> responses_stream(const Generation& g) {
  std::vector<StreamEvent> out;
  std::int64_t seq = 0;
  auto emit = [&](std::string_view type, Json body, bool token = false) {
    Json j;
    j["type"] = type;
    j["sequence_number"] = seq++;
    for (auto& [k, v] : body.items()) j[k] = std::move(v);
    out.push_back({named_event(type, j), token});
  };
  const std::string item_id = responses_item_id(g);
  emit("response.created", Json{{"response", responses_object(g, false)}});
  emit("response.in_progress", Json{{"response", responses_object(g, false)}});
  emit("response.output_item.added", Json{{"output_index", 0}, {"item", responses_item(g, false)}});
  if (g.tool_call) {
    for (const auto& piece : g.pieces) {
      emit("response.function_call_arguments.delta",
           Json{{"item_id", item_id}, {"output_index", 0}, {"delta", piece}}, true);
    }
    emit("response.function_call_arguments.done",
         Json{{"item_id", item_id}, {"output_index", 0}, {"arguments", g.tool_call->arguments}});
  } else {
    const Json empty_part = {{"type", "output_text"},
                             {"annotations", Json::array()},
                             {"logprobs", Json::array()},
                             {"text", ""}};
    emit(
        "response.content_part.added",
        Json{
            {"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"part", empty_part}});
    for (const auto& piece : g.pieces) {
      emit("response.output_text.delta",
           Json{{"item_id", item_id},
                {"output_index", 0},
                {"content_index", 0},
                {"delta", piece},
                {"logprobs", Json::array()}},
           true);
    }
    emit("response.output_text.done", Json{{"item_id", item_id},
                                           {"output_index", 0},
                                           {"content_index", 0},
                                           {"text", g.text()},
                                           {"logprobs", Json::array()}});
    Json part = empty_part;
    part["text"] = g.text();
    emit("response.content_part.done", Json{{"item_id", item_id},
                                            {"output_index", 0},
                                            {"content_index", 0},
                                            {"part", std::move(part)}});
  }
  emit("response.output_item.done", Json{{"output_index", 0}, {"item", responses_item(g, true)}});
  const bool incomplete = g.truncated && !g.tool_call;
  emit(incomplete ? "response.incomplete" : "response.completed",
       Json{{"response", responses_object(g, true)}});
  return out;
}

}  // namespace

std::string Generation::text() const {
  std::string t;
  for (const auto& p : pieces) t += p;
  return t;
}

Generation make_generation(std::string_view provider_name, Endpoint endpoint, std::uint64_t seq,
                           const ParsedRequest& request, std::int64_t created,
                           std::int64_t answer_tokens) {
  Generation g;
  const std::string n = std::to_string(seq);
  g.id = endpoint == Endpoint::kMessages      ? "msg_sim_" + n
         : endpoint == Endpoint::kCompletions ? "cmpl-sim-" + n
         : endpoint == Endpoint::kResponses   ? "resp_sim_" + n
                                              : "chatcmpl-sim-" + n;
  g.model = request.model;
  g.created = created;
  g.prompt_tokens = request.prompt_tokens;
  if (request.tool_call) {
    g.tool_call = request.tool_call;
    g.call_id = (endpoint == Endpoint::kMessages ? "toolu_sim_" : "call_sim_") + n;
    const std::string& args = g.tool_call->arguments;
    std::size_t at = 0;
    while (at < args.size()) {
      std::size_t end = std::min(args.size(), at + 8);
      // Never split a UTF-8 character: back off over continuation bytes.
      while (end < args.size() && end > at + 1 &&
             (static_cast<unsigned char>(args[end]) & 0xC0) == 0x80) {
        --end;
      }
      g.pieces.push_back(args.substr(at, end - at));
      at = end;
    }
    if (g.pieces.empty()) g.pieces.push_back("{}");
    return g;
  }
  const std::string from = provider_name.empty() ? "sluice sim" : std::string(provider_name);
  const std::array<std::string, 6> words = {"This", "is", "a", "simulated", "answer", "from"};
  std::vector<std::string> sentence(words.begin(), words.end());
  sentence.push_back(from + ".");
  const auto whole = static_cast<std::size_t>(std::max<std::int64_t>(answer_tokens, 1));
  const auto keep = static_cast<std::size_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(whole), request.max_tokens));
  g.truncated = keep < whole;
  g.pieces.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) {
    const std::string& word = sentence[i % sentence.size()];
    g.pieces.push_back(i + 1 < keep ? word + " " : word);
  }
  return g;
}

std::string render_generation_body(Endpoint endpoint, const Generation& g) {
  if (endpoint == Endpoint::kResponses) return json_text(responses_object(g, true));
  if (endpoint == Endpoint::kMessages) {
    Json j;
    j["id"] = g.id;
    j["type"] = "message";
    j["role"] = "assistant";
    j["model"] = g.model;
    j["content"] = Json::array(
        {g.tool_call ? anthropic_tool_use(g, true) : Json{{"type", "text"}, {"text", g.text()}}});
    j["stop_reason"] = anthropic_stop(g);
    j["stop_sequence"] = nullptr;
    j["usage"] = {{"input_tokens", g.prompt_tokens}, {"output_tokens", g.completion_tokens()}};
    return json_text(j);
  }
  const bool chat = endpoint == Endpoint::kChatCompletions;
  Json j = chunk_head(g, chat ? "chat.completion" : "text_completion");
  Json c;
  if (chat) {
    c["index"] = 0;
    if (g.tool_call) {
      c["message"] = {{"role", "assistant"},
                      {"content", nullptr},
                      {"tool_calls", Json::array({chat_tool_call(g, true)})}};
    } else {
      c["message"] = {{"role", "assistant"}, {"content", g.text()}};
    }
  } else {
    c["text"] = g.text();
    c["index"] = 0;
  }
  c["logprobs"] = nullptr;
  c["finish_reason"] = openai_finish(g);
  j["choices"] = Json::array({std::move(c)});
  j["usage"] = openai_usage(g);
  return json_text(j);
}

std::string render_embeddings_body(const ParsedRequest& request) {
  Json data = Json::array();
  for (std::size_t i = 0; i < request.inputs; ++i) {
    Json vec = Json::array();
    std::string packed;  // base64: little-endian float32s, as OpenAI sends them
    for (std::size_t d = 0; d < kEmbeddingDims; ++d) {
      const std::uint64_t h = mix(request.text_hash ^ mix(i * kEmbeddingDims + d));
      // Map to [-1, 1) with 4 decimals: stable, readable, cheap to print.
      const auto milli = static_cast<std::int64_t>(h % 20000) - 10000;
      const double value = static_cast<double>(milli) / 10000.0;
      vec.push_back(value);
      const auto f = static_cast<float>(value);
      std::uint32_t bits = 0;
      std::memcpy(&bits, &f, sizeof bits);
      for (int b = 0; b < 4; ++b) packed.push_back(static_cast<char>((bits >> (8 * b)) & 0xFF));
    }
    Json embedding = request.base64_embeddings ? Json(base64_encode(packed)) : std::move(vec);
    data.push_back(
        Json{{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
  }
  Json j;
  j["object"] = "list";
  j["data"] = std::move(data);
  j["model"] = request.model;
  j["usage"] = {{"prompt_tokens", request.prompt_tokens}, {"total_tokens", request.prompt_tokens}};
  return json_text(j);
}

std::string render_models_body(Dialect dialect, const std::vector<std::string>& models,
                               std::int64_t created) {
  static const std::vector<std::string> kDefault = {"sim-model"};
  const auto& list = models.empty() ? kDefault : models;
  Json data = Json::array();
  if (dialect == Dialect::kAnthropic) {
    const std::string created_at = format_rfc3339_ceil(TimePoint(std::chrono::seconds(created)));
    for (const auto& m : list) {
      data.push_back(
          Json{{"type", "model"}, {"id", m}, {"display_name", m}, {"created_at", created_at}});
    }
    Json j;
    j["data"] = std::move(data);
    j["has_more"] = false;
    j["first_id"] = list.front();
    j["last_id"] = list.back();
    return json_text(j);
  }
  for (const auto& m : list) {
    data.push_back(
        Json{{"id", m}, {"object", "model"}, {"created", created}, {"owned_by", "sluice-sim"}});
  }
  return json_text(Json{{"object", "list"}, {"data", std::move(data)}});
}

std::string render_model_body(Dialect dialect, std::string_view model, std::int64_t created) {
  if (dialect == Dialect::kAnthropic) {
    const std::string created_at = format_rfc3339_ceil(TimePoint(std::chrono::seconds(created)));
    return json_text(Json{
        {"type", "model"}, {"id", model}, {"display_name", model}, {"created_at", created_at}});
  }
  return json_text(
      Json{{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "sluice-sim"}});
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(n >> s) & 63]);
  }
  if (i < bytes.size()) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::vector<std::string> render_responses_failure(const Generation& g,
                                                  std::int64_t sequence_number) {
  Json r = responses_object(g, false);
  r["status"] = "failed";
  r["error"] = {{"code", "server_error"},
                {"message", "The server had an error while processing your request."}};
  r["usage"] = nullptr;
  return {named_event(
      "response.failed",
      Json{{"type", "response.failed"}, {"sequence_number", sequence_number}, {"response", r}})};
}

std::string render_count_tokens_body(std::int64_t input_tokens) {
  return json_text(Json{{"input_tokens", input_tokens}});
}

std::vector<StreamEvent> render_generation_stream(Dialect dialect, Endpoint endpoint,
                                                  const Generation& g) {
  if (endpoint == Endpoint::kMessages) return anthropic_stream(g);
  if (endpoint == Endpoint::kResponses) return responses_stream(g);
  return openai_family_stream(dialect, endpoint, g);
}

}  // namespace sluice::sim
