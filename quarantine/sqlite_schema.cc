// sqlite_schema.cc - migrations of the quarantine index and the code that applies them.
#include "quarantine/sqlite_schema.h"

#include <chrono>

namespace moat::quarantine {
namespace {

// Migration 1. Times are Unix microseconds (UTC). Text is UTF-8.
//
// entries: one row per held message, clustered by ID (WITHOUT ROWID), and IDs sort as times do, so
//   the default order (newest first) and time ranges (since/until) are walks of the primary key.
//   id              quarantine ID (quarantine_entry.h); also names the message file
//   time_us         when it was quarantined (the time in the ID)
//   class           content class name: VIRUS BANNED UNCHECKED SPAM SPAMMY BAD-HEADER CLEAN
//   subclass        e.g. "encrypted" for UNCHECKED; '' when none
//   reason          one line for people: virus names, banned part and rule, score and hits, limit
//   sender          envelope sender ('' = null sender <>)
//   recipients      envelope recipients this copy was held for, joined with "\n"
//   header_from     From: header; subject: Subject:; message_id: Message-ID:
//   size            bytes of the original message
//   client_address  SMTP client address from XFORWARD; policy_bank: the filter's policy bank
//   score           spam score, NULL when the rules did not run
//   state           held | released | deleted (see EntryState)
//   damage          '' or why the message file is unusable (missing, corrupt)
// traces: the decision trace (`moat scan --json` text) apart from entries, so list scans stay small
//   (a rowid table: traces run to kilobytes, which WITHOUT ROWID pages store wastefully).
// events: the history of releases and deletions.
//   event_id        ascending: the order things happened in
//   entry_id        the entry; its events go when it is erased (expiry)
//   time_us, kind (release | delete), actor (who), recipients (to whom, "\n"-joined; '' for
//   delete), detail (free text: "forced", rejected recipients)
// Indexes: state, (class, state) and (score, state) for the list filters, the sort by score and the
// total count (the default list hides deleted entries, so nearly every count filters on state, and
// these let it count from an index instead of the table; in a WITHOUT ROWID table an index also
// carries the primary key); events by entry.
// Planner statistics: sqlite_stat1 is seeded with the shape of a typical quarantine (100,000
// entries, a state shared by half of them, 7 classes, a few hundred distinct scores) so that from
// the first insert SQLite scans the table for substring filters instead of walking the state index
// and looking every row up, which is four times slower. A later ANALYZE replaces them with real
// figures; the second ANALYZE sqlite_schema makes this connection load them.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE entries (
  id             TEXT PRIMARY KEY NOT NULL,
  time_us        INTEGER NOT NULL,
  class          TEXT NOT NULL,
  subclass       TEXT NOT NULL DEFAULT '',
  reason         TEXT NOT NULL DEFAULT '',
  sender         TEXT NOT NULL DEFAULT '',
  recipients     TEXT NOT NULL,
  header_from    TEXT NOT NULL DEFAULT '',
  subject        TEXT NOT NULL DEFAULT '',
  message_id     TEXT NOT NULL DEFAULT '',
  size           INTEGER NOT NULL,
  client_address TEXT NOT NULL DEFAULT '',
  policy_bank    TEXT NOT NULL DEFAULT '',
  score          REAL,
  state          TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'released', 'deleted')),
  damage         TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX entries_state ON entries (state);
CREATE INDEX entries_class ON entries (class, state);
CREATE INDEX entries_score ON entries (score, state);
CREATE TABLE traces (
  entry_id TEXT PRIMARY KEY NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
  json     TEXT NOT NULL
);
CREATE TABLE events (
  event_id   INTEGER PRIMARY KEY,
  entry_id   TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
  time_us    INTEGER NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('release', 'delete')),
  actor      TEXT NOT NULL,
  recipients TEXT NOT NULL DEFAULT '',
  detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_entry ON events (entry_id, event_id);
ANALYZE sqlite_schema;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
  ('entries', 'entries', '100000 1'),
  ('entries', 'entries_state', '100000 50000'),
  ('entries', 'entries_class', '100000 14000 7000'),
  ('entries', 'entries_score', '100000 300 150'),
  ('events', 'events_entry', '1000 2 1');
