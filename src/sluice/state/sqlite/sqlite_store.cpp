#include "sluice/state/sqlite/sqlite_store.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <mutex>
#include <system_error>
#include <variant>

#include "sluice/state/snapshot_codec.hpp"

namespace sluice::state {

namespace {

namespace fs = std::filesystem;

// The schema's history. To change the schema, append a migration with the
// next number; never edit one that has shipped, since files in the field were
// built by it. Each runs once, inside the same transaction that records it in
// schema_version.
struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

constexpr std::array<Migration, 2> kMigrations = {{
    {1, "key cooldowns, rotation cursors, adaptive limits, budget snapshots, usage counters",
     R"sql(
CREATE TABLE key_cooldowns (
  key_scope            TEXT    NOT NULL PRIMARY KEY,  -- "base_url|fingerprint"
  cooling_until_ns     INTEGER,                       -- ns since the Unix epoch; NULL: not cooling
  error_class          TEXT,                          -- "RATE_LIMIT", ...; NULL: none
  reason               TEXT    NOT NULL,
  consecutive_failures INTEGER NOT NULL,
  disabled             INTEGER NOT NULL               -- 0 or 1
) WITHOUT ROWID;
CREATE TABLE rotation_cursors (
  pool_id  TEXT    NOT NULL PRIMARY KEY,              -- provider name
  position INTEGER NOT NULL                           -- a size_t, stored modulo 2^64
) WITHOUT ROWID;
CREATE TABLE adaptive_limits (
  key_scope         TEXT    NOT NULL,
  bucket            TEXT    NOT NULL,                 -- limiter bucket: "" or a model (z.ai)
  concurrency_limit INTEGER NOT NULL,
  PRIMARY KEY (key_scope, bucket)
) WITHOUT ROWID;
CREATE TABLE budget_snapshots (
  key_scope   TEXT    NOT NULL,
  model       TEXT    NOT NULL,
  taken_at_ns INTEGER NOT NULL,                       -- also inside `snapshot`; here for queries
  snapshot    TEXT    NOT NULL,                       -- state/snapshot_codec.hpp
  PRIMARY KEY (key_scope, model)
) WITHOUT ROWID;
CREATE TABLE usage_counters (
  key_scope TEXT    NOT NULL,
  model     TEXT    NOT NULL,
  day       TEXT    NOT NULL,                         -- UTC "YYYY-MM-DD"
  requests  INTEGER NOT NULL,
  tokens    INTEGER NOT NULL,
  PRIMARY KEY (key_scope, model, day)
) WITHOUT ROWID;
)sql"},
    {2, "Responses API conversations", R"sql(
CREATE TABLE conversations (
  response_id  TEXT    NOT NULL PRIMARY KEY,          -- "resp_..."
  expires_ns   INTEGER NOT NULL,                      -- ns since the Unix epoch
  conversation TEXT    NOT NULL                       -- JSON, translate/responses_state.hpp
) WITHOUT ROWID;
CREATE INDEX conversations_by_expiry ON conversations (expires_ns);
)sql"},
    // {3, "what it adds", R"sql(ALTER TABLE ... ;)sql"},
}};

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Why an open failed decides what OnBadFile may do: only a file that is
// itself unusable is moved aside. A busy lock, a full disk or a newer schema
// say nothing bad about the file, and moving it would lose good state.
enum class OpenFailure : std::uint8_t { kBadFile, kOther };

struct OpenError {
  OpenFailure kind;
  std::string message;
};

bool is_bad_file_code(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM: return true;
    default: return false;
  }
}

OpenError sqlite_failure(sqlite3* db, int rc, std::string_view doing) {
  const char* msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return OpenError{is_bad_file_code(rc) ? OpenFailure::kBadFile : OpenFailure::kOther,
                   std::string(doing) + ": " + msg};
}

// Runs statements that return no rows we need.
std::optional<OpenError> exec(sqlite3* db, std::string_view sql, std::string_view doing) {
  const int rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return std::nullopt;
  return sqlite_failure(db, rc, doing);
}

// A statement in use: binds, steps, and on scope exit resets and clears it so
// the prepared statement is ready for the next call and holds no stale
// pointers into the caller's strings.
class Bound {
 public:
  explicit Bound(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Bound() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Bound(const Bound&) = delete;
  Bound& operator=(const Bound&) = delete;

  Bound& text(int index, std::string_view value) {
    // A null pointer would bind SQL NULL; an empty key is still a key.
    const char* data = value.data() != nullptr ? value.data() : "";
    note(sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
  }
  Bound& integer(int index, std::int64_t value) {
    note(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Bound& null(int index) {
    note(sqlite3_bind_null(stmt_, index));
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or the error (a failed bind included).
  int step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }

  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::int64_t integer_at(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text_at(int col) const {
    // Text first, then its length: the order SQLite documents.
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    if (p == nullptr || n <= 0) return {};
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
  }

 private:
  void note(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

std::optional<OpenError> prepare(sqlite3* db, std::string_view sql, StmtHandle& out,
                                 std::string_view doing = {}) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  out.reset(stmt);
  if (rc == SQLITE_OK) return std::nullopt;
  return sqlite_failure(
      db, rc, doing.empty() ? "preparing \"" + std::string(sql) + "\"" : std::string(doing));
}

// Applies every migration newer than the file's version, in one IMMEDIATE
// transaction so two processes opening a new file at once migrate it once.
std::variant<int, OpenError> migrate(sqlite3* db) {
  if (auto e = exec(db, "BEGIN IMMEDIATE", "starting the schema check")) return *e;
  const auto fail = [&](OpenError e) -> std::variant<int, OpenError> {
    exec(db, "ROLLBACK", "");
    return e;
  };

  StmtHandle probe;
  if (auto e = prepare(db,
                       "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'schema_version'), (SELECT count(*) FROM sqlite_master WHERE name "
                       "NOT LIKE 'sqlite\\_%' ESCAPE '\\')",
                       probe)) {
    return fail(*e);
  }
  bool has_version_table = false;
  std::int64_t objects = 0;
  {
    Bound q(probe.get());
    const int rc = q.step();
    if (rc != SQLITE_ROW) return fail(sqlite_failure(db, rc, "reading the schema"));
    has_version_table = q.integer_at(0) > 0;
    objects = q.integer_at(1);
  }
  // Tables but not ours: a wrong path, not a state file to add tables to.
  if (!has_version_table && objects > 0) {
    return fail(OpenError{OpenFailure::kBadFile,
                          "it is a SQLite database without sluice's schema_version table (" +
                              std::to_string(objects) + " other tables or indexes)"});
  }
  if (auto e = exec(db,
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY "
                    "KEY, description TEXT NOT NULL)",
                    "creating schema_version")) {
    return fail(*e);
  }

  StmtHandle read_version;
  if (auto e = prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version", read_version)) {
    return fail(*e);
  }
  std::int64_t current = 0;
  {
    Bound q(read_version.get());
    const int rc = q.step();
    if (rc != SQLITE_ROW) return fail(sqlite_failure(db, rc, "reading schema_version"));
    current = q.integer_at(0);
  }
  const int latest = kMigrations.back().version;
  if (current > latest) {
    return fail(OpenError{OpenFailure::kOther, "its schema version " + std::to_string(current) +
                                                   " is newer than this sluice understands (" +
                                                   std::to_string(latest) +
                                                   "); use a newer sluice or another path"});
  }

  StmtHandle record;
  if (auto e = prepare(db, "INSERT INTO schema_version (version, description) VALUES (?1, ?2)",
                       record)) {
    return fail(*e);
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= current) continue;
    const std::string doing = "applying migration " + std::to_string(m.version);
    if (auto e = exec(db, m.sql, doing)) return fail(*e);
    Bound q(record.get());
    const int rc = q.integer(1, m.version).text(2, m.description).step();
    if (rc != SQLITE_DONE) return fail(sqlite_failure(db, rc, doing));
  }
  if (auto e = exec(db, "COMMIT", "committing the schema")) return fail(*e);
  return latest;
}

}  // namespace

struct SqliteStore::Impl {
  std::string path;
  DbHandle db;
  int schema_version = 0;
  std::vector<std::string> warnings;

  // One connection, one set of prepared statements: calls are serialised.
  mutable std::mutex mu;
  std::string last_error;

  StmtHandle put_cooldown, get_cooldown, erase_cooldown, list_cooldowns;
  StmtHandle put_cursor, get_cursor;
  StmtHandle put_limit, get_limit;
  StmtHandle put_snapshot, get_snapshot;
  StmtHandle add_usage, get_usage;
  StmtHandle put_conversation, prune_conversations, get_conversation, erase_conversation;

  std::optional<OpenError> prepare_all() {
    static constexpr std::string_view kCooldownColumns =
        "key_scope, cooling_until_ns, error_class, reason, consecutive_failures, disabled";
    const std::pair<StmtHandle*, std::string> statements[] = {
        {&put_cooldown, "INSERT OR REPLACE INTO key_cooldowns (" + std::string(kCooldownColumns) +
                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
        {&get_cooldown,
         "SELECT " + std::string(kCooldownColumns) + " FROM key_cooldowns WHERE key_scope = ?1"},
        {&erase_cooldown, "DELETE FROM key_cooldowns WHERE key_scope = ?1"},
        {&list_cooldowns,
         "SELECT " + std::string(kCooldownColumns) + " FROM key_cooldowns ORDER BY key_scope"},
        {&put_cursor,
         "INSERT OR REPLACE INTO rotation_cursors (pool_id, position) VALUES (?1, ?2)"},
        {&get_cursor, "SELECT position FROM rotation_cursors WHERE pool_id = ?1"},
        {&put_limit,
         "INSERT OR REPLACE INTO adaptive_limits (key_scope, bucket, concurrency_limit) "
         "VALUES (?1, ?2, ?3)"},
        {&get_limit,
         "SELECT concurrency_limit FROM adaptive_limits WHERE key_scope = ?1 AND bucket = ?2"},
        {&put_snapshot,
         "INSERT OR REPLACE INTO budget_snapshots (key_scope, model, taken_at_ns, snapshot) "
         "VALUES (?1, ?2, ?3, ?4)"},
        {&get_snapshot,
         "SELECT snapshot FROM budget_snapshots WHERE key_scope = ?1 AND model = ?2"},
        // Saturating sums: SQLite would turn an overflowing integer sum into
        // a float, which is neither exact nor what the other backends do.
        {&add_usage,
         "INSERT INTO usage_counters (key_scope, model, day, requests, tokens) "
         "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key_scope, model, day) DO UPDATE SET "
         "requests = CASE WHEN requests > 9223372036854775807 - excluded.requests "
         "THEN 9223372036854775807 ELSE requests + excluded.requests END, "
         "tokens = CASE WHEN tokens > 9223372036854775807 - excluded.tokens "
         "THEN 9223372036854775807 ELSE tokens + excluded.tokens END "
         "RETURNING requests, tokens"},
        {&get_usage,
         "SELECT requests, tokens FROM usage_counters WHERE key_scope = ?1 AND model = ?2 AND "
         "day = ?3"},
        {&put_conversation,
         "INSERT OR REPLACE INTO conversations (response_id, expires_ns, conversation) "
         "VALUES (?1, ?2, ?3)"},
        {&prune_conversations, "DELETE FROM conversations WHERE expires_ns <= ?1"},
        {&erase_conversation, "DELETE FROM conversations WHERE response_id = ?1"},
        {&get_conversation,
         "SELECT conversation FROM conversations WHERE response_id = ?1 AND expires_ns > ?2"},
    };
    for (const auto& [handle, sql] : statements) {
      if (auto e = prepare(db.get(), sql, *handle)) return e;
    }
    return std::nullopt;
  }

  // Records and returns the error of a failed call. Caller holds `mu`.
  StoreError fail(std::string_view op, int rc) {
    return fail(op, std::string(rc == SQLITE_OK ? "misuse" : sqlite3_errmsg(db.get())));
  }
  StoreError fail(std::string_view op, const std::string& why) {
    last_error = "sqlite \"" + path + "\": " + std::string(op) + ": " + why;
    return StoreError{last_error};
  }

  Result<KeyCooldown> cooldown_row(const Bound& row) {
    KeyCooldown c;
    c.key_scope = row.text_at(0);
    if (!row.is_null(1)) c.cooling_until = TimePoint(Duration(row.integer_at(1)));
    if (!row.is_null(2)) {
      const std::string name = row.text_at(2);
      c.cooling_class = error_class_from_string(name);
      if (!c.cooling_class) {
        return fail("reading cooldown",
                    "unknown error class \"" + name + "\" for key scope \"" + c.key_scope + "\"");
      }
    }
    c.reason = row.text_at(3);
    const std::int64_t failures = row.integer_at(4);
    if (failures < std::numeric_limits<int>::min() || failures > std::numeric_limits<int>::max()) {
      return fail("reading cooldown",
                  "consecutive_failures out of range for key scope \"" + c.key_scope + "\"");
    }
    c.consecutive_failures = static_cast<int>(failures);
    c.disabled = row.integer_at(5) != 0;
    return c;
  }

  static std::variant<std::unique_ptr<Impl>, OpenError> connect(const SqliteOptions& options);
};

// Opens one connection and brings the file to the current schema. On failure
// the connection is closed before this returns.
std::variant<std::unique_ptr<SqliteStore::Impl>, OpenError> SqliteStore::Impl::connect(
    const SqliteOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = options.path;
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(options.path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  impl->db.reset(raw);
  sqlite3* db = raw;
  if (rc != SQLITE_OK) return sqlite_failure(db, rc, "opening");
  // READWRITE quietly falls back to read-only on a write-protected file;
  // state we cannot write is state we would silently stop keeping.
  if (sqlite3_db_readonly(db, "main") == 1) {
    return OpenError{OpenFailure::kBadFile, "the file is not writable"};
  }
  const auto busy_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options.busy_timeout).count();
  sqlite3_busy_timeout(db, static_cast<int>(std::clamp<std::int64_t>(busy_ms, 0, 1 << 30)));

  // The first statement reads the header: a non-database fails here.
  StmtHandle journal;
  if (auto e = prepare(db, "PRAGMA journal_mode = WAL", journal, "reading the file")) return *e;
  {
    Bound q(journal.get());
    const int step_rc = q.step();
    if (step_rc != SQLITE_ROW) return sqlite_failure(db, step_rc, "switching to WAL");
    const std::string mode = q.text_at(0);
    if (mode != "wal") {
      impl->warnings.push_back("state file \"" + options.path + "\" runs in journal mode " + mode +
                               ", not WAL: readers and the writer will wait for each other");
    }
  }
  // WAL with synchronous=NORMAL cannot corrupt the file on a crash; it may
  // lose the last writes on power loss, which for cooldowns and cursors is
  // harmless, and it keeps an fsync off every write on the serving path.
  if (auto e = exec(db, "PRAGMA synchronous = NORMAL", "setting synchronous")) return *e;

  StmtHandle check;
  if (auto e = prepare(db, "PRAGMA quick_check", check)) return *e;
  {
    Bound q(check.get());
    const int step_rc = q.step();
    if (step_rc != SQLITE_ROW) return sqlite_failure(db, step_rc, "checking integrity");
    std::string verdict = q.text_at(0);
    if (verdict != "ok") {
      std::replace(verdict.begin(), verdict.end(), '\n', ' ');
      return OpenError{OpenFailure::kBadFile, "integrity check failed: " + verdict};
    }
  }

  auto migrated = migrate(db);
  if (auto* e = std::get_if<OpenError>(&migrated)) return *e;
  impl->schema_version = std::get<int>(migrated);
  if (auto e = impl->prepare_all()) return *e;
  return impl;
}

namespace {

struct MoveAside {
  std::string moved_to;  // set on success
  std::string error;     // set on failure
};

// Renames `path` (and its -wal, -shm, -journal companions, which belong to
// it) to the first free "<path>.corrupt-<n>".
MoveAside move_aside(const std::string& path) {
  static constexpr std::array<std::string_view, 3> kCompanions = {"-wal", "-shm", "-journal"};
  const auto exists = [](const std::string& p) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(p, ec));
  };
  for (int n = 1; n <= 1000; ++n) {
    const std::string target = path + ".corrupt-" + std::to_string(n);
    bool taken = exists(target);
    for (const auto suffix : kCompanions) taken = taken || exists(target + std::string(suffix));
    if (taken) continue;
    std::error_code ec;
    fs::rename(path, target, ec);
    if (ec) return {.error = ec.message()};
    for (const auto suffix : kCompanions) {
      const std::string from = path + std::string(suffix);
      if (!exists(from)) continue;
      fs::rename(from, target + std::string(suffix), ec);
      if (ec) {
        return {.error = "moved the file to \"" + target + "\" but not its " + std::string(suffix) +
                         " companion: " + ec.message()};
      }
    }
    return {.moved_to = target};
  }
  return {.error = "1000 earlier .corrupt-<n> files are in the way"};
}

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

int SqliteStore::latest_schema_version() { return kMigrations.back().version; }

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<SqliteOpened> SqliteStore::open(const SqliteOptions& options) {
  const std::string& path = options.path;
  if (path.empty()) return StoreError{"sqlite state file: no path given"};
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) {
      const bool in_the_way = ec == std::errc::file_exists || ec == std::errc::not_a_directory;
      return StoreError{"cannot create the directory " + in_quotes(parent.string()) +
                        " for state file " + in_quotes(path) + ": " + ec.message() +
                        (in_the_way ? " (a file is in the way)" : "")};
    }
  }
  const fs::file_status status = fs::status(path, ec);
  if (fs::is_directory(status)) {
    return StoreError{"state file " + in_quotes(path) + " is a directory"};
  }
  const bool existed = fs::exists(status);

  auto first = Impl::connect(options);
  if (auto* impl = std::get_if<0>(&first)) {
    SqliteOpened opened{std::unique_ptr<SqliteStore>(new SqliteStore(std::move(*impl))), {}};
    opened.warnings = opened.store->impl_->warnings;
    return opened;
  }
  const OpenError err = std::get<OpenError>(std::move(first));

  if (!existed) {
    std::string hint;
    if (!parent.empty() && ::access(parent.c_str(), W_OK) != 0) {
      hint = " (the directory " + in_quotes(parent.string()) + " is not writable)";
    }
    return StoreError{"cannot create state file " + in_quotes(path) + ": " + err.message + hint};
  }
  if (err.kind != OpenFailure::kBadFile) {
    return StoreError{"cannot use state file " + in_quotes(path) + ": " + err.message};
  }
  if (options.on_bad_file == OnBadFile::kRefuse) {
    return StoreError{"state file " + in_quotes(path) + " cannot be used: " + err.message +
                      "; it was left untouched: repair or move it, or open with start-empty to "
                      "have it moved aside"};
  }

  const MoveAside moved = move_aside(path);
  if (moved.moved_to.empty()) {
    return StoreError{"state file " + in_quotes(path) + " cannot be used (" + err.message +
                      ") and could not be moved aside: " + moved.error};
  }
  const std::string warning = "state file " + in_quotes(path) + " could not be used (" +
                              err.message + "); moved it to " + in_quotes(moved.moved_to) +
                              " and started with empty state";
  auto second = Impl::connect(options);
  if (auto* e = std::get_if<OpenError>(&second)) {
    return StoreError{warning + ", but the new file failed too: " + e->message};
  }
  auto& impl = std::get<0>(second);
  impl->warnings.insert(impl->warnings.begin(), warning);
  SqliteOpened opened{std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl))), {}};
  opened.warnings = opened.store->impl_->warnings;
  return opened;
}

