#include "sluice/providers/model_splice.hpp"

#include <simdjson.h>

#include "sluice/core/text.hpp"

namespace sluice::providers {

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A value's token as written, without the whitespace simdjson keeps after it.
std::string_view token_of(od::value& v) {
  std::string_view t = v.raw_json_token();
  while (!t.empty() && is_ws(t.back())) t.remove_suffix(1);
  return t;
}

// Consumes a string value; `size` gets its size as written (escapes
// included). Its escapes are not decoded, so not checked: decision 0018.
error_code read_string(od::value& v, std::size_t& size) {
  const std::string_view token = token_of(v);
  od::raw_json_string raw;
  if (auto e = v.get_raw_json_string().get(raw)) return e;
  size = token.size() >= 2 ? token.size() - 2 : 0;
  return simdjson::SUCCESS;
}

error_code check(od::value v);
error_code add_text(od::value v, BodyFacts& f);

// Walks an object's members: those `is_text` names hold prompt text (counted
// in `f`), the others are checked only. Keys are decoded: they are short.
template <class IsText>
error_code walk_members(od::value v, BodyFacts* f, IsText is_text) {
  od::object obj;
  if (auto e = v.get_object().get(obj)) return e;
  for (auto member : obj) {
    od::field field;
    if (auto e = std::move(member).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    const bool text = f != nullptr && is_text(key);
    if (auto e = text ? add_text(field.value(), *f) : check(field.value())) return e;
  }
  return simdjson::SUCCESS;
}

bool no_text(std::string_view) { return false; }
bool text_part(std::string_view key) { return key == "text" || key == "content"; }
bool message_content(std::string_view key) { return key == "content"; }

// Walks a value to its end, checking it as a full parse would but for the
// escapes inside string values. The on-demand parser reads only what it is
// asked for, so everything is asked for; strings are never copied out.
error_code check(od::value v) {
  od::json_type type{};
  if (auto e = v.type().get(type)) return e;
  switch (type) {
    case od::json_type::object: return walk_members(v, nullptr, no_text);
    case od::json_type::array: {
      od::array arr;
      if (auto e = v.get_array().get(arr)) return e;
      for (auto item : arr) {
        od::value element;
        if (auto e = std::move(item).get(element)) return e;
        if (auto e = check(element)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::size_t size = 0;
      return read_string(v, size);
    }
    case od::json_type::number: {
      od::number n;
      return v.get_number().get(n) ? simdjson::NUMBER_ERROR : simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b = false;
      return v.get_bool().get(b) ? simdjson::T_ATOM_ERROR : simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      return v.is_null().get(is_null) || !is_null ? simdjson::N_ATOM_ERROR : simdjson::SUCCESS;
    }
  }
  return simdjson::TAPE_ERROR;
}

// Counts the prompt text in a value: a string, or an array of strings and of
// parts whose "text" or "content" holds text. Everything else is checked only.
error_code add_text(od::value v, BodyFacts& f) {
  od::json_type type{};
  if (auto e = v.type().get(type)) return e;
  if (type == od::json_type::string) {
    std::size_t size = 0;
    if (auto e = read_string(v, size)) return e;
    f.text_bytes += size;
    return simdjson::SUCCESS;
  }
  if (type != od::json_type::array) return check(v);
  od::array arr;
  if (auto e = v.get_array().get(arr)) return e;
  for (auto item : arr) {
    od::value part;
    if (auto e = std::move(item).get(part)) return e;
    od::json_type part_type{};
    if (auto e = part.type().get(part_type)) return e;
    if (part_type != od::json_type::object) {
      if (auto e = part_type == od::json_type::string ? add_text(part, f) : check(part)) return e;
      continue;
    }
    if (auto e = walk_members(part, &f, text_part)) return e;
  }
  return simdjson::SUCCESS;
}

// "messages" (or "input" items): strings, or objects whose "content" is text.
error_code add_messages(od::value v, BodyFacts& f) {
  od::json_type type{};
  if (auto e = v.type().get(type)) return e;
  if (type != od::json_type::array) return add_text(v, f);  // "input": "text"
  od::array arr;
  if (auto e = v.get_array().get(arr)) return e;
  for (auto item : arr) {
    od::value message;
    if (auto e = std::move(item).get(message)) return e;
    ++f.messages;
    od::json_type message_type{};
    if (auto e = message.type().get(message_type)) return e;
    if (message_type != od::json_type::object) {
      if (auto e = add_text(message, f)) return e;
      continue;
    }
    if (auto e = walk_members(message, &f, message_content)) return e;
  }
  return simdjson::SUCCESS;
}

// The top-level model value: its byte range in `base` (quotes included) and,
// when it is a string, its decoded text.
error_code read_model(od::value v, od::document& doc, const char* base, BodyFacts& f) {
  const std::string_view token = token_of(v);
  f.model_begin = static_cast<std::size_t>(token.data() - base);
  f.model_end = f.model_begin + token.size();
  od::json_type type{};
  if (auto e = v.type().get(type)) return e;
  if (type == od::json_type::string) {
    std::string_view decoded;
    if (auto e = v.get_string().get(decoded)) return e;
    f.model = std::string(decoded);
    return simdjson::SUCCESS;
  }
  if (type == od::json_type::object || type == od::json_type::array) {
    // The whole value is replaced by the splice: it is checked, and it ends
    // where the walk stopped (at the member's "," or "}").
    if (auto e = check(v)) return e;
    const char* next = nullptr;
    if (auto e = doc.current_location().get(next)) return e;
    f.model_end = static_cast<std::size_t>(next - base);
    while (f.model_end > f.model_begin && is_ws(base[f.model_end - 1])) --f.model_end;
    return simdjson::SUCCESS;
  }
  return check(v);
}

bool read_bool(od::value v, bool& out) {
  bool b = false;
  if (v.get_bool().get(b)) return false;
  out = b;
  return true;
}

// Reads the members the gateway acts on and checks the rest.
error_code read_members(od::object obj, od::document& doc, const char* base, BodyFacts& f,
                        int& model_members) {
  for (auto member : obj) {
    od::field field;
    if (auto e = std::move(member).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;  // "\u006dodel" is "model" too
    od::value value = field.value();
    od::json_type type{};
    if (auto e = value.type().get(type)) return e;
    error_code e = simdjson::SUCCESS;
    if (key == "stream" && type == od::json_type::boolean) {
      if (!read_bool(value, f.stream)) e = simdjson::T_ATOM_ERROR;
    } else if (key == "store" && type == od::json_type::boolean) {
      if (!read_bool(value, f.store)) e = simdjson::T_ATOM_ERROR;
    } else if ((key == "max_tokens" || key == "max_completion_tokens" ||
                key == "max_output_tokens") &&
               type == od::json_type::number) {
      std::int64_t n = 0;
      if (!value.get_int64().get(n)) {
        f.max_tokens = n;
      } else {
        e = check(value);  // a number, but not one that fits: checked, not read
      }
    } else if (key == "messages" || key == "input") {
      e = add_messages(value, f);
    } else if (key == "prompt" || key == "system" || key == "instructions") {
      e = add_text(value, f);
    } else if (key == "previous_response_id" && type == od::json_type::string) {
      std::string_view id;
      e = value.get_string().get(id);
      if (!e) f.previous_response_id = std::string(id);
    } else if (key == "model") {
      ++model_members;
      e = read_model(value, doc, base, f);
    } else {
      e = check(value);
    }
    if (e) return e;
  }
  return simdjson::SUCCESS;
}

}  // namespace

std::int64_t estimate_prompt_tokens(std::size_t text_bytes) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>((text_bytes + 3) / 4));
}

static_assert(kBodyPadding >= simdjson::SIMDJSON_PADDING);

// simdjson's on-demand parser indexes the whole body (UTF-8 and structure, at
// SIMD speed) and then walks it once: agents send up to hundreds of KiB, and a
// full DOM parse would decode every string into a second copy (decision 0018).
BodyFacts inspect_body(std::string_view body, std::size_t allocated) {
  BodyFacts f;
  thread_local od::parser parser;
  simdjson::padded_string copy;  // only when the caller's buffer has no padding
  const char* base = body.data();
  if (allocated < body.size() + simdjson::SIMDJSON_PADDING) {
    copy = simdjson::padded_string(body);
    base = copy.data();
    allocated = copy.size() + simdjson::SIMDJSON_PADDING;
  }
  auto fail = [&f](error_code e) {
    f = BodyFacts{};
    f.error = std::string("request body is not valid JSON: ") + simdjson::error_message(e);
    return f;
  };
  od::document doc;
  if (auto e = parser.iterate(base, body.size(), allocated).get(doc)) return fail(e);
  od::json_type type{};
  if (auto e = doc.type().get(type)) return fail(e);
  if (type != od::json_type::object) {
    f.error = "request body must be a JSON object";
    return f;
  }
  od::object obj;
  if (auto e = doc.get_object().get(obj)) return fail(e);
  int model_members = 0;
  if (auto e = read_members(obj, doc, base, f, model_members)) return fail(e);
  const char* after = nullptr;
  if (!doc.current_location().get(after)) return fail(simdjson::TRAILING_CONTENT);

  // Parsers disagree on duplicate members (first or last wins), so with two
  // the provider might read a model the client chose instead of the route's.
  if (model_members > 1) {
    f = BodyFacts{};
    f.error = "request body has more than one top-level \"model\" member";
    return f;
  }
  f.valid = true;
  return f;
}

SplicedBody splice_model_pieces(std::string_view body, const BodyFacts& facts,
                                std::string_view model) {
  std::string quoted = json_quote(model);
  if (facts.model_end > facts.model_begin && facts.model_end <= body.size()) {
    return {body.substr(0, facts.model_begin), std::move(quoted), body.substr(facts.model_end)};
  }
  // No model member: add one right after the opening brace.
  const std::size_t brace = body.find('{');
  if (brace == std::string_view::npos) return {body, {}, {}};
  std::size_t after = brace + 1;
  while (after < body.size() && is_ws(body[after])) ++after;
  const bool empty_object = after < body.size() && body[after] == '}';
  return {body.substr(0, brace + 1), "\"model\":" + quoted + (empty_object ? "" : ","),
          body.substr(brace + 1)};
}

std::string splice_model(std::string_view body, const BodyFacts& facts, std::string_view model) {
  const SplicedBody pieces = splice_model_pieces(body, facts, model);
  std::string out;
  out.reserve(pieces.before.size() + pieces.middle.size() + pieces.after.size());
  out.append(pieces.before).append(pieces.middle).append(pieces.after);
  return out;
}

}  // namespace sluice::providers
