// Streamed answers: SSE in the upstream's API in, SSE in the caller's out.
// Chat -> Messages, Messages -> Chat, Chat -> Responses, Responses -> Chat,
// and Messages <-> Responses through Chat.
#include <map>
#include <set>

#include "sluice/translate/answers.hpp"
#include "sluice/translate/json_util.hpp"
#include "sluice/translate/translate.hpp"

namespace sluice::translate {

using detail::has;
using detail::int_at;
using detail::Json;
using detail::member;
using detail::text_at;

namespace {

// Splits SSE bytes into events, whatever the pieces' boundaries.
class SseReader {
 public:
  struct Event {
    std::string name;
    std::string data;
  };
  template <class F>
  void feed(std::string_view bytes, F&& on_event) {
    buf_.append(bytes);
    std::size_t start = 0;
    while (true) {
      std::size_t end = buf_.find("\n\n", start);
      std::size_t sep = 2;
      const std::size_t crlf = buf_.find("\r\n\r\n", start);
      if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
        end = crlf;
        sep = 4;
      }
      if (end == std::string::npos) break;
      Event ev = parse(std::string_view(buf_).substr(start, end - start));
      start = end + sep;
      if (!ev.data.empty() || !ev.name.empty()) on_event(ev);
    }
    buf_.erase(0, start);
  }

 private:
  static Event parse(std::string_view block) {
    Event ev;
    std::size_t pos = 0;
    while (pos <= block.size()) {
      std::size_t eol = block.find('\n', pos);
      if (eol == std::string_view::npos) eol = block.size();
      std::string_view line = block.substr(pos, eol - pos);
      pos = eol + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      auto value = [&line](std::size_t n) {
        std::string_view v = line.substr(n);
        if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        return v;
      };
      if (line.starts_with("event:")) {
        ev.name = std::string(value(6));
      } else if (line.starts_with("data:")) {
        if (!ev.data.empty()) ev.data += '\n';
        ev.data += value(5);
      }
      if (eol == block.size()) break;
    }
    return ev;
  }
  std::string buf_;
};

std::string named(std::string_view name, const Json& j) {
  return "event: " + std::string(name) + "\ndata: " + json_text(j) + "\n\n";
}
std::string data(const Json& j) { return "data: " + json_text(j) + "\n\n"; }

std::string error_message(const Json& j) {
  if (const Json* e = member(j, "error")) {
    if (e->is_string()) return e->get<std::string>();
    if (const std::string m = text_at(*e, "message"); !m.empty()) return m;
  }
  return "the provider reported an error mid-stream";
}

// One Chat Completions stream chunk of a translated stream.
Json chat_chunk(const std::string& id, std::int64_t created, const Json& model, Json delta,
                Json finish) {
  return Json{{"id", id},
              {"object", "chat.completion.chunk"},
              {"created", created},
              {"model", model},
              {"choices", Json::array({Json{{"index", 0},
                                            {"delta", std::move(delta)},
                                            {"finish_reason", std::move(finish)}}})}};
}

// A translator that reads the upstream's SSE events one at a time.
class EventTranslator : public StreamTranslator {
 public:
  std::string feed(std::string_view bytes) final {
    std::string out;
    reader_.feed(bytes, [&](const SseReader::Event& ev) { on_event(ev, out); });
    return out;
  }

 protected:
  virtual void on_event(const SseReader::Event& ev, std::string& out) = 0;

 private:
  SseReader reader_;
};

// Reads a Chat Completions stream (the pivot every translation from a Chat
// provider starts from) and hands its pieces to the caller's API: text,
// tool-call deltas, an in-band error, and the end ([DONE], or a finish_reason
// followed by the stream's close).
class ChatStreamReader : public EventTranslator {
 public:
  std::string finish() final {
    std::string out;
    // A stream that said how it finished but closed without [DONE] ended.
    if (started_ && !done_ && !finish_.empty()) {
      end(out);
      done_ = true;
    }
    return out;
  }

