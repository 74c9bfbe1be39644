// resolve_address.h - address resolution as Postfix's trivial-rewrite does it: recipient ->
// (address class, transport, nexthop, delivery agent), the routing decision the queue manager
// makes for every recipient.
//
// Steps (resolve.c, transport(5), ADDRESS_CLASS_README):
//  1. Normalise: the null address is $empty_address_recipient; a trailing dot and a trailing @
//     go; local domains are stripped and routing operators inside them undone (user%remote@local
//     and remote!user@local become user@remote with allow_percent_hack / swap_bangpath; a quoted
//     "user@remote"@local too); an address without a domain gets @$myhostname.
//  2. Class of the domain, first match wins:
//       local           mydestination, or an [address] of inet_interfaces / proxy_interfaces
//                       (bare addresses too with resolve_numeric_domain)
//                       -> local_transport, nexthop = the domain
//       virtual alias   virtual_alias_domains -> error:5.1.1 User unknown in virtual alias table
//       virtual mailbox virtual_mailbox_domains -> virtual_transport, nexthop = the domain
//       relay           relay_domains -> relay_transport; nexthop from sender_dependent_relayhost_
//                       maps, relayhost, or the domain, in that order
//       default         anything else -> sender_dependent_default_transport_maps or
//                       default_transport; nexthop as for relay
//     A transport value with its own nexthop (relay_transport = relay:[gw]:25) overrides that.
//  3. transport_maps (not for virtual alias), searched as transport(5) says: user+ext@domain,
//     user@domain, domain, parent domains (.parent unless transport_maps is in
//     parent_domain_matches_subdomains), then "*". Empty transport: keep it; empty nexthop: the
//     recipient domain (error: "Address is undeliverable").
//  4. relocated_maps (virtual(5)-style search, no extension): error:5.1.6 User has moved to ...
//  5. The transport is looked up in the master.cf catalog; SMTP/LMTP nexthops are parsed.
//
// The queue manager then delivers, defers or bounces by `failure` and `agent` (content_filter
// is ResolveFilter(), which bypasses steps 1-4 as Postfix's qmgr does).
//
// Errors: Create() throws core::ConfigError (bad table, bad list); Resolve() returns kTempFail
// when a table lookup fails ("transport_maps lookup failure: ...") — the recipient is deferred,
// never routed by a default. Thread safety: immutable after Create(); share the resolver as
// std::shared_ptr<const AddressResolver> in the configuration snapshot.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address_lookup.h"
#include "core/ip_network.h"
#include "core/lookup_table.h"
#include "mta/resolve_domain_list.h"
#include "mta/resolve_nexthop.h"
#include "mta/resolve_transport_catalog.h"

namespace moat::mta {

enum class AddressClass { kLocal, kVirtualAlias, kVirtualMailbox, kRelay, kDefault };
std::string_view AddressClassName(AddressClass address_class);  // "local", "relay", ...

// Why a recipient cannot be handed to a delivery agent at all.
struct RouteFailure {
  bool temporary = true;
  std::string dsn;     // "4.3.5", "5.1.3"
  std::string reason;  // "mail transport unavailable"
};

struct Resolution {
  std::string recipient;  // the address after step 1 (user@domain)
  std::string domain;     // its domain
  AddressClass address_class = AddressClass::kDefault;
  bool routed = false;       // routing operators (%, !, @) left in the local part
  bool bad_address = false;  // the domain is not a valid host name or [address]
  bool relocated = false;    // step 4 applied

  std::string transport;  // master.cf service name
  std::string nexthop;    // as resolved: "[127.0.0.1]:10024", "example.com", an error text
  // The transport from the catalog (nullptr: not in master.cf); owned by the resolver's catalog.
  const TransportSettings* settings = nullptr;
  DeliveryAgentKind agent = DeliveryAgentKind::kUnsupported;
  std::vector<NexthopDestination> destinations;  // SMTP/LMTP
  ErrorReason error;  // error/retry: the reason from the nexthop; discard: its text

  // Set when the recipient cannot be delivered by `agent` (unknown transport, unsupported
  // agent, bad address, bad nexthop syntax): defer or bounce it with this reason instead.
  std::optional<RouteFailure> failure;

  // "transport:nexthop", for logs.
  std::string ToString() const;
};

struct ResolverOptions {
  core::TableOpenOptions tables;
  // This machine's addresses for [address] destinations and inet_interfaces = all; nullopt:
  // the real interfaces (getifaddrs).
  std::optional<std::vector<core::IpAddress>> interface_addresses;
};

class AddressResolver {
 public:
  // Throws core::ConfigError for unreadable tables or bad lists.
  static std::shared_ptr<const AddressResolver> Create(
      std::shared_ptr<const TransportCatalog> catalog, const ResolverOptions& options = {});

  // `sender` is the envelope sender ("" for <>): it selects sender_dependent_*_maps.
  core::Result<Resolution> Resolve(std::string_view sender, std::string_view recipient) const;

  // The content filter route ("moatfilter:[127.0.0.1]:10024"); an empty nexthop is
  // default_filter_nexthop, else the recipient domain, else $myhostname. kInvalid for a value
  // without a transport.
  core::Result<Resolution> ResolveFilter(std::string_view filter,
                                         std::string_view recipient) const;

  // The class of a domain alone (step 2 without transports), for relay control: e.g. smtpd's
  // reject_unauth_destination permits local, virtual and relay classes.
  core::Result<AddressClass> ClassifyDomain(std::string_view domain) const;

  const TransportCatalog& catalog() const { return *catalog_; }

 private:
  AddressResolver() = default;
  core::Result<bool> IsLocalDomain(std::string_view domain) const;
  core::Result<std::string> Normalise(std::string_view recipient) const;
  void Finish(Resolution& resolution) const;
  core::Result<std::optional<std::string>> LookupBySender(const core::TableList& maps,
                                                          std::string_view sender,
                                                          std::string_view null_key) const;

  std::shared_ptr<const TransportCatalog> catalog_;
  std::string myhostname_;
  std::string empty_address_recipient_;
  std::string local_transport_, virtual_transport_, relay_transport_, default_transport_;
  std::string relayhost_;
  std::string default_filter_nexthop_;
  std::string null_relay_key_, null_transport_key_;
  bool swap_bangpath_ = true;
  bool percent_hack_ = true;
  bool resolve_numeric_domain_ = false;
  bool append_dot_mydomain_ = false;
  std::string mydomain_;
  bool allow_min_user_ = false;
  bool show_unknown_table_ = true;
  DomainList mydestination_, relay_domains_, virtual_alias_domains_, virtual_mailbox_domains_;
  std::vector<core::IpAddress> own_addresses_;  // inet_interfaces + proxy_interfaces
  core::TableList transport_maps_, relocated_maps_;
  core::TableList sender_relayhost_maps_, sender_transport_maps_;
  core::AddressSearch transport_search_;
  core::AddressContext address_context_;
};

// True for a valid host name (letters, digits, '-', '_', UTF-8; labels of 1..63, not all
// numeric, 255 in all) or [address literal] (IPv4, IPv6:..., or an IPv6 address).
bool ValidDestinationDomain(std::string_view domain);

}  // namespace moat::mta
