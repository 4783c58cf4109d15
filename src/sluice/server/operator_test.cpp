// The operator's view end to end: GET /metrics, GET /status and the live page
// at GET /, with sluice serve in front of sluice sim on 127.0.0.1:0; the page
// is loaded in headless Chromium and its rendered DOM checked.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sluice/config/secret.hpp"
#include "testing/gateway_stack.hpp"
#include "testing/gateway_yaml.hpp"
#include "testing/http_client.hpp"

namespace sluice::server {
namespace {

using nlohmann::json;
using testing::GatewayStack;
using testing::HttpClient;
using testing::HttpResponse;
using testing::sim_provider;
using testing::url;

// Distinctive secrets, so a leak anywhere is easy to find.
const std::string kGoodSecret = "sk-live-GOOD-5e1c3t0f00d";
const std::string kBadSecret = "sk-live-REVOKED-7a11ce0b0b";
const std::string kOtherSecret = "zai-secret-CAFEBABE4242";

const std::string kChat =
    R"({"model":"main","messages":[{"role":"user","content":"hello"}],"max_tokens":16})";

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

void expect_no_secret(const std::string& text, const std::string& where) {
  for (const auto& s : {kGoodSecret, kBadSecret, kOtherSecret}) {
    EXPECT_EQ(text.find(s), std::string::npos) << where << " shows a secret";
  }
}

// oa: a revoked key first (fill_first), then a good one; backup: one key.
std::unique_ptr<GatewayStack> operator_stack(std::string extra_yaml = {}) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.keys = {kGoodSecret};
  oa.limits.requests_per_window = 1000;  // so responses carry rate-limit headers
  oa.limits.window = std::chrono::seconds(60);
  auto backup = sim_provider("backup", Dialect::kOpenAI);
  backup.keys = {kOtherSecret};
  return std::make_unique<GatewayStack>(
      std::vector<sim::ProviderSimConfig>{oa, backup},
      [extra_yaml](const std::vector<std::uint16_t>& p) {
        testing::GatewayYaml y;
        y.server = extra_yaml;
        y.provider({.name = "oa",
                    .base_url = testing::sim_base_url(Dialect::kOpenAI, p[0]),
                    .keys = {kBadSecret, kGoodSecret},
                    .extra = "strategy: fill_first, max_concurrent: 3"});
        y.provider({.name = "backup",
                    .base_url = testing::sim_base_url(Dialect::kOpenAI, p[1]),
                    .keys = {kOtherSecret}});
        y.model({.alias = "main", .route = {"oa/gpt-4o-mini", "backup/gpt-4o-mini"}});
        return y.str();
      });
}

TEST(Operator, MetricsCountRequestsAttemptsAndShowEveryKeysGaugesWithoutSecrets) {
  auto s = operator_stack();
  HttpClient c(s->port());
  ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  HttpResponse m = c.request("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type").value_or("").rfind("text/plain; version=0.0.4", 0), 0U)
      << m.header("content-type").value_or("");
  const std::string& t = m.body;
  const std::string bad = config::fingerprint_of(kBadSecret);
  const std::string good = config::fingerprint_of(kGoodSecret);
  const std::string other = config::fingerprint_of(kOtherSecret);
  EXPECT_TRUE(has_line(
      t, R"(sluice_requests_total{route="/v1/chat/completions",outcome="ok",class="none"} 1)"))
      << t;
  EXPECT_TRUE(has_line(t, R"(sluice_upstream_attempts_total{provider="oa",class="AUTH"} 1)")) << t;
  EXPECT_TRUE(has_line(t, R"(sluice_upstream_attempts_total{provider="oa",class="OK"} 1)")) << t;
  EXPECT_TRUE(has_line(t, R"(sluice_upstream_latency_seconds_count{provider="oa"} 2)")) << t;
  EXPECT_TRUE(has_line(t, "sluice_queue_wait_seconds_count 2")) << t;
  EXPECT_TRUE(has_line(t, "sluice_retries_total 1")) << t;  // rotated to the good key
  EXPECT_TRUE(has_line(t, "sluice_fallbacks_total 0")) << t;
  // Gauges for the key that served, the benched one, and the untouched one.
  EXPECT_TRUE(has_line(t, "sluice_in_flight{provider=\"oa\",key=\"" + good + "\",bucket=\"*\"} 0"))
      << t;
  EXPECT_TRUE(
      has_line(t, "sluice_concurrency_limit{provider=\"oa\",key=\"" + good + "\",bucket=\"*\"} 3"))
      << t;
  EXPECT_TRUE(has_line(t, "sluice_queue_depth{provider=\"oa\",key=\"" + good +
                              "\",bucket=\"*\",priority=\"background\"} 0"))
      << t;
  EXPECT_TRUE(has_line(t, "sluice_budget_remaining{provider=\"oa\",key=\"" + good +
                              "\",model=\"gpt-4o-mini\",bucket=\"requests\"} 999"))
      << t;
  EXPECT_TRUE(
      has_line(t, "sluice_key_cooling{provider=\"oa\",key=\"" + bad + "\",class=\"AUTH\"} 1"))
      << t;
  EXPECT_TRUE(
      has_line(t, "sluice_key_cooling{provider=\"oa\",key=\"" + good + "\",class=\"none\"} 0"))
      << t;
  EXPECT_TRUE(
      has_line(t, "sluice_key_cooling{provider=\"backup\",key=\"" + other + "\",class=\"none\"} 0"))
      << t;
  EXPECT_NE(
      t.find("sluice_key_cooling_seconds{provider=\"oa\",key=\"" + bad + "\",class=\"AUTH\"} "),
      std::string::npos)
      << t;
  for (const char* family :
       {"sluice_requests_total counter", "sluice_upstream_attempts_total counter",
        "sluice_upstream_latency_seconds histogram", "sluice_queue_wait_seconds histogram",
        "sluice_in_flight gauge", "sluice_concurrency_limit gauge", "sluice_queue_depth gauge",
        "sluice_budget_remaining gauge", "sluice_key_cooling gauge", "sluice_retries_total counter",
        "sluice_fallbacks_total counter", "sluice_throttle_waits_total counter"}) {
    EXPECT_TRUE(has_line(t, std::string("# TYPE ") + family)) << family;
  }
  expect_no_secret(t, "/metrics");
}

