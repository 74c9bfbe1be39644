// address_class.h - what Postfix's trivial-rewrite tells smtpd about an envelope address: the
// canonical form, the address class, and whether the address is routed through other hosts.
//
// smtpd's relay control (reject_unauth_destination), recipient validation (relay_recipient_maps,
// virtual domains, local_recipient_maps) and the address-based access checks all judge the
// *resolved* address, as Postfix's smtpd asks trivial-rewrite (rewrite.c, resolve.c) to make it:
//
//   1. canonical rewrite ("local" context): a source route "@a,@b:" is dropped; an address without
//      @ gets site!user -> user@site (swap_bangpath), user%site -> user@site (allow_percent_hack)
//      or @$myorigin (append_at_myorigin); a domain without a dot gets .$mydomain
//      (append_dot_mydomain); one trailing dot is dropped;
//   2. resolution: while the domain is local ($mydestination, or an [address literal] of
//      inet_interfaces / proxy_interfaces), strip it and apply the rewrites again to what is left
//      (so user%other@mydomain becomes user@other); a quoted local part is opened, as Postfix
//      does with its default resolve_dequoted_address = yes (Moat does not implement "no");
//      an empty local part is $empty_address_recipient;
//   3. the result: lower-cased user@domain, its class (local, virtual alias, virtual mailbox,
//      relay, default - in Postfix's precedence), `routed` when a routing operator (@ ! %) is left
//      in the local part of a non-local result (user%other@relay.example, "a@b"@relay.example,
//      other!user@relay.example), and `syntax_error` when the domain is not a valid host name or
//      address literal.
//
// Addresses come in Postfix's internal form: as the client wrote them, with the quotes of a quoted
// local part removed (InternalizeAddress does that for what the SMTP session hands over).
//
// Errors: Resolve() returns a table lookup error (kTempFail/kIo from a relay_domains or
// mydestination table), never a guess. Thread safety: immutable after Build(); Resolve() is const.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "core/ip_network.h"
#include "mta/domain_list.h"
#include "mta/table_set.h"

// smtpd's view of trivial-rewrite lives in its own namespace: the queue manager's resolver
// (mta/resolve_address.h) has classes of the same names. TODO: one resolver for both.
namespace moat::mta::smtpd_rewrite {

enum class AddressClass { kLocal, kAlias, kVirtual, kRelay, kDefault };
std::string_view AddressClassName(AddressClass address_class);

struct ResolvedAddress {
  std::string address;  // lower case user@domain
  std::size_t at = 0;   // index of the '@' before the domain
  AddressClass address_class = AddressClass::kDefault;
  bool routed = false;
  bool syntax_error = false;

  std::string_view domain() const { return std::string_view(address).substr(at + 1); }
  std::string_view local_part() const { return std::string_view(address).substr(0, at); }
  // Local, virtual alias or virtual mailbox: delivered here (Postfix RESOLVE_CLASS_FINAL).
  bool final_destination() const {
    return address_class == AddressClass::kLocal || address_class == AddressClass::kAlias ||
           address_class == AddressClass::kVirtual;
  }
};

// The parameters and domain lists resolution reads, compiled from one Config.
struct AddressResolverSettings {
  std::string myhostname;
  std::string myorigin;
  std::string mydomain;
  std::string empty_address_recipient = "MAILER-DAEMON";
  bool swap_bangpath = true;
  bool allow_percent_hack = true;
  bool append_at_myorigin = true;
  bool append_dot_mydomain = false;
  bool resolve_numeric_domain = false;
  DomainList mydestination;
  DomainList relay_domains;
  DomainList virtual_alias_domains;
  DomainList virtual_mailbox_domains;
  // Addresses of inet_interfaces and proxy_interfaces: [literal] domains naming them are local.
  std::vector<core::IpAddress> own_addresses;
};

class AddressResolver {
 public:
  AddressResolver() = default;
  explicit AddressResolver(AddressResolverSettings settings) : s_(std::move(settings)) {}

  // Reads the parameters above from `config` (tables through `tables`). kInvalid/kIo/kNotFound
  // when a domain list's table cannot be opened.
  static core::Result<AddressResolver> Build(const core::Config& config, TableSet& tables);

  // Resolves `address` (internal form, not empty) into `out`, reusing its buffer.
  core::Status Resolve(std::string_view address, ResolvedAddress& out) const;

  // $mydestination or one of our [address literals]; `domain` without a trailing dot.
  core::Result<bool> IsLocalDomain(std::string_view domain) const;

  const AddressResolverSettings& settings() const { return s_; }

 private:
  core::Status Canonicalize(std::string& address) const;

  AddressResolverSettings s_;
};

// The internal form of an address as the client wrote it: the quotes (and backslash escapes) of
// a quoted local part removed; "<>" stays empty. `"a b"@example.com` -> `a b@example.com`.
std::string InternalizeAddress(std::string_view external);

// Postfix valid_hostname(): labels of letters, digits, '-' and '_', 1..63 bytes each, not
// starting or ending with '-', 255 bytes at most, not all-numeric.
bool IsValidHostname(std::string_view name);
// An IPv4 or IPv6 address as text (valid_hostaddr()).
bool IsValidHostAddress(std::string_view text);
// "[192.0.2.1]" or "[IPv6:2001:db8::1]" (valid_hostliteral()).
bool IsValidHostLiteral(std::string_view text);
// One trailing dot removed, unless the name ends in ".." or is ".".
std::string_view StripTrailingDot(std::string_view name);

}  // namespace moat::mta::smtpd_rewrite

// AddressClass, AddressClassName and AddressResolver are not re-exported: moat::mta has its own
// (resolve_address.h), and a file may include both.
namespace moat::mta {
using smtpd_rewrite::ResolvedAddress;
using smtpd_rewrite::AddressResolverSettings;
using smtpd_rewrite::InternalizeAddress;
using smtpd_rewrite::IsValidHostname;
using smtpd_rewrite::IsValidHostAddress;
using smtpd_rewrite::IsValidHostLiteral;
using smtpd_rewrite::StripTrailingDot;
}  // namespace moat::mta
