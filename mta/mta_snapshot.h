// mta_snapshot.h - moat-mta's compiled configuration: one immutable snapshot of main.cf +
// master.cf with every smtpd service built (tables opened, restriction lists compiled, TLS
// contexts loaded).
//
// master.cf services, as moat-mta runs them:
//   inet + smtpd        an SMTP listener, its -o overrides on top of main.cf (and of -o on the
//                       command line); the service field is [host:]port ("smtp", "2525",
//                       "127.0.0.1:10025", or "$name" naming a main.cf parameter - a Moat
//                       extension); a bare port listens on inet_interfaces (all, loopback-only, or
//                       addresses), filtered by inet_protocols
//   inet + postscreen   served by smtpd directly, with the -o of the postscreen line and of the
//                       "smtpd pass" service; postscreen_access_list and the DNSBL screen run
//                       at connect (smtpd_handler.h), the pregreet/protocol tests do not
//   pass                part of postscreen's set-up, not a listener of its own
//   unix, fifo, ...     Postfix's internal services (pickup, cleanup, qmgr, ...): built in;
//                       delivery transports (smtp, lmtp, relay, amavisfeed ...): the queue
//                       manager's (mta/qmgr_runtime.h, built from the same files)
//
// Errors: BuildMtaSnapshot() returns kInvalid/kIo/kNotFound with "file:line: parameter: message"
// when a service cannot be built (unknown restriction, missing table, bad certificate, open
// relay configuration, ...). A daemon that fails to build its first snapshot exits; on SIGHUP
// the old snapshot stays.
//
// Thread safety: immutable once built; share as std::shared_ptr<const MtaSnapshot>.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "mta/mta_parameters.h"
#include "mta/smtpd_restriction.h"
#include "mta/smtpd_service.h"

namespace moat::mta {

struct MtaSnapshot {
  std::shared_ptr<const core::Config> main;
  std::vector<std::shared_ptr<const SmtpdService>> smtpd_services;
  std::vector<std::string> warnings;
  std::vector<std::string> dns_servers;  // normalised dns_servers; empty: /etc/resolv.conf

  // The service whose master.cf name (as written, or expanded host:port) is `name`.
  std::shared_ptr<const SmtpdService> FindService(std::string_view name) const;
};

core::Result<std::shared_ptr<const MtaSnapshot>> BuildMtaSnapshot(
    const MtaConfig& config, const RestrictionRegistry& registry = DefaultRestrictionRegistry());

// The endpoints an inet service listens on (see above).
core::Result<std::vector<core::SmtpEndpoint>> ServiceEndpoints(const core::MasterService& service,
                                                               const core::Config& config);

}  // namespace moat::mta