 protected:
  // The first chunk (or [DONE] on an empty stream: an empty object).
  virtual void start(const Json& chunk, std::string& out) = 0;
  virtual void on_error(const Json& chunk, std::string& out) = 0;
  virtual void on_text(const std::string& text, std::string& out) = 0;
  virtual void on_tool_delta(const Json& tool_call, std::string& out) = 0;
  // Closes what is open and writes the caller's terminal event.
  virtual void end(std::string& out) = 0;

  bool started_ = false;
  bool done_ = false;
  std::string finish_;  // the finish_reason given
  Json usage_;          // the usage chunk's

 private:
  void on_event(const SseReader::Event& ev, std::string& out) final {
    if (done_) return;
    if (ev.data == "[DONE]") {
      if (!started_) start(Json::object(), out);
      end(out);
      done_ = true;
      return;
    }
    const Json chunk = Json::parse(ev.data, nullptr, false);
    if (!chunk.is_object()) return;
    if (has(chunk, "error")) {
      on_error(chunk, out);
      done_ = true;
      return;
    }
    if (!started_) start(chunk, out);
    if (const Json* u = member(chunk, "usage")) usage_ = *u;
    const Json* choices = member(chunk, "choices");
    if (!choices || !choices->is_array() || choices->empty()) return;
    const Json& c0 = (*choices)[0];
    if (const Json* delta = member(c0, "delta")) {
      if (const Json* text = member(*delta, "content"); text && text->is_string()) {
        const std::string& s = text->get_ref<const std::string&>();
        if (!s.empty()) on_text(s, out);
      }
      if (const Json* calls = member(*delta, "tool_calls"); calls && calls->is_array()) {
        for (const auto& tc : *calls) on_tool_delta(tc, out);
      }
    }
    if (const std::string f = text_at(c0, "finish_reason"); !f.empty()) finish_ = f;
  }
};

// --- Chat -> Messages ------------------------------------------------------

class ChatToMessages final : public ChatStreamReader {
 public:
  explicit ChatToMessages(Context ctx) : ctx_(std::move(ctx)) {}

 private:
  void on_error(const Json& chunk, std::string& out) override {
    out +=
        named("error", Json{{"type", "error"},
                            {"error", {{"type", "api_error"}, {"message", error_message(chunk)}}}});
  }

  void on_text(const std::string& s, std::string& out) override {
    if (open_kind_ != Kind::kText)
      open_block(Kind::kText, Json{{"type", "text"}, {"text", ""}}, out);
    out += named("content_block_delta", Json{{"type", "content_block_delta"},
                                             {"index", index_},
                                             {"delta", {{"type", "text_delta"}, {"text", s}}}});
  }

  void on_tool_delta(const Json& tc, std::string& out) override {
    const std::int64_t n = int_at(tc, "index");
    const Json* fn = member(tc, "function");
    auto it = tools_.find(n);
    if (it == tools_.end()) {
      const std::string id = text_at(tc, "id");
      const std::string name = fn ? text_at(*fn, "name") : "";
      if (id.empty() && name.empty())
        return;  // arguments before the call's head: nothing to attach
      open_block(Kind::kTool,
                 Json{{"type", "tool_use"},
                      {"id", encode_tool_id(id.empty() ? "call_" + std::to_string(n) : id)},
                      {"name", original_tool_name(ctx_, name)},
                      {"input", Json::object()}},
                 out);
      it = tools_.emplace(n, index_).first;
    }
    const std::string args = fn ? text_at(*fn, "arguments") : "";
    // Anthropic blocks do not interleave: arguments of a call whose block
    // is closed already cannot be sent (providers stream calls one by one).
    if (!args.empty() && open_kind_ == Kind::kTool && it->second == index_) {
      out += named("content_block_delta",
                   Json{{"type", "content_block_delta"},
                        {"index", index_},
                        {"delta", {{"type", "input_json_delta"}, {"partial_json", args}}}});
    }
  }

