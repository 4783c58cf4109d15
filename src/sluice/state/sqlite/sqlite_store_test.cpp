// What only the SQLite backend has: a file that outlives the process, other
// processes on the same file, a schema with versions, and files that go bad.
// Shared behaviour is in ../conformance_test.cpp.
#include "sluice/state/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "sluice/core/rng.hpp"
#include "sluice/policy/credentials/credential_pool.hpp"
#include "sluice/state/test_support.hpp"

namespace sluice::state {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint(seconds(1'800'000'000));

std::unique_ptr<SqliteStore> open_ok(const std::string& path,
                                     OnBadFile on_bad_file = OnBadFile::kRefuse) {
  auto opened = SqliteStore::open({.path = path, .on_bad_file = on_bad_file});
  EXPECT_TRUE(opened.ok()) << opened.error().message;
  if (!opened) return nullptr;
  EXPECT_EQ(opened.value().warnings, std::vector<std::string>{});
  return std::move(opened.value().store);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// Runs SQL on the file behind the store's back, as an operator with the
// sqlite3 shell would. Returns the first column of the first row, if any.
std::string raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string first;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_exec(
        db, sql.c_str(),
        [](void* out, int n, char** values, char**) {
          auto& s = *static_cast<std::string*>(out);
          if (s.empty() && n > 0 && values[0]) s = values[0];
          return 0;
        },
        &first, nullptr);
  }
  sqlite3_close(db);
  return first;
}

// Runs `fn` without the power to ignore file permissions: directly when not
// root, else in a forked child that has become nobody. Returns fn's text, or
// "SKIP" when privileges cannot be dropped here.
std::string as_unprivileged(const std::function<std::string()>& fn) {
  if (::geteuid() != 0) return fn();
  int fds[2];
  if (::pipe(fds) != 0) return "SKIP";
  const pid_t pid = ::fork();
  if (pid < 0) return "SKIP";
  if (pid == 0) {
    ::close(fds[0]);
    std::string out = "SKIP";
    if (::setgid(65534) == 0 && ::setuid(65534) == 0) out = fn();
    const char* p = out.data();
    std::size_t left = out.size();
    while (left > 0) {
      const ssize_t n = ::write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

// The text a test asserts on: the error, or "OK" plus any warnings.
std::string open_outcome(const std::string& path, OnBadFile on_bad_file) {
  auto opened = SqliteStore::open({.path = path, .on_bad_file = on_bad_file});
  if (!opened) return "ERROR " + opened.error().message;
  std::string out = "OK";
  for (const auto& w : opened.value().warnings) out += " WARNING " + w;
  return out;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }
  std::string path() const { return dir_.file("state.db"); }
  test::TempDir dir_;
};

TEST_F(SqliteStoreTest, ARestartKeepsCooldownsAndTheRoundRobinPosition) {
  const std::string pool_id = "openai";
  const auto scope = [](const policy::KeyState& k) {
    return "https://api.openai.com/v1|" + k.fingerprint;
  };
  SeededRng rng(1);  // round robin never draws
  {
    // First life: two round-robin picks, then key b hits a rate limit.
    policy::PoolState pool;
    for (const char* fp : {"key:a", "key:b", "key:c"}) pool.keys.push_back({.fingerprint = fp});
    for (int i = 0; i < 2; ++i) {
      pool = policy::select_key(std::move(pool), policy::SelectionStrategy::kRoundRobin, kT0, rng)
                 .next;
    }
    pool = policy::record_failure(std::move(pool), 1,
                                  {.cls = ErrorClass::kRateLimit,
                                   .cooldown = minutes(2),
                                   .from_provider_hint = true,
                                   .reason = "RATE_LIMIT via openai.429"},
                                  kT0, {});
    // Write through, as the engine does on every change.
    auto store = open_ok(path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put_cursor(pool_id, pool.cursor).ok());
    for (const auto& k : pool.keys) {
      ASSERT_TRUE(store
                      ->put_cooldown({.key_scope = scope(k),
                                      .cooling_until = k.cooling_until,
                                      .cooling_class = k.cooling_class,
                                      .reason = k.cooling_reason,
                                      .consecutive_failures = k.consecutive_failures,
                                      .disabled = k.disabled})
                      .ok());
    }
  }

  // Second life, a few seconds later: load at start.
  auto store = open_ok(path());
  ASSERT_NE(store, nullptr);
  policy::PoolState pool;
  for (const char* fp : {"key:a", "key:b", "key:c"}) pool.keys.push_back({.fingerprint = fp});
  pool.cursor = store->get_cursor(pool_id).value().value_or(0);
  for (auto& k : pool.keys) {
    const auto saved = store->get_cooldown(scope(k)).value();
    ASSERT_TRUE(saved.has_value()) << k.fingerprint;
    k.cooling_until = saved->cooling_until;
    k.cooling_class = saved->cooling_class;
    k.cooling_reason = saved->reason;
    k.consecutive_failures = saved->consecutive_failures;
    k.disabled = saved->disabled;
  }
  EXPECT_EQ(pool.keys[1].cooling_until, kT0 + minutes(2));
  EXPECT_EQ(pool.keys[1].cooling_reason, "RATE_LIMIT via openai.429");

  // Fresh state would pick a, b, c; the restored one goes on from c and skips benched b.
  std::vector<std::size_t> picks;
  for (int i = 0; i < 3; ++i) {
    auto s = policy::select_key(std::move(pool), policy::SelectionStrategy::kRoundRobin,
                                kT0 + seconds(5), rng);
    pool = std::move(s.next);
    picks.push_back(s.index.value_or(99));
  }
  EXPECT_EQ(picks, (std::vector<std::size_t>{2, 0, 2}));
  const auto active = store->list_active_cooldowns(kT0 + seconds(5));
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active.value().size(), 1u);
  EXPECT_EQ(active.value()[0].key_scope, "https://api.openai.com/v1|key:b");
}

TEST_F(SqliteStoreTest, EverythingSurvivesAReopen) {
  {
    auto store = open_ok(path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put_adaptive_limit("k", "glm-4.7", 2).ok());
    ASSERT_TRUE(store->put_snapshot("k", "glm-4.7", test::full_snapshot(kT0)).ok());
    ASSERT_TRUE(store->add_usage({"k", "glm-4.7", "2027-01-15"}, {3, 4000}).ok());
  }
  auto store = open_ok(path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->get_adaptive_limit("k", "glm-4.7").value(), 2);
  const auto snapshot = store->get_snapshot("k", "glm-4.7");
  ASSERT_TRUE(snapshot.ok() && snapshot.value().has_value());
  test::expect_same_snapshot(*snapshot.value(), test::full_snapshot(kT0));
  EXPECT_EQ(store->get_usage({"k", "glm-4.7", "2027-01-15"}).value(), (UsageCounts{3, 4000}));
}

TEST_F(SqliteStoreTest, ASecondHandleOnTheSameFileSeesWritesAtOnce) {
  // Two gateway processes on one machine: two connections, no shared memory.
  auto first = open_ok(path());
  auto second = open_ok(path());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);

  ASSERT_TRUE(first
                  ->put_cooldown({.key_scope = "k",
                                  .cooling_until = kT0 + minutes(1),
                                  .cooling_class = ErrorClass::kConcurrencyLimit,
                                  .reason = "CONCURRENCY_LIMIT via zai.1302"})
                  .ok());
  ASSERT_TRUE(first->put_cursor("zai", 1).ok());
  ASSERT_TRUE(first->put_adaptive_limit("k", "glm-5.1", 1).ok());
  ASSERT_TRUE(first->put_snapshot("k", "glm-5.1", test::full_snapshot(kT0)).ok());

  const auto seen = second->get_cooldown("k").value();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->cooling_class, ErrorClass::kConcurrencyLimit);
  EXPECT_EQ(second->get_cursor("zai").value(), 1u);
  EXPECT_EQ(second->get_adaptive_limit("k", "glm-5.1").value(), 1);
  EXPECT_TRUE(second->get_snapshot("k", "glm-5.1").value().has_value());

  // Writes go both ways, and counters from both add up.
  ASSERT_TRUE(second->erase_cooldown("k").ok());
  EXPECT_EQ(first->get_cooldown("k").value(), std::nullopt);
  const UsageKey usage{"k", "glm-5.1", "2027-01-15"};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(first->add_usage(usage, {1, 10}).ok());
    ASSERT_TRUE(second->add_usage(usage, {1, 5}).ok());
  }
  EXPECT_EQ(first->get_usage(usage).value(), (UsageCounts{20, 150}));
}