TEST(Operator, MetricsCountThe429sTheThrottleAvoided) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.limits.requests_per_window = 3;
  oa.limits.window = std::chrono::milliseconds(600);
  GatewayStack s({oa}, [](const std::vector<std::uint16_t>& p) {
    return testing::GatewayYaml::one("oa", Dialect::kOpenAI, p[0], "gpt-4o-mini",
                                     "rpm_throttle_threshold: 0, max_wait: 5s")
        .str();
  });
  HttpClient c(s.port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200) << i;
  }
  EXPECT_EQ(s.sim_stats(0)["rejections"]["rpm"], 0);
  const json status = json::parse(c.request("GET", "/status").body);
  const std::int64_t waits = status["counters"]["throttle_waits"];
  EXPECT_GE(waits, 1) << status.dump();
  EXPECT_EQ(status["counters"]["upstream_rate_limited"], 0) << status.dump();
  EXPECT_TRUE(has_line(c.request("GET", "/metrics").body,
                       "sluice_throttle_waits_total " + std::to_string(waits)));
}

TEST(Operator, StatusListsBudgetsQueuesCountersAndRecentEvents) {
  auto s = operator_stack();
  HttpClient c(s->port());
  ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  HttpResponse r = c.request("GET", "/status");
  ASSERT_EQ(r.status, 200);
  expect_no_secret(r.body, "/status");
  const json st = json::parse(r.body);
  EXPECT_EQ(st["counters"]["requests"], 1);
  EXPECT_EQ(st["counters"]["requests_ok"], 1);
  EXPECT_EQ(st["counters"]["upstream_attempts"], 2);
  EXPECT_EQ(st["counters"]["retries"], 1);
  ASSERT_EQ(st["recent"].size(), 1U) << st.dump();
  const json& ev = st["recent"][0];
  EXPECT_EQ(ev["kind"], "cooldown");
  EXPECT_EQ(ev["class"], "AUTH");
  EXPECT_EQ(ev["where"], "oa " + config::fingerprint_of(kBadSecret));
  const json* good = nullptr;
  for (const auto& p : st["providers"]) {
    for (const auto& k : p["keys"]) {
      if (k["fingerprint"] == config::fingerprint_of(kGoodSecret)) good = &k;
    }
  }
  ASSERT_NE(good, nullptr) << st.dump();
  EXPECT_EQ((*good)["limiters"]["*"]["queued_by_priority"]["interactive"], 0);
  ASSERT_EQ((*good)["budgets"].size(), 1U) << good->dump();
  EXPECT_EQ((*good)["budgets"][0]["bucket"], "requests");
  EXPECT_EQ((*good)["budgets"][0]["remaining"], 999);
  EXPECT_EQ((*good)["budgets"][0]["limit"], 1000);
  EXPECT_GT((*good)["budgets"][0]["reset_s"].get<double>(), 0);
}

