#pragma once
// Captures the gateway's request log lines (msg=request) as JSON while it
// lives, for tests that assert what a request's one log line says. Sets the
// JSON log style and restores logfmt and the default sink when destroyed.
// wait_for(n) blocks until n lines arrived (or 10 s), so a test waits on the
// event rather than a sleep. Header-only, for tests.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sluice/core/log.hpp"

namespace sluice::testing {

class RequestLog {
 public:
  RequestLog() {
    set_log_style(LogStyle::kJson);
    set_log_sink([this](const std::string& line) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || j["msg"] != "request") return;
      std::lock_guard lock(m_);
      lines_.push_back(std::move(j));
      cv_.notify_all();
    });
  }
  ~RequestLog() {
    set_log_sink(nullptr);
    set_log_style(LogStyle::kLogfmt);
  }
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  std::vector<nlohmann::json> lines() {
    std::lock_guard lock(m_);
    return lines_;
  }
  // True once `n` lines have arrived; false after 10 s without them.
  bool wait_for(std::size_t n) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return lines_.size() >= n; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<nlohmann::json> lines_;
};

}  // namespace sluice::testing