Status SqliteStore::put_cooldown(const KeyCooldown& c) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->put_cooldown.get());
  q.text(1, c.key_scope);
  if (c.cooling_until) {
    q.integer(2, c.cooling_until->time_since_epoch().count());
  } else {
    q.null(2);
  }
  if (c.cooling_class) {
    q.text(3, to_string(*c.cooling_class));
  } else {
    q.null(3);
  }
  q.text(4, c.reason).integer(5, c.consecutive_failures).integer(6, c.disabled ? 1 : 0);
  const int rc = q.step();
  if (rc != SQLITE_DONE) return impl_->fail("put_cooldown", rc);
  return Done{};
}

Result<std::optional<KeyCooldown>> SqliteStore::get_cooldown(std::string_view key_scope) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->get_cooldown.get());
  const int rc = q.text(1, key_scope).step();
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return impl_->fail("get_cooldown", rc);
  auto row = impl_->cooldown_row(q);
  if (!row) return row.error();
  return std::move(row.value());
}

Status SqliteStore::erase_cooldown(std::string_view key_scope) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->erase_cooldown.get());
  const int rc = q.text(1, key_scope).step();
  if (rc != SQLITE_DONE) return impl_->fail("erase_cooldown", rc);
  return Done{};
}

Result<std::vector<KeyCooldown>> SqliteStore::list_cooldowns() {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->list_cooldowns.get());
  std::vector<KeyCooldown> all;
  while (true) {
    const int rc = q.step();
    if (rc == SQLITE_DONE) return all;
    if (rc != SQLITE_ROW) return impl_->fail("list_cooldowns", rc);
    auto row = impl_->cooldown_row(q);
    if (!row) return row.error();
    all.push_back(std::move(row.value()));
  }
}

