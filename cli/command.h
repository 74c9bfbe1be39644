// command.h - how the `moat` admin command is put together.
//
// cli/main.cc parses the options every binary shares (-c DIR, repeatable -o name=value, --version)
// and hands the same GlobalOptions to each subcommand. A subcommand lives in its own file
// cli/<name>_command.cc and exposes one function, declared here:
//
//     void RegisterXxxCommand(CLI::App& app, const GlobalOptions& global);
//
// which adds a CLI11 subcommand whose callback does the work and sets the exit status through
// CommandExit (0 ok, 1 errors found / operation failed, 2 usage). Callbacks never call exit().
// Adding a subcommand = a new file + one declaration below + one call in main.cc.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace moat::cli {

struct GlobalOptions {
  std::string config_directory = "/etc/moat";
  std::vector<std::string> overrides;  // "name=value", in command-line order
};

// Thrown by subcommand callbacks to end with a status; caught in main.cc.
struct CommandExit {
  int status = 0;
};

void RegisterCheckConfigCommand(CLI::App& app, const GlobalOptions& global);
void RegisterConfigCommand(CLI::App& app, const GlobalOptions& global);
void RegisterMapCommand(CLI::App& app, const GlobalOptions& global);
void RegisterDkimCommand(CLI::App& app, const GlobalOptions& global);  // dkim keygen|check
void RegisterQuarantineCommand(CLI::App& app, const GlobalOptions& global);
// `moat queue list|show|flush|delete|hold|release|requeue` (cli/queue_command.cc).
void RegisterQueueCommand(CLI::App& app, const GlobalOptions& global);
// `moat rules lint|test` (cli/rules_command.cc; its message adapter is in cli/rules_command.h).
void RegisterRulesCommand(CLI::App& app, const GlobalOptions& global);
// `moat passwd`: a password hash for smtpd_sasl_password_maps (cli/passwd_command.cc).
void RegisterPasswdCommand(CLI::App& app, const GlobalOptions& global);
// `moat scan FILE [--json] [--originating|--bank NAME]` (cli/scan_command.cc).
void RegisterScanCommand(CLI::App& app, const GlobalOptions& global);
// `moat web`: the quarantine review in a browser (cli/web_command.cc).
void RegisterWebCommand(CLI::App& app, const GlobalOptions& global);
// `moat log summary [FILE...]`: a pflogsumm-style traffic report (cli/log_command.cc).
void RegisterLogCommand(CLI::App& app, const GlobalOptions& global);
// `moat greylist list|clear`: moat-mta's greylisting state (cli/greylist_command.cc).
void RegisterGreylistCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace moat::cli
