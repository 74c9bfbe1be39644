// queue_file_system.h - the file-system calls the queue store makes, behind an interface so tests
// can fail any one of them (a disk that fills up half-way through a write, an fsync that reports
// EIO) or forget everything that was not fsynced (a simulated power cut), and check that no
// acknowledged message is lost and nothing half-written stays in incoming/.
//
// PosixQueueFileSystem is the real one. The fault-injecting one lives in the tests
// (tests/mta/queue_test_util.h, driven by tests/support/fault_injection.h).
//
// Errors: kNotFound when a path to open, list, stat or remove does not exist; kIo for every other
// refusal of the operating system (the message names the call, the path and strerror: "write
// .../incoming/.tmp.X: No space left on device"). Thread-safe: no state of its own.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::mta {

struct QueueFileInfo {
  uint64_t size = 0;
  int64_t mtime = 0;  // Unix seconds
};

class QueueFileSystem {
 public:
  virtual ~QueueFileSystem() = default;

  // Creates `path`, which must not exist yet, for writing; returns its descriptor.
  virtual core::Result<int> CreateNew(const std::string& path, mode_t mode) = 0;
  // Opens an existing file read-only, or read-write for in-place updates.
  virtual core::Result<int> Open(const std::string& path, bool writable) = 0;
  // Appends to `path` (created when missing) and returns the descriptor (O_APPEND).
  virtual core::Result<int> OpenAppend(const std::string& path, mode_t mode) = 0;
  // Writes all pieces in order at the current position, retrying short writes.
  virtual core::Status Write(int fd, std::span<const std::string_view> pieces,
                             const std::string& path) = 0;
  // Writes `data` at `offset` (pwrite), all of it.
  virtual core::Status WriteAt(int fd, uint64_t offset, std::string_view data,
                               const std::string& path) = 0;
  // Cuts (or extends) the file to `size` bytes (ftruncate).
  virtual core::Status Truncate(int fd, uint64_t size, const std::string& path) = 0;
  // Reads up to `length` bytes at `offset`; fewer only at end of file.
  virtual core::Result<std::string> ReadAt(int fd, uint64_t offset, size_t length,
                                           const std::string& path) = 0;
  virtual core::Result<uint64_t> Size(int fd, const std::string& path) = 0;
  // fdatasync: the data and what is needed to read it back (the size) are durable.
  virtual core::Status Sync(int fd, const std::string& path) = 0;
  virtual core::Status Close(int fd, const std::string& path) = 0;
  // rename(2); with `no_replace`, an existing `to` is left alone and the result is false.
  virtual core::Result<bool> Rename(const std::string& from, const std::string& to,
                                    bool no_replace) = 0;
  virtual core::Status SyncDirectory(const std::string& path) = 0;
  // Creates one directory (the parent must exist); an existing directory is success.
  virtual core::Status MakeDirectory(const std::string& path, mode_t mode) = 0;
  virtual core::Status Remove(const std::string& path) = 0;
  // Names in a directory, without "." and "..".
  virtual core::Result<std::vector<std::string>> List(const std::string& directory) = 0;
  virtual core::Result<QueueFileInfo> Stat(const std::string& path) = 0;
};

class PosixQueueFileSystem : public QueueFileSystem {
 public:
  core::Result<int> CreateNew(const std::string& path, mode_t mode) override;
  core::Result<int> Open(const std::string& path, bool writable) override;
  core::Result<int> OpenAppend(const std::string& path, mode_t mode) override;
  core::Status Write(int fd, std::span<const std::string_view> pieces,
                     const std::string& path) override;
  core::Status WriteAt(int fd, uint64_t offset, std::string_view data,
                       const std::string& path) override;
  core::Status Truncate(int fd, uint64_t size, const std::string& path) override;
  core::Result<std::string> ReadAt(int fd, uint64_t offset, size_t length,
                                   const std::string& path) override;
  core::Result<uint64_t> Size(int fd, const std::string& path) override;
  core::Status Sync(int fd, const std::string& path) override;
  core::Status Close(int fd, const std::string& path) override;
  core::Result<bool> Rename(const std::string& from, const std::string& to,
                            bool no_replace) override;
  core::Status SyncDirectory(const std::string& path) override;
  core::Status MakeDirectory(const std::string& path, mode_t mode) override;
  core::Status Remove(const std::string& path) override;
  core::Result<std::vector<std::string>> List(const std::string& directory) override;
  core::Result<QueueFileInfo> Stat(const std::string& path) override;
};

}  // namespace moat::mta
