// quarantine_store.h - the quarantine: held messages on disk plus their index, kept in step.
//
// moat-filterd calls Store() for each message a destiny holds and answers the recipient only after
// it returned an ID: by then the compressed file and its directory entry are fsynced and the index
// row is committed (synchronous=FULL), so a crash or power loss right after cannot lose it. The
// admin command and the web review list, show, release, delete and expire through the same class.
//
// Directory layout (StoreOptions::directory, filterd.cf's quarantine_directory):
//   index.sqlite (+ -wal, -shm)   the SQLite index (sqlite_schema.cc), unless another index is
//   given lock                          flock() file coordinating writers and recovery (below)
//   messages/<x>/<y>/<ID>.eml.gz  one gzip file per message (message_file.h documents the format)
//
// No half entries. Store() writes .<ID>.tmp, fsyncs it, renames it to <ID>.eml.gz, fsyncs the
// directory, then inserts the row. A failure before the row removes the file; a crash before the
// row leaves at most a complete orphan file (a .tmp file is never acknowledged). Recovery finds
// orphans and re-indexes them from the metadata in their gzip header; it also removes leftover .tmp
// files, files of entries deleted in the index, and marks rows whose file is gone as damaged.
//
// Who may run recovery: a process that creates files (role kWriter: moat-filterd) holds a shared
// flock on `lock` for its lifetime, and Delete()/ExpireOlderThan() hold one while they remove
// files. Recovery needs the exclusive lock, taken without waiting at Open(): when a writer is alive
// it is skipped (it ran when that writer started), so it never mistakes a file whose row is about
// to be committed for an orphan. flock locks vanish with their process, so after kill -9 of the
// filter the next Open() recovers.
//
// Thread safety: all methods may be called from several threads at once (the index serializes
// itself; files are per message). Ownership: the store owns its index and shares the file system.
//
// Errors: Store() returns only temporary codes (kIo when the OS refused — disk full, fsync failed;
// kTempFail otherwise) because every failure to hold a message must become a 4xx. Elsewhere:
// kInvalid for a malformed ID or request; kNotFound for an ID with no entry (or one already
// deleted); kCorrupt when the entry exists but its file is missing or fails its checks (the entry
// is then marked damaged in the index); kPermFail for a release refused by policy (already
// released, no force) or by every recipient; index errors as quarantine_index.h describes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "quarantine/quarantine_entry.h"
#include "quarantine/quarantine_index.h"
#include "quarantine/release_message.h"
#include "quarantine/sqlite_index.h"
#include "quarantine/store_file_system.h"
#include "quarantine/store_lock.h"

namespace moat::quarantine {

// kWriter stores messages (moat-filterd); kReviewer lists, shows, releases, deletes and expires
// (the admin command, the web review) and gets kInvalid from Store().
enum class StoreRole { kWriter, kReviewer };

struct StoreOptions {
  std::string directory;
  StoreRole role = StoreRole::kWriter;
  int compression_level = 6;              // zlib 1..9
  size_t max_message_bytes = 512u << 20;  // Store() refuses more; reading treats more as corrupt
  bool recover_at_open = true;  // see "Who may run recovery" above; a reviewer only logs a failure
  std::shared_ptr<StoreFileSystem> file_system;  // default: PosixStoreFileSystem
  std::function<TimePoint()> clock;              // default: system_clock::now
  SqliteIndexOptions index_options;              // used when Open() creates the SQLite index
};

struct RecoveryReport {
  bool ran = false;  // false: skipped because a writer holds the store, or not asked for
  size_t temporary_files_removed = 0;
  size_t orphans_reindexed = 0;
  size_t deleted_files_removed = 0;     // files of entries the index says were deleted
  size_t missing_files_marked = 0;      // rows whose file is gone, now marked damaged
  std::vector<std::string> unreadable;  // orphan files that could not be decoded (left in place)
  std::vector<std::string> foreign;     // files in messages/ that are not ours (left in place)
};

struct ReleaseRequest {
  std::vector<std::string> recipients;  // empty: the entry's original recipients
  std::string actor;                    // recorded and put into the header (sanitized)
  bool force = false;                   // release an entry that was released before
};

// What to send, as Release() would send it.
struct PreparedRelease {
  std::string envelope_sender;
  std::vector<std::string> recipients;
  std::string message;  // the original bytes with X-Quarantine-Released on top
  TimePoint time;
};

struct ReleaseResult {
  PreparedRelease sent;
  SendOutcome outcome;
};

struct ExpireReport {
  size_t entries_removed = 0;
  size_t files_removed = 0;
  uint64_t bytes_freed = 0;
  size_t failures = 0;  // files that could not be removed; their rows stay for the next run
};

class QuarantineStore {
 public:
  // Opens (a writer creates) the directory and the index, and runs recovery when allowed. With
  // `index` null, opens <directory>/index.sqlite.
  static core::Result<std::unique_ptr<QuarantineStore>> Open(
      StoreOptions options, std::unique_ptr<QuarantineIndex> index = nullptr);
  ~QuarantineStore();
  QuarantineStore(const QuarantineStore&) = delete;
  QuarantineStore& operator=(const QuarantineStore&) = delete;

  // Holds `message`; returns its ID once file and row are durable. Empty From/Subject/Message-ID
  // are taken from the message's headers; text is made valid UTF-8.
  core::Result<std::string> Store(std::string_view message, EntryMetadata metadata);

  // The entry with trace and history.
  core::Result<QuarantineEntry> GetEntry(std::string_view id);
  // The original message bytes, verified.
  core::Result<std::string> ReadMessage(std::string_view id);
  // A page of entries; those whose file is gone come back with damage set.
  core::Result<QueryPage> List(const QuarantineQuery& query);

  // Checks and builds a release without sending or recording it.
  core::Result<PreparedRelease> PrepareRelease(std::string_view id, const ReleaseRequest& request);
  // Prepares, sends through `sender`, and records the release for the accepted recipients.
  core::Result<ReleaseResult> Release(std::string_view id, const ReleaseRequest& request,
                                      MessageSender& sender);
  // Records the deletion, then removes the file.
  core::Status Delete(std::string_view id, std::string_view actor);

  // Removes entries (rows, history and files) quarantined before now - older_than. moat-filterd
  // calls this on a schedule; the admin command's `expire` too.
  core::Result<ExpireReport> ExpireOlderThan(Clock::duration older_than, TimePoint now);

  // Runs recovery now if no writer holds the store (report.ran says whether it did).
  core::Result<RecoveryReport> Recover();
  // What recovery did at Open().
  const RecoveryReport& recovery_at_open() const { return recovery_at_open_; }

  const std::string& directory() const { return options_.directory; }
  // Absolute path of an entry's message file (the ID must be valid).
  std::string MessagePath(std::string_view id) const;
  QuarantineIndex& index() { return *index_; }

 private:
  QuarantineStore(StoreOptions options, std::unique_ptr<QuarantineIndex> index,
                  std::optional<StoreLock> writer_lock);
  core::Status WriteMessageFile(const std::string& id, const std::string& bytes);
  core::Status CreateMessageDirectories();
  core::Result<RecoveryReport> RecoverLocked();
  std::string LockPath() const;
  core::Result<std::string> ReadVerified(const QuarantineEntry& entry);

  StoreOptions options_;
  std::unique_ptr<QuarantineIndex> index_;
  std::optional<StoreLock> writer_lock_;  // a writer's lifetime shared lock
  RecoveryReport recovery_at_open_;
};

}  // namespace moat::quarantine
