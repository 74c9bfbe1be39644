// smtpd_service.h - one smtpd service of master.cf, compiled: everything a session needs, built
// once per configuration snapshot and shared read-only by every session of that service.
//
// BuildSmtpdService() takes the service's configuration (main.cf + command-line -o + the
// service's -o, core::Config::WithOverrides) and compiles it: session options (limits, TLS
// requirement), the TLS server context, the restriction lists (smtpd_*_restrictions and
// smtpd_restriction_classes, against a RestrictionRegistry), mynetworks, the address resolver
// (mydestination, relay_domains, virtual domains), the recipient tables, SASL and client-limit
// settings, and the hand-off settings (content_filter, receive_override_options).
//
// Refused at build time (kInvalid, with the parameter and where it was set):
//   - an unknown or unimplemented restriction, a restriction without its argument;
//   - relay and recipient restrictions that reject nothing (neither lists one of
//     reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit): the
//     open-relay guard Postfix enforces the same way;
//   - smtpd_tls_security_level = encrypt without a certificate; an unreadable certificate/key.
//
// Contract: an SmtpdService is immutable after BuildSmtpdService() and must stay where it was
// built (members point at each other); share it as std::shared_ptr<const SmtpdService>.
#pragma once

// clang-format off
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
// clang-format on

#include "core/address_lookup.h"
#include "core/config.h"
#include "core/lookup_table.h"
#include "core/network_list.h"
#include "core/smtp_endpoint.h"
#include "core/smtp_listener.h"
#include "core/smtp_session.h"
#include "mta/address_class.h"
#include "mta/dnsbl_screen.h"
#include "mta/smtpd_restriction.h"
#include "mta/spf_policy.h"
#include "mta/table_set.h"

namespace asio::ssl {
class context;
}  // namespace asio::ssl

namespace moat::mta {

struct SmtpdReplyCodes {
  int access_map_reject = 554;
  int access_map_defer = 450;
  int reject = 554;
  int defer = 450;
  int relay_domains_reject = 554;
  int unknown_address = 450;
  int invalid_hostname = 501;
  int non_fqdn = 504;
  int unknown_relay_recipient = 550;
  int unknown_local_recipient = 550;
  int unknown_virtual_alias = 550;
  int unknown_virtual_mailbox = 550;
  int multi_recipient_bounce = 550;
};

// Per-client limits (Postfix anvil); 0 = no limit.
struct ClientLimitSettings {
  int connection_count = 50;
  int connection_rate = 0;
  int message_rate = 0;
  int recipient_rate = 0;
  int auth_rate = 0;
  std::chrono::seconds time_unit{60};
  core::NetworkList exceptions;  // smtpd_client_event_limit_exceptions
};

// Where smtpd_spf_checks = yes checks SPF: at MAIL FROM (the refusal answers MAIL), or at the
// first RCPT TO the restrictions accepted (policyd-spf's place, after reject_unauth_destination:
// no DNS work for relay attempts).
enum class SpfStage { kMail, kRcpt };

struct SmtpdServiceSettings {
  std::string service_name;  // master.cf service field as written ("smtp", "$smtp_listen")
  std::string syslog_name;
  std::string myhostname;

  // Restriction evaluation (smtpd_check.c).
  bool delay_reject = true;
  bool relay_before_recipient = true;
  bool reject_unlisted_recipient = true;
  bool reject_unlisted_sender = false;
  bool soft_bounce = false;
  bool allow_untrusted_routing = false;
  bool show_unknown_table_name = true;
  std::string null_access_key = "<>";
  core::ParentDomainStyle access_parent_style = core::ParentDomainStyle::kParent;
  SmtpdReplyCodes codes;

  core::NetworkList mynetworks;
  smtpd_rewrite::AddressResolver resolver;
  core::AddressContext address_context;  // recipient_delimiter; local = resolver's local domains
  std::string double_bounce_sender = "double-bounce";

  // Recipient validation (reject_unlisted_recipient / _sender).
  core::TableList relay_recipient_maps;
  core::TableList local_recipient_maps;
  bool local_recipient_maps_set = false;  // unset: Moat has no local users (see README)
  core::TableList virtual_alias_maps;
  core::TableList virtual_mailbox_maps;
  core::TableList canonical_maps;
  core::TableList recipient_canonical_maps;
  bool no_unknown_recipient_checks = false;  // receive_override_options

  // SMTP AUTH.
  bool sasl_enabled = false;
  bool tls_auth_only = true;  // informational: AUTH is never offered in clear text (see handler)
  core::TableList sasl_password_maps;
  core::TableList sender_login_maps;

  // XFORWARD.
  core::NetworkList xforward_hosts;

  ClientLimitSettings limits;

  // Hand-off to cleanup/queue.
  std::string content_filter;
  std::vector<std::string> receive_override_options;

  // SPF as policyd-spf checks it (smtpd_spf_checks, smtpd_spf_stage, smtpd_spf_*): never for
  // mynetworks or SASL-authenticated clients. `spf` also serves the check_spf restriction.
  bool spf_checks = false;
  SpfStage spf_stage = SpfStage::kRcpt;
  SpfPolicyOptions spf;
};

struct SmtpdService;

// Compiled restriction lists from access table values ("permit_mynetworks, reject", a class
// name), compiled on first use and cached (bounded). Thread-safe.
class AccessValueCompiler {
 public:
  AccessValueCompiler(const SmtpdService& service, const RestrictionRegistry& registry);
  core::Result<std::shared_ptr<const RestrictionList>> Get(std::string_view value) const;

 private:
  static constexpr std::size_t kMaxCached = 1000;
  const SmtpdService& service_;
  const RestrictionRegistry& registry_;
  mutable std::mutex mutex_;
  mutable TableSet tables_;
  mutable std::map<std::string, std::shared_ptr<const RestrictionList>, std::less<>> cache_;
};

struct SmtpdService {
  SmtpdServiceSettings settings;
  std::shared_ptr<const core::Config> config;

  std::shared_ptr<const core::SmtpServerOptions> session_options;
  core::SmtpListenerOptions listener_options;
  std::vector<core::SmtpEndpoint> endpoints;  // where this service listens

  std::shared_ptr<asio::ssl::context> tls;  // null: no STARTTLS
  bool tls_required = false;                // smtpd_tls_security_level = encrypt

  std::map<std::string, std::unique_ptr<RestrictionList>, std::less<>> classes;
  RestrictionList client_restrictions;
  RestrictionList helo_restrictions;
  RestrictionList sender_restrictions;
  RestrictionList relay_restrictions;
  RestrictionList recipient_restrictions;
  RestrictionList data_restrictions;
  RestrictionList end_of_data_restrictions;
  std::unique_ptr<AccessValueCompiler> access_values;

  // postscreen's connect-time screen (access list and DNSBL score); only for a master.cf
  // postscreen service, null otherwise.
  std::shared_ptr<const DnsblScreenOptions> screen;

  // Warnings found while building (logged by the caller).
  std::vector<std::string> warnings;
};

struct SmtpdServiceSpec {
  std::string name;                            // master.cf service field as written
  std::shared_ptr<const core::Config> config;  // main.cf with the service's -o applied
  std::vector<core::SmtpEndpoint> endpoints;
  std::optional<int> process_limit;            // master.cf maxproc
  bool postscreen = false;                     // the master.cf command is postscreen
};

core::Result<std::shared_ptr<const SmtpdService>> BuildSmtpdService(
    const SmtpdServiceSpec& spec, TableSet& tables, const RestrictionRegistry& registry);

}  // namespace moat::mta
