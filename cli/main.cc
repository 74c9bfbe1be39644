// moat - the admin command of the Moat mail gateway.
//
// NAME
//   moat - check and show the configuration; (later) queue, quarantine, tables, rules, DKIM
//
// SYNOPSIS
//   moat [-c DIR] [-o name=value]... COMMAND [ARGS]
//   moat --version | --help | COMMAND --help
//
// DESCRIPTION
//   check-config            every problem of main.cf, master.cf, filterd.cf and their tables,
//                           one "file:line: error|warning: message" line each; exit 1 on errors
//   config show [-n|-d] [-x] [--doc] [--filterd] [NAME...]
//                           parameter values as "name = value", like postconf
//   passwd [--user NAME]    a password hash for smtpd_sasl_password_maps (password from the
//                           terminal or stdin)
//   queue list [--json] | show ID | flush [--site D] | delete|hold|release|requeue ID...|ALL
//                           the MTA's queue, like mailq, postcat, postqueue -f/-s, postsuper
//   log summary [FILE...]   a pflogsumm-style report of moat-mta's and moat-filterd's logs
//   greylist list [--json] | clear [--expired]
//                           moat-mta's greylisting triplets and auto-allowed client networks
//
//   -c DIR          configuration directory (default /etc/moat)
//   -o name=value   override a parameter of main.cf or filterd.cf (repeatable)
//
//   Exit status: 0 success, 1 errors found or the operation failed, 2 usage error.
//
// CONFIGURATION
//   The same files as moat-mta and moat-filterd; relative paths resolve against DIR.
//
// SEE ALSO
//   moat-mta(8), moat-filterd(8), postconf(1), postconf(5), master(5)
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "core/config_error.h"
#include "core/config_version.h"
#include "core/logging.h"

int main(int argc, char** argv) {
  // Standard output is the command's answer (`moat scan --json` is parsed by scripts): library
  // log lines, such as ClamAV's engine load, go to stderr, and only warnings and worse.
  moat::core::InitLogging({.program = "moat", .target = moat::core::LogTarget::kStderr,
                           .level = "warn"});
  CLI::App app{"moat - admin command of the Moat mail gateway"};
  moat::cli::GlobalOptions global;
  app.add_option("-c", global.config_directory, "Configuration directory (default /etc/moat)")
      ->type_name("DIR");
  app.add_option("-o", global.overrides, "Override a main.cf or filterd.cf parameter (repeatable)")
      ->type_name("name=value")
      ->allow_extra_args(false);
  app.set_version_flag("--version", fmt::format("moat {}", moat::core::kMoatVersion));
  app.require_subcommand(1);
  app.fallthrough();  // -c and -o are accepted after the subcommand too

  moat::cli::RegisterCheckConfigCommand(app, global);
  moat::cli::RegisterConfigCommand(app, global);
  moat::cli::RegisterMapCommand(app, global);
  moat::cli::RegisterDkimCommand(app, global);
  moat::cli::RegisterQueueCommand(app, global);
  moat::cli::RegisterQuarantineCommand(app, global);
  moat::cli::RegisterRulesCommand(app, global);
  moat::cli::RegisterPasswdCommand(app, global);
  moat::cli::RegisterScanCommand(app, global);
  moat::cli::RegisterWebCommand(app, global);
  moat::cli::RegisterLogCommand(app, global);
  moat::cli::RegisterGreylistCommand(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const moat::cli::CommandExit& e) {
    return e.status;
  } catch (const moat::core::ConfigError& e) {
    fmt::print(stderr, "{}: error: {}\n", e.location().ToString(), e.message());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "moat: fatal: {}\n", e.what());
    return 1;
  }
  return 0;
}
