// libsluice's in-process engine (sluice_engine_*, sluice_slot_*,
// sluice_call_*): the gateway's own engine and front door, run on one io
// thread the library owns, with the state backend the config names, so a
// program and running gateways share limits and cooldowns. Callers' threads
// never touch the engine: every operation is posted to the io thread, and
// results come back through a mutex-guarded handle the caller polls or
// waits on (with a notify callback for event loops).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "sluice/config/gateway_config.hpp"
#include "sluice/config/secret.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/json_text.hpp"
#include "sluice/core/log.hpp"
#include "sluice/core/rng.hpp"
#include "sluice/net/http_server.hpp"
#include "sluice/policy/errors/outcome_json.hpp"
#include "sluice/server/gateway_server.hpp"
#include "sluice/server/state_backends.hpp"
#include "sluice/sluice.h"

namespace asio = boost::asio;
using nlohmann::json;

namespace sluice::lib {
namespace {

char* c_copy(std::string_view s) noexcept {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// Waits on `cv` for up to `timeout_s` (negative: without end) until `ready`.
template <class Ready>
bool wait_for(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, double timeout_s,
              Ready ready) {
  if (timeout_s < 0) {
    cv.wait(lock, ready);
    return true;
  }
  return cv.wait_for(lock, std::chrono::duration<double>(timeout_s), ready);
}

}  // namespace

// The engine, its front door and its state backend on one io thread.
class Host {
 public:
  static std::shared_ptr<Host> open(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = "cannot read " + path;
      return nullptr;
    }
    std::stringstream text;
    text << in.rdbuf();
    config::ProcessSecretSource secrets;
    auto loaded = config::load_gateway_config(text.str(), path, secrets);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) error += (error.empty() ? "" : "\n") + e.format();
      return nullptr;
    }
    std::shared_ptr<Host> host(new Host(), [](Host* h) {
      // The last reference may go on the io thread (a notify callback's
      // garbage collection): the thread cannot join itself, so another does.
      if (h->thread_.get_id() == std::this_thread::get_id()) {
        std::thread([h] { delete h; }).detach();
      } else {
        delete h;
      }
    });
    host->gateway_state_ = loaded.config->state;
    if (auto err = server::open_state(loaded.config->state, host->backends_); !err.empty()) {
      error = "state: " + err;
      return nullptr;
    }
    for (const auto& p : loaded.config->providers) {
      auto& keys = host->secrets_[p.name];
      for (const auto& k : p.keys) keys.emplace_back(k.secret.reveal());
    }
    host->gateway_ = std::make_unique<server::GatewayServer>(
        host->io_.get_executor(), std::move(*loaded.config), host->clock_, host->rng_,
        host->backends_.store.get(), host->backends_.coordinator.get());
    Host* raw = host.get();
    server::listen_for_cooldowns(host->gateway_state_, host->backends_, [raw](std::string scope) {
      asio::post(raw->io_, [raw, scope = std::move(scope)] {
        if (raw->gateway_) raw->gateway_->apply_shared_cooldown(scope);
      });
    });
    host->thread_ = std::thread([raw] { raw->io_.run(); });
    return host;
  }

  ~Host() {
    // Stop background work, let what can finish finish (a stream whose
    // reader went away ends at its next write), then stop the loop.
    backends_.events.reset();
    asio::post(io_, [this] {
      if (gateway_) gateway_->stop();
    });
    work_.reset();
    if (thread_.joinable()) thread_.join();  // returns once nothing is in progress
    // Before the loop it was built on (its timers and connections belong to it).
    gateway_.reset();
  }

  // Runs `f` on the io thread and returns its result (at once when called
  // there, by a notify callback's garbage collection).
  template <class F>
  auto on_io(F f) -> decltype(f()) {
    if (std::this_thread::get_id() == thread_.get_id()) return f();
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  asio::io_context& io() { return io_; }
  server::GatewayServer& gateway() { return *gateway_; }
  const Clock& clock() const { return clock_; }

  // The secret of a provider's key by index (the policy mode hands the
  // caller the key the pool picked: it is the caller's own configuration).
  std::string secret(const std::string& provider, std::size_t index) const {
    auto it = secrets_.find(provider);
    if (it == secrets_.end() || index >= it->second.size()) return {};
    return it->second[index];
  }

 private:
  Host() : rng_(static_cast<std::uint64_t>(clock_.now().time_since_epoch().count())) {}

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  SystemClock clock_;
  SeededRng rng_;
  server::StateBackends backends_;
  config::StateConfig gateway_state_;
  std::map<std::string, std::vector<std::string>> secrets_;
  std::unique_ptr<server::GatewayServer> gateway_;
  std::thread thread_;
};

