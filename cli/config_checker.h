// config_checker.h - what `moat check-config` checks, as a library function (tested without the
// command line).
//
// Like `postconf` + `postfix check` for a Moat config directory:
//   main.cf     unknown parameters (error, with the closest name), Postfix parameters moat-mta
//               does not implement (warning), malformed values, $name loops, restriction names;
//   master.cf   syntax, unknown commands (error), Postfix programs Moat does not run (warning),
//               listen addresses, each service's -o overrides;
//   filterd.cf  the same parameter checks against moat-filterd's registry;
//   tables      every lookup table the configuration names is opened as the daemons would open
//               it: unreadable files and syntax errors (invalid regex, unterminated if, bad CIDR)
//               are errors, reported with the table's file:line when the table module gives one;
//   files       certificate, key and rule files that are set must be readable.
// The files that exist are checked; a directory with none of the three is an error.
//
// -o overrides go to the file whose registry knows the name (both for names they share, such as
// mynetworks); other names go to main.cf, where they are reported as unknown.
//
// Thread safety: no shared state; safe to call concurrently.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config_error.h"
#include "core/error.h"

namespace moat::cli {

// Opens one lookup table "type:name" as the daemons would; relative names resolve against
// `base_directory`. Implemented in check_config_tables.cc (the one place check-config touches
// the lookup-table module).
core::Status CheckLookupTable(std::string_view spec, const std::string& base_directory);

struct ConfigCheckOptions {
  std::string directory;               // -c
  std::vector<std::string> overrides;  // -o, in order
  // How tables are opened; CheckLookupTable unless a test substitutes its own.
  std::function<core::Status(std::string_view, const std::string&)> open_table = CheckLookupTable;
};

struct ConfigCheckResult {
  core::ConfigDiagnostics diagnostics;  // sorted by file and line
  std::vector<std::string> files;       // the files that were checked
  int errors = 0;
  int warnings = 0;
};

ConfigCheckResult CheckConfigDirectory(const ConfigCheckOptions& options);

// Splits -o overrides between main.cf and filterd.cf by the parameter registries (see above).
// Each override keeps its 1-based position on the command line, for "-o #N" locations.
struct SplitOverrides {
  std::vector<std::pair<int, std::string>> main;
  std::vector<std::pair<int, std::string>> filterd;
};
SplitOverrides SplitOverridesByFile(const std::vector<std::string>& overrides);

}  // namespace moat::cli
