// smtpd_handler.h - moat-mta's smtpd: the SmtpHandler behind every connection of an smtpd service.
//
// The wire protocol is core's SmtpSession; this handler decides, as Postfix's smtpd does:
//   connect  per-client connection count/rate limits (421 4.7.0); on a master.cf postscreen
//            service postscreen's screen (dnsbl_screen.h: postscreen_access_list, then the
//            DNSBL score against postscreen_dnsbl_threshold): "drop" answers 521 instead of the
//            greeting, "enforce" lets the session go on and answers every RCPT TO 550 5.7.1
//            with the list's name and TXT text; a DNS failure never refuses; then - with
//            smtpd_delay_reject = no - the client restrictions
//   HELO     the HELO restrictions (smtpd_delay_reject = no)
//   STARTTLS offered when the service has a certificate; required with
//            smtpd_tls_security_level = encrypt
//   AUTH     PLAIN and LOGIN when smtpd_sasl_auth_enable = yes, and only over TLS: AUTH is never
//            offered in clear text (smtpd_tls_auth_only = no relaxes this for loopback clients of
//            loopback listeners only); checked against smtpd_sasl_password_maps
//   XFORWARD accepted only from smtpd_authorized_xforward_hosts
//   MAIL     the message rate limit, sender syntax (501 5.1.7), the sender restrictions
//            (smtpd_delay_reject = no), SPF with smtpd_spf_checks = yes and smtpd_spf_stage =
//            mail
//   RCPT     the recipient rate limit, recipient syntax (501 5.1.3), SmtpdPolicy::CheckRcpt
//            (delayed client/HELO/sender restrictions, relay and recipient restrictions,
//            unknown-recipient checks), then SPF with smtpd_spf_checks = yes and
//            smtpd_spf_stage = rcpt (once per transaction; its Received-SPF fields go to
//            cleanup with the message)
//   DATA     the data restrictions
//   message  the end-of-data restrictions, then the IncomingMessage goes to the MessageAcceptor
//            (cleanup + queue); "250 2.0.0 Ok: queued as ID" only after Accept() returned the
//            queue ID, i.e. after the queue file and its directory were fsynced. Accept()
//            errors: temporary (and anything unexpected) -> 451 4.3.0, kPermFail -> its 5xx.
//
// One handler per connection (the listener's factory makes it); callbacks run one at a time on
// the session's strand. The service snapshot is fixed for the session's life (a SIGHUP affects
// new connections). SmtpdRuntime's members must outlive every session.
#pragma once

// clang-format off
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/dns_resolver.h"
#include "core/ip_network.h"
#include "core/smtp_handler.h"
#include "mta/incoming_message.h"
#include "mta/smtpd_auth.h"
#include "mta/smtpd_client_limits.h"
#include "mta/smtpd_policy_services.h"
#include "mta/smtpd_restriction_context.h"
#include "mta/smtpd_service.h"

namespace moat::mta {

class MtaMetrics;

// Process-wide services the handlers use. Null members are simply not available: no DNS
// (reject_unknown_*_domain defers, DNSBL and SPF checks do nothing), no limits, no AUTH, no
// acceptor (451 for every message).
struct SmtpdRuntime {
  std::shared_ptr<MessageAcceptor> acceptor;
  SmtpdPolicyServices policy;  // DNS resolver, DNSBL client and cache, SPF's DNS
  ClientLimits* limits = nullptr;
  PasswordVerifier* passwords = nullptr;
  MtaMetrics* metrics = nullptr;  // null: nothing counted
};

class SmtpdHandler final : public core::SmtpHandler {
 public:
  SmtpdHandler(std::shared_ptr<const SmtpdService> service,
               std::shared_ptr<const SmtpdRuntime> runtime);

  asio::awaitable<core::SmtpReply> OnConnect(const core::SmtpSessionInfo& info) override;
  asio::awaitable<core::SmtpReply> OnHelo(const core::SmtpSessionInfo& info,
                                          const std::string& helo) override;
  std::shared_ptr<asio::ssl::context> TlsContext(const core::SmtpSessionInfo& info) override;
  bool OfferAuth(const core::SmtpSessionInfo& info) override;
  bool AllowXforward(const core::SmtpSessionInfo& info) override;
  asio::awaitable<core::SmtpReply> OnAuth(const core::SmtpSessionInfo& info,
                                          const core::SaslCredentials& credentials) override;
  asio::awaitable<core::SmtpReply> OnMail(const core::SmtpSessionInfo& info,
                                          const core::MailParams& mail) override;
  asio::awaitable<core::SmtpReply> OnRcpt(const core::SmtpSessionInfo& info,
                                          const core::SmtpEnvelope& envelope,
                                          const core::RcptParams& rcpt) override;
  asio::awaitable<core::SmtpReply> OnDataStart(const core::SmtpSessionInfo& info,
                                               const core::SmtpEnvelope& envelope) override;
  asio::awaitable<std::vector<core::SmtpReply>> OnMessage(const core::SmtpSessionInfo& info,
                                                          const core::SmtpEnvelope& envelope,
                                                          std::string& message) override;
  void OnTransactionAborted(const core::SmtpSessionInfo& info) override;
  void OnDisconnect(const core::SmtpSessionInfo& info) override;

 private:
  // True when the client is subject to the per-client limits.
  bool Limited() const { return client_ip_.has_value() && !limit_exempt_ && runtime_->limits; }
  int CountEvent(ClientLimits::Event event);
  void ResetTransaction();
  // postscreen's screen; a reply to send instead of the greeting (drop), or empty.
  asio::awaitable<core::SmtpReply> Screen(const core::SmtpSessionInfo& info);

  std::shared_ptr<const SmtpdService> service_;
  std::shared_ptr<const SmtpdRuntime> runtime_;
  SmtpdPolicyState state_;
  std::optional<core::IpAddress> client_ip_;
  bool limit_exempt_ = true;
  bool connection_counted_ = false;
  std::uint64_t limits_key_ = 0;
  std::optional<core::SmtpReply> screen_refusal_;  // postscreen "enforce": every RCPT gets it
  std::string sender_;                   // internal form
  std::vector<std::string> recipients_;  // accepted recipients, internal form
  ResolvedAddress scratch_address_;
};

}  // namespace moat::mta
