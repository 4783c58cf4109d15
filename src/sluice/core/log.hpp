#pragma once
// Structured log lines, logfmt (default) or JSON per line, chosen once at
// start (`server.log_format`). A line is built whole and written with one
// call, so lines from different threads never interleave. While a
// LogFlusher lives (`sluice serve`), info lines are held briefly and written
// together (one write(2) per request was a tenth of the proxy's syscalls).
//
//   LogLine("info", "request").kv("alias", "main").kv("attempts", 2);
//   -> level=info msg=request alias=main attempts=2
//   -> {"level":"info","msg":"request","alias":"main","attempts":2}
//
// Values are data, never secrets: callers pass fingerprints.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace sluice {

enum class LogStyle : std::uint8_t { kLogfmt, kJson };

void set_log_style(LogStyle style);
LogStyle log_style();
// Where lines go (default: std::clog). Tests capture lines here.
void set_log_sink(std::function<void(const std::string& line)> sink);

// While alive, info lines are held and written together: `every` after the
// first one is held, or at once when 32 KiB are held. A line of any other
// level first writes what is held (order is kept) and then itself, so
// warnings and errors are never late. The destructor writes what is left.
// One at a time (the process's).
class LogFlusher {
 public:
  explicit LogFlusher(std::chrono::milliseconds every = std::chrono::milliseconds(100));
  ~LogFlusher();
  LogFlusher(const LogFlusher&) = delete;
  LogFlusher& operator=(const LogFlusher&) = delete;

 private:
  std::thread thread_;
};

namespace detail {
// A line under construction: in the object (no allocation for a usual
// line; a request's line is ~150 bytes) until it outgrows it, then on the
// heap. Appends are inline: a line is some 25 of them, on every request.
class LineBuffer {
 public:
  LineBuffer() = default;
  LineBuffer(const LineBuffer&) = delete;
  LineBuffer& operator=(const LineBuffer&) = delete;

  LineBuffer& operator+=(std::string_view s) {
    if (s.size() <= kInline - size_) {
      std::memcpy(inline_ + size_, s.data(), s.size());
      size_ += s.size();
    } else {
      spill(s);
    }
    return *this;
  }
  LineBuffer& operator+=(char c) {
    if (size_ < kInline) {
      inline_[size_++] = c;
    } else {
      spill(std::string_view(&c, 1));
    }
    return *this;
  }
  LineBuffer& append(std::string_view s) { return *this += s; }
  std::string_view view() const {
    return spilled_ ? std::string_view(heap_) : std::string_view(inline_, size_);
  }

 private:
  static constexpr std::size_t kInline = 256;
  void spill(std::string_view s);  // moves to heap_ (once), then appends there
  std::size_t size_ = 0;           // kInline once spilled: every append spills
  bool spilled_ = false;
  std::string heap_;
  char inline_[kInline];
};
}  // namespace detail

class LogLine {
 public:
  LogLine(std::string_view level, std::string_view msg);
  ~LogLine();  // writes the line
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& kv(std::string_view key, std::string_view value);
  LogLine& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  LogLine& kv(std::string_view key, const std::string& value) {
    return kv(key, std::string_view(value));
  }
  LogLine& kv(std::string_view key, std::int64_t value);
  LogLine& kv(std::string_view key, int value) { return kv(key, std::int64_t{value}); }
  LogLine& kv(std::string_view key, double value);
  LogLine& kv(std::string_view key, bool value);

  // The text so far, without the trailing newline (for tests).
  std::string_view text() const { return line_.view(); }

 private:
  void begin_field(std::string_view key);  // ",\"key\":" or " key="
  void raw(std::string_view key, std::string_view encoded);
  LogStyle style_;
  bool info_;  // may be held by a LogFlusher
  detail::LineBuffer line_;
};

// logfmt value: bare when safe, else quoted and escaped like a JSON string
// (core/text.hpp append_escaped: no raw control byte reaches a log line).
std::string logfmt_value(std::string_view v);

}  // namespace sluice
