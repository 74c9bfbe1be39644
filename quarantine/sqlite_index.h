// sqlite_index.h - the default QuarantineIndex: one SQLite database file beside the messages.
//
// Schema and migrations: sqlite_schema.h/.cc (field by field). Connection settings (WAL,
// synchronous=FULL, busy timeout): core/sqlite_database.h. Each process opens its own SqliteIndex;
// SQLite's file locks coordinate moat-filterd's inserts with the readers and event writers of
// `moat quarantine` and `moat web`. Within a process one object serves all threads (a mutex
// serializes calls; SQLite runs one write transaction at a time anyway).
//
// Query cost: the default order and time ranges walk the primary key; class, state and score
// filters and the total count use indexes; substring filters (sender, recipient, subject, From)
// scan the compact entries table once (the decision traces live in a separate table), which grows
// linearly: about 15-20 ms per 100,000 entries. Measured in tests/bench/quarantine_bench.cc.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "quarantine/quarantine_index.h"
#include "core/sqlite_database.h"
#include "quarantine/sqlite_schema.h"

namespace moat::quarantine {

// A list query's WHERE clause and its parameters, in order (built in sqlite_index.cc).
struct WhereClause {
  std::string sql;
  std::vector<std::string> texts;  // bound first
  std::vector<double> scores;      // bound after the texts
  bool scans_table = false;        // a substring filter: no index can answer it
};

struct SqliteIndexOptions {
  // How long to wait for another process's write transaction before failing with kTempFail.
  std::chrono::milliseconds busy_timeout{10'000};
  // Tests add a version 2 here to prove that a version 1 database migrates.
  std::vector<Migration> migrations = SqliteMigrations();
};

class SqliteIndex final : public QuarantineIndex {
 public:
  // Opens (creating when missing) the database at `path` and applies pending migrations.
  static core::Result<std::unique_ptr<SqliteIndex>> Open(const std::string& path,
                                                         SqliteIndexOptions options = {});

  core::Status Insert(const QuarantineEntry& entry) override;
  core::Status InsertMany(std::span<const QuarantineEntry> entries) override;
  core::Result<QuarantineEntry> Get(std::string_view id) override;
  core::Result<QueryPage> Query(const QuarantineQuery& query) override;
  core::Result<std::vector<ClassCount>> CountByClass(TimePoint since, TimePoint until,
                                                     Clock::duration bucket) override;
  core::Status RecordEvent(std::string_view id, const EntryEvent& event) override;
  core::Status SetDamage(std::string_view id, std::string_view damage) override;
  core::Result<std::vector<std::string>> ExpiryCandidates(TimePoint cutoff, size_t limit,
                                                          std::string_view after_id) override;
  core::Status Erase(std::span<const std::string> ids) override;
  core::Result<std::vector<IndexedId>> AllIds() override;

  // The applied schema version (for `moat quarantine` diagnostics and tests).
  core::Result<int> schema_version();

 private:
  explicit SqliteIndex(std::unique_ptr<core::SqliteConnection> connection)
      : connection_(std::move(connection)) {}
  core::Status InsertLocked(const QuarantineEntry& entry);
  core::Result<QueryPage> QueryPageThenCount(const QuarantineQuery& query, const WhereClause& where,
                                             const std::string& order);
  core::Result<QueryPage> QueryInOneScan(const QuarantineQuery& query, const WhereClause& where,
                                         const std::string& order);

  std::mutex mutex_;
  std::unique_ptr<core::SqliteConnection> connection_;
};

}  // namespace moat::quarantine