TEST_F(SqliteStoreTest, RecordsItsSchemaVersionAndRunsInWalMode) {
  {
    auto store = open_ok(path());
    ASSERT_NE(store, nullptr);
    const StoreInfo info = store->info();
    EXPECT_EQ(info.backend, "sqlite");
    EXPECT_EQ(info.location, path());
    EXPECT_EQ(info.schema_version, 2);
    EXPECT_EQ(SqliteStore::latest_schema_version(), 2);
  }
  ASSERT_NE(open_ok(path()), nullptr);  // a reopen applies nothing twice
  EXPECT_EQ(raw_sql(path(), "SELECT count(*) FROM schema_version"), "2");
  EXPECT_EQ(raw_sql(path(), "SELECT group_concat(version) FROM schema_version"), "1,2");
  EXPECT_TRUE(contains(raw_sql(path(), "SELECT description FROM schema_version WHERE version = 1"),
                       "key cooldowns"));
  EXPECT_EQ(raw_sql(path(), "PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, AVersionOneFileGainsConversationsAndKeepsItsCooldowns) {
  const TimePoint t0 = TimePoint(std::chrono::seconds(1'800'000'000));
  {
    auto store = open_ok(path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put_cooldown({.key_scope = "k", .cooling_until = t0, .reason = "r"}).ok());
  }
  // What a sluice of schema 1 left behind.
  raw_sql(path(), "DROP TABLE conversations");
  raw_sql(path(), "DELETE FROM schema_version WHERE version = 2");
  auto store = open_ok(path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->info().schema_version, 2);
  EXPECT_EQ(store->get_cooldown("k").value()->cooling_until, t0);
  ASSERT_TRUE(store->put_conversation("resp_1", "[]", t0, t0 + std::chrono::hours(1)).ok());
  EXPECT_EQ(store->get_conversation("resp_1", t0).value(), "[]");
}

TEST_F(SqliteStoreTest, AnExpiredConversationIsDeletedFromTheFileNotOnlyHidden) {
  const TimePoint t0 = TimePoint(std::chrono::seconds(1'800'000'000));
  auto store = open_ok(path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store->put_conversation("resp_old", "secret words", t0, t0 + std::chrono::hours(1)).ok());
  ASSERT_TRUE(store
                  ->put_conversation("resp_new", "[]", t0 + std::chrono::hours(2),
                                     t0 + std::chrono::hours(3))
                  .ok());
  EXPECT_EQ(raw_sql(path(), "SELECT group_concat(response_id) FROM conversations"), "resp_new");
}

TEST_F(SqliteStoreTest, AFileFromANewerSluiceIsRefusedEvenWhenStartingEmptyIsAllowed) {
  ASSERT_NE(open_ok(path()), nullptr);
  raw_sql(path(), "INSERT INTO schema_version VALUES (99, 'from the future')");
  const std::string outcome = open_outcome(path(), OnBadFile::kStartEmpty);
  EXPECT_TRUE(contains(outcome, "ERROR")) << outcome;
  EXPECT_TRUE(contains(outcome, "schema version 99 is newer")) << outcome;
  EXPECT_TRUE(contains(outcome, path())) << outcome;
  EXPECT_FALSE(fs::exists(path() + ".corrupt-1"));  // a good file is never moved
}

TEST_F(SqliteStoreTest, CreatesParentDirectories) {
  const std::string deep = dir_.file("a/b/c/state.db");
  auto store = open_ok(deep);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::exists(deep));
}

TEST_F(SqliteStoreTest, ANonDatabaseIsRefusedWithThePathAndSqlitesMessage) {
  const std::string garbage(8192, '\x5a');
  write_bytes(path(), garbage);
  const std::string outcome = open_outcome(path(), OnBadFile::kRefuse);
  EXPECT_TRUE(contains(outcome, "ERROR")) << outcome;
  EXPECT_TRUE(contains(outcome, "\"" + path() + "\"")) << outcome;
  EXPECT_TRUE(contains(outcome, "file is not a database")) << outcome;
  EXPECT_TRUE(contains(outcome, "left untouched")) << outcome;
  EXPECT_EQ(read_bytes(path()), garbage);
  EXPECT_FALSE(fs::exists(path() + ".corrupt-1"));
}

TEST_F(SqliteStoreTest, StartingEmptyMovesTheBadFileAsideAndSaysSo) {
  const std::string garbage = "not a database\n" + std::string(8192, '\x01');
  write_bytes(path(), garbage);
  auto opened = SqliteStore::open({.path = path(), .on_bad_file = OnBadFile::kStartEmpty});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  ASSERT_EQ(opened.value().warnings.size(), 1u);
  const std::string& warning = opened.value().warnings[0];
  EXPECT_TRUE(contains(warning, "\"" + path() + "\"")) << warning;
  EXPECT_TRUE(contains(warning, "file is not a database")) << warning;
  EXPECT_TRUE(contains(warning, "moved it to \"" + path() + ".corrupt-1\"")) << warning;
  EXPECT_EQ(opened.value().store->info().warnings, opened.value().warnings);
  EXPECT_EQ(read_bytes(path() + ".corrupt-1"), garbage);  // kept, byte for byte

  // The new file works and starts empty.
  Store& store = *opened.value().store;
  EXPECT_EQ(store.list_cooldowns().value().size(), 0u);
  ASSERT_TRUE(store.put_cursor("p", 3).ok());
  EXPECT_EQ(store.get_cursor("p").value(), 3u);
  opened.value().store.reset();

  // A second bad file does not overwrite the first one set aside.
  write_bytes(path(), "also bad" + std::string(8192, '\x02'));
  const std::string outcome = open_outcome(path(), OnBadFile::kStartEmpty);
  EXPECT_TRUE(contains(outcome, "OK WARNING")) << outcome;
  EXPECT_TRUE(contains(outcome, ".corrupt-2\"")) << outcome;
  EXPECT_EQ(read_bytes(path() + ".corrupt-1"), garbage);
}

TEST_F(SqliteStoreTest, ADamagedPageIsCaught) {
  {
    auto store = open_ok(path());
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(store
                      ->put_cooldown({.key_scope = "key:" + std::to_string(i),
                                      .reason = std::string(500, static_cast<char>('a' + i % 26))})
                      .ok());
    }
  }  // the last connection checkpoints the WAL into the file
  std::string bytes = read_bytes(path());
  ASSERT_GT(bytes.size(), 8u * 4096u);
  for (std::size_t i = 4 * 4096; i < 5 * 4096; ++i) bytes[i] = static_cast<char>(i * 7);
  write_bytes(path(), bytes);

  const std::string refused = open_outcome(path(), OnBadFile::kRefuse);
  EXPECT_TRUE(contains(refused, "ERROR")) << refused;
  EXPECT_TRUE(contains(refused, path())) << refused;
  EXPECT_TRUE(contains(refused, "cannot be used")) << refused;

  const std::string started = open_outcome(path(), OnBadFile::kStartEmpty);
  EXPECT_TRUE(contains(started, "OK WARNING")) << started;
  EXPECT_EQ(read_bytes(path() + ".corrupt-1"), bytes);
}

TEST_F(SqliteStoreTest, AnotherProgramsDatabaseIsNotAdopted) {
  raw_sql(path(), "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)");
  const std::string outcome = open_outcome(path(), OnBadFile::kRefuse);
  EXPECT_TRUE(contains(outcome, "ERROR")) << outcome;
  EXPECT_TRUE(contains(outcome, "without sluice's schema_version table")) << outcome;
  EXPECT_EQ(raw_sql(path(), "SELECT count(*) FROM sqlite_master WHERE name = 'key_cooldowns'"),
            "0");
}

TEST_F(SqliteStoreTest, ADirectoryThatCannotHoldTheFileIsAClearError) {
  // A parent that is a file: no privilege helps.
  write_bytes(dir_.file("not-a-dir"), "x");
  for (const OnBadFile mode : {OnBadFile::kRefuse, OnBadFile::kStartEmpty}) {
    const std::string outcome = open_outcome(dir_.file("not-a-dir/state.db"), mode);
    EXPECT_TRUE(contains(outcome, "ERROR cannot create the directory")) << outcome;
    EXPECT_TRUE(contains(outcome, dir_.file("not-a-dir"))) << outcome;
  }
  // The path is a directory.
  fs::create_directories(dir_.file("dir.db"));
  EXPECT_TRUE(
      contains(open_outcome(dir_.file("dir.db"), OnBadFile::kStartEmpty), "is a directory"));
}

TEST_F(SqliteStoreTest, AnUnwritableDirectoryIsAClearError) {
  const std::string locked = dir_.file("locked");
  fs::create_directories(locked);
  ::chmod(dir_.path().c_str(), 0755);
  ::chmod(locked.c_str(), 0555);
  const std::string outcome =
      as_unprivileged([&] { return open_outcome(locked + "/state.db", OnBadFile::kStartEmpty); });
  ::chmod(locked.c_str(), 0755);
  if (outcome == "SKIP") GTEST_SKIP() << "cannot drop privileges here";
  EXPECT_TRUE(contains(outcome, "ERROR cannot create state file \"" + locked + "/state.db\""))
      << outcome;
  EXPECT_TRUE(contains(outcome, "unable to open database file")) << outcome;
  EXPECT_TRUE(contains(outcome, "is not writable")) << outcome;
}

TEST_F(SqliteStoreTest, AnUnwritableOrUnreadableFileIsABadFile) {
  ASSERT_NE(open_ok(path()), nullptr);
  ::chmod(dir_.path().c_str(), 0777);
  ::chmod(path().c_str(), 0444);
  const std::string read_only = as_unprivileged([&] {
    std::string both = open_outcome(path(), OnBadFile::kRefuse);  // first, then:
    return both + "\n" + open_outcome(path(), OnBadFile::kStartEmpty);
  });
  if (read_only == "SKIP") GTEST_SKIP() << "cannot drop privileges here";
  EXPECT_TRUE(contains(read_only, "ERROR state file \"" + path() + "\" cannot be used"))
      << read_only;
  EXPECT_TRUE(contains(read_only, "not writable")) << read_only;
  EXPECT_TRUE(contains(read_only, "\nOK WARNING")) << read_only;
  EXPECT_TRUE(fs::exists(path() + ".corrupt-1"));

  write_bytes(dir_.file("secret.db"), "");
  ::chmod(dir_.file("secret.db").c_str(), 0000);
  const std::string unreadable =
      as_unprivileged([&] { return open_outcome(dir_.file("secret.db"), OnBadFile::kRefuse); });
  EXPECT_TRUE(contains(unreadable, "ERROR state file \"" + dir_.file("secret.db") + "\""))
      << unreadable;
  EXPECT_TRUE(contains(unreadable, "unable to open database file")) << unreadable;
}

TEST_F(SqliteStoreTest, AnUnreadableStoredSnapshotIsAnErrorNotAMadeUpBudget) {
  auto store = open_ok(path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->put_snapshot("k", "m", test::full_snapshot(kT0)).ok());
  raw_sql(path(), "UPDATE budget_snapshots SET snapshot = 'sluice-snapshot/1\ntruncated'");
  const auto got = store->get_snapshot("k", "m");
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(contains(got.error().message, "unreadable")) << got.error().message;
  EXPECT_EQ(store->info().last_error, got.error().message);
}

}  // namespace
}  // namespace sluice::state
