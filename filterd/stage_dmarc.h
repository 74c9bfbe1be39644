// stage_dmarc.h - DMARC (RFC 7489) for inbound mail: an I/O stage right after DKIM
// verification (policy records come from DNS).
//
// For each message it takes the author domains and the MTA's SPF results from the message
// (dmarc_identifiers.h, which also says why a Received-SPF field is trusted), the DKIM results
// from the "dkim" artefact (stage_dkim_verify.h), evaluates DMARC (dmarc_evaluator.h) through a
// resolver of the DnsResolverProvider (dns_servers), and records:
//   - the "dmarc" artefact (content_artefacts.h): the outcome, the SPF results, and whether
//     DmarcEnforcement (dmarc_policy.h) may act on it - only in the inbound bank, and never for a
//     client (XFORWARD ADDR) in mynetworks (a mynetworks lookup error also means "no");
//   - one finding (stage "dmarc", class CLEAN, name = the result, detail = domain, policy, why);
//   - trace notes: the SPF result used and the DMARC outcome with what it will do;
//   - Authentication-Results: with an authserv_id, "spf=..." (when the MTA recorded a result) and
//     "dmarc=..." are appended to the field the DKIM stage planned, so one field carries every
//     method; without a DKIM field this stage plans its own (and the removal of forged ones).
// The spam stage gives the rules SpamAssassin's SPF and DMARC results from here
// (AddSpfAndDmarcResults()).
//
// Errors: a DNS failure is the result temperror, not an error. With dmarc_temperror_destiny =
// defer the stage then fails with kTempFail (failure mode tempfail: 451, the MTA retries, nothing
// is lost); with pass (the default) the message goes on with dmarc=temperror and no DMARC
// destiny. A resolver that cannot be created counts as a DNS failure.
// Immutable; RunAsync() may run concurrently for different messages.
#pragma once

#include <memory>
#include <string>

#include "core/config.h"
#include "core/network_list.h"
#include "filterd/content_resources.h"
#include "filterd/dmarc_policy.h"
#include "filterd/dmarc_public_suffix.h"
#include "filterd/stage.h"
#include "rules/message_view.h"

namespace moat::filterd {

struct DmarcStageOptions {
  std::string authserv_id;                                  // empty: no Authentication-Results
  std::shared_ptr<const PublicSuffixList> public_suffixes;  // required (else invalid_argument)
  std::shared_ptr<const core::NetworkList> mynetworks;      // null: nobody is exempt
  DmarcDestinies destinies;                                 // for the trace note
  bool defer_temperror = false;                             // dmarc_temperror_destiny = defer
};

class DmarcStage : public Stage {
 public:
  DmarcStage(DnsResolverProvider dns, DmarcStageOptions options);

  std::string_view name() const override { return "dmarc"; }
  bool is_async() const override { return true; }
  asio::awaitable<core::Status> RunAsync(MessageContext& context) const override;

 private:
  DnsResolverProvider dns_;
  DmarcStageOptions options_;
};

// The stage and the destinies from filterd.cf (dmarc_*_destiny, public_suffix_list, mynetworks,
// authserv_id); the public suffix list comes from `resources` when it holds one, else it is
// loaded here. Configuration loading: throws core::ConfigError naming the parameter.
DmarcDestinies DmarcDestiniesFrom(const core::Config& config);
std::shared_ptr<const Stage> BuildDmarcStage(const core::Config& config,
                                             const ContentResources& resources);

// The rules' view of the MTA's SPF results and of the DMARC outcome (SpamAssassin's SPF and
// DMARC plugins): auth.spf / auth.spf_helo from the trusted Received-SPF fields, auth.dmarc from
// the "dmarc" artefact (DmarcRuleValue()). Leaves what is unknown unset.
void AddSpfAndDmarcResults(const MessageContext& context, rules::AuthenticationResults& auth);

}  // namespace moat::filterd
