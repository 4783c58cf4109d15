#pragma once
// The request engine with fakes behind every port, for tests that replay a
// scenario exactly: a FakeClock with FakeTimers (every throttle window,
// backoff and queue timeout ends when advance() says so, never by a real
// sleep), fake providers whose answers a test scripts (status, headers, body
// pieces with delays, a transport failure, a cut body), and in-memory
// writers in place of client sockets. One thread: the test drives the
// io_context itself with run() and advance(). No socket is opened.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/config/gateway_config.hpp"
#include "sluice/config/secret.hpp"
#include "sluice/engine/request_engine.hpp"
#include "sluice/ports/upstream.hpp"
#include "sluice/providers/model_splice.hpp"
#include "sluice/state/memory_store.hpp"
#include "testing/fake_clock.hpp"
#include "testing/fake_timers.hpp"
#include "testing/scripted_rng.hpp"

namespace sluice::testing {

// What a fake provider answers to one request.
struct FakeReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // Body pieces, each after its delay (counted from the piece before, the
  // first from the head).
  std::vector<std::pair<Duration, std::string>> body;
  Duration head_after = Duration::zero();  // until the response head
  // A transport failure instead of a head (after head_after).
  ports::ClientFailure failure = ports::ClientFailure::kNone;
  bool cut = false;  // the body ends short: the connection closed mid-body

  static FakeReply json(int status, std::string text,
                        std::vector<std::pair<std::string, std::string>> headers = {}) {
    FakeReply r;
    r.status = status;
    r.headers = std::move(headers);
    r.headers.emplace_back("content-type", "application/json");
    r.body.emplace_back(Duration::zero(), std::move(text));
    return r;
  }
  // A Chat Completions answer saying `text`, with usage.
  static FakeReply chat(std::string_view text = "ok",
                        std::vector<std::pair<std::string, std::string>> headers = {}) {
    return json(200,
                R"({"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":)"
                R"("assistant","content":")" +
                    std::string(text) +
                    R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,)"
                    R"("completion_tokens":2,"total_tokens":12}})",
                std::move(headers));
  }
  // A Chat Completions stream: one content chunk per word, `gap` apart, then
  // the finish and [DONE] (unless cut).
  static FakeReply chat_stream(const std::vector<std::string>& words, Duration gap) {
    FakeReply r;
    r.headers.emplace_back("content-type", "text/event-stream");
    for (const auto& w : words) {
      r.body.emplace_back(gap, R"(data: {"id":"c","object":"chat.completion.chunk","choices":)"
                               R"([{"index":0,"delta":{"content":")" +
                                   w + R"("},"finish_reason":null}]})" + "\n\n");
    }
    r.body.emplace_back(gap, R"(data: {"id":"c","object":"chat.completion.chunk","choices":)"
                             R"([{"index":0,"delta":{},"finish_reason":"stop"}]})"
                             "\n\ndata: [DONE]\n\n");
    return r;
  }
};

struct SentRequest {
  std::string provider;
  std::string method;
  std::string path;
  std::string body;
  std::string authorization;  // the credential header's value (tests use fake keys)
  TimePoint at;
};

// A ResponseWriter that keeps what the engine wrote. `gone_after_chunks`
// makes the client hang up after that many stream chunks.
class MemoryWriter final : public ports::ResponseWriter {
 public:
  int status = 0;
  HeaderList headers;
  std::string body;
  bool streamed = false;
  bool ended = false;    // a whole answer sent, or a stream ended
  bool aborted = false;  // the connection dropped without an ending
  std::optional<int> gone_after_chunks;
  int chunks = 0;

  std::optional<std::string> header(std::string_view name) const {
    if (auto v = headers.view().get(name)) return std::string(*v);
    return std::nullopt;
  }

  boost::asio::awaitable<bool> send(int s, const HeaderList& h, std::string b) override {
    status = s;
    copy(h);
    body = std::move(b);
    ended = true;
    co_return !gone_after_chunks;
  }
  boost::asio::awaitable<bool> begin_stream(int s, const HeaderList& h) override {
    status = s;
    copy(h);
    streamed = true;
    co_return true;
  }
  boost::asio::awaitable<bool> write_chunk(std::string_view data) override {
    if (gone_after_chunks && chunks >= *gone_after_chunks) co_return false;
    ++chunks;
    body.append(data);
    co_return true;
  }
  boost::asio::awaitable<bool> end_stream() override {
    ended = true;
    co_return true;
  }
  void abort() override { aborted = true; }
  bool started() const override { return status != 0; }

 private:
  void copy(const HeaderList& h) {
    for (const auto& f : h.view().fields()) headers.add(f.name, f.value);
  }
};

