#include "sluice/policy/errors/error_body.hpp"

#include <simdjson.h>

#include <cmath>

#include "sluice/core/text.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::policy {

namespace {

namespace dom = simdjson::dom;

// Bodies past this size are not parsed as JSON: an error body is small, and
// a multi-megabyte "error" is a proxy page or garbage.
constexpr std::size_t kMaxJsonBody = 256 * 1024;
// The haystack keeps the start of non-JSON bodies (HTML pages, plain text).
constexpr std::size_t kMaxTextHaystack = 4096;

std::string scalar_text(dom::element e) {
  switch (e.type()) {
    case dom::element_type::STRING: {
      std::string_view sv;
      if (!e.get_string().get(sv)) return std::string(sv);
      return {};
    }
    case dom::element_type::INT64: {
      int64_t v = 0;
      if (!e.get_int64().get(v)) return std::to_string(v);
      return {};
    }
    case dom::element_type::UINT64: {
      uint64_t v = 0;
      if (!e.get_uint64().get(v)) return std::to_string(v);
      return {};
    }
    case dom::element_type::DOUBLE: {
      double v = 0;
      if (!e.get_double().get(v) && std::isfinite(v)) {
        if (v == std::floor(v) && std::fabs(v) < 1e15) {
          return std::to_string(static_cast<long long>(v));
        }
        return std::to_string(v);
      }
      return {};
    }
    default: return {};
  }
}

std::optional<dom::element> field(dom::element obj, std::string_view key) {
  if (obj.type() != dom::element_type::OBJECT) return std::nullopt;
  dom::element out;
  if (obj[key].get(out)) return std::nullopt;
  return out;
}

std::string text_field(dom::element obj, std::string_view key) {
  auto f = field(obj, key);
  return f ? scalar_text(*f) : std::string();
}

std::optional<double> number_field(dom::element obj, std::string_view key) {
  auto f = field(obj, key);
  if (!f) return std::nullopt;
  double v = 0;
  if (f->is_number() && !f->get_double().get(v)) return v;
  if (f->is_string()) return parse_number(scalar_text(*f));
  return std::nullopt;
}

void set_if_empty(std::string& dst, std::string src) {
  if (dst.empty()) dst = std::move(src);
}

// Reads Gemini's google.rpc details array.
void read_details(dom::element details, ErrorBody& out) {
  dom::array arr;
  if (details.get_array().get(arr)) return;
  for (dom::element d : arr) {
    const std::string at = text_field(d, "@type");
    if (at.ends_with("QuotaFailure")) {
      if (auto v = field(d, "violations")) {
        dom::array va;
        if (!v->get_array().get(va)) {
          for (dom::element viol : va) {
            std::string id = text_field(viol, "quotaId");
            if (!id.empty()) out.quota_ids.push_back(std::move(id));
          }
        }
      }
    } else if (at.ends_with("RetryInfo")) {
      if (auto d2 = parse_proto_duration(text_field(d, "retryDelay"))) out.retry_delay = *d2;
    } else if (at.ends_with("ErrorInfo")) {
      set_if_empty(out.reason, text_field(d, "reason"));
    }
  }
}

void read_metadata(dom::element meta, ErrorBody& out, std::string& raw) {
  set_if_empty(out.error_type, text_field(meta, "error_type"));
  set_if_empty(out.limit_source, text_field(meta, "limit_source"));
  set_if_empty(out.provider_name, text_field(meta, "provider_name"));
  if (auto h = field(meta, "headers")) {
    dom::object ho;
    if (!h->get_object().get(ho)) {
      for (auto kv : ho) {
        out.echoed_headers.emplace_back(std::string(kv.key), scalar_text(kv.value));
      }
    }
  }
  if (auto r = field(meta, "raw")) {
    if (r->is_string()) {
      raw = scalar_text(*r);
    } else if (r->is_object()) {
      raw = simdjson::minify(*r);
    }
  }
}

// Fills `out` from one parsed JSON document (an error envelope or an SSE frame).
void read_envelope(dom::element doc, ErrorBody& out, std::string& raw) {
  if (doc.is_array()) {  // Gemini's OpenAI-compatible endpoint wraps in an array
    dom::array arr;
    if (doc.get_array().get(arr) || arr.size() == 0) return;
    dom::element first;
    if (arr.at(0).get(first)) return;
    doc = first;
  }
  if (!doc.is_object()) return;
  out.json = true;

  // Responses API frames nest the error under "response".
  if (auto resp = field(doc, "response"); resp && resp->is_object()) {
    if (auto e = field(*resp, "error"); e && e->is_object()) doc = *resp;
  }

  if (auto err = field(doc, "error")) {
    if (err->is_string()) {  // xAI, Ollama native: error is the message
      out.has_error = true;
      out.message = scalar_text(*err);
    } else if (err->is_object()) {
      out.has_error = true;
      out.message = text_field(*err, "message");
      out.type = text_field(*err, "type");
      out.code = text_field(*err, "code");
      out.status = text_field(*err, "status");
      set_if_empty(out.error_type, text_field(*err, "error_type"));
      if (auto meta = field(*err, "metadata"); meta && meta->is_object()) {
        read_metadata(*meta, out, raw);
      }
      if (auto details = field(*err, "details")) read_details(*details, out);
      if (auto inner = field(*err, "innererror"); inner && inner->is_object()) {
        out.codes.push_back(ascii_lower(text_field(*inner, "code")));
      }
      if (auto ra = number_field(*err, "retry_after")) out.retry_after_s = *ra;
      if (auto av = field(*err, "availability"); av && av->is_object()) {
        out.availability_code = text_field(*av, "code");
        if (auto rt = field(*av, "retryable"); rt && rt->is_bool()) {
          bool b = false;
          if (!rt->get_bool().get(b)) out.availability_retryable = b;
        }
        if (auto ra = number_field(*av, "retry_after")) out.retry_after_s = *ra;
      }
    }
  }
  // Flat envelopes (Cerebras, Mistral, vLLM, Azure edge, Nous, xAI's code).
  set_if_empty(out.message, text_field(doc, "message"));
  // FastAPI-built servers (many self-hosted gateways and proxies):
  // {"detail": "Monthly quota reached"}.
  if (auto detail = field(doc, "detail"); detail && detail->is_string() && !field(doc, "error")) {
    set_if_empty(out.message, scalar_text(*detail));
    out.has_error = true;
  }
  if (out.type.empty() && doc.is_object()) {
    std::string t = text_field(doc, "type");
    if (t == "error") {
      out.has_error = true;  // Anthropic envelope marker, not a class
    } else {
      out.type = std::move(t);
    }
  }
  set_if_empty(out.code, text_field(doc, "code"));
  set_if_empty(out.error_type, text_field(doc, "error_type"));
  if (!out.retry_after_s) {
    if (auto ra = number_field(doc, "retry_after")) out.retry_after_s = *ra;
  }
  if (auto sc = field(doc, "statusCode")) {  // Azure APIM edge
    out.has_error = true;
    out.codes.push_back(scalar_text(*sc));
  }
  if (field(doc, "object") && text_field(doc, "object") == "error") out.has_error = true;
  if (!out.message.empty() && field(doc, "status") && !field(doc, "error")) {
    out.has_error = true;  // Nous: {"status":404,"message":...}
  }
  // A chunk that ended in error (OpenRouter) or was filtered (Azure).
  if (auto choices = field(doc, "choices")) {
    dom::array ca;
    if (!choices->get_array().get(ca) && ca.size() > 0) {
      dom::element c0;
      if (!ca.at(0).get(c0)) {
        std::string fr = text_field(c0, "finish_reason");
        if (!fr.empty()) out.sse.finish_reason = fr;
        if (auto ce = field(c0, "error"); ce && ce->is_object() && !out.has_error) {
          out.has_error = true;  // OpenRouter non-streaming partial failure
          out.message = text_field(*ce, "message");
          out.code = text_field(*ce, "code");
        }
      }
    }
  }
}

bool parse_json(dom::parser& parser, std::string_view text, dom::element& doc) {
  if (text.size() > kMaxJsonBody) return false;
  return !parser.parse(text.data(), text.size()).get(doc);
}

bool looks_like_json(std::string_view t) {
  t = trim(t);
  return !t.empty() && (t.front() == '{' || t.front() == '[');
}

bool looks_like_sse(std::string_view t) {
  t = trim(t);
  return t.starts_with("data:") || t.starts_with("event:") || t.starts_with(":") ||
         t.find("\ndata:") != std::string_view::npos;
}

// The events that end a stream normally: Anthropic's message_stop, and the
// Responses API's completed or incomplete (max_output_tokens, content filter).
bool is_terminal_event(std::string_view name) {
  return name == "message_stop" || name == "response.completed" || name == "response.incomplete";
}

// Walks SSE frames; returns the JSON text of the first error frame, if any.
std::string scan_sse(std::string_view body, ErrorBody& out, dom::parser& parser) {
  out.sse.is_sse = true;
  std::string event;
  std::string found;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      event.clear();
      continue;
    }
    if (line.front() == ':') continue;  // comment keep-alive (": OPENROUTER PROCESSING")
    if (line.starts_with("event:")) {
      event = std::string(trim(line.substr(6)));
      if (is_terminal_event(event)) out.sse.terminal_seen = true;
      continue;
    }
    if (!line.starts_with("data:")) continue;
    std::string_view data = trim(line.substr(5));
    if (data == "[DONE]") {
      out.sse.terminal_seen = true;
      continue;
    }
    dom::element doc;
    if (!parse_json(parser, data, doc)) continue;
    const std::string type = text_field(doc, "type");
    if (is_terminal_event(type)) out.sse.terminal_seen = true;
    const bool error_event = event == "error" || event == "response.failed" || type == "error" ||
                             type == "response.failed" || field(doc, "error").has_value();
    if (error_event && found.empty()) {
      found = std::string(data);
      out.sse.error_frame = true;
    } else if (!error_event) {
      out.sse.data_seen = true;
      if (auto choices = field(doc, "choices")) {
        dom::array ca;
        dom::element c0;
        if (!choices->get_array().get(ca) && ca.size() > 0 && !ca.at(0).get(c0)) {
          std::string fr = text_field(c0, "finish_reason");
          if (!fr.empty()) out.sse.finish_reason = fr;
        }
      }
    }
    if (pos > body.size()) break;
  }
  return found;
}

