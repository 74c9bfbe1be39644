// durable_file.h - small file-system helpers for data that must survive a crash.
//
// "Durable" here means what a 250 reply promises: the bytes and the directory entry that names
// them have been fsynced. The queue, the quarantine and key files build on these:
//
//   WriteFileAtomically  write to a temporary name in the same directory, fsync the file, rename
//                        over the final name, fsync the directory. Readers see the old file or
//                        the new one, never a torn one.
//   FsyncDirectory       make a create/rename/unlink in that directory durable.
//   ReadFile             whole file into memory, refusing files larger than a bound.
//
// All functions are thread-safe (no shared state). Errors are kIo with the path and strerror; a
// file over the bound is kInvalid; a missing file is kNotFound.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::core {

Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode = 0644);
Status FsyncDirectory(const std::string& directory);
// Creates the directory and its missing parents with `mode`; an existing directory is fine.
Status EnsureDirectory(const std::string& path, mode_t mode = 0755);
Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 64u << 20);
// Writes all of `data` to `fd`, retrying on EINTR and short writes.
Status WriteAll(int fd, std::string_view data, std::string_view what);

// Directory part of a path ("." when there is none).
std::string DirectoryOf(const std::string& path);

}  // namespace moat::core
