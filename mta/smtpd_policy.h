// smtpd_policy.h - when smtpd evaluates which restriction lists, as Postfix's smtpd_check.c
// drives them (smtpd_check_client/helo/mail/rcpt/data/eod()).
//
//   CheckClient   smtpd_client_restrictions (at connect when smtpd_delay_reject = no)
//   CheckHelo     smtpd_helo_restrictions (at HELO/EHLO when smtpd_delay_reject = no)
//   CheckMail     smtpd_sender_restrictions (at MAIL when smtpd_delay_reject = no), then the
//                 implicit unlisted-sender check (smtpd_reject_unlisted_sender)
//   CheckRcpt     with smtpd_delay_reject = yes (the default) first the client, HELO and sender
//                 restrictions again, then smtpd_relay_restrictions and
//                 smtpd_recipient_restrictions (relay first unless
//                 smtpd_relay_before_recipient_restrictions = no); a reject in one list ends
//                 the check, a permit only ends its own list; then a pending defer_if_permit
//                 turns the permit into 450, and the implicit unlisted-recipient check
//                 (smtpd_reject_unlisted_recipient) runs. "postmaster" without a domain is
//                 always accepted (RFC 5321).
//   CheckData     smtpd_data_restrictions at DATA
//   CheckEndOfData smtpd_end_of_data_restrictions after the message
//   CheckSpf      the implicit SPF check of smtpd_spf_checks = yes (as check_spf)
//
// Each returns an empty reply to accept, or the refusal. defer_if_permit raised in the client,
// HELO or sender stage is carried to RCPT, as in Postfix.
//
// One SmtpdPolicy per session (it holds a reference to the session's policy state); its
// coroutines run one at a time on the session's strand.
#pragma once

// clang-format off
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
// clang-format on

#include "mta/smtpd_policy_services.h"
#include "core/smtp_handler.h"
#include "core/smtp_reply.h"
#include "mta/smtpd_restriction_context.h"
#include "mta/smtpd_service.h"

namespace moat::mta {

class SmtpdPolicy {
 public:
  SmtpdPolicy(const SmtpdService& service, const core::SmtpSessionInfo& session,
              SmtpdPolicyState& state, const SmtpdPolicyServices& services)
      : service_(service), session_(session), state_(state), services_(services) {}

  // `command` names the SMTP command for logs ("CONNECT", "RCPT", ...).
  asio::awaitable<core::SmtpReply> CheckClient(std::string_view command);
  asio::awaitable<core::SmtpReply> CheckHelo(const std::string& helo, std::string_view command);
  asio::awaitable<core::SmtpReply> CheckMail(const std::string& sender, std::string_view command);
  asio::awaitable<core::SmtpReply> CheckRcpt(const std::string& sender,
                                             const std::string& recipient,
                                             std::size_t accepted_recipients);
  // `recipients`: the accepted recipients (internal form).
  asio::awaitable<core::SmtpReply> CheckData(const std::string& sender,
                                             const std::vector<std::string>& recipients);
  asio::awaitable<core::SmtpReply> CheckEndOfData(const std::string& sender,
                                                  const std::vector<std::string>& recipients);
  // smtpd_spf_checks: the SPF check at MAIL (`recipient` null) or RCPT (EvaluateSpfCheck()).
  asio::awaitable<core::SmtpReply> CheckSpf(const std::string& sender,
                                            const std::string* recipient);

 private:
  asio::awaitable<core::SmtpReply> CheckMessageStage(RestrictionStage stage,
                                                     const RestrictionList& list,
                                                     const std::string& sender,
                                                     const std::vector<std::string>& recipients);

  const SmtpdService& service_;
  const core::SmtpSessionInfo& session_;
  SmtpdPolicyState& state_;
  const SmtpdPolicyServices& services_;
};

}  // namespace moat::mta
