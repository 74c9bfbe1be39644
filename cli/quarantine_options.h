// quarantine_options.h - what the two quarantine front ends share: `moat quarantine`
// (cli/quarantine_command.cc) and the browser review `moat web` (cli/web_*.cc).
//
//   LoadQuarantineSettings()  where the quarantine is and where releases go, from filterd.cf of
//                             the -c directory with the -o overrides (through the filterd
//                             parameter registry, so defaults and $name expansion are the
//                             daemon's), plus the MTA's queue_directory and both daemons'
//                             metrics_listen for the web dashboard.
//   ParseAge() / ParseTime()  "30d", "12h" / "2026-11-20", "2026-11-20T08:00:00Z", "24h" ago.
//
// Precedence for the quarantine directory: an explicit --directory, else filterd.cf's
// quarantine_directory (the -o override included). Without a filterd.cf in the -c directory only
// an explicit -o quarantine_directory=... counts: the registry default (/var/lib/moat/...) is not
// guessed at, so a mistyped -c is an error instead of an empty list.
//
// Errors: kInvalid (with file:line) for a filterd.cf or override that does not check out;
// kNotFound when no quarantine directory is given anywhere (a usage error for the commands). Pure
// apart from reading the two files; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cli/command.h"
#include "core/error.h"
#include "quarantine/quarantine_entry.h"

namespace moat::cli {

struct QuarantineSettings {
  std::string quarantine_directory;            // absolute, or relative to the working directory
  std::string forward_to = "127.0.0.1:10025";  // the MTA's return listener
  std::string forward_helo_name = "localhost";
  std::string web_listen = "127.0.0.1:8025";
  std::string web_users_file;  // "" when unset
  bool web_allow_remote = false;
  std::string web_tls_cert_file;
  std::string web_tls_key_file;
  std::chrono::seconds web_session_timeout{30 * 60};
  std::string clamav_database_directory = "/var/lib/clamav";
  std::string queue_directory;   // main.cf's, "" when main.cf is absent or unreadable
  std::string filterd_metrics_listen;  // filterd.cf's metrics_listen ("" : none)
  std::string mta_metrics_listen;      // main.cf's metrics_listen ("" : none or no main.cf)
  bool from_filterd_cf = false;  // false: built from -o overrides alone (no filterd.cf)
};

// `directory_option` is --directory ("" when not given).
core::Result<QuarantineSettings> LoadQuarantineSettings(const GlobalOptions& global,
                                                        std::string_view directory_option);

// "30d", "12h", "90m", "45s", "2w" (Postfix time units); a unit is required.
std::optional<quarantine::Clock::duration> ParseAge(std::string_view text);

// A duration ago (ParseAge), or a UTC date ("2026-11-20") or date-time ("2026-11-20T08:00",
// "2026-11-20T08:00:00Z", a space instead of T also accepted).
std::optional<quarantine::TimePoint> ParseTime(std::string_view text, quarantine::TimePoint now);

}  // namespace moat::cli
