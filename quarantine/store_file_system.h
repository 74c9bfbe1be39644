// store_file_system.h - the file-system calls the quarantine store makes, behind an interface so
// tests can make any one of them fail (a full disk in the middle of a write, an fsync error) and
// check that no acknowledged message is lost and no half entry stays.
//
// PosixStoreFileSystem is the real one. Paths are absolute or relative to the process's working
// directory, as given. A fault-injecting subclass lives in the tests (tests/quarantine/), driven by
// tests/support/fault_injection.h.
//
// Errors: kNotFound when a path to read, list or remove does not exist; kIo for every other
// refusal of the operating system (the message says which call, which path, and strerror —
// "write .../x.tmp: No space left on device"). Thread-safe: no state of its own.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::quarantine {

class StoreFileSystem {
 public:
  virtual ~StoreFileSystem() = default;

  // Creates `path`, which must not exist yet, for writing; returns its descriptor.
  virtual core::Result<int> CreateNew(const std::string& path, mode_t mode) = 0;
  // Writes all of `data`, retrying short writes.
  virtual core::Status Write(int fd, std::string_view data, const std::string& path) = 0;
  virtual core::Status Sync(int fd, const std::string& path) = 0;
  virtual core::Status Close(int fd, const std::string& path) = 0;
  virtual core::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual core::Status SyncDirectory(const std::string& path) = 0;
  // Creates one directory (the parent must exist); an existing directory is success.
  virtual core::Status MakeDirectory(const std::string& path, mode_t mode) = 0;
  virtual core::Status Remove(const std::string& path) = 0;
  virtual core::Result<std::string> ReadFile(const std::string& path, size_t max_bytes) = 0;
  // Names in a directory, without "." and "..".
  virtual core::Result<std::vector<std::string>> List(const std::string& directory) = 0;
  // Size of a regular file; kNotFound when missing.
  virtual core::Result<uint64_t> FileSize(const std::string& path) = 0;
};

class PosixStoreFileSystem : public StoreFileSystem {
 public:
  core::Result<int> CreateNew(const std::string& path, mode_t mode) override;
  core::Status Write(int fd, std::string_view data, const std::string& path) override;
  core::Status Sync(int fd, const std::string& path) override;
  core::Status Close(int fd, const std::string& path) override;
  core::Status Rename(const std::string& from, const std::string& to) override;
  core::Status SyncDirectory(const std::string& path) override;
  core::Status MakeDirectory(const std::string& path, mode_t mode) override;
  core::Status Remove(const std::string& path) override;
  core::Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override;
  core::Result<std::vector<std::string>> List(const std::string& directory) override;
  core::Result<uint64_t> FileSize(const std::string& path) override;
};

}  // namespace moat::quarantine
