// fault_injection.h - make a layer under test fail on purpose: a disk that fills up half-way
// through a write, an fsync that reports EIO, a rename that is refused.
//
//   FaultInjector   a schedule of failures. A test wraps the layer it wants to break (a file-system
//                   interface, a socket layer) in an adapter that asks Check(operation, path)
//                   before each call and, when a Fault comes back, fails that call with fault.error
//                   — after writing fault.partial_bytes for a write, as a full disk does. The
//                   injector knows nothing of the layer: operations are names the adapter chooses
//                   ("write", "fsync", "rename", ...).
//   ScopedTmpfs     a real small file system (tmpfs of a given size) on a fresh directory, for a
//                   genuinely full disk. Needs CAP_SYS_ADMIN; mounted() is false otherwise and the
//                   test should GTEST_SKIP. Unmounted (lazily) and removed when destroyed.
//
// FaultInjector is thread-safe (the layer may be called from several threads). ScopedTmpfs is not.
#pragma once

#include <cerrno>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::testing {

struct Fault {
  int error = EIO;           // errno the call fails with
  size_t partial_bytes = 0;  // writes only: bytes that reach the file before the failure
};

struct FaultRule {
  std::string operation;      // which calls: "write", "fsync", ... as the adapter names them
  std::string path_contains;  // only calls whose path contains this ("" = any path)
  int skip = 0;               // let this many matching calls through first
  int times = 1;              // then fail this many (0 = every one from then on)
  Fault fault;
};

class FaultInjector {
 public:
  void Add(FaultRule rule);
  void Clear();
  // Asked before each call: the fault to inject, or nullopt to let it through. Counts the call.
  std::optional<Fault> Check(std::string_view operation, std::string_view path);
  int calls(std::string_view operation) const;  // calls seen, failed ones included
  int injected() const;                         // faults handed out

 private:
  struct Entry {
    FaultRule rule;
    int matched = 0;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> rules_;
  std::map<std::string, int, std::less<>> calls_;
  int injected_ = 0;
};

class ScopedTmpfs {
 public:
  explicit ScopedTmpfs(size_t bytes);
  ~ScopedTmpfs();
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }  // why it is not mounted

 private:
  std::string path_;
  std::string error_;
  bool mounted_ = false;
};

}  // namespace moat::testing