class EngineHarness;

// One provider's endpoint; answers with `script` (by default a Chat answer).
class FakeProvider final : public ports::Upstream {
 public:
  using Script = std::function<FakeReply(const SentRequest&)>;
  FakeProvider(std::string name, FakeClock& clock, FakeTimers& timers)
      : name_(std::move(name)), clock_(clock), timers_(timers) {}

  Script script = [](const SentRequest&) { return FakeReply::chat(); };
  std::vector<SentRequest> sent;
  int in_flight = 0;      // sends whose answer has not ended yet
  int max_in_flight = 0;  // the most at once

  boost::asio::awaitable<ports::SendResult> send(std::string method, std::string path,
                                                 HeaderList headers,
                                                 ports::OutgoingBody body) override {
    SentRequest s{name_, std::move(method), std::move(path), body.joined(), "", clock_.now()};
    const HeaderView h = headers.view();
    if (auto a = h.get("authorization")) s.authorization = std::string(*a);
    if (auto a = h.get("x-api-key")) s.authorization = std::string(*a);
    sent.push_back(s);
    FakeReply reply = script(s);
    max_in_flight = std::max(max_in_flight, ++in_flight);
    auto done = std::make_shared<bool>(false);
    const TimePoint head_at = clock_.now() + reply.head_after;
    co_await timers_.sleep_until(head_at);
    if (reply.failure != ports::ClientFailure::kNone) {
      --in_flight;
      co_return ports::SendResult{nullptr, reply.failure, "fake " + name_ + ": transport failure"};
    }
    co_return ports::SendResult{
        std::make_unique<Response>(*this, std::move(reply)), ports::ClientFailure::kNone, {}};
  }

 private:
  class Response final : public ports::UpstreamResponse {
   public:
    Response(FakeProvider& p, FakeReply reply) : p_(p), reply_(std::move(reply)) {
      for (const auto& [n, v] : reply_.headers) head_.add(n, v);
    }
    ~Response() override {
      if (!ended_) --p_.in_flight;  // dropped early: the connection closes
    }
    int status() const override { return reply_.status; }
    HeaderView headers() const override { return head_.view(); }
    boost::asio::awaitable<std::optional<std::string>> next() override {
      if (next_ >= reply_.body.size()) {
        end();
        co_return std::nullopt;
      }
      auto& [delay, bytes] = reply_.body[next_++];
      const TimePoint at = p_.clock_.now() + delay;
      co_await p_.timers_.sleep_until(at);
      co_return std::move(bytes);
    }
    std::optional<std::string> take_buffered() override { return std::nullopt; }
    bool complete() const override { return ended_ && !reply_.cut; }
    ports::ClientFailure failure() const override {
      return ended_ && reply_.cut ? ports::ClientFailure::kEof : ports::ClientFailure::kNone;
    }
    std::string failure_message() const override { return reply_.cut ? "fake: cut short" : ""; }

   private:
    void end() {
      if (!ended_) --p_.in_flight;
      ended_ = true;
    }
    FakeProvider& p_;
    FakeReply reply_;
    HeaderList head_;
    std::size_t next_ = 0;
    bool ended_ = false;
  };

  std::string name_;
  FakeClock& clock_;
  FakeTimers& timers_;
};

// Keys in the harness's configs are `env:NAME`; NAME's value is "sk-" + NAME.
class NamedSecrets final : public config::SecretSource {
 public:
  std::optional<std::string> get_env(std::string_view name) override {
    if (name == "HOME") return "/nonexistent";
    return "sk-" + std::string(name);
  }
  std::optional<std::string> read_file(std::string_view) override { return std::nullopt; }
};

class EngineHarness {
 public:
  // One request in progress or done.
  struct Call {
    MemoryWriter writer;
    bool done = false;
  };

  // `yaml` is a gateway config; providers get fakes by name.
  // `store`: the engine's state store instead of the harness's memory one
  // (a test's failing store); it must outlive the harness.
  // `coordinator`: Redis mode's port (a test's fake); it must outlive the harness.
  explicit EngineHarness(const std::string& yaml, std::vector<double> rng = {0.5},
                         state::Store* store = nullptr, state::Coordinator* coordinator = nullptr)
      : io_(std::in_place), timers_(io_->get_executor(), clock_), rng_(std::move(rng)) {
    NamedSecrets secrets;
    auto loaded = config::load_gateway_config(yaml, "test.yaml", secrets);
    for (const auto& e : loaded.errors) load_errors_ += e.message + "\n";
    if (!loaded.ok()) return;
    config_ = std::move(*loaded.config);
    for (const auto& p : config_.providers) {
      by_url_[p.base_url] = p.name;
      providers_[p.name] = nullptr;
    }
    engine_ = std::make_unique<engine::RequestEngine>(
        io_->get_executor(), config_, clock_, rng_,
        engine::EnginePorts{timers_,
                            [this](const std::string& base_url, const ports::UpstreamOptions&) {
                              auto p = std::make_unique<FakeProvider>(by_url_.at(base_url), clock_,
                                                                      timers_);
                              providers_[by_url_.at(base_url)] = p.get();
                              return ports::MadeUpstream{std::move(p), {}};
                            }},
        store ? store : &store_, coordinator);
  }
  ~EngineHarness() {
    if (engine_) engine_->stop();
    run();
    // Requests still waiting (a provider that never answered) are destroyed
    // with the loop, while the engine, clock and fakes they use still live.
    io_.reset();
  }

