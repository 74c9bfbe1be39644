// dnsbl_restriction.h - the DNSBL restrictions of smtpd_*_restrictions: reject_rbl_client,
// reject_rhsbl_client, reject_rhsbl_reverse_client, reject_rhsbl_helo, reject_rhsbl_sender and
// reject_rhsbl_recipient (postconf(5)), with Postfix's reply texts.
//
// Each takes the restriction's argument "rbl_domain[=d.d.d.d]" (dnsbl_site.h filter syntax) and
// asks one DNS list:
//   reject_rbl_client      the reversed client address   ("Client host [192.0.2.1]")
//   reject_rhsbl_client    the client host name          ("Client host [mail.example]")
//   reject_rhsbl_reverse_client  the unverified name     ("Unverified Client host [...]")
//   reject_rhsbl_helo      the HELO name                 ("Helo command [...]")
//   reject_rhsbl_sender    the sender's domain           ("Sender address [example.com]")
//   reject_rhsbl_recipient the recipient's domain        ("Recipient address [example.org]")
// A listing is REJECT with the reply built from rbl_reply_maps (keyed by rbl_domain) or
// default_rbl_reply, a Postfix template:
//   $rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?;
//   $rbl_reason}
// with $rbl_code = maps_rbl_reject_code (554), $rbl_reason = the list's TXT text (sanitised),
// and also $rbl_txt, $client, $client_address, $client_name, $reverse_client_name, $helo_name,
// $sender, $sender_domain, $recipient, $recipient_domain. A reply without an enhanced status code
// gets 5.7.1 (4.7.1 for a 4xx code), as Postfix does. Values are inserted literally: a "$" in a
// DNSBL's TXT text is never expanded.
//
// Not listed, an empty name (null sender, "unknown" client name, an address-literal HELO), or a
// DNS failure: DUNNO. A DNS failure never rejects.
//
// Thread safety and lifetime as DnsblClient. RblOptions is an immutable value from main.cf.
#pragma once

// clang-format off
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/config.h"
#include "core/lookup_table.h"
#include "mta/dnsbl_client.h"
#include "mta/policy_verdict.h"

namespace moat::mta {

struct RblOptions {
  int reject_code = 554;                             // maps_rbl_reject_code
  std::string default_reply =                        // default_rbl_reply (unexpanded)
      "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using "
      "$rbl_domain${rbl_reason?; $rbl_reason}";
  std::shared_ptr<const core::TableList> reply_maps;  // rbl_reply_maps
  std::chrono::milliseconds timeout{10000};          // rbl_lookup_timeout

  static core::Result<RblOptions> FromConfig(const core::Config& config);
};

// What the request knows; fields a restriction does not need may stay empty.
struct RblRequest {
  std::string client_address;
  std::string client_name = "unknown";          // verified name, or "unknown"
  std::string reverse_client_name = "unknown";  // unverified name
  std::string helo;
  std::string sender;     // without <>; "" for the null sender
  std::string recipient;  // the current RCPT TO address
};

enum class RhsblTarget { kClient, kReverseClient, kHelo, kSender, kRecipient };

asio::awaitable<PolicyVerdict> CheckRblClient(DnsblClient& client, const RblOptions& options,
                                              std::string argument, RblRequest request);

asio::awaitable<PolicyVerdict> CheckRhsbl(DnsblClient& client, const RblOptions& options,
                                          RhsblTarget target, std::string argument,
                                          RblRequest request);

// The reply for a listing (exposed for tests): expands the template for `domain` with the given
// class, what and reason.
core::SmtpReply RblReply(const RblOptions& options, const RblRequest& request,
                         std::string_view domain, std::string_view rbl_class,
                         std::string_view what, std::string_view reason);

}  // namespace moat::mta
