// smtpd_builtin_restrictions.h - the restrictions smtpd implements, grouped by what they judge.
//
// Each Add*Restrictions() registers its names in a RestrictionRegistry (smtpd_restriction.h);
// BuiltinRestrictions() calls them all. The behaviour of every name follows Postfix 3.7's
// postconf(5) and smtpd_check.c, including reply codes and texts:
//
//   generic  (smtpd_generic_restrictions.cc): permit, reject, defer, defer_if_permit,
//            defer_if_reject, sleep, reject_unauth_pipelining, permit_mynetworks,
//            permit_inet_interfaces, permit_sasl_authenticated, reject_invalid_helo_hostname,
//            reject_non_fqdn_helo_hostname (and their pre-2.3 names)
//   access   (smtpd_access_restrictions.cc): check_client_access, check_helo_access,
//            check_sender_access, check_recipient_access, bare type:table entries
//   address  (smtpd_address_restrictions.cc): permit_auth_destination,
//            reject_unauth_destination, defer_unauth_destination, reject_unknown_sender_domain,
//            reject_unknown_recipient_domain, reject_non_fqdn_sender, reject_non_fqdn_recipient,
//            reject_unlisted_recipient, reject_unlisted_sender, check_recipient_maps,
//            reject_*sender_login_mismatch, reject_multi_recipient_bounce
//   policy   (smtpd_policy_restrictions.cc): reject_rbl_client, reject_rhsbl_*, check_greylist,
//            check_spf (moat); added by DefaultRestrictionRegistry()
//
// Thread safety: the registries are built once; the restriction objects are immutable.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "mta/smtpd_restriction.h"
#include "mta/smtpd_restriction_context.h"

namespace moat::mta {

void AddGenericRestrictions(RestrictionRegistry& registry);
void AddAccessRestrictions(RestrictionRegistry& registry);
void AddAddressRestrictions(RestrictionRegistry& registry);
// DNSBLs, greylisting and SPF (smtpd_policy_restrictions.cc): reject_rbl_client,
// reject_rhsbl_client, reject_rhsbl_reverse_client, reject_rhsbl_helo, reject_rhsbl_sender,
// reject_rhsbl_recipient, check_greylist, check_spf. DefaultRestrictionRegistry() adds them.
void AddPolicyRestrictions(RestrictionRegistry& registry);

// The SPF check of check_spf and smtpd_spf_checks (spf_policy.h semantics) for the context's
// sender: once per transaction (the verdict and its Received-SPF fields are kept in the policy
// state), never for mynetworks, SASL-authenticated or unix-socket clients, DUNNO before MAIL.
asio::awaitable<Verdict> EvaluateSpfCheck(RestrictionContext& c);

// Access-table lookups in Postfix's key order (smtpd_check.c), for checks that consult a table
// without applying access(5) actions (greylisting exemptions). Table errors are returned.
struct AccessMatch {
  std::string value;
  std::string key;
};
// check_namadr_access(): the client name and its parent domains, then the address and its
// parent networks (1.2.3.4, 1.2.3, 1.2, 1; cidr: tables match networks themselves).
core::Result<std::optional<AccessMatch>> LookupClientAccess(const core::LookupTable& table,
                                                            RestrictionContext& c);
// check_mail_access(): user+ext@domain, user@domain, domain and its parents, user+ext@, user@.
core::Result<std::optional<AccessMatch>> LookupMailAccess(const core::LookupTable& table,
                                                          std::string_view address,
                                                          const SmtpdServiceSettings& settings);

// Postfix smtpd_dsn_fix(): an address-related enhanced code (x.1.y) made right for the stage
// (x.1.7/x.1.8 for senders, x.1.1..x.1.6 for recipients, x.7.1 elsewhere).
std::string SmtpdDsnFix(std::string_view dsn, RestrictionStage stage);

// The unlisted recipient/sender check (Postfix check_rcpt_maps()) of the context's recipient
// (sender when `sender`), once per recipient/sender; used by reject_unlisted_* and by the
// implicit smtpd_reject_unlisted_* checks.
Verdict CheckRecipientMaps(RestrictionContext& context, bool sender);

// A restriction that answers at once from a function of the context.
template <typename Fn>
class FunctionRestriction final : public Restriction {
 public:
  explicit FunctionRestriction(Fn fn) : fn_(std::move(fn)) {}
  Verdict Evaluate(RestrictionContext& context) const override { return fn_(context); }

 private:
  Fn fn_;
};

// A factory for a restriction without argument and without build-time state.
template <typename Fn>
RestrictionFactory Simple(Fn fn) {
  return [fn](const RestrictionBuildContext&,
              std::string_view) -> core::Result<std::shared_ptr<const Restriction>> {
    return std::make_shared<FunctionRestriction<Fn>>(fn);
  };
}

}  // namespace moat::mta
