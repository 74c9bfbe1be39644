// moat-mta - the Postfix-compatible MTA of the Moat mail gateway.
//
// NAME
//   moat-mta - SMTP server, queue and delivery agents reading Postfix's main.cf and master.cf
//
// SYNOPSIS
//   moat-mta [-c DIR] [-o name=value]... [--check]
//   moat-mta --version | --help
//
// DESCRIPTION
//   Not yet implemented: moat-mta loads and checks its configuration and exits. The SMTP server,
//   queue and delivery agents arrive with the MTA issues; until then it never listens on a port.
//
//   -c DIR          configuration directory (default /etc/moat): DIR/main.cf and DIR/master.cf
//   -o name=value   override a main.cf parameter (repeatable; wins over main.cf, loses to a
//                   master.cf service's own -o for that service)
//   --check         check the configuration, print every warning, exit 0 (or 1 on an error)
//
//   A configuration error is printed as "file:line: error: message" and the exit status is 1.
//
// CONFIGURATION
//   Postfix's main.cf and master.cf syntax and parameter names (`moat config show -d --doc`
//   lists them). Relative paths resolve against DIR.
//
// SEE ALSO
//   moat(1) check-config, config show; postconf(5); master(5)
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/config_error.h"
#include "core/config_version.h"
#include "mta/mta_parameters.h"

int main(int argc, char** argv) {
  CLI::App app{
      "moat-mta - Postfix-compatible MTA of the Moat mail gateway.\n"
      "Not yet implemented: loads the configuration and exits."};
  std::string directory = "/etc/moat";
  std::vector<std::string> overrides;
  bool check = false;
  app.add_option("-c", directory, "Configuration directory (main.cf, master.cf)")
      ->type_name("DIR");
  app.add_option("-o", overrides, "Override a main.cf parameter (repeatable)")
      ->type_name("name=value")
      ->allow_extra_args(false);
  app.add_flag("--check", check, "Check the configuration, print every warning and exit");
  app.set_version_flag("--version", fmt::format("moat-mta {}", moat::core::kMoatVersion));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    moat::mta::MtaConfig config = moat::mta::LoadMtaConfig({directory, "main.cf", overrides});
    for (const moat::core::ConfigDiagnostic& d : config.warnings) {
      fmt::print(stderr, "{}\n", d.ToString());
    }
    if (check) return 0;
    fmt::print(stderr,
               "moat-mta: configuration loaded from {} ({} master.cf services); the MTA is not "
               "implemented yet, exiting\n",
               directory, config.master.services.size());
    return 0;
  } catch (const moat::core::ConfigError& e) {
    fmt::print(stderr, "{}: error: {}\n", e.location().ToString(), e.message());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "moat-mta: fatal: {}\n", e.what());
    return 1;
  }
}
