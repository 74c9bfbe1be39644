// dmarc_evaluator.h - the DMARC result of a message (RFC 7489): policy discovery in DNS,
// identifier alignment, pct sampling, and how the result is reported (Authentication-Results,
// SpamAssassin's rule names).
//
// For each author domain (dmarc_identifiers.h):
//   1. Discovery (section 6.6.3): TXT at _dmarc.<domain>; records not starting with v=DMARC1 are
//      dropped; none left and the domain is not its own organisational domain: TXT at
//      _dmarc.<organisational domain>. Then exactly one record must remain (several: permerror,
//      no policy) and it must parse (dmarc_record.h; malformed: permerror, no policy). NXDOMAIN
//      and NODATA mean no record. A DNS error at either step (timeout, SERVFAIL, no server) is
//      temperror: the result is unknown, not "no policy".
//   2. Alignment (section 3.1), with the organisational domains of dmarc_public_suffix.h:
//      DKIM is aligned when a signature that passed (not one whose key is in testing mode, t=y:
//      RFC 6376 says treat those as unsigned) has a d= equal to the author domain (adkim=s) or
//      with the same organisational domain (adkim=r); SPF when the MTA's SPF result for the MAIL
//      FROM identity is pass and its domain (the MAIL FROM domain, or the HELO name for <>) is
//      aligned by aspf the same way.
//   3. Result: pass when either is aligned; otherwise temperror when a DKIM signature whose d=
//      would align, or the aligned-domain SPF check, ended in temperror (a retry may pass:
//      failing such mail would punish a DNS hiccup), else fail.
//   4. Policy: p, or sp (when present) if the record was found at the organisational domain
//      for a subdomain author. On fail, pct sampling (dmarc_identifiers.h) decides whether the
//      policy or the next less strict one (reject -> quarantine -> none) is the disposition.
// Several author domains: each is evaluated and the outcome reported is the first failing one
// with the strictest disposition, else the first temperror, permerror, none, pass, in that
// order (section 6.6.1: "apply the most strict policy selected among the checks that fail").
// No usable author domain: permerror (no policy).
//
// Results are RFC 8601's: pass, fail, none (no record), temperror, permerror. Nothing here is an
// error: DNS trouble is a result. EvaluateDmarc() is a coroutine that must run on the resolver's
// executor; its arguments must outlive it (co_await it at once). Everything else is pure.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dns_resolver.h"
#include "core/received_spf.h"
#include "filterd/dkim_verifier.h"
#include "filterd/dmarc_identifiers.h"
#include "filterd/dmarc_public_suffix.h"
#include "filterd/dmarc_record.h"

namespace moat::filterd {

enum class DmarcResult { kNone, kPass, kFail, kTempError, kPermError };

std::string_view DmarcResultName(DmarcResult result);  // "none", "pass", "fail", ...

struct DmarcInput {
  AuthorDomains authors;
  std::optional<core::ReceivedSpf> spf;   // the MTA's result for the MAIL FROM identity
  std::vector<DkimSignatureResult> dkim;  // every DKIM-Signature's result
  uint32_t sample_bucket = 0;             // 0..99
};

// What discovery found for one author domain.
struct DmarcDiscovery {
  enum class Status { kFound, kNoRecord, kTempError, kPermError };
  Status status = Status::kNoRecord;
  std::string record_domain;  // the domain whose _dmarc record applies (kFound, kPermError)
  std::string record_text;
  std::optional<DmarcRecord> record;  // kFound
  std::string reason;                 // kNoRecord/kTempError/kPermError: why
};

struct DmarcOutcome {
  DmarcResult result = DmarcResult::kNone;
  std::string domain;         // the author domain (header.from); "" when there is none
  std::string org_domain;     // its organisational domain
  std::string record_domain;  // where the record was found; "" when none was
  std::optional<DmarcRecord> record;
  DmarcPolicy policy = DmarcPolicy::kNone;       // what the domain owner asks (p or sp)
  DmarcPolicy disposition = DmarcPolicy::kNone;  // what applies: on fail the policy after pct
                                                 // sampling, else none
  bool sampled = true;  // pct selected this message (false: the policy was lowered)
  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string spf_domain;   // the SPF-authenticated domain looked at ("" without SPF pass)
  std::string dkim_domain;  // the aligned d= (or the first passing d=)
  std::string reason;       // one line: why this result
};

// Step 1 for one domain (`org_domain` = its organisational domain).
asio::awaitable<DmarcDiscovery> DiscoverDmarcPolicy(core::DnsResolver& resolver, std::string domain,
                                                    std::string org_domain);

// Steps 2-4 for one domain, given what discovery found.
DmarcOutcome EvaluateDomain(const DmarcDiscovery& discovery, const std::string& domain,
                            const DmarcInput& input, const PublicSuffixList& suffixes);

// Everything, for every author domain.
asio::awaitable<DmarcOutcome> EvaluateDmarc(core::DnsResolver& resolver,
                                            const PublicSuffixList& suffixes,
                                            const DmarcInput& input);

// True when `authenticated` and `author` align in `mode` (section 3.1.1 / 3.1.2).
bool DmarcAligned(std::string_view authenticated, std::string_view author, DmarcAlignment mode,
                  const PublicSuffixList& suffixes);

// The RFC 8601 method result: "dmarc=fail (p=reject dis=quarantine) header.from=example.com",
// "dmarc=temperror reason=\"...\" header.from=example.com", "dmarc=none header.from=...".
std::string DmarcAuthenticationResult(const DmarcOutcome& outcome);

// What SpamAssassin's DMARC plugin (Mail::SpamAssassin::Plugin::DMARC) would give the rules:
// "pass" (DMARC_PASS), the disposition of a failure "reject" / "quarantine" / "none"
// (DMARC_REJECT, DMARC_QUAR, DMARC_NONE), "missing" when no usable policy exists (none,
// permerror: DMARC_MISSING); nullopt for temperror (unknown: no DMARC rule hits).
std::optional<std::string> DmarcRuleValue(const DmarcOutcome& outcome);

}  // namespace moat::filterd