TEST(Operator, AFallbackAndARefusalAreListedAsRecentEvents) {
  auto oa = sim_provider("oa", Dialect::kOpenAI);
  oa.faults.overload_rate = 1.0;
  auto backup = sim_provider("backup", Dialect::kOpenAI);
  GatewayStack s({oa, backup}, [](const std::vector<std::uint16_t>& p) {
    return "state: {backend: memory}\nproviders:\n"
           "  oa: {api: openai, base_url: \"" +
           url(p[0]) +
           "/v1\", keys: [good-key]}\n"
           "  backup: {api: openai, base_url: \"" +
           url(p[1]) +
           "/v1\", keys: [good-key]}\n"
           "models:\n  main: {route: [oa/gpt-4o-mini, backup/gpt-4o-mini]}\n"
           "  solo: {route: [oa/gpt-4o-mini]}\n";
  });
  HttpClient c(s.port());
  ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  const std::string solo =
      R"({"model":"solo","messages":[{"role":"user","content":"hello"}],"max_tokens":16})";
  EXPECT_GE(c.request("POST", "/v1/chat/completions", {}, solo).status, 500);
  const json st = json::parse(c.request("GET", "/status").body);
  ASSERT_GE(st["recent"].size(), 2U) << st.dump();
  const json& rejection = st["recent"][0];  // newest first
  EXPECT_EQ(rejection["kind"], "rejection") << st.dump();
  EXPECT_EQ(rejection["alias"], "solo");
  EXPECT_EQ(rejection["class"], "OVERLOADED");
  bool fallback_seen = false;
  for (const auto& e : st["recent"]) {
    if (e["kind"] == "fallback" && e["alias"] == "main") {
      fallback_seen = true;
      EXPECT_EQ(e["where"], "backup/gpt-4o-mini");
    }
  }
  EXPECT_TRUE(fallback_seen) << st.dump();
  EXPECT_EQ(st["counters"]["fallbacks"], 1);
  const std::string metrics = c.request("GET", "/metrics").body;
  EXPECT_TRUE(has_line(
      metrics,
      R"(sluice_requests_total{route="/v1/chat/completions",outcome="error",class="OVERLOADED"} 1)"))
      << metrics;
  EXPECT_TRUE(has_line(metrics, "sluice_fallbacks_total 1")) << metrics;
}

TEST(Operator, ThePageIsSelfContainedAndOpenWhileItsDataNeedsTheGatewayKey) {
  auto s = operator_stack("server: {gateway_keys: [page-gateway-key]}\n");
  HttpClient c(s->port());
  HttpResponse page = c.request("GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type").value_or("").rfind("text/html", 0), 0U);
  EXPECT_NE(page.header("content-security-policy").value_or("").find("connect-src 'self'"),
            std::string::npos);
  EXPECT_NE(page.body.find("fetch(\"/status\""), std::string::npos);
  // Nothing loaded from elsewhere: no external scripts, styles, fonts or images.
  for (const char* external : {"src=\"http", "href=\"http", "<link", "@import", "url(", "//cdn"}) {
    EXPECT_EQ(page.body.find(external), std::string::npos) << external;
  }
  expect_no_secret(page.body, "the page");
  EXPECT_EQ(page.body.find("page-gateway-key"), std::string::npos);
  EXPECT_EQ(c.request("GET", "/metrics").status, 401);
  EXPECT_EQ(c.request("GET", "/status").status, 401);
  EXPECT_EQ(c.request("GET", "/metrics", {{"authorization", "Bearer page-gateway-key"}}).status,
            200);
}

// ---- headless Chromium ----------------------------------------------------

