// queue_directory_sync.h - group commit of directory fsyncs.
//
// A message is durable once its file was fsynced and renamed into a queue directory and that
// directory was fsynced after the rename. One directory fsync covers every rename done before it
// started, so concurrent commits share it: each committer calls Renamed() after its rename and
// then WaitDurable() with the ticket it got. The first waiter whose ticket is not yet covered
// runs the fsync for everyone renamed so far; the others wait for it (or for the next one, when
// their rename came after it started). With N commits in flight, a directory fsync costs 1/N of
// one per message, and no commit returns before a directory fsync that began after its rename
// has completed.
//
// Thread safety: every method may be called from many threads. An fsync error is returned to
// every waiter that fsync was meant to cover (their messages are not acknowledged).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "core/error.h"

namespace moat::mta {

class DirectorySyncGroup {
 public:
  // `sync` fsyncs the directory (QueueFileSystem::SyncDirectory bound to its path).
  explicit DirectorySyncGroup(std::function<core::Status()> sync) : sync_(std::move(sync)) {}

  // Call right after a rename into the directory; returns the ticket to wait for.
  uint64_t Renamed();
  // Blocks until a directory fsync that started after ticket's rename has completed.
  core::Status WaitDurable(uint64_t ticket);

  uint64_t syncs() const;  // fsyncs run so far (benchmarks show the sharing)

 private:
  std::function<core::Status()> sync_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  uint64_t renamed_ = 0;   // tickets handed out
  uint64_t durable_ = 0;   // tickets covered by a completed fsync
  // Ticket ranges [first, last] whose fsync failed, most recent last (failures are rare; the
  // oldest are dropped past a bound, long after their waiters have looked).
  struct Failure {
    uint64_t first;
    uint64_t last;
    core::Error error;
  };
  std::deque<Failure> failures_;
  bool syncing_ = false;
  uint64_t syncs_ = 0;
};

}  // namespace moat::mta