  enum class Kind { kNone, kText, kTool };

  void start(const Json& chunk, std::string& out) override {
    started_ = true;
    Json message = {{"id", "msg_" + text_at(chunk, "id")},
                    {"type", "message"},
                    {"role", "assistant"},
                    {"model", has(chunk, "model") ? chunk["model"] : Json(ctx_.caller_model)},
                    {"content", Json::array()},
                    {"stop_reason", nullptr},
                    {"stop_sequence", nullptr},
                    {"usage", {{"input_tokens", 0}, {"output_tokens", 0}}}};
    out += named("message_start", Json{{"type", "message_start"}, {"message", std::move(message)}});
  }

  void open_block(Kind kind, Json block, std::string& out) {
    close_block(out);
    index_ = next_index_++;
    open_kind_ = kind;
    out += named("content_block_start", Json{{"type", "content_block_start"},
                                             {"index", index_},
                                             {"content_block", std::move(block)}});
  }

  void close_block(std::string& out) {
    if (open_kind_ == Kind::kNone) return;
    out += named("content_block_stop", Json{{"type", "content_block_stop"}, {"index", index_}});
    open_kind_ = Kind::kNone;
  }

  void end(std::string& out) override {
    close_block(out);
    Json usage = usage_.is_object() ? anthropic_usage_from_chat(usage_)
                                    : Json{{"input_tokens", 0}, {"output_tokens", 0}};
    out +=
        named("message_delta",
              Json{{"type", "message_delta"},
                   {"delta",
                    {{"stop_reason", anthropic_stop_reason(finish_)}, {"stop_sequence", nullptr}}},
                   {"usage", std::move(usage)}});
    out += named("message_stop", Json{{"type", "message_stop"}});
  }

  Context ctx_;
  Kind open_kind_ = Kind::kNone;
  std::int64_t index_ = -1;
  std::int64_t next_index_ = 0;
  std::map<std::int64_t, std::int64_t> tools_;  // Chat tool index -> block index
};

// --- Messages -> Chat ------------------------------------------------------

class MessagesToChat final : public EventTranslator {
 public:
  explicit MessagesToChat(Context ctx) : ctx_(std::move(ctx)) {}

  std::string finish() override { return {}; }  // no message_stop: a cut stream

 private:
  Json chunk(Json delta, Json finish) const {
    return chat_chunk(id_, ctx_.created, model_, std::move(delta), std::move(finish));
  }

