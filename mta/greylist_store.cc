// greylist_store.cc - see greylist_store.h.
#include "mta/greylist_store.h"

#include <filesystem>

#include <fmt/format.h>

#include "core/durable_file.h"

namespace moat::mta {
namespace {

constexpr auto kBusyTimeout = std::chrono::milliseconds(5000);

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS triplets ("
    " client TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " passed INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 1,"
    " PRIMARY KEY (client, sender, recipient));"
    "CREATE INDEX IF NOT EXISTS triplets_last_seen ON triplets (last_seen);"
    "CREATE TABLE IF NOT EXISTS clients ("
    " client TEXT PRIMARY KEY, retries INTEGER NOT NULL, last_counted INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS clients_last_seen ON clients (last_seen);"
    "PRAGMA user_version = 1;";

constexpr const char* kTripletColumns =
    "client, sender, recipient, first_seen, last_seen, passed, attempts";

GreylistTriplet TripletFrom(const core::SqliteStatement& row) {
  return {row.Text(0), row.Text(1), row.Text(2), row.Int(3), row.Int(4), row.Int(5), row.Int(6)};
}

GreylistClient ClientFrom(const core::SqliteStatement& row) {
  return {row.Text(0), row.Int(1), row.Int(2), row.Int(3)};
}

// Every row of `sql` (no parameters), each made into a T by `from`.
template <typename From>
auto ReadAll(core::SqliteConnection& db, const std::string& sql, From from)
    -> core::Result<std::vector<decltype(from(std::declval<const core::SqliteStatement&>()))>> {
  std::vector<decltype(from(std::declval<const core::SqliteStatement&>()))> out;
  auto statement = db.Prepare(sql);
  if (!statement) return core::Fail(statement.error());
  while (true) {
    auto row = (*statement)->Step();
    if (!row) {
      (*statement)->Reset();
      return core::Fail(row.error());
    }
    if (!*row) break;
    out.push_back(from(**statement));
  }
  (*statement)->Reset();
  return out;
}

}  // namespace

core::Result<std::shared_ptr<GreylistStore>> GreylistStore::Open(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    if (auto made = core::EnsureDirectory(parent.string(), 0700); !made) {
      return core::Fail(made.error().WithContext("greylist database directory"));
    }
  }
  auto connection = core::SqliteConnection::Open(path, kBusyTimeout, core::SqliteSync::kNormal);
  if (!connection) return core::Fail(connection.error().WithContext(path));
  if (auto schema = (*connection)->Execute(kSchema); !schema) {
    return core::Fail(schema.error().WithContext(path));
  }
  return std::shared_ptr<GreylistStore>(new GreylistStore(std::move(*connection), path));
}

core::Result<std::optional<GreylistTriplet>> GreylistStore::FindTriplet(
    const std::string& client, const std::string& sender, const std::string& recipient) {
  std::lock_guard lock(mutex_);
  auto statement = connection_->Prepare(
      fmt::format("SELECT {} FROM triplets WHERE client = ? AND sender = ? AND recipient = ?",
                  kTripletColumns));
  if (!statement) return core::Fail(statement.error());
  core::SqliteStatement& s = **statement;
  s.BindText(1, client);
  s.BindText(2, sender);
  s.BindText(3, recipient);
  auto row = s.Step();
  if (!row) return core::Fail(row.error());
  std::optional<GreylistTriplet> found;
  if (*row) found = TripletFrom(s);
  s.Reset();
  return found;
}

core::Status GreylistStore::PutTriplet(const GreylistTriplet& t) {
  std::lock_guard lock(mutex_);
  auto statement = connection_->Prepare(fmt::format(
      "INSERT OR REPLACE INTO triplets ({}) VALUES (?, ?, ?, ?, ?, ?, ?)", kTripletColumns));
  if (!statement) return core::Fail(statement.error());
  core::SqliteStatement& s = **statement;
  s.BindText(1, t.client);
  s.BindText(2, t.sender);
  s.BindText(3, t.recipient);
  s.BindInt(4, t.first_seen);
  s.BindInt(5, t.last_seen);
  s.BindInt(6, t.passed);
  s.BindInt(7, t.attempts);
  auto status = s.Run();
  s.Reset();
  return status;
}

core::Result<std::optional<GreylistClient>> GreylistStore::FindClient(const std::string& client) {
  std::lock_guard lock(mutex_);
  auto statement = connection_->Prepare(
      "SELECT client, retries, last_counted, last_seen FROM clients WHERE client = ?");
  if (!statement) return core::Fail(statement.error());
  core::SqliteStatement& s = **statement;
  s.BindText(1, client);
  auto row = s.Step();
  if (!row) return core::Fail(row.error());
  std::optional<GreylistClient> found;
  if (*row) found = ClientFrom(s);
  s.Reset();
  return found;
}

core::Status GreylistStore::PutClient(const GreylistClient& c) {
  std::lock_guard lock(mutex_);
  auto statement = connection_->Prepare(
      "INSERT OR REPLACE INTO clients (client, retries, last_counted, last_seen) "
      "VALUES (?, ?, ?, ?)");
  if (!statement) return core::Fail(statement.error());
  core::SqliteStatement& s = **statement;
  s.BindText(1, c.client);
  s.BindInt(2, c.retries);
  s.BindInt(3, c.last_counted);
  s.BindInt(4, c.last_seen);
  auto status = s.Run();
  s.Reset();
  return status;
}

core::Result<std::vector<GreylistTriplet>> GreylistStore::Triplets() {
  std::lock_guard lock(mutex_);
  return ReadAll(*connection_,
                 fmt::format("SELECT {} FROM triplets ORDER BY first_seen, client, sender, "
                             "recipient",
                             kTripletColumns),
                 TripletFrom);
}

core::Result<std::vector<GreylistClient>> GreylistStore::Clients() {
  std::lock_guard lock(mutex_);
  return ReadAll(*connection_,
                 "SELECT client, retries, last_counted, last_seen FROM clients ORDER BY client",
                 ClientFrom);
}

core::Result<int64_t> GreylistStore::Expire(int64_t before) {
  std::lock_guard lock(mutex_);
  auto transaction = core::SqliteTransaction::Begin(*connection_);
  if (!transaction) return core::Fail(transaction.error());
  int64_t removed = 0;
  for (const char* sql : {"DELETE FROM triplets WHERE last_seen < ?",
                          "DELETE FROM clients WHERE last_seen < ?"}) {
    auto statement = connection_->Prepare(sql);
    if (!statement) return core::Fail(statement.error());
    (*statement)->BindInt(1, before);
    auto status = (*statement)->Run();
    (*statement)->Reset();
    if (!status) return core::Fail(status.error());
    removed += connection_->Changes();
  }
  if (auto committed = transaction->Commit(); !committed) return core::Fail(committed.error());
  return removed;
}

core::Result<int64_t> GreylistStore::Clear() {
  std::lock_guard lock(mutex_);
  auto transaction = core::SqliteTransaction::Begin(*connection_);
  if (!transaction) return core::Fail(transaction.error());
  int64_t removed = 0;
  for (const char* sql : {"DELETE FROM triplets", "DELETE FROM clients"}) {
    if (auto status = connection_->Execute(sql); !status) return core::Fail(status.error());
    removed += connection_->Changes();
  }
  if (auto committed = transaction->Commit(); !committed) return core::Fail(committed.error());
  return removed;
}

}  // namespace moat::mta
