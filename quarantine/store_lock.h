// store_lock.h - the flock() on <quarantine_directory>/lock that keeps recovery away from live
// writers (quarantine_store.h explains the protocol).
//
// Each StoreLock is its own open file description, so two StoreLocks conflict even inside one
// process, and the kernel drops a lock when its process dies (kill -9 included). Not thread-safe:
// one owner. Errors: kIo when the lock file cannot be opened or flock() fails for another reason
// than contention.
#pragma once

#include <string>

#include "core/error.h"

namespace moat::quarantine {

class StoreLock {
 public:
  // Opens (creating) the lock file; holds no lock yet.
  static core::Result<StoreLock> Open(const std::string& path);
  StoreLock(StoreLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
    other.fd_ = -1;
  }
  StoreLock& operator=(StoreLock&& other) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  ~StoreLock();

  // Waits for a shared lock (converting an exclusive one).
  core::Status LockShared();
  // An exclusive lock if nobody holds any lock now; false when someone does.
  core::Result<bool> TryLockExclusive();
  void Unlock();

 private:
  StoreLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace moat::quarantine