  void on_event(const SseReader::Event& ev, std::string& out) override {
    if (done_) return;
    const Json j = Json::parse(ev.data, nullptr, false);
    if (!j.is_object()) return;
    const std::string type = has(j, "type") ? text_at(j, "type") : ev.name;
    if (type == "message_start") {
      const Json* m = member(j, "message");
      id_ = m ? text_at(*m, "id") : "";
      model_ = m && has(*m, "model") ? (*m)["model"] : Json(ctx_.caller_model);
      if (m) {
        if (const Json* u = member(*m, "usage")) usage_ = *u;
      }
      out += data(chunk(Json{{"role", "assistant"}, {"content", ""}}, nullptr));
    } else if (type == "content_block_start") {
      const Json* block = member(j, "content_block");
      if (block && text_at(*block, "type") == "tool_use") {
        const std::int64_t n = next_tool_++;
        tools_[int_at(j, "index")] = n;
        out += data(chunk(
            Json{{"tool_calls",
                  Json::array({Json{{"index", n},
                                    {"id", decode_tool_id(text_at(*block, "id"))},
                                    {"type", "function"},
                                    {"function",
                                     {{"name", original_tool_name(ctx_, text_at(*block, "name"))},
                                      {"arguments", ""}}}}})}},
            nullptr));
      }
    } else if (type == "content_block_delta") {
      const Json* d = member(j, "delta");
      if (!d) return;
      const std::string dt = text_at(*d, "type");
      if (dt == "text_delta") {
        out += data(chunk(Json{{"content", text_at(*d, "text")}}, nullptr));
      } else if (dt == "thinking_delta") {
        out += data(chunk(Json{{"reasoning_content", text_at(*d, "thinking")}}, nullptr));
      } else if (dt == "input_json_delta") {
        auto it = tools_.find(int_at(j, "index"));
        if (it == tools_.end()) return;
        out += data(chunk(
            Json{{"tool_calls",
                  Json::array({Json{{"index", it->second},
                                    {"function", {{"arguments", text_at(*d, "partial_json")}}}}})}},
            nullptr));
      }
    } else if (type == "message_delta") {
      if (const Json* d = member(j, "delta")) stop_ = text_at(*d, "stop_reason");
      if (const Json* u = member(j, "usage")) {
        for (auto it = u->begin(); it != u->end(); ++it) usage_[it.key()] = it.value();
      }
    } else if (type == "message_stop") {
      out += data(chunk(Json::object(), chat_finish_reason(stop_)));
      Json usage_chunk = chunk(Json::object(), nullptr);
      usage_chunk["choices"] = Json::array();
      usage_chunk["usage"] =
          chat_usage_from_anthropic(usage_.is_object() ? usage_ : Json::object());
      out += data(usage_chunk);
      out += "data: [DONE]\n\n";
      done_ = true;
    } else if (type == "error") {
      const Json* e = member(j, "error");
      out += data(Json{{"error",
                        {{"message", e ? text_at(*e, "message") : "upstream error"},
                         {"type", e ? text_at(*e, "type") : "api_error"},
                         {"code", nullptr}}}});
      done_ = true;
    }
  }

  Context ctx_;
  bool done_ = false;
  std::string id_;
  Json model_;
  std::string stop_;
  Json usage_;
  std::map<std::int64_t, std::int64_t> tools_;  // block index -> Chat tool index
  std::int64_t next_tool_ = 0;
};

// --- Chat -> Responses -----------------------------------------------------

class ChatToResponses final : public ChatStreamReader {
 public:
  explicit ChatToResponses(Context ctx) : ctx_(std::move(ctx)) {}

 private:
  void emit(std::string_view type, Json body, std::string& out) {
    Json j;
    j["type"] = type;
    j["sequence_number"] = seq_++;
    for (auto it = body.begin(); it != body.end(); ++it) j[it.key()] = it.value();
    out += named(type, j);
  }

  void on_error(const Json& chunk, std::string& out) override {
    if (!started_) start(chunk, out);  // response.failed carries the response
    Json r = envelope_;
    r["status"] = "failed";
    r["error"] = {{"code", "server_error"}, {"message", error_message(chunk)}};
    emit("response.failed", Json{{"response", std::move(r)}}, out);
  }

  void on_text(const std::string& s, std::string& out) override {
    if (open_ != Open::kMessage) open_message(out);
    text_ += s;
    emit("response.output_text.delta",
         Json{{"item_id", item_id_},
              {"output_index", output_index_},
              {"content_index", 0},
              {"delta", s},
              {"logprobs", Json::array()}},
         out);
  }

  void on_tool_delta(const Json& tc, std::string& out) override {
    const std::int64_t n = int_at(tc, "index");
    const Json* fn = member(tc, "function");
    if (open_ != Open::kCall || call_index_ != n) {
      const std::string id = text_at(tc, "id");
      const std::string name = fn ? text_at(*fn, "name") : "";
      if (id.empty() && name.empty()) return;
      close_item(out);
      open_ = Open::kCall;
      call_index_ = n;
      call_id_ = id.empty() ? "call_" + std::to_string(n) : id;
      call_name_ = original_tool_name(ctx_, name);
      args_.clear();
      output_index_ = static_cast<std::int64_t>(output_.size());
      item_id_ = "fc_" + std::to_string(output_index_) + "_" + call_id_;
      emit("response.output_item.added",
           Json{{"output_index", output_index_}, {"item", call_item("in_progress")}}, out);
    }
    const std::string piece = fn ? text_at(*fn, "arguments") : "";
    if (!piece.empty()) {
      args_ += piece;
      emit("response.function_call_arguments.delta",
           Json{{"item_id", item_id_}, {"output_index", output_index_}, {"delta", piece}}, out);
    }
  }

