// mta_parameters.h - every main.cf parameter moat-mta knows: the data behind `moat config show`
// and `moat check-config` for main.cf and master.cf.
//
// The registry holds
//   - the parameters moat-mta implements (or that the MTA issues will implement: smtpd
//     restrictions, relay control, transports, queue manager, delivery agents, TLS, postscreen
//     DNSBLs, greylisting, SPF), with Postfix's defaults and a one-line doc each; where Moat's
//     default differs from Postfix's the doc says so;
//   - every other parameter of Postfix 3.7 (generated into postfix_parameters.inc from
//     `postconf -d`), recognised but not supported: setting one is a warning;
//   - the per-transport templates (<transport>_destination_concurrency_limit, ...), instantiated
//     for the transports of master.cf by LoadMtaConfig().
//
// LoadMtaConfig() is what moat-mta (and `moat` subcommands that need the MTA's view) call to read
// main.cf + master.cf of a config directory; it throws core::ConfigError on the first error.
//
// Thread safety: MtaParameterRegistry() is built once on first use (thread-safe static) and is
// immutable afterwards.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/master_cf.h"
#include "core/parameter_registry.h"

namespace moat::mta {

const core::ParameterRegistry& MtaParameterRegistry();

// Checks one smtpd_*_restrictions value: unknown restriction names are errors (with a
// suggestion), restrictions Postfix has but moat-mta does not implement are warnings, and
// restrictions that need an argument (check_client_access type:table, reject_rbl_client
// domain, ...) must have one. Restriction class names (smtpd_restriction_classes) are accepted.
void CheckRestrictionList(std::string_view value, const core::ParameterContext& context,
                          std::vector<core::ValueProblem>& problems);

// What master.cf contributes to main.cf's checks: the transports that get per-transport
// parameters, and the parameter names its -o values and service names refer to.
core::ConfigBuildOptions MasterCfBuildOptions(const core::MasterCf& master);

// Checks master.cf against the main.cf snapshot: each service's command (unknown = error,
// a Postfix program moat-mta does not run = warning), inet listen addresses, and each service's
// -o overrides (unknown names, bad values). Appends to `diagnostics`.
void CheckMasterCf(const core::MasterCf& master, const core::Config& main,
                   core::ConfigDiagnostics& diagnostics);

struct MtaConfig {
  std::shared_ptr<const core::Config> main;  // main.cf + command-line -o
  core::MasterCf master;                     // master.cf as parsed
  core::ConfigDiagnostics warnings;          // everything that was not an error
};

// Reads DIR/main.cf and DIR/master.cf, applies the -o overrides and checks both, including every
// service's -o overrides and command. Throws core::ConfigError (file:line) on the first error.
MtaConfig LoadMtaConfig(const core::ConfigSource& source);

}  // namespace moat::mta