Status SqliteStore::put_cursor(std::string_view pool_id, std::size_t cursor) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->put_cursor.get());
  // Modulo 2^64 both ways, so every size_t round-trips exactly.
  const int rc = q.text(1, pool_id).integer(2, static_cast<std::int64_t>(cursor)).step();
  if (rc != SQLITE_DONE) return impl_->fail("put_cursor", rc);
  return Done{};
}

Result<std::optional<std::size_t>> SqliteStore::get_cursor(std::string_view pool_id) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->get_cursor.get());
  const int rc = q.text(1, pool_id).step();
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return impl_->fail("get_cursor", rc);
  return static_cast<std::size_t>(q.integer_at(0));
}

Status SqliteStore::put_adaptive_limit(std::string_view key_scope, std::string_view bucket,
                                       int limit) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->put_limit.get());
  const int rc = q.text(1, key_scope).text(2, bucket).integer(3, limit).step();
  if (rc != SQLITE_DONE) return impl_->fail("put_adaptive_limit", rc);
  return Done{};
}

Result<std::optional<int>> SqliteStore::get_adaptive_limit(std::string_view key_scope,
                                                           std::string_view bucket) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->get_limit.get());
  const int rc = q.text(1, key_scope).text(2, bucket).step();
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return impl_->fail("get_adaptive_limit", rc);
  const std::int64_t limit = q.integer_at(0);
  if (limit < std::numeric_limits<int>::min() || limit > std::numeric_limits<int>::max()) {
    return impl_->fail("get_adaptive_limit",
                       "stored limit " + std::to_string(limit) + " is out of range");
  }
  return static_cast<int>(limit);
}