// One slot being taken, taken, or refused.
struct SlotState {
  std::shared_ptr<Host> host;
  std::mutex m;
  std::condition_variable cv;
  bool decided = false;
  bool released = false;
  engine::Slot slot;
  std::shared_ptr<engine::SlotCancel> cancel = std::make_shared<engine::SlotCancel>();
  sluice_notify notify = nullptr;
  void* user = nullptr;
};

// One request through the front door, answered into a queue the caller reads.
struct CallState {
  std::shared_ptr<Host> host;
  std::mutex m;
  std::condition_variable cv;
  struct Event {
    int kind;
    std::string data;
  };
  std::deque<Event> events;
  bool closed = false;  // the caller is gone: writes fail, the engine sees a client gone
  bool finished = false;
  sluice_notify notify = nullptr;
  void* user = nullptr;
  net::HttpRequest request;

  void push(int kind, std::string data) {
    std::lock_guard lock(m);
    events.push_back({kind, std::move(data)});
    if (kind == SLUICE_CALL_END || kind == SLUICE_CALL_ABORTED) finished = true;
    cv.notify_all();
    if (notify) notify(user);
  }
  bool gone() {
    std::lock_guard lock(m);
    return closed;
  }
};

// The engine's ResponseWriter for an in-process call.
class QueueWriter final : public ports::ResponseWriter {
 public:
  explicit QueueWriter(std::shared_ptr<CallState> call) : call_(std::move(call)) {}
  asio::awaitable<bool> send(int status, const HeaderList& headers, std::string body) override {
    if (!head(status, headers, false)) co_return false;
    if (!body.empty()) call_->push(SLUICE_CALL_BODY, std::move(body));
    call_->push(SLUICE_CALL_END, {});
    ended_ = true;
    co_return true;
  }
  asio::awaitable<bool> begin_stream(int status, const HeaderList& headers) override {
    co_return head(status, headers, true);
  }
  asio::awaitable<bool> write_chunk(std::string_view data) override {
    if (call_->gone()) co_return false;
    call_->push(SLUICE_CALL_BODY, std::string(data));
    co_return true;
  }
  asio::awaitable<bool> end_stream() override {
    if (call_->gone()) co_return false;
    call_->push(SLUICE_CALL_END, {});
    ended_ = true;
    co_return true;
  }
  void abort() override {
    if (!ended_) call_->push(SLUICE_CALL_ABORTED, "the answer was cut short");
    ended_ = true;
  }
  bool started() const override { return started_; }
  // The engine finished without ending the response (it never does today):
  // the reader must not wait for ever.
  void finish() {
    if (!ended_) abort();
  }

 private:
  bool head(int status, const HeaderList& headers, bool stream) {
    if (call_->gone()) return false;
    started_ = true;
    json h = json::array();
    for (const auto& f : headers.view().fields()) h.push_back({f.name, f.value});
    call_->push(SLUICE_CALL_HEAD,
                json_text(json{{"status", status}, {"headers", h}, {"stream", stream}}));
    return true;
  }
  std::shared_ptr<CallState> call_;
  bool started_ = false;
  bool ended_ = false;
};

// Coroutines as named functions: g++ 12 mangles two coroutine lambdas in
// extern "C" functions to one symbol.
asio::awaitable<void> take_slot(std::shared_ptr<SlotState> s, engine::SlotRequest req) {
  engine::Slot got = co_await s->host->gateway().engine().acquire_slot(std::move(req), s->cancel);
  std::unique_lock lock(s->m);
  s->slot = std::move(got);
  s->decided = true;
  if (s->released) {  // given up while being granted: nothing is kept
    engine::Slot drop = std::move(s->slot);
    lock.unlock();
    co_return;
  }
  s->cv.notify_all();
  if (s->notify) s->notify(s->user);
}

asio::awaitable<void> serve_call(std::shared_ptr<CallState> c) {
  QueueWriter writer(c);
  co_await c->host->gateway().serve(c->request, writer);
  writer.finish();
}

}  // namespace sluice::lib

using namespace sluice;  // NOLINT: the C ABI's implementation

struct sluice_engine {
  std::shared_ptr<lib::Host> host;
};
struct sluice_slot {
  std::shared_ptr<lib::SlotState> state;
};
struct sluice_call {
  std::shared_ptr<lib::CallState> state;
};