  enum class Open { kNone, kMessage, kCall };

  Json call_item(const char* status) const {
    return Json{{"id", item_id_},
                {"type", "function_call"},
                {"status", status},
                {"arguments", std::string(status) == "completed" ? args_ : std::string()},
                {"call_id", call_id_},
                {"name", call_name_}};
  }
  Json text_part() const {
    return Json{{"type", "output_text"}, {"annotations", Json::array()}, {"text", text_}};
  }

  void start(const Json& chunk, std::string& out) override {
    started_ = true;
    envelope_ =
        responses_envelope(ctx_, has(chunk, "model") ? text_at(chunk, "model") : ctx_.caller_model);
    emit("response.created", Json{{"response", envelope_}}, out);
    emit("response.in_progress", Json{{"response", envelope_}}, out);
  }

  void open_message(std::string& out) {
    close_item(out);
    open_ = Open::kMessage;
    text_.clear();
    output_index_ = static_cast<std::int64_t>(output_.size());
    item_id_ = "msg_" + std::to_string(output_index_) + "_" + envelope_["id"].get<std::string>();
    emit("response.output_item.added",
         Json{{"output_index", output_index_},
              {"item",
               {{"id", item_id_},
                {"type", "message"},
                {"status", "in_progress"},
                {"content", Json::array()},
                {"role", "assistant"}}}},
         out);
    Json empty = text_part();
    empty["text"] = "";
    emit("response.content_part.added",
         Json{{"item_id", item_id_},
              {"output_index", output_index_},
              {"content_index", 0},
              {"part", std::move(empty)}},
         out);
  }

  void close_item(std::string& out) {
    if (open_ == Open::kMessage) {
      emit("response.output_text.done",
           Json{{"item_id", item_id_},
                {"output_index", output_index_},
                {"content_index", 0},
                {"text", text_},
                {"logprobs", Json::array()}},
           out);
      emit("response.content_part.done",
           Json{{"item_id", item_id_},
                {"output_index", output_index_},
                {"content_index", 0},
                {"part", text_part()}},
           out);
      Json item = {{"id", item_id_},
                   {"type", "message"},
                   {"status", "completed"},
                   {"content", Json::array({text_part()})},
                   {"role", "assistant"}};
      emit("response.output_item.done", Json{{"output_index", output_index_}, {"item", item}}, out);
      output_.push_back(std::move(item));
    } else if (open_ == Open::kCall) {
      emit("response.function_call_arguments.done",
           Json{{"item_id", item_id_}, {"output_index", output_index_}, {"arguments", args_}}, out);
      Json item = call_item("completed");
      emit("response.output_item.done", Json{{"output_index", output_index_}, {"item", item}}, out);
      output_.push_back(std::move(item));
    }
    open_ = Open::kNone;
  }

  void end(std::string& out) override {
    close_item(out);
    Json r = envelope_;
    r["output"] = output_;
    finish_responses_envelope(r, finish_, usage_.is_object() ? &usage_ : nullptr);
    const bool incomplete = r["status"] == "incomplete";
    emit(incomplete ? "response.incomplete" : "response.completed",
         Json{{"response", std::move(r)}}, out);
  }