Status SqliteStore::put_snapshot(std::string_view key_scope, std::string_view model,
                                 const RateLimitSnapshot& snapshot) {
  const std::string encoded = encode_snapshot(snapshot);
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->put_snapshot.get());
  const int rc = q.text(1, key_scope)
                     .text(2, model)
                     .integer(3, snapshot.taken_at.time_since_epoch().count())
                     .text(4, encoded)
                     .step();
  if (rc != SQLITE_DONE) return impl_->fail("put_snapshot", rc);
  return Done{};
}

Result<std::optional<RateLimitSnapshot>> SqliteStore::get_snapshot(std::string_view key_scope,
                                                                   std::string_view model) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->get_snapshot.get());
  const int rc = q.text(1, key_scope).text(2, model).step();
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return impl_->fail("get_snapshot", rc);
  auto snapshot = decode_snapshot(q.text_at(0));
  if (!snapshot) {
    return impl_->fail("get_snapshot", "the stored snapshot for \"" + std::string(key_scope) +
                                           "\" / \"" + std::string(model) + "\" is unreadable");
  }
  return snapshot;
}

Result<UsageCounts> SqliteStore::add_usage(const UsageKey& key, UsageCounts delta) {
  if (auto bad = detail::check_usage_delta(delta)) return *bad;
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->add_usage.get());
  const int rc = q.text(1, key.key_scope)
                     .text(2, key.model)
                     .text(3, key.day)
                     .integer(4, delta.requests)
                     .integer(5, delta.tokens)
                     .step();
  if (rc != SQLITE_ROW) return impl_->fail("add_usage", rc);
  UsageCounts total{.requests = q.integer_at(0), .tokens = q.integer_at(1)};
  // RETURNING rows are produced before the write is final: step to the end.
  const int done = q.step();
  if (done != SQLITE_DONE) return impl_->fail("add_usage", done);
  return total;
}