ANALYZE sqlite_schema;
)sql";

// schema_migrations itself is not a migration: it must exist before the first one can be recorded.
constexpr const char* kCreateMigrationTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_us INTEGER NOT NULL
);
)sql";

}  // namespace

std::vector<Migration> SqliteMigrations() { return {{1, "initial schema", kMigration1}}; }

core::Result<int> SchemaVersion(core::SqliteConnection& connection) {
  auto exists = connection.QueryInt(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  if (!exists) return core::Fail(exists.error());
  if (exists->value_or(0) == 0) return 0;
  auto version = connection.QueryInt("SELECT max(version) FROM schema_migrations");
  if (!version) return core::Fail(version.error());
  return static_cast<int>(version->value_or(0));
}

// The highest applied version after checking every applied row against `migrations`.
static core::Result<int> CheckAppliedMigrations(core::SqliteConnection& connection,
                                                std::span<const Migration> migrations) {
  auto applied = connection.Prepare("SELECT version, name FROM schema_migrations ORDER BY version");
  if (!applied) return core::Fail(applied.error());
  int current = 0;
  for (;;) {
    auto row = (*applied)->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    int version = static_cast<int>((*applied)->Int(0));
    std::string name = (*applied)->Text(1);
    if (version > static_cast<int>(migrations.size())) {
      (*applied)->Reset();
      return core::Fail(core::ErrorCode::kInvalid,
                        "{}: quarantine index schema version {} is newer than this Moat "
                        "(which knows versions up to {}); upgrade Moat",
                        connection.path(), version, migrations.size());
    }
    if (version < 1 || name != migrations[version - 1].name) {
      (*applied)->Reset();
      return core::Fail(core::ErrorCode::kInvalid,
                        "{}: quarantine index schema version {} is '{}', expected '{}'",
                        connection.path(), version, name,
                        version >= 1 ? migrations[version - 1].name : "");
    }
    current = std::max(current, version);
  }
  (*applied)->Reset();
  return current;
}

core::Status ApplyMigrations(core::SqliteConnection& connection, std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return core::Fail(core::ErrorCode::kInvalid,
                        "quarantine index migrations must be numbered 1..N; #{} is version {}",
                        i + 1, migrations[i].version);
    }
  }
  // Up to date: no write lock, so readers with a read-only view of the directory can open too.
  auto version = SchemaVersion(connection);
  if (!version) return core::Fail(version.error());
  if (*version > 0) {
    auto current = CheckAppliedMigrations(connection, migrations);
    if (!current) return core::Fail(current.error());
    if (*current == static_cast<int>(migrations.size())) return {};
  }

  // One writer at a time: two processes opening a new database both get here, and the second
  // finds the work done.
  auto transaction = core::SqliteTransaction::Begin(connection);
  if (!transaction) return core::Fail(transaction.error());
  if (auto created = connection.Execute(kCreateMigrationTable); !created) return created;
  auto current = CheckAppliedMigrations(connection, migrations);
  if (!current) return core::Fail(current.error());

  for (const Migration& migration : migrations) {
    if (migration.version <= *current) continue;
    if (auto ran = connection.Execute(migration.sql); !ran) {
      return core::Fail(ran.error().WithContext(
          fmt::format("quarantine index migration {} ({})", migration.version, migration.name)));
    }
    auto record = connection.Prepare(
        "INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)");
    if (!record) return core::Fail(record.error());
    int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    if (auto s = (*record)->BindInt(1, migration.version); !s) return s;
    if (auto s = (*record)->BindText(2, migration.name); !s) return s;
    if (auto s = (*record)->BindInt(3, now); !s) return s;
    if (auto s = (*record)->Run(); !s) return s;
  }
  if (auto versioned = connection.Execute(
          fmt::format("PRAGMA user_version = {}", static_cast<int>(migrations.size())));
      !versioned) {
    return versioned;
  }
  return transaction->Commit();
}

}  // namespace moat::quarantine
