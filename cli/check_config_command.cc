// check_config_command.cc - `moat check-config`: every configuration problem, one line each.
//
//   moat [-c DIR] [-o name=value]... check-config [--quiet]
//
// Prints "file:line: error|warning: message" lines on stdout, sorted by file and line, then a
// summary on stderr. Exit status 0 when there are no errors (warnings allowed), 1 otherwise.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/config_checker.h"

namespace moat::cli {

void RegisterCheckConfigCommand(CLI::App& app, const GlobalOptions& global) {
  CLI::App* command = app.add_subcommand(
      "check-config",
      "Check main.cf, master.cf, filterd.cf and the tables they name (like postconf + postfix "
      "check); exit 1 on errors");
  auto quiet = std::make_shared<bool>(false);
  command->add_flag("-q,--quiet", *quiet, "Print errors only, no warnings or summary");
  command->callback([&global, quiet] {
    ConfigCheckOptions options;
    options.directory = global.config_directory;
    options.overrides = global.overrides;
    ConfigCheckResult result = CheckConfigDirectory(options);
    for (const core::ConfigDiagnostic& d : result.diagnostics) {
      if (*quiet && d.severity != core::Severity::kError) continue;
      fmt::print("{}\n", d.ToString());
    }
    std::fflush(stdout);
    if (!*quiet) {
      fmt::print(stderr, "moat check-config: {}: {} error{}, {} warning{}\n",
                 global.config_directory, result.errors, result.errors == 1 ? "" : "s",
                 result.warnings, result.warnings == 1 ? "" : "s");
    }
    throw CommandExit{result.errors > 0 ? 1 : 0};
  });
}

}  // namespace moat::cli
