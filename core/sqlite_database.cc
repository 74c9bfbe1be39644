// sqlite_database.cc - SQLite behind RAII types; SQLite result codes become Error here.
#include "core/sqlite_database.h"

#include <sqlite3.h>

namespace moat::core {
namespace {

ErrorCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_INTERRUPT:
      return ErrorCode::kTempFail;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kCorrupt;
    case SQLITE_CONSTRAINT:
      return ErrorCode::kInvalid;
    default:  // FULL, IOERR, CANTOPEN, READONLY, PERM, PROTOCOL, ERROR, ...
      return ErrorCode::kIo;
  }
}

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error(CodeFor(rc), fmt::format("sqlite {}: {}", what, message));
}

}  // namespace

SqliteStatement::~SqliteStatement() { sqlite3_finalize(statement_); }

Status SqliteStatement::BindInt(int index, int64_t value) {
  int rc = sqlite3_bind_int64(statement_, index, value);
  if (rc != SQLITE_OK) return Fail(SqliteError(db_, rc, "bind"));
  return {};
}

Status SqliteStatement::BindDouble(int index, double value) {
  int rc = sqlite3_bind_double(statement_, index, value);
  if (rc != SQLITE_OK) return Fail(SqliteError(db_, rc, "bind"));
  return {};
}

Status SqliteStatement::BindText(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
  if (rc != SQLITE_OK) return Fail(SqliteError(db_, rc, "bind"));
  return {};
}

Status SqliteStatement::BindNull(int index) {
  int rc = sqlite3_bind_null(statement_, index);
  if (rc != SQLITE_OK) return Fail(SqliteError(db_, rc, "bind"));
  return {};
}

Result<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Fail(SqliteError(db_, rc, "step"));
}

Status SqliteStatement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return Fail(row.error());
    if (!*row) return {};
  }
}

void SqliteStatement::Reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

bool SqliteStatement::IsNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

int64_t SqliteStatement::Int(int column) const { return sqlite3_column_int64(statement_, column); }

double SqliteStatement::Double(int column) const {
  return sqlite3_column_double(statement_, column);
}

std::string SqliteStatement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(statement_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
}

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const std::string& path, std::chrono::milliseconds busy_timeout, SqliteSync sync) {
  sqlite3* db = nullptr;
  // NOMUTEX: the caller serializes; SQLite's own mutexes would only add cost.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error error = SqliteError(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return Fail(std::move(error));
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<SqliteConnection> connection(new SqliteConnection(db, path));
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  // journal_mode=WAL is persistent in the file; asking again is a no-op. FULL rather than NORMAL:
  // under NORMAL a WAL commit is durable against a process crash but may roll back on power loss,
  // and an entry the filter answered 250 for, or a release an operator was told happened, must not.
  auto configured = connection->Execute(
      sync == SqliteSync::kFull
          ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
          : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
  if (!configured) return Fail(configured.error().WithContext(path));
  auto mode = connection->Prepare("PRAGMA journal_mode");
  if (!mode) return Fail(mode.error());
  auto row = (*mode)->Step();
  if (!row) return Fail(row.error().WithContext(path));
  std::string journal = *row ? (*mode)->Text(0) : "";
  (*mode)->Reset();
  if (journal != "wal") {
    return Fail(ErrorCode::kIo, "{}: cannot use WAL journal mode (got '{}')", path,
                      journal);
  }
  return connection;
}

SqliteConnection::~SqliteConnection() {
  statements_.clear();  // finalize before closing
  sqlite3_close_v2(db_);
}

Status SqliteConnection::Execute(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return Fail(CodeFor(rc), "sqlite exec: {}", detail);
  }
  return {};
}

Result<std::shared_ptr<SqliteStatement>> SqliteConnection::Prepare(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found != statements_.end()) {
    found->second->Reset();
    return found->second;
  }
  // Query shapes are few (one per combination of list filters), but bound the cache anyway.
  if (statements_.size() >= 128) statements_.clear();
  sqlite3_stmt* statement = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
  if (rc != SQLITE_OK) return Fail(SqliteError(db_, rc, "prepare"));
  auto prepared = std::make_shared<SqliteStatement>(db_, statement);
  statements_.emplace(sql, prepared);
  return prepared;
}

Result<std::optional<int64_t>> SqliteConnection::QueryInt(const std::string& sql) {
  auto statement = Prepare(sql);
  if (!statement) return Fail(statement.error());
  auto row = (*statement)->Step();
  if (!row) return Fail(row.error());
  std::optional<int64_t> value;
  if (*row && !(*statement)->IsNull(0)) value = (*statement)->Int(0);
  (*statement)->Reset();
  return value;
}

int64_t SqliteConnection::Changes() const { return sqlite3_changes64(db_); }

Result<SqliteTransaction> SqliteTransaction::Begin(SqliteConnection& connection) {
  auto begun = connection.Execute("BEGIN IMMEDIATE");
  if (!begun) return Fail(begun.error().WithContext("begin transaction"));
  return SqliteTransaction(&connection);
}

SqliteTransaction::~SqliteTransaction() {
  if (connection_ != nullptr) (void)connection_->Execute("ROLLBACK");
}

Status SqliteTransaction::Commit() {
  auto committed = connection_->Execute("COMMIT");
  if (!committed) return Fail(committed.error().WithContext("commit"));
  connection_ = nullptr;
  return {};
}

}  // namespace moat::core
