// spf_policy.h - SPF as an smtpd restriction, with policyd-spf's semantics.
//
// smtpd calls CheckSpfPolicy() at MAIL FROM (or at RCPT TO, as policyd-spf runs from
// smtpd_recipient_restrictions) when smtpd_spf_checks = yes. It checks the HELO identity (when
// smtpd_spf_helo_checks = yes and HELO is a domain name) and the MAIL FROM identity
// (postmaster@<HELO> for the null sender), then answers a PolicyVerdict:
//   - fail: REJECT "550 5.7.23 ..." only when smtpd_spf_reject_fail = yes (a HELO fail counts
//     too, as policyd-spf's default HELO_reject = Fail), with the domain's exp= explanation when
//     it published one; otherwise DUNNO;
//   - temperror: DEFER "451 4.7.24 ..." only when smtpd_spf_defer_temperror = yes; otherwise
//     DUNNO, so a DNS outage never loses or bounces mail;
//   - permerror: REJECT "550 5.7.24 ..." only when smtpd_spf_reject_permerror = yes;
//   - everything else (pass, none, neutral, softfail): DUNNO.
// Whatever the action, the verdict carries the Received-SPF field(s) to prepend (when
// smtpd_spf_received_header = yes): that is how the result reaches moat-filterd (for DMARC and the
// SPF_* rules), because XFORWARD has no attribute for it. See core/received_spf.h. The MAIL FROM
// field (identity=mailfrom) comes first, so it is the topmost field of the message; the HELO
// field (identity=helo) follows when HELO was checked and the sender is not <> (for <> the
// MAIL FROM identity is postmaster@<HELO> and one field says it all).
//
// The caller's job (as with policyd-spf placed after permit_mynetworks and
// permit_sasl_authenticated): never call this for clients in mynetworks or for authenticated
// clients — their mail is not checked, not rejected, and gets no Received-SPF field. As a safety
// net, a session with an authenticated user is answered DUNNO without a check.
//
// Thread safety: SpfPolicyOptions is an immutable value built from the config snapshot; the
// evaluator's rules apply (spf_evaluator.h).
#pragma once

// clang-format off
#include <string>
#include <string_view>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/config.h"
#include "core/smtp_handler.h"
#include "mta/policy_verdict.h"
#include "mta/spf_evaluator.h"

namespace moat::mta {

struct SpfPolicyOptions {
  bool reject_fail = false;        // smtpd_spf_reject_fail
  bool defer_temperror = false;    // smtpd_spf_defer_temperror
  bool reject_permerror = false;   // smtpd_spf_reject_permerror
  bool check_helo = true;          // smtpd_spf_helo_checks
  bool received_header = true;     // smtpd_spf_received_header
  std::string receiver;            // myhostname
  SpfOptions evaluator;            // smtpd_spf_time_limit, smtpd_spf_void_lookup_limit

  // From main.cf (throws core::ConfigError only for values Load() has not checked).
  static SpfPolicyOptions FromConfig(const core::Config& config);
};

struct SpfPolicyResult {
  PolicyVerdict verdict;
  SpfCheck mail_from;
  std::optional<SpfCheck> helo;  // when the HELO identity was checked
};

// `sender` is the MAIL FROM address without angle brackets ("" for <>).
asio::awaitable<SpfPolicyResult> CheckSpfPolicy(SpfEvaluator& evaluator,
                                                const SpfPolicyOptions& options,
                                                const core::SmtpSessionInfo& session,
                                                std::string sender);

}  // namespace moat::mta
