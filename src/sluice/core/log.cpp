#include "sluice/core/log.hpp"

#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "sluice/core/text.hpp"

namespace sluice {
namespace {

std::atomic<LogStyle> g_style{LogStyle::kLogfmt};

constexpr std::size_t kMaxHeld = 32 * 1024;

struct Sink {
  std::mutex m;
  std::function<void(const std::string&)> fn;
  // Held info lines, each ending in '\n' (a line never holds a raw newline:
  // both styles escape it). `holding` while a LogFlusher lives.
  bool holding = false;
  bool stopping = false;
  std::string held;
  std::condition_variable wake;
};
Sink& sink() {
  static Sink s;
  return s;
}

// Writes `text` (whole lines, each ending in '\n') where lines go; with s.m held.
void write_lines(Sink& s, const std::string& text) {
  if (text.empty()) return;
  if (s.fn) {
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t end = text.find('\n', at);
      s.fn(text.substr(at, end - at));
      at = end + 1;
    }
  } else {
    // One write for all of it: std::clog is unit-buffered, so a line and its
    // newline written apart would cost two syscalls.
    std::clog.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
}

void flush_held(Sink& s) {
  write_lines(s, s.held);
  s.held.clear();
}

void emit(std::string_view line, bool info) {
  Sink& s = sink();
  std::lock_guard lock(s.m);
  if (s.holding && info) {
    const bool was_empty = s.held.empty();
    s.held.append(line).push_back('\n');
    if (s.held.size() >= kMaxHeld) {
      flush_held(s);
    } else if (was_empty) {
      s.wake.notify_one();
    }
    return;
  }
  if (s.fn && s.held.empty()) {
    s.fn(std::string(line));
    return;
  }
  std::string whole = std::move(s.held);
  s.held.clear();
  whole.append(line).push_back('\n');
  write_lines(s, whole);
}

}  // namespace

void set_log_style(LogStyle style) { g_style = style; }
LogStyle log_style() { return g_style; }
void set_log_sink(std::function<void(const std::string&)> fn) {
  std::lock_guard lock(sink().m);
  sink().fn = std::move(fn);
}

LogFlusher::LogFlusher(std::chrono::milliseconds every) {
  {
    std::lock_guard lock(sink().m);
    sink().holding = true;
    sink().stopping = false;
  }
  thread_ = std::thread([every] {
    Sink& s = sink();
    std::unique_lock lock(s.m);
    while (!s.stopping) {
      s.wake.wait(lock, [&] { return s.stopping || !s.held.empty(); });
      // Let the lines of the next `every` gather behind the first one.
      s.wake.wait_for(lock, every, [&] { return s.stopping; });
      flush_held(s);
    }
  });
}

LogFlusher::~LogFlusher() {
  Sink& s = sink();
  {
    std::lock_guard lock(s.m);
    s.stopping = true;
    s.holding = false;
  }
  s.wake.notify_all();
  thread_.join();
  std::lock_guard lock(s.m);
  flush_held(s);
}

namespace {
// Appends `v` as a logfmt value (see logfmt_value) without a temporary.
template <class Out>
void append_logfmt(Out& out, std::string_view v) {
  bool bare = !v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out.append(v);
    return;
  }
  out += '"';
  append_escaped(out, v);
  out += '"';
}
}  // namespace

std::string logfmt_value(std::string_view v) {
  std::string out;
  append_logfmt(out, v);
  return out;
}

void detail::LineBuffer::spill(std::string_view s) {
  if (!spilled_) {
    heap_.reserve(2 * kInline + s.size());
    heap_.assign(inline_, size_);
    spilled_ = true;
    size_ = kInline;
  }
  heap_.append(s);
}

LogLine::LogLine(std::string_view level, std::string_view msg)
    : style_(g_style.load(std::memory_order_relaxed)), info_(level == "info") {
  if (style_ == LogStyle::kJson) {
    line_.append("{\"level\":").append(json_quote(level)).append(",\"msg\":");
    line_.append(json_quote(msg));
  } else {
    line_.append("level=");
    append_logfmt(line_, level);
    line_.append(" msg=");
    append_logfmt(line_, msg);
  }
}

LogLine::~LogLine() {
  if (style_ == LogStyle::kJson) line_ += '}';
  emit(line_.view(), info_);
}

void LogLine::begin_field(std::string_view key) {
  if (style_ == LogStyle::kJson) {
    line_ += ',';
    line_ += json_quote(key);
    line_ += ':';
  } else {
    line_ += ' ';
    line_ += key;
    line_ += '=';
  }
}

void LogLine::raw(std::string_view key, std::string_view encoded) {
  begin_field(key);
  line_ += encoded;
}

LogLine& LogLine::kv(std::string_view key, std::string_view value) {
  begin_field(key);
  if (style_ == LogStyle::kJson) {
    line_ += json_quote(value);
  } else {
    append_logfmt(line_, value);
  }
  return *this;
}

LogLine& LogLine::kv(std::string_view key, std::int64_t value) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  raw(key, std::string_view(buf, static_cast<std::size_t>(end - buf)));
  return *this;
}

LogLine& LogLine::kv(std::string_view key, double value) {
  if (!std::isfinite(value)) return kv(key, std::string_view(std::isnan(value) ? "NaN" : "Inf"));
  raw(key, fixed_decimal(value, 3));
  return *this;
}

LogLine& LogLine::kv(std::string_view key, bool value) {
  raw(key, value ? "true" : "false");
  return *this;
}

}  // namespace sluice
