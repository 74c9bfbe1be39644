// filterd_snapshot.h - moat-filterd's compiled configuration: one immutable snapshot per load.
//
// A FilterdSnapshot holds everything a message needs that comes from configuration: the parsed
// Config, the daemon settings (filterd_settings.h), per policy bank the stage list and the
// MessagePolicy, the DKIM signing keys, and the LMTP session options. It is built once at
// start-up and again on every SIGHUP (in the background), shared as
// std::shared_ptr<const FilterdSnapshot>, and never changed: a message takes the current snapshot
// when its transaction completes and keeps it to the end, so a reload never changes the rules
// under a message in flight. SnapshotHolder swaps the current one atomically.
//
// The content seam. What each bank scans for and how it decides comes from a ContentFactory:
// given the Config and a bank name it returns that bank's content stages and its policy. The
// snapshot builder calls it once per bank (kPolicyBanks) and puts the daemon's own stages in
// front (ReceivedHeaderStage, basic_stages.h). BasicContentFactory() is the default: the
// X-Virus-Scanned stage and PassAllPolicy. The real content (decomposition, ClamAV, banned
// checks, rules, DKIM verification, per-bank destinies) plugs in by passing its factory to
// FilterDaemonOptions::content (filter_daemon.h); tests pass their own to exercise quarantine,
// slow stages or failures. A factory may throw core::ConfigError (or any std::exception) for a
// configuration it cannot build: at start-up that stops the daemon, on SIGHUP the old snapshot
// stays.
//
// Thread safety: snapshots are immutable; SnapshotHolder is safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/smtp_session.h"
#include "filterd/dkim_key_table.h"
#include "filterd/filterd_settings.h"
#include "filterd/policy.h"
#include "filterd/stage.h"

namespace moat::filterd {

// What a bank runs over each message and how it decides.
struct BankContent {
  StageList stages;
  std::shared_ptr<const MessagePolicy> policy;
};

using ContentFactory =
    std::function<BankContent(const core::Config& config, std::string_view bank)>;

// X-Virus-Scanned (virus_scanned_header) and PassAllPolicy, for every bank.
ContentFactory BasicContentFactory();

struct FilterdSnapshot {
  std::uint64_t generation = 0;  // 1 for the first load, +1 per successful reload
  std::shared_ptr<const core::Config> config;
  FilterdSettings settings;
  std::map<std::string, BankContent, std::less<>> banks;  // one per kPolicyBanks entry
  std::shared_ptr<const DkimKeyStore> dkim_keys;           // null: no signing configured
  std::shared_ptr<const core::SmtpServerOptions> lmtp_options;

  // The bank's content; every name of kPolicyBanks is present.
  const BankContent& bank(std::string_view name) const;
};

// Loads DIR/filterd.cf with the overrides and builds everything. Throws core::ConfigError (or
// what the factory throws); warnings of the configuration go to `warnings` when given.
std::shared_ptr<const FilterdSnapshot> BuildFilterdSnapshot(const core::ConfigSource& source,
                                                            const ContentFactory& factory,
                                                            std::uint64_t generation,
                                                            core::ConfigDiagnostics* warnings);

// The same from an already loaded Config.
std::shared_ptr<const FilterdSnapshot> BuildFilterdSnapshot(
    std::shared_ptr<const core::Config> config, const ContentFactory& factory,
    std::uint64_t generation);

class SnapshotHolder {
 public:
  explicit SnapshotHolder(std::shared_ptr<const FilterdSnapshot> initial)
      : current_(std::move(initial)) {}
  std::shared_ptr<const FilterdSnapshot> Get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void Set(std::shared_ptr<const FilterdSnapshot> next) {
    std::shared_ptr<const FilterdSnapshot> old;
    {
      std::lock_guard lock(mutex_);
      old = std::exchange(current_, std::move(next));
    }
    // `old` dies here, outside the lock, unless a message still holds it.
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const FilterdSnapshot> current_;
};

}  // namespace moat::filterd
