// clamav_service.h - the current ClamAV engine, reloaded in the background without a gap.
//
// ClamavService holds the engine every worker scans with. engine() hands out a
// std::shared_ptr<const ClamavEngine>; a worker keeps it for the message it is scanning, so an
// engine lives until its last scan ends. A reload (RequestReload(), e.g. on SIGHUP, or the
// watcher noticing that the database directory changed - freshclam replaced daily.cld) builds a
// complete new engine on the service's own thread while the old one keeps scanning, then swaps
// the pointer atomically. No moment passes where mail is scanned by nothing or refused. If the
// new database does not load, the error is logged and kept (last_reload_error()) and the old
// engine stays.
//
// Start() loads the first engine synchronously: a filter without a working engine must not
// accept mail (its error goes to the caller, which tempfails or refuses to start).
//
// Thread safety: every method may be called from any thread. The destructor stops the
// background thread (waiting for a reload in progress to finish).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.h"
#include "scanners/clamav_engine.h"

namespace moat::scanners {

struct ClamavServiceOptions {
  ClamavOptions engine;
  // How often the database directory is checked for changes (0 = never; reload on request only).
  std::chrono::milliseconds watch_interval{60'000};
};

class ClamavService {
 public:
  static core::Result<std::unique_ptr<ClamavService>> Start(ClamavServiceOptions options);
  ~ClamavService();
  ClamavService(const ClamavService&) = delete;
  ClamavService& operator=(const ClamavService&) = delete;

  std::shared_ptr<const ClamavEngine> engine() const;

  // Asks the background thread to build a new engine now; returns at once.
  void RequestReload();
  // Builds a new engine on the calling thread and swaps it in; the old one stays on error.
  core::Status ReloadNow();

  // Increments each time a new engine was swapped in (1 after Start()).
  uint64_t generation() const { return generation_.load(); }
  std::optional<core::Error> last_reload_error() const;

 private:
  explicit ClamavService(ClamavServiceOptions options);
  void Run();
  core::Status Reload();

  ClamavServiceOptions options_;
  std::atomic<std::shared_ptr<const ClamavEngine>> engine_;
  std::atomic<uint64_t> generation_{0};

  std::mutex reload_mutex_;             // one reload at a time (background or ReloadNow)
  std::optional<DatabaseWatch> watch_;  // guarded by reload_mutex_

  mutable std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  bool stop_ = false;
  bool reload_requested_ = false;
  std::optional<core::Error> last_error_;

  std::thread thread_;
};

}  // namespace moat::scanners
