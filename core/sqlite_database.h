// sqlite_database.h - the one wrapper around the SQLite C library (only sqlite_database.cc
// includes sqlite3.h). Used by the quarantine index (quarantine/sqlite_index.h) and moat-mta's
// greylisting state (mta/greylist_store.h); it lives in core/ because both are SQLite users and
// a C library gets exactly one wrapper.
//
// SqliteConnection opens a database file with a WAL journal (readers never wait for the writer,
// and several processes share the file), a busy timeout (another process's write transaction is
// waited for, not failed), foreign keys on, and the durability the caller asks for:
//   kFull    every commit fsyncs the WAL, so a returned write survives a power loss (the
//            quarantine index: the promise behind moat-filterd's 250 reply);
//   kNormal  a commit survives a crash of the process but may roll back on power loss (state
//            that is cheap to lose, such as greylisting triplets: a lost one is greylisted again).
// Statements are prepared once and cached per SQL text.
//
// Ownership: a connection caches its statements; the shared_ptr from Prepare() keeps one alive even
// if the cache drops it (sqlite3_close_v2 defers the close until the last one is finalized). Thread
// safety: none — one thread at a time per connection (callers serialize, e.g. with a mutex). A
// connection must not cross fork().
//
// Errors (from SQLite result codes): SQLITE_BUSY/LOCKED past the timeout and NOMEM -> kTempFail;
// FULL, IOERR, CANTOPEN, READONLY, PERM -> kIo; CORRUPT, NOTADB -> kCorrupt; CONSTRAINT ->
// kInvalid; anything else (a bad statement) -> kIo with SQLite's message.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace moat::core {

enum class SqliteSync { kFull, kNormal };

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are numbered from 1, as in SQLite.
  Status BindInt(int index, int64_t value);
  Status BindDouble(int index, double value);
  Status BindText(int index, std::string_view value);  // copied by SQLite
  Status BindNull(int index);

  // Runs to the next row: true when a row is ready, false when done.
  Result<bool> Step();
  // Runs a statement that returns no rows (INSERT/UPDATE/DELETE) to completion.
  Status Run();
  // Ready for reuse: resets the statement and clears bindings.
  void Reset();

  // Columns are numbered from 0.
  bool IsNull(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_;
};

class SqliteConnection {
 public:
  static Result<std::unique_ptr<SqliteConnection>> Open(
      const std::string& path, std::chrono::milliseconds busy_timeout,
      SqliteSync sync = SqliteSync::kFull);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Runs one or more statements that return nothing (schema scripts, BEGIN, COMMIT, PRAGMA x=y).
  Status Execute(std::string_view sql);
  // A prepared statement for `sql`, reset and unbound, owned and cached by the connection.
  Result<std::shared_ptr<SqliteStatement>> Prepare(const std::string& sql);
  // The first column of the first row of `sql`, or nullopt when it returns no row.
  Result<std::optional<int64_t>> QueryInt(const std::string& sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t Changes() const;

  const std::string& path() const { return path_; }

 private:
  SqliteConnection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::map<std::string, std::shared_ptr<SqliteStatement>, std::less<>> statements_;
};

// BEGIN IMMEDIATE (the write lock is taken up front, so two writers queue on the busy timeout
// instead of failing at their first write); ROLLBACK when destroyed without Commit().
class SqliteTransaction {
 public:
  static Result<SqliteTransaction> Begin(SqliteConnection& connection);
  SqliteTransaction(SqliteTransaction&& other) noexcept : connection_(other.connection_) {
    other.connection_ = nullptr;
  }
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();
  Status Commit();

 private:
  explicit SqliteTransaction(SqliteConnection* connection) : connection_(connection) {}
  SqliteConnection* connection_;
};

}  // namespace moat::core