namespace {

template <class F>
char* guarded(F&& f) noexcept {
  try {
    return lib::c_copy(f());
  } catch (const std::exception& e) {
    return lib::c_copy(json_text(json{{"error", e.what()}}));
  } catch (...) {
    return lib::c_copy(R"({"error":"unexpected failure"})");
  }
}

std::string string_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string()) throw std::invalid_argument(std::string(name) + ": expected a string");
  return it->get<std::string>();
}

// A key is named by its secret (fingerprinted here, never kept) or by the
// fingerprint /status shows.
std::string fingerprint_field(const json& j) {
  if (std::string key = string_field(j, "key"); !key.empty()) return config::fingerprint_of(key);
  return string_field(j, "key_fingerprint");
}

json slot_json(const lib::SlotState& s) {
  if (!s.decided) return json{{"state", "waiting"}};
  const engine::Slot& slot = s.slot;
  if (!slot.granted) {
    json j = {
        {"state", "refused"}, {"granted", false}, {"code", slot.code}, {"message", slot.message}};
    j["retry_after_s"] = slot.retry_after ? json(to_seconds(*slot.retry_after)) : json(nullptr);
    return j;
  }
  return json{{"state", "granted"},
              {"granted", true},
              {"provider", slot.provider},
              {"model", slot.model},
              {"key_fingerprint", slot.key_fingerprint},
              {"key", s.host->secret(slot.provider, slot.key_index)}};
}

}  // namespace

extern "C" {

SLUICE_API sluice_engine* sluice_engine_open(const char* config_path, char** error) {
  if (error) *error = nullptr;
  try {
    std::string why;
    auto host = lib::Host::open(config_path ? config_path : "", why);
    if (!host) {
      if (error) *error = lib::c_copy(why);
      return nullptr;
    }
    return new sluice_engine{std::move(host)};
  } catch (const std::exception& e) {
    if (error) *error = lib::c_copy(std::string("sluice_engine_open: ") + e.what());
    return nullptr;
  }
}

SLUICE_API void sluice_engine_close(sluice_engine* engine) { delete engine; }

SLUICE_API char* sluice_engine_status(sluice_engine* engine) {
  return guarded([&] {
    return engine->host->on_io([&] { return engine->host->gateway().engine().status_json(); });
  });
}

SLUICE_API char* sluice_engine_learn(sluice_engine* engine, const char* learning_json) {
  return guarded([&]() -> std::string {
    json j = json::parse(learning_json ? learning_json : "", nullptr, false);
    if (!j.is_object()) return json_text(json{{"error", "expected a JSON object"}});
    engine::Learning l;
    l.provider = string_field(j, "provider");
    l.model = string_field(j, "model");
    l.key_fingerprint = fingerprint_field(j);
    for (const char* k : {"provider", "model", "key", "key_fingerprint"}) j.erase(k);
    auto parsed = policy::parse_outcome_json(json_text(j), engine->host->clock().now());
    if (auto* err = std::get_if<std::string>(&parsed)) return json_text(json{{"error", *err}});
    const policy::OutcomeInput& input = std::get<policy::OutcomeInput>(parsed);
    l.outcome = input.view();
    return engine->host->on_io([&] { return engine->host->gateway().engine().learn(l); });
  });
}

SLUICE_API sluice_slot* sluice_slot_begin(sluice_engine* engine, const char* request_json,
                                          sluice_notify notify, void* user) {
  auto state = std::make_shared<lib::SlotState>();
  state->host = engine->host;
  state->notify = notify;
  state->user = user;
  engine::SlotRequest r;
  try {
    const json j = json::parse(request_json ? request_json : "");
    if (!j.is_object()) throw std::invalid_argument("expected a JSON object");
    r.provider = string_field(j, "provider");
    r.model = string_field(j, "model");
    r.key_fingerprint = fingerprint_field(j);
    if (const std::string p = string_field(j, "priority"); !p.empty()) {
      auto parsed = priority_from_string(p);
      if (!parsed) throw std::invalid_argument("priority: interactive or background");
      r.priority = *parsed;
    }
    if (auto t = j.find("timeout_s"); t != j.end() && !t->is_null()) {
      if (!t->is_number() || t->get<double>() < 0) {
        throw std::invalid_argument("timeout_s: a number of seconds >= 0, or null");
      }
      r.deadline = engine->host->clock().now() +
                   std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*t));
    }
    if (auto t = j.find("tokens"); t != j.end() && t->is_number_integer()) {
      r.estimated_tokens = t->get<std::int64_t>();
    }
  } catch (const std::exception& e) {
    state->decided = true;
    state->slot.code = "invalid_request";
    state->slot.message = e.what();
    return new sluice_slot{std::move(state)};
  }
  asio::co_spawn(engine->host->io(), lib::take_slot(state, std::move(r)), asio::detached);
  return new sluice_slot{std::move(state)};
}

