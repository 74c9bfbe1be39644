// filterd_parameters.h - every filterd.cf parameter moat-filterd knows.
//
// filterd.cf uses the main.cf syntax (core/config_file.h) and expansion ($name). The parameters
// are those of DESIGN.md (listeners, forward_to, mynetworks, limits, ClamAV, quarantine, spam
// levels, rules, banned rules, DKIM tables, authserv_id, dns_servers) plus the amavisd-new-style
// settings the filter issues need: session and worker limits, timeouts, decoding limits, the
// destiny of each content class (final_virus_destiny, ...), quarantine retention, DMARC, metrics.
//
// Policy banks: the settings that differ per bank exist once per bank as `<bank>_<name>`
// (inbound_spam_kill_level, originating_final_spam_destiny, ...), defaulting to `$<name>`; the
// banks are kPolicyBanks.
//
// Thread safety: FilterdParameterRegistry() is built once (thread-safe static), then immutable.
#pragma once

#include <array>
#include <memory>
#include <string_view>

#include "core/config.h"
#include "core/parameter_registry.h"

namespace moat::filterd {

inline constexpr std::array<std::string_view, 2> kPolicyBanks = {"inbound", "originating"};

const core::ParameterRegistry& FilterdParameterRegistry();

// Reads DIR/filterd.cf (source.file_name is ignored), applies the -o overrides and checks
// everything. Throws core::ConfigError (file:line) on the first error; warnings are appended to
// `warnings` when given.
std::shared_ptr<const core::Config> LoadFilterdConfig(const core::ConfigSource& source,
                                                      core::ConfigDiagnostics* warnings = nullptr);

}  // namespace moat::filterd
