// sqlite_schema.h - the quarantine index's SQLite schema, as an ordered list of migrations.
//
// A database records which migrations it has had in `schema_migrations`; opening it applies the
// missing ones in order, each in the same transaction as its row there, so a crash mid-way leaves
// the previous version. Rules for whoever adds migration N+1: append, never edit a released
// migration, number consecutively, and keep the name stable (opening checks that applied versions
// carry the names this binary expects, so two branches that both wrote a "version 2" cannot mix
// silently). A database newer than the binary (a version it does not know) is refused with kInvalid
// rather than written to.
//
// The tables, field by field, are documented beside migration 1 in sqlite_schema.cc.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/sqlite_database.h"

namespace moat::quarantine {

struct Migration {
  int version = 0;   // 1, 2, 3, ... in order
  std::string name;  // short, stable: "initial schema"
  std::string sql;   // one or more statements
};

// The migrations of this version of Moat, oldest first.
std::vector<Migration> SqliteMigrations();

// Brings the database up to the last of `migrations`. kInvalid when the list is not numbered 1..N,
// when the database knows a version past N, or when an applied version has another name.
core::Status ApplyMigrations(core::SqliteConnection& connection, std::span<const Migration> migrations);

// The highest applied version (0 for a new database).
core::Result<int> SchemaVersion(core::SqliteConnection& connection);

}  // namespace moat::quarantine
