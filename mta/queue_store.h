// queue_store.h - the durable mail queue: one file per message under queue_directory, in the
// Postfix queues, and the operations cleanup, the queue manager and `moat queue` perform on them.
//
// Layout (QueueStoreOptions::directory, main.cf's queue_directory):
//   incoming/<ID>   committed by cleanup, not yet looked at by the queue manager
//   active/<ID>     being delivered by the queue manager
//   deferred/<ID>   delivery failed temporarily; the SCHEDULE record says when to try again
//   hold/<ID>       held (header_checks HOLD, smtpd HOLD, `moat queue hold`): never delivered
//                   until released
//   corrupt/<ID>    files that failed their checks, kept for the administrator
//   defer/<ID>      per-recipient log of temporary failures (queue_recipient_log.h)
//   bounce/<ID>     per-recipient log of permanent failures, for the bounce (DSN) generator
//   trace/<ID>      per-recipient log of successes, for DSN SUCCESS notifications
//   spare/<ID>      delivered files kept to be overwritten by new mail (see "Reuse" below)
// A file's format is in queue_file_format.h; queue IDs in queue_id.h.
//
// Commit (the promise behind every 250). Commit() writes incoming/.tmp.<ID>, fdatasyncs it,
// renames it to incoming/<ID> (or hold/<ID>) without replacing anything, then waits until that
// directory has been fsynced after the rename (DirectorySyncGroup: concurrent commits share one
// directory fsync). Only then does it return success. On any failure the temporary file (or the
// renamed file, if the directory fsync failed) is removed and the error returned: nothing
// half-written stays behind, and nothing that was not acknowledged is left to be delivered.
//
// Reuse (QueueStoreOptions::spare_files > 0, main.cf's queue_file_reuse_limit). The queue manager
// hands a finished message to Recycle(), which renames it to spare/ instead of unlinking it;
// Commit() renames a spare to incoming/.tmp.<ID>, overwrites it from the start, truncates it to
// the new length, and carries on as above. The same idea as PostgreSQL's recycled WAL segments:
// overwriting a file whose pages are cached and whose blocks are allocated costs a fraction of
// creating one (no inode allocation, no fresh page-cache pages; on this project's benchmark
// machine, 7 us instead of 210 us for 300 KB). Nothing of the old message survives in the new
// file (truncated before the fdatasync), and spare files are never read. A crash can leave a
// spare with two names (the link()+unlink() rename of a file system without RENAME_NOREPLACE),
// so Recover() removes every spare rather than trusting one. Files over kMaxSpareBytes are
// unlinked as before.
//
// Updates in place. The queue manager opens a message (OpenFile) and marks recipients done by
// rewriting their record type byte ('R' -> 'D' or 'F'), updates the SCHEDULE record, and calls
// Sync() once for a batch of marks; a crash before that Sync() can only cause a recipient to be
// delivered again (never lost). Moves between queues are renames (atomic); Move() fsyncs the
// target directory so a hold or release survives a crash.
//
// Recovery at start-up (Recover(), by moat-mta before its queue manager starts; never while
// another process delivers):
//   - temporary files (.tmp.*) in any queue: removed (never acknowledged);
//   - files in incoming/ without their END record or shorter than their SIZE record says:
//     removed (a commit never acknowledges such a file, so the client was told to retry);
//   - files in incoming/ or active/ that fail any other check: moved to corrupt/, reported;
//   - files in active/: moved back to incoming/ (never tried) or deferred/ (tried before), since
//     their delivery was interrupted;
//   - logs in defer/, bounce/, trace/ without a queue file: removed;
//   - spare files: removed.
// Files in deferred/ and hold/ are checked when opened: OpenFile(..., quarantine_corrupt=true)
// moves an unreadable file to corrupt/ and reports it (a warning in the log and kCorrupt).
//
// Concurrency. Every method may be called from many threads; the store keeps no per-message
// state in memory (only the ID generator and the directory sync groups). Two processes may use
// one queue (moat-mta and `moat queue`): an operation that finds its file moved away by the
// other returns kNotFound (e.g. `moat queue delete` of a message the queue manager just
// finished), never a half state.
//
// Errors: Commit() returns only temporary codes (kIo: the OS refused — disk full, fsync failed;
// kTempFail otherwise), because every failure to queue must become a 4xx. Elsewhere: kInvalid for
// a malformed ID or argument (never touches the file system), kNotFound when the ID is not in
// that queue, kCorrupt for a file that fails its checks (the message says where), kIo for the
// OS.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "mta/queue_directory_sync.h"
#include "mta/queue_file_format.h"
#include "mta/queue_file_system.h"
#include "mta/queue_id.h"
#include "mta/queue_message.h"
#include "mta/queue_recipient_log.h"
#include "mta/queue_spare_pool.h"