void append_hay(std::string& hay, std::string_view part) {
  if (part.empty()) return;
  const std::string lower = ascii_lower(part);
  if (hay.find(lower) != std::string::npos) return;
  if (!hay.empty()) hay += " | ";
  hay += lower;
}

}  // namespace

ErrorBody parse_error_body(std::string_view body) {
  ErrorBody out;
  thread_local dom::parser parser;
  thread_local dom::parser inner_parser;

  std::string raw;
  std::string frame;
  dom::element doc;
  if (looks_like_json(body) && parse_json(parser, body, doc)) {
    read_envelope(doc, out, raw);
  } else if (looks_like_sse(body)) {
    frame = scan_sse(body, out, parser);
    if (!frame.empty() && parse_json(parser, frame, doc)) {
      read_envelope(doc, out, raw);
      out.has_error = true;
    }
  }

  if (!raw.empty()) {
    dom::element inner;
    if (looks_like_json(raw) && parse_json(inner_parser, raw, inner)) {
      ErrorBody nested;
      std::string unused;
      read_envelope(inner, nested, unused);
      out.inner_message = std::move(nested.message);
      out.inner_code = std::move(nested.code);
      out.inner_type = std::move(nested.type);
      if (out.status.empty()) out.status = std::move(nested.status);
      for (auto& q : nested.quota_ids) out.quota_ids.push_back(std::move(q));
      if (!out.retry_delay) out.retry_delay = nested.retry_delay;
    } else {
      out.inner_message = std::move(raw);  // OpenRouter often nests plain text
    }
  }

  // Code-like fields, lower-cased, for exact code rules.
  for (const std::string* c :
       {&out.code, &out.type, &out.status, &out.error_type, &out.reason, &out.limit_source,
        &out.availability_code, &out.inner_code, &out.inner_type}) {
    if (!c->empty()) out.codes.push_back(ascii_lower(*c));
  }
  std::erase_if(out.codes, [](const std::string& c) { return c.empty(); });

  std::string& hay = out.haystack;
  append_hay(hay, out.message);
  append_hay(hay, out.inner_message);
  for (const auto& c : out.codes) append_hay(hay, c);
  for (const auto& q : out.quota_ids) append_hay(hay, q);
  if (!out.json && !out.sse.is_sse) {  // never match phrases inside generated stream text
    append_hay(hay, body.substr(0, kMaxTextHaystack));
  } else if (!out.sse.finish_reason.empty()) {
    append_hay(hay, out.sse.finish_reason);
  }
  return out;
}

}  // namespace sluice::policy
