#pragma once
// libsluice's C++ API: the same functions as the C ABI (sluice/sluice.h),
// with std::string in and out. Outcomes, verdicts and config diagnostics are
// JSON text, in the shapes `sluice classify` and `sluice check-config` use, so
// no internal type of sluice leaks into a user's build. Never throws for bad
// input: the JSON carries {"error": ...}. Thread-safe. Engine and Slot are
// inline RAII wrappers over the C ABI's handles, so the C ABI is the one
// binary interface.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "sluice/sluice.h"

namespace sluice::api {

// "0.1.0"
SLUICE_API std::string_view version();

// The verdict for one upstream outcome (see sluice_classify).
SLUICE_API std::string classify(std::string_view outcome_json);

// Diagnostics and a description of a gateway config (see sluice_check_config).
SLUICE_API std::string check_config(std::string_view yaml_text,
                                    std::string_view file_name = "sluice.yaml");

namespace detail {
// A string the C ABI returned, copied and freed.
inline std::string take(char* p) {
  if (!p) return R"({"error":"out of memory"})";
  std::string s(p);
  sluice_free(p);
  return s;
}
}  // namespace detail

// A slot on one provider key (the policy mode; see sluice_slot_begin): held
// until release() or destruction. Requests and answers are JSON as in sluice.h.
class Slot {
 public:
  Slot(Slot&&) noexcept = default;
  Slot& operator=(Slot&&) noexcept = default;
  ~Slot() { release(); }
  // {"state": "granted", "key", "key_fingerprint", ...} or {"state": "refused", "code", ...}
  std::string result() const { return detail::take(sluice_slot_result(handle_.get())); }
  bool granted() const { return result().find(R"("state":"granted")") != std::string::npos; }
  // What the response sent in this slot says; returns the verdict.
  std::string learn(std::string_view outcome_json) const {
    return detail::take(sluice_slot_learn(handle_.get(), std::string(outcome_json).c_str()));
  }
  void release() { handle_.reset(); }

 private:
  friend class Engine;
  struct Release {
    void operator()(sluice_slot* s) const { sluice_slot_release(s); }
  };
  explicit Slot(sluice_slot* s) : handle_(s) {}
  std::unique_ptr<sluice_slot, Release> handle_;
};

// One request through the engine's front door (the transport mode; see
// sluice_call_start), read as events. Closed when destroyed: an answer
// still coming is abandoned (the engine sees its client gone).
class Call {
 public:
  struct Event {
    int kind = SLUICE_CALL_NONE;  // SLUICE_CALL_HEAD, _BODY, _END, _ABORTED
    std::string data;             // HEAD: {"status", "headers", "stream"}; BODY: bytes
  };
  Call(Call&&) noexcept = default;
  Call& operator=(Call&&) noexcept = default;
  // Waits up to `timeout_s` (negative: without end) for the next event.
  Event next(double timeout_s = -1) const {
    char* data = nullptr;
    size_t len = 0;
    Event e;
    e.kind = sluice_call_next(handle_.get(), timeout_s, &data, &len);
    if (data) {
      e.data.assign(data, len);
      sluice_free(data);
    }
    return e;
  }

 private:
  friend class Engine;
  struct Close {
    void operator()(sluice_call* c) const { sluice_call_close(c); }
  };
  explicit Call(sluice_call* c) : handle_(c) {}
  std::unique_ptr<sluice_call, Close> handle_;
};

// sluice's engine in this process, from a gateway config file (the same YAML
// as `sluice serve`; with the SQLite or Redis backend it shares state with
// running gateways). Thread-safe.
class Engine {
 public:
  // nullopt, with `error` saying why (every bad field with its path), when
  // the config cannot be used.
  static std::optional<Engine> open(const std::string& config_path, std::string* error = nullptr) {
    char* why = nullptr;
    sluice_engine* e = sluice_engine_open(config_path.c_str(), &why);
    if (!e) {
      std::string message = why ? detail::take(why) : std::string("cannot open the engine");
      if (error) *error = std::move(message);
      return std::nullopt;
    }
    return Engine(e);
  }
  std::string status() const { return detail::take(sluice_engine_status(handle_.get())); }
  std::string learn(std::string_view learning_json) const {
    return detail::take(sluice_engine_learn(handle_.get(), std::string(learning_json).c_str()));
  }
  // Waits (blocking this thread) until the slot is granted or refused; see
  // sluice_slot_begin for `request_json`.
  Slot slot(std::string_view request_json) const {
    sluice_slot* s =
        sluice_slot_begin(handle_.get(), std::string(request_json).c_str(), nullptr, nullptr);
    sluice_slot_wait(s, -1);
    return Slot(s);
  }
  // Sends one request through the front door; `headers_json` is
  // [[name, value], ...]. Read the answer with Call::next().
  Call call(const std::string& method, const std::string& path, std::string_view body,
            const std::string& headers_json = "[]") const {
    return Call(sluice_call_start(handle_.get(), method.c_str(), path.c_str(), headers_json.c_str(),
                                  body.data(), body.size(), nullptr, nullptr));
  }

 private:
  struct Close {
    void operator()(sluice_engine* e) const { sluice_engine_close(e); }
  };
  explicit Engine(sluice_engine* e) : handle_(e) {}
  std::unique_ptr<sluice_engine, Close> handle_;
};

}  // namespace sluice::api
