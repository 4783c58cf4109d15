#include "sluice/translate/responses_state.hpp"

#include <utility>

#include "sluice/translate/json_util.hpp"

namespace sluice::translate {
namespace {

using detail::Json;
using detail::member;
using detail::text_at;

// A request's input as items: a string is one user message.
Json input_items(const Json& request) {
  const Json* input = member(request, "input");
  if (!input) return Json::array();
  if (input->is_string()) {
    return Json::array({Json{{"type", "message"}, {"role", "user"}, {"content", *input}}});
  }
  return input->is_array() ? *input : Json::array();
}

// An output item as a later request's input item, or null when it should not
// be carried: provider item ids and statuses are left out (a provider that
// did not make them would refuse them), and reasoning only travels with its
// encrypted content.
Json as_input_item(const Json& item) {
  const std::string type = text_at(item, "type");
  if (type == "reasoning" && !member(item, "encrypted_content")) return nullptr;
  if (type != "message" && type != "function_call" && type != "reasoning") return nullptr;
  Json out = item;
  if (type != "reasoning") out.erase("id");
  out.erase("status");
  return out;
}

}  // namespace

std::optional<KeptTurn> parse_kept(std::string_view record) {
  const Json j = Json::parse(record, nullptr, false);
  const Json* items = member(j, "items");
  if (!j.is_object() || !items || !items->is_array()) return std::nullopt;
  KeptTurn t;
  t.origin = text_at(j, "origin") == "upstream" ? Origin::kUpstream : Origin::kSluice;
  t.endpoint = text_at(j, "endpoint");
  t.owner = text_at(j, "owner");
  t.parent = text_at(j, "parent");
  t.items = json_text(*items);
  return t;
}

std::optional<std::string> continue_conversation(std::string_view request_body,
                                                 const std::vector<std::string>& history) {
  Json req = Json::parse(request_body, nullptr, false);
  if (!req.is_object()) return std::nullopt;
  Json input = Json::array();
  for (const auto& h : history) {
    Json items = Json::parse(h, nullptr, false);
    if (!items.is_array()) return std::nullopt;
    for (auto& item : items) input.push_back(std::move(item));
  }
  for (auto& item : input_items(req)) input.push_back(std::move(item));
  req["input"] = std::move(input);
  req.erase("previous_response_id");
  return json_text(req);
}

std::optional<Kept> record_turn(std::string_view request_body, std::string_view response,
                                const KeptTurn& about) {
  const Json req = Json::parse(request_body, nullptr, false);
  const Json resp = Json::parse(response, nullptr, false);
  if (!req.is_object() || !resp.is_object()) return std::nullopt;
  const std::string status = text_at(resp, "status");
  if (status != "completed" && status != "incomplete") return std::nullopt;
  Kept out;
  out.response_id = text_at(resp, "id");
  if (out.response_id.empty()) return std::nullopt;
  Json items = input_items(req);
  if (const Json* output = member(resp, "output"); output && output->is_array()) {
    for (const auto& item : *output) {
      Json carried = as_input_item(item);
      if (!carried.is_null()) items.push_back(std::move(carried));
    }
  }
  Json record = {{"origin", about.origin == Origin::kUpstream ? "upstream" : "sluice"},
                 {"endpoint", about.endpoint},
                 {"owner", about.owner},
                 {"parent", about.parent.empty() ? Json(nullptr) : Json(about.parent)},
                 {"items", std::move(items)}};
  out.record = json_text(record);
  return out;
}

void FinalResponseCatcher::feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (c == '\r') continue;  // CRLF line ends read as LF
    if (c == '\n' && !event_.empty() && event_.back() == '\n') {
      event_done();
      event_.clear();
      continue;
    }
    event_ += c;
  }
}

void FinalResponseCatcher::finish() {
  if (!event_.empty()) event_done();
  event_.clear();
}

void FinalResponseCatcher::event_done() {
  if (event_.find("response.completed") == std::string::npos &&
      event_.find("response.incomplete") == std::string::npos) {
    return;
  }
  std::string data;
  std::string_view rest = event_;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.starts_with("data:")) {
      line.remove_prefix(5);
      if (line.starts_with(' ')) line.remove_prefix(1);
      if (!data.empty()) data += '\n';
      data.append(line.data(), line.size());
    }
  }
  const Json ev = Json::parse(data, nullptr, false);
  const std::string type = text_at(ev, "type");
  if (type != "response.completed" && type != "response.incomplete") return;
  if (const Json* r = member(ev, "response"); r && r->is_object()) response_ = json_text(*r);
}

}  // namespace sluice::translate
