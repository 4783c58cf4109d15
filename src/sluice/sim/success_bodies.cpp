#include "sluice/sim/success_bodies.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "sluice/sim/wire_time.hpp"

namespace sluice::sim {

namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string data_event(const Json& j) { return "data: " + dump(j) + "\n\n"; }

std::string named_event(std::string_view name, const Json& j) {
  return "event: " + std::string(name) + "\ndata: " + dump(j) + "\n\n";
}

Json openai_usage(const Generation& g) {
  return Json{{"prompt_tokens", g.prompt_tokens},
              {"completion_tokens", g.completion_tokens()},
              {"total_tokens", g.prompt_tokens + g.completion_tokens()}};
}

const char* openai_finish(const Generation& g) { return g.truncated ? "length" : "stop"; }
const char* anthropic_stop(const Generation& g) { return g.truncated ? "max_tokens" : "end_turn"; }

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
  if (chat) {
    out.push_back(
        {data_event(choice(Json{{"role", "assistant"}, {"content", ""}}, nullptr)), false});
  }
  for (const auto& piece : g.pieces) {
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
  out.push_back({named_event("content_block_start",
                             Json{{"type", "content_block_start"},
                                  {"index", 0},
                                  {"content_block", {{"type", "text"}, {"text", ""}}}}),
                 false});
  out.push_back({named_event("ping", Json{{"type", "ping"}}), false});
  for (const auto& piece : g.pieces) {
    out.push_back({named_event("content_block_delta",
                               Json{{"type", "content_block_delta"},
                                    {"index", 0},
                                    {"delta", {{"type", "text_delta"}, {"text", piece}}}}),
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

}  // namespace

std::string Generation::text() const {
  std::string t;
  for (const auto& p : pieces) t += p;
  return t;
}

Generation make_generation(std::string_view provider_name, Endpoint endpoint, std::uint64_t seq,
                           const ParsedRequest& request, std::int64_t created) {
  Generation g;
  const std::string n = std::to_string(seq);
  g.id = endpoint == Endpoint::kMessages      ? "msg_sim_" + n
         : endpoint == Endpoint::kCompletions ? "cmpl-sim-" + n
                                              : "chatcmpl-sim-" + n;
  g.model = request.model;
  g.created = created;
  g.prompt_tokens = request.prompt_tokens;
  const std::string from = provider_name.empty() ? "sluice sim" : std::string(provider_name);
  const std::array<std::string, 6> words = {"This", "is", "a", "simulated", "answer", "from"};
  std::vector<std::string> all(words.begin(), words.end());
  all.push_back(from + ".");
  const auto keep = static_cast<std::size_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(all.size()), request.max_tokens));
  g.truncated = keep < all.size();
  for (std::size_t i = 0; i < keep; ++i) {
    g.pieces.push_back(i + 1 < keep ? all[i] + " " : all[i]);
  }
  return g;
}

std::string render_generation_body(Endpoint endpoint, const Generation& g) {
  if (endpoint == Endpoint::kMessages) {
    Json j;
    j["id"] = g.id;
    j["type"] = "message";
    j["role"] = "assistant";
    j["model"] = g.model;
    j["content"] = Json::array({{{"type", "text"}, {"text", g.text()}}});
    j["stop_reason"] = anthropic_stop(g);
    j["stop_sequence"] = nullptr;
    j["usage"] = {{"input_tokens", g.prompt_tokens}, {"output_tokens", g.completion_tokens()}};
    return dump(j);
  }
  const bool chat = endpoint == Endpoint::kChatCompletions;
  Json j = chunk_head(g, chat ? "chat.completion" : "text_completion");
  Json c;
  if (chat) {
    c["index"] = 0;
    c["message"] = {{"role", "assistant"}, {"content", g.text()}};
  } else {
    c["text"] = g.text();
    c["index"] = 0;
  }
  c["logprobs"] = nullptr;
  c["finish_reason"] = openai_finish(g);
  j["choices"] = Json::array({std::move(c)});
  j["usage"] = openai_usage(g);
  return dump(j);
}

std::string render_embeddings_body(const ParsedRequest& request) {
  Json data = Json::array();
  for (std::size_t i = 0; i < request.inputs; ++i) {
    Json vec = Json::array();
    for (std::size_t d = 0; d < kEmbeddingDims; ++d) {
      const std::uint64_t h = mix(request.text_hash ^ mix(i * kEmbeddingDims + d));
      // Map to [-1, 1) with 4 decimals: stable, readable, cheap to print.
      const auto milli = static_cast<std::int64_t>(h % 20000) - 10000;
      vec.push_back(static_cast<double>(milli) / 10000.0);
    }
    data.push_back(Json{{"object", "embedding"}, {"index", i}, {"embedding", std::move(vec)}});
  }
  Json j;
  j["object"] = "list";
  j["data"] = std::move(data);
  j["model"] = request.model;
  j["usage"] = {{"prompt_tokens", request.prompt_tokens}, {"total_tokens", request.prompt_tokens}};
  return dump(j);
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
    return dump(j);
  }
  for (const auto& m : list) {
    data.push_back(
        Json{{"id", m}, {"object", "model"}, {"created", created}, {"owned_by", "sluice-sim"}});
  }
  return dump(Json{{"object", "list"}, {"data", std::move(data)}});
}

std::string render_count_tokens_body(std::int64_t input_tokens) {
  return dump(Json{{"input_tokens", input_tokens}});
}

std::vector<StreamEvent> render_generation_stream(Dialect dialect, Endpoint endpoint,
                                                  const Generation& g) {
  if (endpoint == Endpoint::kMessages) return anthropic_stream(g);
  return openai_family_stream(dialect, endpoint, g);
}

}  // namespace sluice::sim