std::string find_chromium() {
  if (const char* env = std::getenv("SLUICE_CHROMIUM"); env && *env) return env;
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

struct ProcessRun {
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
};

// Runs argv with stdout captured and stderr to `err_path`, in its own process
// group; after `timeout` the group (this child and whatever it spawned) is
// killed, so a wedged browser can never hang the suite.
ProcessRun run_bounded(const std::vector<std::string>& argv, const std::string& err_path,
                       std::chrono::seconds timeout) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out_pipe[2];
  ProcessRun run;
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return run;
  const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    if (err_fd >= 0) ::dup2(err_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  if (err_fd >= 0) ::close(err_fd);
  if (pid < 0) {
    ::close(out_pipe[0]);
    return run;
  }
  ::setpgid(pid, pid);  // also from here, so the kill below cannot race the child's own
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      run.timed_out = true;
      break;
    }
    pollfd pfd{out_pipe[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the browser closed its stdout
    run.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out_pipe[0]);
  if (run.timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  // The browser may outlive its stdout briefly; bound that wait too.
  const auto reap_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > reap_deadline) {
      run.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    ::usleep(20 * 1000);  // waiting for an external process only
  }
  ::kill(-pid, SIGKILL);  // helpers of ours that are left, if any
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class Chromium {
 public:
  // Profiles go under `dir` (removed by the caller); stderr logs under `logs`.
  Chromium(std::string binary, std::filesystem::path dir, std::filesystem::path logs)
      : binary_(std::move(binary)), dir_(std::move(dir)), logs_(std::move(logs)) {}

  // The page after it has polled /status a few times (virtual time).
  ProcessRun load(const std::string& page_url, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {
        binary_,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--user-data-dir=" + (dir_ / ("profile-" + std::to_string(runs_))).string(),
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        // Only loopback resolves: the page must never fetch from elsewhere.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=4000",
        "--window-size=1280,900",
    };
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(page_url);
    const std::string err = (logs_ / ("chromium-" + std::to_string(runs_) + ".log")).string();
    ++runs_;
    ProcessRun r = run_bounded(argv, err, std::chrono::seconds(30));
    if (r.timed_out || r.exit_code != 0) {
      std::cerr << "chromium exit=" << r.exit_code << " timed_out=" << r.timed_out
                << "; its stderr is in " << err << "\n";
    }
    return r;
  }

 private:
  std::string binary_;
  std::filesystem::path dir_;
  std::filesystem::path logs_;
  int runs_ = 0;
};

// The <tr> rendered for one key, or empty.
std::string key_row(const std::string& dom, const std::string& fingerprint) {
  const auto at = dom.find("data-key=\"" + fingerprint + "\"");
  if (at == std::string::npos) return {};
  const auto end = dom.find("</tr>", at);
  return dom.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

TEST(LivePage, ChromiumRendersProvidersKeysAndThenACooldownWithItsClass) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";

  char tmpl[] = "/tmp/sluice-chromium-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path tmp = tmpl;
  struct RemoveOnExit {
    std::filesystem::path dir;
    ~RemoveOnExit() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmp};
  const std::filesystem::path out_dir = SLUICE_TEST_OUTPUT_DIR;
  std::filesystem::create_directories(out_dir);

  auto s = operator_stack();
  const std::string page = url(s->port()) + "/";
  Chromium browser(chromium, tmp, out_dir);
  const std::string bad = config::fingerprint_of(kBadSecret);
  const std::string good = config::fingerprint_of(kGoodSecret);
  const std::string other = config::fingerprint_of(kOtherSecret);

  // 1. Before any traffic: every provider and key, all ready.
  ProcessRun before = browser.load(page, {"--dump-dom"});
  ASSERT_FALSE(before.timed_out);
  ASSERT_EQ(before.exit_code, 0);
  const std::string& dom = before.out;
  EXPECT_NE(dom.find("data-provider=\"oa\""), std::string::npos) << dom;
  EXPECT_NE(dom.find("data-provider=\"backup\""), std::string::npos) << dom;
  for (const auto& fp : {bad, good, other}) {
    EXPECT_NE(key_row(dom, fp).find(">ready<"), std::string::npos) << fp << "\n" << dom;
  }
  // /status answered (the script's own text has a quote, not a tag, before it).
  EXPECT_NE(dom.find(">live · updated "), std::string::npos) << dom;
  expect_no_secret(dom, "the rendered page");

  // 2. The revoked key draws a 401 and cools; the page shows it with its class.
  HttpClient c(s->port());
  ASSERT_EQ(c.request("POST", "/v1/chat/completions", {}, kChat).status, 200);
  const std::string shot = (out_dir / "live_page.png").string();
  std::filesystem::remove(shot);
  ProcessRun after = browser.load(page, {"--dump-dom"});
  ASSERT_FALSE(after.timed_out);
  ASSERT_EQ(after.exit_code, 0);
  const std::string bad_row = key_row(after.out, bad);
  EXPECT_NE(bad_row.find("data-class=\"AUTH\""), std::string::npos) << after.out;
  EXPECT_NE(bad_row.find("cooling AUTH"), std::string::npos) << bad_row;
  EXPECT_NE(bad_row.find("AUTH via"), std::string::npos) << bad_row;   // the reason
  EXPECT_NE(bad_row.find("countdown"), std::string::npos) << bad_row;  // time left
  EXPECT_NE(key_row(after.out, good).find(">ready<"), std::string::npos) << after.out;
  EXPECT_NE(key_row(after.out, good).find("reset in"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("event kind-cooldown"), std::string::npos) << after.out;
  for (const auto& fp : {bad, good, other}) {  // no holes rendered as text
    for (const char* hole : {"null", "undefined", "NaN"}) {
      EXPECT_EQ(key_row(after.out, fp).find(hole), std::string::npos) << hole << " in " << fp;
    }
  }
  expect_no_secret(after.out, "the rendered page");

  // 3. A screenshot for humans, in the build tree's test output.
  ProcessRun png = browser.load(page, {"--screenshot=" + shot, "--hide-scrollbars"});
  EXPECT_FALSE(png.timed_out);
  ASSERT_TRUE(std::filesystem::exists(shot)) << "no screenshot at " << shot;
  EXPECT_GT(std::filesystem::file_size(shot), 10000U);
  std::cout << "live page screenshot: " << shot << "\n";
}

}  // namespace
}  // namespace sluice::server
