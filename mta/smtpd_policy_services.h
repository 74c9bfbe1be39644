// smtpd_policy_services.h - the process-wide services smtpd's DNS-based checks use: the DNS
// resolver (reject_unknown_*_domain), the DNSBL client with its result cache (postscreen's
// screen, reject_rbl_client, reject_rhsbl_*) and the DNS behind SPF (check_spf, smtpd_spf_checks).
//
// SmtpdServer owns them (one per process, so every service and every reload shares the DNSBL
// cache); sessions and restrictions only point at them. A null member is a service that is not
// available (no resolver could be built): the checks that need it then never refuse mail because
// of it — DNSBL checks answer DUNNO, SPF is not checked, reject_unknown_*_domain defers.
//
// Threading: DnsblClient lookups must run on dns->executor() (a strand): callers co_spawn the
// check there and co_await it (dnsbl_client.h). SpfDns may be used from any executor.
#pragma once

#include "core/dns_resolver.h"

namespace moat::mta {

class DnsblClient;
class SpfDns;

struct SmtpdPolicyServices {
  core::DnsResolver* dns = nullptr;
  DnsblClient* dnsbl = nullptr;
  SpfDns* spf_dns = nullptr;
};

}  // namespace moat::mta
