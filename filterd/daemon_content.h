// daemon_content.h - the content moat-filterd runs: the real per-bank pipeline of
// content_factory.h behind the snapshot's ContentFactory seam (filterd_snapshot.h).
//
// DaemonContentFactory() is what main.cc hands to FilterDaemon. The snapshot builder calls it
// once per policy bank at start-up and on every SIGHUP:
//   - the ClamAV service is started at the first call that needs it and shared by every later
//     snapshot (it reloads its own database when the files change, every
//     clamav_reload_check_interval);
//   - the rule set (rules_directories) is compiled again for each bank of each snapshot, so
//     edited rules take effect on SIGHUP without a restart;
//   - DNS resolvers (DKIM verification) follow the snapshot's dns_servers.
//
// Errors: configuration loading, so exceptions: a ClamAV database that does not load is a
// core::ConfigError naming clamav_database_directory (at start-up the daemon stops; on SIGHUP the
// running snapshot stays), as is anything BuildContent() refuses.
// Thread safety: the returned factory may be called from the reload thread while workers scan
// with an older snapshot; its shared state is guarded by a mutex.
#pragma once

#include <memory>

#include "filterd/filterd_snapshot.h"
#include "scanners/clamav_service.h"

namespace moat::filterd {

// Owns what the factory shares across snapshots; keep it alive as long as the daemon.
class DaemonContent {
 public:
  ContentFactory Factory();
  // The ClamAV service the factory started; null until a bank needed it.
  std::shared_ptr<scanners::ClamavService> clamav() const;

 private:
  struct State;
  std::shared_ptr<State> state_ = MakeState();
  static std::shared_ptr<State> MakeState();
};

}  // namespace moat::filterd