  Context ctx_;
  std::int64_t seq_ = 0;
  Json envelope_;
  Json output_ = Json::array();
  Open open_ = Open::kNone;
  std::int64_t output_index_ = 0;
  std::string item_id_;
  std::string text_;
  std::int64_t call_index_ = -1;
  std::string call_id_, call_name_, args_;
};

// One translator's output fed to the next.
// --- Responses -> Chat -------------------------------------------------------

class ResponsesToChat final : public EventTranslator {
 public:
  explicit ResponsesToChat(Context ctx) : ctx_(std::move(ctx)) {}

  std::string finish() override { return {}; }  // no response.completed: a cut stream

 private:
  Json chunk(Json delta, Json finish) const {
    return chat_chunk(id_, ctx_.created, model_, std::move(delta), std::move(finish));
  }

  void begin(const Json* response, std::string& out) {
    if (started_) return;
    started_ = true;
    id_ = response && has(*response, "id") ? text_at(*response, "id") : "chatcmpl-sluice";
    model_ = response && has(*response, "model") ? (*response)["model"] : Json(ctx_.caller_model);
    out += data(chunk(Json{{"role", "assistant"}, {"content", ""}}, nullptr));
  }

  // The Chat tool index of a function_call item, by its item id or output
  // index; none when the event names neither.
  const std::int64_t* tool_of(const Json& j) const {
    if (const std::string id = text_at(j, "item_id"); !id.empty()) {
      if (auto it = tool_by_item_.find(id); it != tool_by_item_.end()) return &it->second;
    }
    if (!has(j, "output_index")) return nullptr;
    if (auto it = tool_by_index_.find(int_at(j, "output_index")); it != tool_by_index_.end()) {
      return &it->second;
    }
    return nullptr;
  }

  void arguments(std::int64_t n, const std::string& piece, std::string& out) {
    if (piece.empty()) return;
    streamed_args_.insert(n);
    out +=
        data(chunk(Json{{"tool_calls",
                         Json::array({Json{{"index", n}, {"function", {{"arguments", piece}}}}})}},
                   nullptr));
  }

  void on_event(const SseReader::Event& ev, std::string& out) override {
    if (done_) return;
    const Json j = Json::parse(ev.data, nullptr, false);
    if (!j.is_object()) return;
    const std::string type = has(j, "type") ? text_at(j, "type") : ev.name;
    if (type == "response.created" || type == "response.in_progress") {
      begin(member(j, "response"), out);
    } else if (type == "response.output_item.added") {
      begin(nullptr, out);
      const Json* item = member(j, "item");
      if (!item || text_at(*item, "type") != "function_call") return;
      const std::int64_t n = next_tool_++;
      tool_by_item_[text_at(*item, "id")] = n;
      tool_by_index_[int_at(j, "output_index")] = n;
      if (!text_at(*item, "arguments").empty()) streamed_args_.insert(n);
      out += data(chunk(
          Json{{"tool_calls",
                Json::array({Json{{"index", n},
                                  {"id", text_at(*item, "call_id")},
                                  {"type", "function"},
                                  {"function",
                                   {{"name", original_tool_name(ctx_, text_at(*item, "name"))},
                                    {"arguments", text_at(*item, "arguments")}}}}})}},
          nullptr));
    } else if (type == "response.function_call_arguments.delta") {
      if (const std::int64_t* n = tool_of(j)) arguments(*n, text_at(j, "delta"), out);
    } else if (type == "response.function_call_arguments.done" ||
               type == "response.output_item.done") {
      // A server that sends a call's arguments only whole, at its end.
      const Json* item = member(j, "item");
      const Json where = item ? Json{{"item_id", text_at(*item, "id")},
                                     {"output_index", int_at(j, "output_index")}}
                              : j;
      const std::int64_t* n = tool_of(where);
      if (!n || streamed_args_.count(*n)) return;
      arguments(*n, item ? text_at(*item, "arguments") : text_at(j, "arguments"), out);
    } else if (type == "response.output_text.delta") {
      begin(nullptr, out);
      out += data(chunk(Json{{"content", text_at(j, "delta")}}, nullptr));
    } else if (type == "response.refusal.delta") {
      begin(nullptr, out);
      out += data(chunk(Json{{"refusal", text_at(j, "delta")}}, nullptr));
    } else if (type == "response.reasoning_summary_text.delta") {
      begin(nullptr, out);
      out += data(chunk(Json{{"reasoning_content", text_at(j, "delta")}}, nullptr));
    } else if (type == "response.completed" || type == "response.incomplete") {
      const Json* r = member(j, "response");
      begin(r, out);
      const Json response = r ? *r : Json::object();
      out += data(chunk(Json::object(), chat_finish_from_responses(response, next_tool_ > 0)));
      Json usage_chunk = chunk(Json::object(), nullptr);
      usage_chunk["choices"] = Json::array();
      const Json* u = member(response, "usage");
      usage_chunk["usage"] = chat_usage_from_responses(u ? *u : Json::object());
      out += data(usage_chunk);
      out += "data: [DONE]\n\n";
      done_ = true;
    } else if (type == "response.failed" || type == "error") {
      const Json* r = member(j, "response");
      const Json* e = r ? member(*r, "error") : &j;
      std::string message = e ? text_at(*e, "message") : "";
      if (message.empty()) message = "the provider reported an error mid-stream";
      out += data(Json{{"error",
                        {{"message", message},
                         {"type", "api_error"},
                         {"code", e && has(*e, "code") ? (*e)["code"] : Json(nullptr)}}}});
      done_ = true;
    }
  }

