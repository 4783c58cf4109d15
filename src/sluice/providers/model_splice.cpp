#include "sluice/providers/model_splice.hpp"

#include <simdjson.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sluice/core/text.hpp"

namespace sluice::providers {

namespace {

namespace dom = simdjson::dom;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A forward-only scanner over one JSON text that reports byte offsets. It
// trusts that simdjson already validated the text; it only needs structure.
struct Scanner {
  std::string_view s;
  std::size_t i = 0;

  void ws() {
    while (i < s.size() && is_ws(s[i])) ++i;
  }
  // At an opening quote: moves past the closing quote. Strings are nearly
  // all of a chat body (an agent's context runs to hundreds of KiB), so the
  // next quote or backslash is looked for 16 bytes at a time.
  bool skip_string() {
    if (i >= s.size() || s[i] != '"') return false;
    ++i;
    for (;;) {
#if defined(__SSE2__)
      const __m128i quote = _mm_set1_epi8('"');
      const __m128i backslash = _mm_set1_epi8('\\');
      while (i + 16 <= s.size()) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
        const auto hits = static_cast<unsigned>(_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));
        if (hits != 0) {
          i += static_cast<std::size_t>(__builtin_ctz(hits));
          break;
        }
        i += 16;
      }
#endif
      while (i < s.size() && s[i] != '"' && s[i] != '\\') ++i;
      if (i >= s.size()) return false;
      if (s[i] == '"') {
        ++i;
        return true;
      }
      i += 2;  // a backslash and the byte it escapes
    }
  }
  bool skip_value() {
    ws();
    if (i >= s.size()) return false;
    if (s[i] == '"') return skip_string();
    if (s[i] == '{' || s[i] == '[') {
      int depth = 0;
      while (i < s.size()) {
        const char c = s[i];
        if (c == '"') {
          if (!skip_string()) return false;
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') {
          if (--depth == 0) {
            ++i;
            return true;
          }
        }
        ++i;
      }
      return false;
    }
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_ws(s[i])) ++i;
    return true;
  }
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether a raw JSON string token (quotes included) decodes to "model":
// `"\u006dodel"` names the same member as `"model"`, as any JSON parser
// (simdjson here, the provider's upstream) reads it.
bool names_model(std::string_view raw) {
  constexpr std::string_view kModel = "model";
  if (raw.size() < 2) return false;
  raw = raw.substr(1, raw.size() - 2);
  std::size_t matched = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\') {
      if (i + 1 >= raw.size() || raw[i + 1] != 'u' || i + 5 >= raw.size()) return false;
      int v = 0;
      for (std::size_t k = i + 2; k < i + 6; ++k) {
        const int d = hex_digit(raw[k]);
        if (d < 0) return false;
        v = v * 16 + d;
      }
      if (v >= 0x80) return false;  // "model" is ASCII; other escapes (\n, \") are not in it
      c = static_cast<char>(v);
      i += 5;
    }
    if (matched >= kModel.size() || c != kModel[matched]) return false;
    ++matched;
  }
  return matched == kModel.size();
}

void add_text(dom::element e, BodyFacts& f) {
  std::string_view sv;
  if (e.is_string() && !e.get_string().get(sv)) {
    f.text_bytes += sv.size();
    return;
  }
  dom::array arr;
  if (!e.get_array().get(arr)) {
    for (dom::element part : arr) {
      dom::element text;
      if (part.is_string()) {
        add_text(part, f);
      } else if (!part["text"].get(text)) {
        add_text(text, f);
      } else if (!part["content"].get(text)) {
        add_text(text, f);
      }
    }
  }
}

}  // namespace

std::int64_t estimate_prompt_tokens(std::size_t text_bytes) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>((text_bytes + 3) / 4));
}

static_assert(kBodyPadding >= simdjson::SIMDJSON_PADDING);

BodyFacts inspect_body(std::string_view body, std::size_t allocated) {
  BodyFacts f;
  thread_local dom::parser parser;
  dom::element doc;
  const bool padded = allocated >= body.size() + simdjson::SIMDJSON_PADDING;
  if (auto err = parser.parse(body.data(), body.size(), !padded).get(doc)) {
    f.error = std::string("request body is not valid JSON: ") + simdjson::error_message(err);
    return f;
  }
  dom::object obj;
  if (doc.get_object().get(obj)) {
    f.error = "request body must be a JSON object";
    return f;
  }
  f.valid = true;
  int model_members = 0;  // as the parser sees keys: "\u006dodel" is "model" too
  for (auto [key, value] : obj) {
    if (key == "stream") {
      bool b = false;
      f.stream = value.is_bool() && !value.get_bool().get(b) && b;
    } else if (key == "max_tokens" || key == "max_completion_tokens" ||
               key == "max_output_tokens") {
      int64_t n = 0;
      if (!value.get_int64().get(n)) f.max_tokens = n;
    } else if (key == "messages" || key == "input") {
      dom::array arr;
      if (!value.get_array().get(arr)) {
        f.messages += arr.size();
        for (dom::element m : arr) {
          dom::element content;
          if (m.is_string()) {
            add_text(m, f);
          } else if (!m["content"].get(content)) {
            add_text(content, f);
          }
        }
      } else {
        add_text(value, f);  // "input": "text" (embeddings, responses)
      }
    } else if (key == "prompt" || key == "system" || key == "instructions") {
      add_text(value, f);
    } else if (key == "previous_response_id") {
      std::string_view sv;
      if (value.is_string() && !value.get_string().get(sv)) {
        f.previous_response_id = std::string(sv);
      }
    } else if (key == "store") {
      bool b = true;
      f.store = !(value.is_bool() && !value.get_bool().get(b) && !b);
    } else if (key == "model") {
      ++model_members;
      std::string_view sv;
      if (value.is_string() && !value.get_string().get(sv)) f.model = std::string(sv);
    }
  }

  // Parsers disagree on duplicate members (first or last wins), so with two
  // the provider might read a model the client chose instead of the route's.
  if (model_members > 1) {
    f = BodyFacts{};
    f.error = "request body has more than one top-level \"model\" member";
    return f;
  }
  if (model_members == 0) return f;
  // Byte offsets of the model value, found by walking the top-level members
  // up to it (agents put it first: the rest of a long body is not walked).
  Scanner sc{body};
  sc.ws();
  if (sc.i < body.size() && body[sc.i] == '{') {
    ++sc.i;
    for (;;) {
      sc.ws();
      if (sc.i >= body.size() || body[sc.i] == '}') break;
      const std::size_t key_begin = sc.i;
      if (!sc.skip_string()) break;
      const std::string_view raw_key = body.substr(key_begin, sc.i - key_begin);
      sc.ws();
      if (sc.i >= body.size() || body[sc.i] != ':') break;
      ++sc.i;
      sc.ws();
      const std::size_t value_begin = sc.i;
      if (!sc.skip_value()) break;
      if (names_model(raw_key)) {
        f.model_begin = value_begin;
        f.model_end = sc.i;
        break;
      }
      sc.ws();
      if (sc.i < body.size() && body[sc.i] == ',') ++sc.i;
    }
  }
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