namespace moat::mta {

struct QueueStoreOptions {
  std::string directory;                          // queue_directory
  std::shared_ptr<QueueFileSystem> file_system;   // default: PosixQueueFileSystem
  std::function<std::chrono::system_clock::time_point()> clock;  // default: system_clock::now
  bool create_directories = true;  // create the queue directories when missing (mode 0700)
  // Reading refuses larger files (they are reported as corrupt).
  uint64_t max_file_bytes = uint64_t{2} << 30;
  // Delivered files kept in spare/ for Commit() to overwrite (see "Reuse"); 0: unlink them.
  size_t spare_files = 0;
};

struct QueueEntry {
  std::string id;
  QueueName queue = QueueName::kIncoming;
};

struct QueueRecoveryReport {
  size_t temporary_removed = 0;
  size_t incomplete_removed = 0;  // incoming/ files without END (never acknowledged)
  size_t active_to_incoming = 0;
  size_t active_to_deferred = 0;
  size_t orphan_logs_removed = 0;
  std::vector<std::string> corrupt;  // "<queue>/<ID>: <reason>" of files moved to corrupt/
};

class QueueStore;

// An open queue file: the parsed envelope plus a descriptor for in-place updates. Move-only;
// closes its descriptor when destroyed. The descriptor stays valid when the file is moved to
// another queue (renames keep the inode). Not thread-safe: one owner at a time.
class QueueFile {
 public:
  QueueFile(QueueFile&& other) noexcept;
  QueueFile& operator=(QueueFile&& other) noexcept;
  QueueFile(const QueueFile&) = delete;
  QueueFile& operator=(const QueueFile&) = delete;
  ~QueueFile();

  const QueuedMessage& message() const { return message_; }
  const std::string& id() const { return message_.id; }

  // Rewrites the type byte of each recipient record at `offsets` to `status` (and updates
  // message()). An offset that is not one of this file's recipients is kInvalid and nothing is
  // written. Not durable until Sync().
  core::Status MarkRecipients(std::span<const uint64_t> offsets, RecipientStatus status);
  // Rewrites the SCHEDULE record in place. Not durable until Sync().
  core::Status SetSchedule(const QueueSchedule& schedule);
  // Makes the marks and schedule updates so far durable (fdatasync).
  core::Status Sync();
  // The message content bytes (header and body, CRLF), read from the file.
  core::Result<std::string> ReadContent() const;

 private:
  friend class QueueStore;
  QueueFile(std::shared_ptr<QueueFileSystem> fs, int fd, std::string path, bool writable,
            QueuedMessage message);
  void Close();

  std::shared_ptr<QueueFileSystem> fs_;
  int fd_ = -1;
  std::string path_;
  bool writable_ = false;
  QueuedMessage message_;
};

class QueueStore {
 public:
  // Creates the directories when asked (and missing). kIo when they cannot be made or used.
  static core::Result<std::shared_ptr<QueueStore>> Open(QueueStoreOptions options);

  const std::string& directory() const { return directory_; }
  std::string QueuePath(QueueName queue) const;
  std::string FilePath(QueueName queue, std::string_view id) const;
  std::chrono::system_clock::time_point Now() const { return clock_(); }

  // A fresh queue ID (queue_id.h). Cleanup asks first: the ID goes into the Received and
  // Message-ID headers before the file is written.
  std::string NewId() { return ids_.Next(clock_()); }

  // Writes a new message durably into `target` (kIncoming or kHold); see "Commit" above. An ID
  // that already exists in `target` is kTempFail (the caller draws a new ID and retries).
  core::Status Commit(std::string_view id, const QueueEnvelope& envelope,
                      std::string_view content, QueueName target = QueueName::kIncoming);

  // Message IDs in one queue, sorted (= arrival order). Names that are not queue IDs
  // (temporary files, foreign files) are skipped.
  core::Result<std::vector<QueueEntry>> List(QueueName queue) const;
  // Which queue holds `id` (nullopt: none).
  core::Result<std::optional<QueueName>> Locate(std::string_view id) const;

