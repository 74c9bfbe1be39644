// filterd_settings.h - the daemon side of filterd.cf as typed values: listeners per policy
// bank, the reinjection peer, limits, timeouts, pools, quarantine and DKIM signing settings.
//
// moat-filterd reads its configuration once per snapshot (start-up and every SIGHUP):
// LoadFilterdConfig() checks the file against the registry, then ReadFilterdSettings() turns the
// parameters the daemon itself uses into the values below, so the message path never parses
// text. The content stages and policies read their own parameters from the same Config (see
// filterd_snapshot.h).
//
// Errors: ReadFilterdSettings() throws core::ConfigError ("file:line: message", the location of
// the offending setting) for values that pass the registry's type check but make no sense to the
// daemon: an unparsable listen address, no listener at all, a mynetworks entry that does not
// parse. Exceptions only while loading configuration, as STYLE.md says.
//
// Plain values; copy freely; immutable once built (the snapshot shares them read-only).
#pragma once

// clang-format off
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
// clang-format on

#include "core/config.h"
#include "core/network_list.h"
#include "core/smtp_client.h"
#include "core/smtp_endpoint.h"
#include "filterd/dkim_signer.h"

namespace moat::filterd {

// One LMTP listener: the endpoint of `<bank>_lmtp_listen`.
struct BankListener {
  std::string bank;  // "inbound" or "originating"
  core::SmtpEndpoint endpoint;
};

struct FilterdSettings {
  std::string myhostname;
  std::vector<BankListener> listeners;  // banks whose *_lmtp_listen is not empty
  core::SmtpEndpoint forward_to;
  std::string forward_helo_name;
  std::optional<core::SmtpEndpoint> metrics_listen;  // host:port of /metrics; unset: none
  // mynetworks: mail whose XFORWARD ADDR is in it uses the originating bank.
  std::shared_ptr<const core::NetworkList> mynetworks;

  std::uint64_t message_size_limit = 0;
  std::size_t recipient_limit = 1000;
  std::size_t max_sessions = 100;  // per listener
  unsigned worker_threads = 1;     // resolved: never 0
  std::size_t worker_queue_limit = 1;
  unsigned io_threads = 1;  // resolved: never 0
  std::chrono::milliseconds lmtp_timeout{300'000};
  std::chrono::milliseconds lmtp_data_timeout{600'000};
  core::SmtpClientTimeouts forward_timeouts;
  std::chrono::milliseconds forward_reuse_time_limit{300'000};
  std::chrono::milliseconds shutdown_timeout{60'000};

  std::string quarantine_directory;  // empty: no quarantine (held mail is tempfailed)
  std::chrono::seconds quarantine_retention{30 * 86400};
  std::chrono::seconds quarantine_expiry_interval{3600};

  std::string virus_scanned_header;  // value of X-Virus-Scanned

  bool dkim_sign = true;
  std::string dkim_key_table;      // absolute path, "" = no signing
  std::string dkim_signing_table;  // "refile:/abs/path" or "/abs/path"
  DkimSignOptions dkim_options;

  std::string log_target = "stderr";
  std::string log_level = "info";
  std::string syslog_name = "moat-filterd";
};

// Throws core::ConfigError; see the file comment.
FilterdSettings ReadFilterdSettings(const core::Config& config);

}  // namespace moat::filterd