  bool ok() const { return engine_ != nullptr; }
  const std::string& load_errors() const { return load_errors_; }
  FakeProvider& provider(const std::string& name) { return *providers_.at(name); }
  engine::RequestEngine& engine() { return *engine_; }
  state::MemoryStore& store() { return store_; }
  FakeClock& clock() { return clock_; }
  FakeTimers& timers() { return timers_; }
  TimePoint now() const { return clock_.now(); }

  // Starts a request for alias `model` (the body's "model") as the gateway's
  // front door would, and runs the loop until it waits.
  std::shared_ptr<Call> start(const std::string& body,
                              const std::string& path = "/v1/chat/completions") {
    engine::FrontRequest fr;
    fr.api =
        path.starts_with("/v1/messages") ? config::WireApi::kAnthropic : config::WireApi::kOpenAI;
    fr.method = "POST";
    fr.path = path;
    fr.body = body;
    fr.facts = providers::inspect_body(fr.body);
    fr.alias = fr.facts.model.value_or("");
    if (const config::ModelAlias* a = config_.find_model(fr.alias)) {
      fr.route = a->route;
      fr.priority = a->priority;
      fr.queue_timeout = a->queue_timeout;
      if (a->deadline) fr.deadline = clock_.now() + *a->deadline;
    }
    auto call = std::make_shared<Call>();
    boost::asio::co_spawn(
        *io_,
        [](engine::RequestEngine& e, engine::FrontRequest r,
           std::shared_ptr<Call> c) -> boost::asio::awaitable<void> {
          co_await e.handle(std::move(r), c->writer);
          c->done = true;
        }(*engine_, std::move(fr), call),
        boost::asio::detached);
    run();
    return call;
  }
  std::shared_ptr<Call> chat(const std::string& alias, const std::string& extra = "") {
    return start(R"({"model":")" + alias + R"(","messages":[{"role":"user","content":"hi"}])" +
                 extra + "}");
  }

  // The policy mode: a slot being taken (or taken, or refused).
  struct SlotCall {
    std::shared_ptr<engine::SlotCancel> cancel = std::make_shared<engine::SlotCancel>();
    std::optional<engine::Slot> slot;
    TimePoint decided_at{};
  };
  std::shared_ptr<SlotCall> slot(engine::SlotRequest request) {
    auto call = std::make_shared<SlotCall>();
    boost::asio::co_spawn(
        *io_,
        [](engine::RequestEngine& e, engine::SlotRequest r, std::shared_ptr<SlotCall> c,
           const FakeClock& clock) -> boost::asio::awaitable<void> {
          engine::Slot s = co_await e.acquire_slot(std::move(r), c->cancel);
          c->decided_at = clock.now();
          c->slot = std::move(s);
        }(*engine_, std::move(request), call, clock_),
        boost::asio::detached);
    run();
    return call;
  }

  // Runs everything ready now (no time passes).
  void run() {
    io_->restart();
    while (io_->poll() > 0) io_->restart();
  }
  // Moves time forward by `d` in steps that stop at every due timer, running
  // what each makes ready, so a wait that schedules another sees the clock
  // where it should.
  void advance(Duration d) {
    const TimePoint end = clock_.now() + d;
    while (true) {
      run();
      if (clock_.advance_to_next_before(end) == 0) break;
    }
    clock_.advance_to(end);
    run();
  }

 private:
  std::optional<boost::asio::io_context> io_;
  FakeClock clock_;
  FakeTimers timers_;
  ScriptedRng rng_;
  state::MemoryStore store_;
  config::GatewayConfig config_;
  std::string load_errors_;
  std::map<std::string, std::string> by_url_;
  std::map<std::string, FakeProvider*> providers_;
  std::unique_ptr<engine::RequestEngine> engine_;
};

}  // namespace sluice::testing
