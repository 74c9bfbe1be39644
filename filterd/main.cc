// moat-filterd - the content filter of the Moat mail gateway.
//
// NAME
//   moat-filterd - LMTP content filter (ClamAV, banned attachments, rules, DKIM, quarantine)
//
// SYNOPSIS
//   moat-filterd [-c DIR] [-o name=value]... [--check]
//   moat-filterd --version | --help
//
// DESCRIPTION
//   Not yet implemented: moat-filterd loads and checks its configuration and exits. The LMTP
//   listeners, scanners and reinjection arrive with the filter issues; until then it never
//   listens on a port.
//
//   -c DIR          configuration directory (default /etc/moat): DIR/filterd.cf
//   -o name=value   override a filterd.cf parameter (repeatable)
//   --check         check the configuration, print every warning, exit 0 (or 1 on an error)
//
//   A configuration error is printed as "file:line: error: message" and the exit status is 1.
//
// CONFIGURATION
//   filterd.cf in main.cf syntax (`moat config show --filterd -d --doc` lists the parameters).
//   Relative paths resolve against DIR.
//
// SEE ALSO
//   moat(1) check-config, config show --filterd; amavisd-new(8)
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/config_error.h"
#include "core/config_version.h"
#include "filterd/filterd_parameters.h"

int main(int argc, char** argv) {
  CLI::App app{
      "moat-filterd - content filter of the Moat mail gateway.\n"
      "Not yet implemented: loads the configuration and exits."};
  std::string directory = "/etc/moat";
  std::vector<std::string> overrides;
  bool check = false;
  app.add_option("-c", directory, "Configuration directory (filterd.cf)")->type_name("DIR");
  app.add_option("-o", overrides, "Override a filterd.cf parameter (repeatable)")
      ->type_name("name=value")
      ->allow_extra_args(false);
  app.add_flag("--check", check, "Check the configuration, print every warning and exit");
  app.set_version_flag("--version", fmt::format("moat-filterd {}", moat::core::kMoatVersion));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    moat::core::ConfigDiagnostics warnings;
    auto config = moat::filterd::LoadFilterdConfig({directory, "filterd.cf", overrides}, &warnings);
    for (const moat::core::ConfigDiagnostic& d : warnings) fmt::print(stderr, "{}\n", d.ToString());
    if (check) return 0;
    fmt::print(stderr,
               "moat-filterd: configuration loaded from {}; the filter is not implemented yet, "
               "exiting\n",
               directory);
    return 0;
  } catch (const moat::core::ConfigError& e) {
    fmt::print(stderr, "{}: error: {}\n", e.location().ToString(), e.message());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "moat-filterd: fatal: {}\n", e.what());
    return 1;
  }
}