  Context ctx_;
  bool started_ = false;
  bool done_ = false;
  std::string id_;
  Json model_;
  std::map<std::string, std::int64_t> tool_by_item_;
  std::map<std::int64_t, std::int64_t> tool_by_index_;
  std::set<std::int64_t> streamed_args_;  // tools whose arguments were sent
  std::int64_t next_tool_ = 0;
};

class Chain final : public StreamTranslator {
 public:
  Chain(std::unique_ptr<StreamTranslator> first, std::unique_ptr<StreamTranslator> second)
      : first_(std::move(first)), second_(std::move(second)) {}
  std::string feed(std::string_view bytes) override { return second_->feed(first_->feed(bytes)); }
  std::string finish() override {
    std::string out = second_->feed(first_->finish());
    return out + second_->finish();
  }

 private:
  std::unique_ptr<StreamTranslator> first_, second_;
};

class Passthrough final : public StreamTranslator {
 public:
  std::string feed(std::string_view bytes) override { return std::string(bytes); }
  std::string finish() override { return {}; }
};

}  // namespace

std::unique_ptr<StreamTranslator> make_stream_translator(const Context& ctx) {
  if (ctx.upstream == Api::kChat && ctx.caller == Api::kMessages) {
    return std::make_unique<ChatToMessages>(ctx);
  }
  if (ctx.upstream == Api::kChat && ctx.caller == Api::kResponses) {
    return std::make_unique<ChatToResponses>(ctx);
  }
  if (ctx.upstream == Api::kMessages && ctx.caller == Api::kChat) {
    return std::make_unique<MessagesToChat>(ctx);
  }
  if (ctx.upstream == Api::kMessages && ctx.caller == Api::kResponses) {
    return std::make_unique<Chain>(std::make_unique<MessagesToChat>(ctx),
                                   std::make_unique<ChatToResponses>(ctx));
  }
  if (ctx.upstream == Api::kResponses && ctx.caller == Api::kChat) {
    return std::make_unique<ResponsesToChat>(ctx);
  }
  if (ctx.upstream == Api::kResponses && ctx.caller == Api::kMessages) {
    return std::make_unique<Chain>(std::make_unique<ResponsesToChat>(ctx),
                                   std::make_unique<ChatToMessages>(ctx));
  }
  return std::make_unique<Passthrough>();
}

}  // namespace sluice::translate
