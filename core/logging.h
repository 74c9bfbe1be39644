// logging.h - log set-up shared by the daemons and the admin command (spdlog).
//
// Daemons log to stderr (journald picks it up) or to syslog (facility mail, like Postfix), one
// line per event. Modules log through spdlog's default logger (spdlog::info(...)); this file only
// configures where it goes. InitLogging() is called once from main() before any thread starts.
#pragma once

#include <string>

namespace moat::core {

enum class LogTarget { kStderr, kSyslog };

struct LogOptions {
  std::string program;            // "moat-mta", shown as the syslog ident / line prefix
  LogTarget target = LogTarget::kStderr;
  std::string level = "info";     // trace, debug, info, warn, error, critical, off
};

void InitLogging(const LogOptions& options);

}  // namespace moat::core
