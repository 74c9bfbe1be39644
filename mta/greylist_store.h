// greylist_store.h - the greylisting state of moat-mta in SQLite, so it survives restarts.
//
// Greylisting (greylist_policy.h) remembers each (client network, sender, recipient) triplet it
// has seen and each client network that retried successfully. This store keeps both in one
// SQLite file (greylist_database, default $data_directory/greylist.sqlite) through core's SQLite
// wrapper, with a WAL journal and synchronous=NORMAL: a commit survives a crash of moat-mta but
// may roll back on power loss, which costs nothing worse than greylisting a triplet again. The
// file is shared: several moat-mta services (and `moat greylist list|clear`) may open it at once.
//
// Schema (user_version 1), times are Unix milliseconds:
//   triplets(client TEXT, sender TEXT, recipient TEXT,   -- the key (PRIMARY KEY of the three)
//            first_seen INTEGER,  -- the attempt that started the delay (restarted when a retry
//                                 -- came after greylist_retry_window)
//            last_seen INTEGER,   -- the latest attempt
//            passed INTEGER,      -- when the triplet first passed; 0 while it is greylisted
//            attempts INTEGER)    -- attempts seen, passed or not
//   clients(client TEXT PRIMARY KEY,
//           retries INTEGER,       -- successful retries counted (at most one per hour)
//           last_counted INTEGER,  -- when `retries` last grew
//           last_seen INTEGER)     -- the latest mail from the network
// `client` is the client's network as text ("192.0.2.0/24", "[2001:db8::]/64"), `sender` the
// normalised sender ("" for <>), `recipient` the recipient in lower case.
//
// Errors: Open() fails with the SQLite error (kIo for a file that cannot be created, kCorrupt for
// a file that is not a database); every other call returns the wrapper's errors (kTempFail when
// another process holds the lock past the busy timeout). Thread safety: every method locks one
// mutex; one store may be shared by all sessions of a process.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/sqlite_database.h"

namespace moat::mta {

struct GreylistTriplet {
  std::string client;
  std::string sender;
  std::string recipient;
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  int64_t passed = 0;
  int64_t attempts = 0;
};

struct GreylistClient {
  std::string client;
  int64_t retries = 0;
  int64_t last_counted = 0;
  int64_t last_seen = 0;
};

class GreylistStore {
 public:
  // Creates the file (and its directory) when missing.
  static core::Result<std::shared_ptr<GreylistStore>> Open(const std::string& path);

  core::Result<std::optional<GreylistTriplet>> FindTriplet(const std::string& client,
                                                           const std::string& sender,
                                                           const std::string& recipient);
  core::Status PutTriplet(const GreylistTriplet& triplet);  // insert or replace
  core::Result<std::optional<GreylistClient>> FindClient(const std::string& client);
  core::Status PutClient(const GreylistClient& client);

  // Everything, oldest first (for `moat greylist list`).
  core::Result<std::vector<GreylistTriplet>> Triplets();
  core::Result<std::vector<GreylistClient>> Clients();

  // Removes triplets and clients last seen before `before` (Unix ms); returns how many rows went.
  core::Result<int64_t> Expire(int64_t before);
  // Removes everything; returns how many rows went.
  core::Result<int64_t> Clear();

  const std::string& path() const { return path_; }

 private:
  GreylistStore(std::unique_ptr<core::SqliteConnection> connection, std::string path)
      : connection_(std::move(connection)), path_(std::move(path)) {}

  std::mutex mutex_;
  std::unique_ptr<core::SqliteConnection> connection_;
  std::string path_;
};

}  // namespace moat::mta