Result<UsageCounts> SqliteStore::get_usage(const UsageKey& key) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->get_usage.get());
  const int rc = q.text(1, key.key_scope).text(2, key.model).text(3, key.day).step();
  if (rc == SQLITE_DONE) return UsageCounts{};
  if (rc != SQLITE_ROW) return impl_->fail("get_usage", rc);
  return UsageCounts{.requests = q.integer_at(0), .tokens = q.integer_at(1)};
}

Status SqliteStore::put_conversation(std::string_view response_id, std::string_view conversation,
                                     TimePoint now, TimePoint expires) {
  std::lock_guard lock(impl_->mu);
  {
    Bound prune(impl_->prune_conversations.get());
    const int rc = prune.integer(1, now.time_since_epoch().count()).step();
    if (rc != SQLITE_DONE) return impl_->fail("put_conversation", rc);
  }
  if (expires <= now) {  // gone at once: nothing of it stays
    Bound erase(impl_->erase_conversation.get());
    const int rc = erase.text(1, response_id).step();
    if (rc != SQLITE_DONE) return impl_->fail("put_conversation", rc);
    return Done{};
  }
  Bound q(impl_->put_conversation.get());
  const int rc = q.text(1, response_id)
                     .integer(2, expires.time_since_epoch().count())
                     .text(3, conversation)
                     .step();
  if (rc != SQLITE_DONE) return impl_->fail("put_conversation", rc);
  return Done{};
}

Result<std::optional<std::string>> SqliteStore::get_conversation(std::string_view response_id,
                                                                 TimePoint now) {
  std::lock_guard lock(impl_->mu);
  Bound q(impl_->get_conversation.get());
  const int rc = q.text(1, response_id).integer(2, now.time_since_epoch().count()).step();
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return impl_->fail("get_conversation", rc);
  return q.text_at(0);
}

StoreInfo SqliteStore::info() const {
  std::lock_guard lock(impl_->mu);
  return StoreInfo{.backend = "sqlite",
                   .location = impl_->path,
                   .schema_version = impl_->schema_version,
                   .warnings = impl_->warnings,
                   .last_error = impl_->last_error};
}

}  // namespace sluice::state
