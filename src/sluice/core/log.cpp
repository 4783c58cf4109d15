#include "sluice/core/log.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "sluice/core/text.hpp"

namespace sluice {
namespace {

std::atomic<LogStyle> g_style{LogStyle::kLogfmt};

struct Sink {
  std::mutex m;
  std::function<void(const std::string&)> fn;
};
Sink& sink() {
  static Sink s;
  return s;
}

void emit(const std::string& line) {
  Sink& s = sink();
  std::lock_guard lock(s.m);
  if (s.fn) {
    s.fn(line);
  } else {
    // One write per line: std::clog is unit-buffered, so `<< line << '\n'`
    // would cost two syscalls per logged request.
    std::string whole;
    whole.reserve(line.size() + 1);
    whole.append(line).push_back('\n');
    std::clog.write(whole.data(), static_cast<std::streamsize>(whole.size()));
  }
}

}  // namespace

void set_log_style(LogStyle style) { g_style = style; }
LogStyle log_style() { return g_style; }
void set_log_sink(std::function<void(const std::string&)> fn) {
  std::lock_guard lock(sink().m);
  sink().fn = std::move(fn);
}

std::string logfmt_value(std::string_view v) {
  bool bare = !v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
      bare = false;
      break;
    }
  }
  if (bare) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  out += '"';
  return out;
}

std::string json_string(std::string_view v) { return json_quote(v); }

LogLine::LogLine(std::string_view level, std::string_view msg) : style_(g_style.load()) {
  if (style_ == LogStyle::kJson) {
    line_ = "{\"level\":" + json_string(level) + ",\"msg\":" + json_string(msg);
  } else {
    line_ = "level=" + logfmt_value(level) + " msg=" + logfmt_value(msg);
  }
}

LogLine::~LogLine() {
  if (style_ == LogStyle::kJson) line_ += '}';
  emit(line_);
}

void LogLine::raw(std::string_view key, std::string_view encoded) {
  if (style_ == LogStyle::kJson) {
    line_ += ',';
    line_ += json_string(key);
    line_ += ':';
  } else {
    line_ += ' ';
    line_ += key;
    line_ += '=';
  }
  line_ += encoded;
}

LogLine& LogLine::kv(std::string_view key, std::string_view value) {
  raw(key, style_ == LogStyle::kJson ? json_string(value) : logfmt_value(value));
  return *this;
}

LogLine& LogLine::kv(std::string_view key, std::int64_t value) {
  raw(key, std::to_string(value));
  return *this;
}

LogLine& LogLine::kv(std::string_view key, double value) {
  if (!std::isfinite(value)) return kv(key, std::string_view(std::isnan(value) ? "NaN" : "Inf"));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  raw(key, buf);
  return *this;
}

LogLine& LogLine::kv(std::string_view key, bool value) {
  raw(key, value ? "true" : "false");
  return *this;
}

}  // namespace sluice