SLUICE_API int sluice_slot_wait(sluice_slot* slot, double timeout_s) {
  lib::SlotState& s = *slot->state;
  std::unique_lock lock(s.m);
  return lib::wait_for(s.cv, lock, timeout_s, [&] { return s.decided; }) ? 1 : 0;
}

SLUICE_API char* sluice_slot_result(sluice_slot* slot) {
  return guarded([&] {
    std::lock_guard lock(slot->state->m);
    return json_text(slot_json(*slot->state));
  });
}

SLUICE_API char* sluice_slot_learn(sluice_slot* slot, const char* outcome_json) {
  return guarded([&]() -> std::string {
    lib::SlotState& s = *slot->state;
    {
      std::lock_guard lock(s.m);
      if (!s.decided || !s.slot.granted) {
        return json_text(json{{"error", "the slot was not granted"}});
      }
    }
    auto parsed =
        policy::parse_outcome_json(outcome_json ? outcome_json : "", s.host->clock().now());
    if (auto* err = std::get_if<std::string>(&parsed)) return json_text(json{{"error", *err}});
    const policy::OutcomeInput& input = std::get<policy::OutcomeInput>(parsed);
    engine::Learning l;
    l.provider = s.slot.provider;
    l.model = s.slot.model;
    l.key_fingerprint = s.slot.key_fingerprint;
    l.outcome = input.view();
    l.slot = &s.slot;
    return s.host->on_io([&] { return s.host->gateway().engine().learn(l); });
  });
}

SLUICE_API void sluice_slot_release(sluice_slot* slot) {
  if (!slot) return;
  std::shared_ptr<lib::SlotState> s = std::move(slot->state);
  delete slot;
  {
    std::lock_guard lock(s->m);
    s->released = true;
    s->notify = nullptr;
  }
  // The permit and lease go back on the io thread, where they live, before
  // this returns; a wait still in progress ends and leaves nothing queued.
  try {
    s->host->on_io([&s] {
      std::unique_lock lock(s->m);
      if (!s->decided) {
        lock.unlock();
        s->cancel->cancel();
        return;
      }
      engine::Slot drop = std::move(s->slot);
      lock.unlock();
    });
  } catch (...) {  // nothing throws across the C boundary
  }
}

SLUICE_API sluice_call* sluice_call_start(sluice_engine* engine, const char* method,
                                          const char* path, const char* headers_json,
                                          const char* body, size_t body_len, sluice_notify notify,
                                          void* user) {
  auto call = std::make_shared<lib::CallState>();
  call->host = engine->host;
  call->notify = notify;
  call->user = user;
  try {
    call->request.method = method ? method : "GET";
    call->request.target = path ? path : "/";
    call->request.path = call->request.target.substr(0, call->request.target.find('?'));
    if (headers_json && *headers_json) {
      const json h = json::parse(headers_json);
      for (const auto& pair : h) {
        call->request.headers.add(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
      }
    }
    if (body && body_len) call->request.body.assign(body, body_len);
  } catch (const std::exception& e) {
    call->push(SLUICE_CALL_ABORTED, std::string("headers: ") + e.what());
    return new sluice_call{std::move(call)};
  }
  asio::co_spawn(engine->host->io(), lib::serve_call(call), asio::detached);
  return new sluice_call{std::move(call)};
}

SLUICE_API int sluice_call_next(sluice_call* call, double timeout_s, char** data, size_t* len) {
  lib::CallState& c = *call->state;
  if (data) *data = nullptr;
  if (len) *len = 0;
  std::unique_lock lock(c.m);
  if (!lib::wait_for(c.cv, lock, timeout_s, [&] { return !c.events.empty(); })) {
    return SLUICE_CALL_NONE;
  }
  lib::CallState::Event e = std::move(c.events.front());
  c.events.pop_front();
  if (e.kind == SLUICE_CALL_END || e.kind == SLUICE_CALL_ABORTED) {
    c.events.push_front({e.kind, {}});  // stays ended: later reads say so again
  }
  if (data) *data = lib::c_copy(e.data);
  if (len) *len = e.data.size();
  return e.kind;
}

SLUICE_API void sluice_call_close(sluice_call* call) {
  if (!call) return;
  {
    std::lock_guard lock(call->state->m);
    call->state->closed = true;  // a stream still coming ends as a client gone
    call->state->notify = nullptr;
  }
  delete call;
}

}  // extern "C"
