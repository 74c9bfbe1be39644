// clamav_engine.h - ClamAV in process: one compiled engine, scanning buffers from memory.
//
// ClamavEngine is an immutable, compiled libclamav engine loaded from a database directory
// (clamav_database_directory: *.cvd, *.cld, or signature files such as .hdb/.hsb/.ndb). After
// Load() it is shared by all workers through std::shared_ptr<const ClamavEngine>: libclamav's
// cl_engine is thread-safe for scanning once compiled. Buffers are scanned where they lie
// (cl_fmap_open_memory + cl_scanmap_callback); Moat writes no temp files. (libclamav itself may
// still use `temp_directory` for a few of its own unpackers.)
//
// What ClamAV is asked to do. Moat decomposes MIME and archives itself (one decode per byte,
// one set of limits, exact paths), so ClamAV sees the leaves of that decomposition. Its own
// archive and document unpacking stays ON for those leaves: by construction a leaf is not a
// container libarchive opened, so ClamAV's unpackers only run on what we do not decompose -
// arj, chm, sis, nsis, szdd, InstallShield, OLE2 macros, PDF objects, TNEF, binhex - and on
// containers libarchive failed to read. That costs nothing on ordinary mail and finds
// clam.arj or a macro inside a .doc. The raw message is scanned with parsing off (signatures
// over the bytes as sent), because its parts already went through the leaf pass - unless the
// MIME structure was ambiguous (virus_scan.h), then ClamAV parses the raw message itself too.
//
// Outcomes: a scan returns clean, infected (signature name), or limit-exceeded (ClamAV's own
// limits tripped: Heuristics.Limits.Exceeded.*; the caller records an UNCHECKED limit event).
// Any libclamav error is an error value (kTempFail), never "clean".
//
// Reloading without a gap lives in ClamavService (clamav_service.h); DatabaseWatch below is the
// change detector it polls (cl_statinidir/cl_statchkdir, as clamd's SelfCheck does).
//
// Errors of Load(): kIo the directory cannot be read; kCorrupt a database file is malformed;
// kInvalid no signatures at all (an engine that knows nothing must never say "clean");
// kTempFail out of memory or libclamav failed to initialise.
// Memory: a full official database costs ~1 GB per engine; during a reload two exist briefly.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::scanners {

struct ClamavOptions {
  std::string database_directory = "/var/lib/clamav";
  std::string temp_directory;  // libclamav's own scratch; empty = $TMPDIR or /tmp
  // ClamAV unpacking of archives inside leaves (see above). Off: pure signature scanning.
  bool archive_parsing = true;
  // ClamAV's own limits per scanned buffer (cl_engine MAX_*).
  uint64_t max_scan_bytes = 256ull << 20;
  uint64_t max_file_bytes = 128ull << 20;
  uint32_t max_recursion = 16;
  uint32_t max_files = 10'000;
  uint32_t max_scan_time_ms = 120'000;
  // libclamav remembers clean buffers by hash; off for benchmarks that scan the same set again.
  bool cache = true;
};

struct ClamavDatabaseInfo {
  std::string directory;
  uint32_t signature_count = 0;
  uint32_t version = 0;   // the daily database version (0 when there is no official database)
  std::time_t built = 0;  // its build time
  std::vector<std::string> files;  // database files loaded, sorted
  // "daily 27432 (2024-10-22), 8712345 signatures" or "local: test.hdb test.ndb, 6 signatures"
  std::string Describe() const;
};

struct ClamavScanOutcome {
  enum class Kind { kClean, kInfected, kLimitExceeded };
  Kind kind = Kind::kClean;
  std::string signature;  // kInfected: virus name; kLimitExceeded: the heuristic's name
};

enum class ClamavScanMode {
  kLeaf,              // a decoded part or archive member: full ClamAV file-type parsing
  kRawMessage,        // the message as received: signatures over the raw bytes only
  kRawMessageParsed,  // the message as received, through ClamAV's own MIME parser too (used
                      // when our MIME view is ambiguous: a second opinion on the structure)
};

class ClamavEngine {
 public:
  static core::Result<std::shared_ptr<const ClamavEngine>> Load(const ClamavOptions& options);

  ~ClamavEngine();
  ClamavEngine(const ClamavEngine&) = delete;
  ClamavEngine& operator=(const ClamavEngine&) = delete;

  // Thread-safe. `name` is only for ClamAV's logs (may be empty).
  core::Result<ClamavScanOutcome> Scan(std::string_view bytes, std::string_view name,
                                       ClamavScanMode mode) const;

  const ClamavDatabaseInfo& info() const { return info_; }
  const ClamavOptions& options() const { return options_; }

  // libclamav's version string ("1.4.6").
  static std::string LibraryVersion();

 private:
  struct Handle;
  ClamavEngine(std::unique_ptr<Handle> handle, ClamavDatabaseInfo info, ClamavOptions options);
  std::unique_ptr<Handle> handle_;
  ClamavDatabaseInfo info_;
  ClamavOptions options_;
};

// Notices changes to a database directory (files added, removed, replaced): cl_statchkdir() as
// clamd uses it, plus a snapshot of (name, size, mtime in ns, inode) of the database files,
// because cl_statchkdir() misses removals and changes within the same second. Not thread-safe.
class DatabaseWatch {
 public:
  static core::Result<DatabaseWatch> Start(const std::string& directory);
  DatabaseWatch(DatabaseWatch&&) noexcept;
  DatabaseWatch& operator=(DatabaseWatch&&) noexcept;
  ~DatabaseWatch();
  // True when the directory differs from when Start() ran.
  bool Changed() const;

 private:
  struct State;
  explicit DatabaseWatch(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace moat::scanners