  // The SIZE and SCHEDULE records only (130 bytes): for scanning deferred/ for due messages.
  core::Result<QueueFileHead> ReadHead(QueueName queue, std::string_view id) const;
  // The whole envelope, and the content when asked; the file is checked end to end (END
  // record, sizes). Read-only: a corrupt file is reported, not moved.
  core::Result<QueuedMessage> Read(QueueName queue, std::string_view id,
                                   bool with_content = false) const;
  // Opens a message for delivery or update (read-write when `writable`). With
  // `quarantine_corrupt`, a file that fails its checks is moved to corrupt/, a warning is
  // logged, and kCorrupt returned ("... moved to corrupt/").
  core::Result<QueueFile> OpenFile(QueueName queue, std::string_view id, bool writable,
                                   bool quarantine_corrupt = false);

  // How far Move() goes: kDurable waits until the target directory is fsynced (hold, release,
  // requeue: the administrator's decision survives a power loss); kAtomic only renames (the
  // queue manager's incoming -> active: a rename is atomic, and one undone by a power loss
  // leaves the file in incoming/, where it is delivered again - Postfix's qmgr does the same).
  enum class MoveDurability { kDurable, kAtomic };
  // Renames `id` from one queue to another. kNotFound when it is not in `from`; kInvalid for
  // from == to; moving into an occupied name is kIo.
  core::Status Move(std::string_view id, QueueName from, QueueName to,
                    MoveDurability durability = MoveDurability::kDurable);
  // The queue manager's deferral: appends `notes` to defer/<ID> (fsynced), updates the schedule
  // (attempts + 1, last attempt = now, next attempt as given), fsyncs the file and moves it from
  // `from` (normally active) to deferred/. kNotFound when another process (`moat queue hold`,
  // `delete`) took the file from `from` meanwhile; if it deleted it, the log is removed again.
  core::Status Defer(QueueFile& file, QueueName from, std::span<const RecipientLogEntry> notes,
                     int64_t next_attempt);
  // Removes the message file and its logs (defer, bounce, trace). kNotFound when the file is
  // not in `queue`.
  core::Status Delete(QueueName queue, std::string_view id);
  // The queue manager's Delete() of a finished message: closes `file` and keeps it in spare/ for
  // a later Commit() when reuse is on and the pool has room, else deletes it as Delete() does.
  // The logs are removed either way. kNotFound when the file is no longer in `queue`.
  core::Status Recycle(QueueFile& file, QueueName queue);
  // Spare files waiting to be reused.
  size_t spare_files() const { return spares_.size(); }
  // Larger finished files are unlinked, not kept: a spare's pages and blocks stay allocated.
  static constexpr uint64_t kMaxSpareBytes = 4 << 20;

  // Moves a damaged file to corrupt/ and logs why.
  core::Status MoveToCorrupt(QueueName queue, std::string_view id, std::string_view reason);

  // Per-recipient logs (queue_recipient_log.h). Appends are fsynced before returning.
  core::Status AppendLog(RecipientLogKind kind, std::string_view id,
                         std::span<const RecipientLogEntry> entries);
  // Entries in order; an empty vector when there is no log. A torn last line (a crash during an
  // append) is ignored.
  core::Result<std::vector<RecipientLogEntry>> ReadLog(RecipientLogKind kind,
                                                       std::string_view id) const;
  core::Status RemoveLog(RecipientLogKind kind, std::string_view id);

  // Start-up recovery (see above).
  core::Result<QueueRecoveryReport> Recover();

  // Directory fsyncs run by commits so far (benchmarks report how many commits shared one).
  uint64_t directory_syncs() const;

 private:
  explicit QueueStore(QueueStoreOptions options);
  core::Result<QueuedMessage> ReadFromDescriptor(int fd, const std::string& path,
                                                 std::string_view id, QueueName queue,
                                                 bool with_content, bool* incomplete) const;
  DirectorySyncGroup& SyncGroup(QueueName queue);
  std::string SparePath(std::string_view name) const;
  // A spare renamed to `temporary` and opened for writing; nullopt when there is none.
  std::optional<int> TakeSpare(const std::string& temporary);
  void RemoveLogs(std::string_view id);
  std::string LogPath(RecipientLogKind kind, std::string_view id) const;

  std::string directory_;
  std::shared_ptr<QueueFileSystem> fs_;
  std::function<std::chrono::system_clock::time_point()> clock_;
  uint64_t max_file_bytes_;
  QueueIdGenerator ids_;
  std::unique_ptr<DirectorySyncGroup> sync_groups_[5];  // by QueueName
  QueueSparePool spares_;
};

}  // namespace moat::mta
