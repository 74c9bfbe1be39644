// reloading_table.h - a file-backed lookup table that notices when its file changes.
//
// OpenTable() wraps every file-backed type (hash, btree, texthash, pcre, regexp, cidr) in a
// ReloadingTable. It holds the compiled contents (itself a LookupTable: HashTable, RegexpTable,
// CidrTable) behind an atomic shared_ptr and answers lookups from whatever contents are current.
//
// Change detection is cheap: a lookup reads the steady clock and, at most once per
// check_interval per table, one thread wins the right to stat() the file. If the inode, size or
// mtime differ from the loaded version it reads and compiles the file right there (other threads
// keep answering from the old contents) and swaps the result in. A file that fails to load keeps
// the old contents; the failure is logged once per version of the file (spdlog error), and the
// next change of the file is tried again. ReloadIfChanged() does the same check immediately
// (for a daemon's timer, for tests) and returns the reload error.
//
// Thread safety: all methods are safe to call concurrently. Lifetime: the compiled contents
// stay alive while any lookup still uses them.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/lookup_table.h"
#include "core/table_file.h"

namespace moat::core {

class ReloadingTable final : public LookupTable {
 public:
  // Builds the contents from the file's text; errors carry "path:line:"; warnings are appended.
  using Compiler = std::function<Result<std::shared_ptr<const LookupTable>>(
      std::string_view text, std::vector<std::string>& warnings)>;

  // Reads and compiles `path` once; errors are returned as they are (the table is not created).
  static Result<std::shared_ptr<const ReloadingTable>> Open(std::string spec, std::string path,
                                                            Compiler compiler,
                                                            const TableOpenOptions& options);

  Result<std::optional<std::string>> Lookup(std::string_view key) const override;
  Result<bool> LookupInto(std::string_view key, std::string& value) const override;
  const std::string& spec() const override { return spec_; }
  bool IsPattern() const override { return is_pattern_; }
  bool IsCidr() const override { return is_cidr_; }
  Status ReloadIfChanged() const override;

  const std::string& path() const { return path_; }
  // How many times the contents were (re)loaded: 1 after Open().
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const LookupTable> contents() const { return contents_.load(); }

 private:
  ReloadingTable(std::string spec, std::string path, Compiler compiler,
                 const TableOpenOptions& options);
  void MaybeReload() const;
  // Caller holds reload_mutex_.
  Status ReloadLocked() const;

  const std::string spec_;
  const std::string path_;
  const Compiler compiler_;
  const size_t max_file_bytes_;
  const std::chrono::nanoseconds check_interval_;
  bool is_pattern_ = false;
  bool is_cidr_ = false;

  mutable std::atomic<std::shared_ptr<const LookupTable>> contents_;
  mutable std::atomic<int64_t> next_check_ns_{0};
  mutable std::atomic<uint64_t> generation_{0};
  mutable std::mutex reload_mutex_;
  mutable FileStamp loaded_stamp_;             // guarded by reload_mutex_
  mutable FileStamp failed_stamp_;             // guarded by reload_mutex_: last version that failed
  mutable std::optional<Error> failed_error_;  // guarded by reload_mutex_: and why
};

}  // namespace moat::core
