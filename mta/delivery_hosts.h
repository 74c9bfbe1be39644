// delivery_hosts.h - which addresses the SMTP/LMTP agent connects to for one next-hop
// destination, in order: MX lookup, address lookup, loop and limit rules (Postfix smtp_addr.c).
//
//   domain       MX records of the domain, lowest preference first, shuffled among equal
//                preferences; each exchange's addresses (A/AAAA per inet_protocols, ordered by
//                smtp_address_preference). No MX records (NODATA): the domain's own addresses.
//   [host]       no MX: the host's addresses (an address literal is used as it is).
//   LMTP         never MX.
// With DNS disabled (disable_dns_lookups, smtp_dns_support_level = disabled, smtp_host_lookup =
// native) names are looked up with the system resolver (getaddrinfo) and never by MX.
//
// Failures are values with Postfix's wording and enhanced codes:
//   NXDOMAIN of the domain                    5.4.4 permanent (the mail bounces)
//   SERVFAIL, timeout, REFUSED                4.4.3 temporary (the mail waits)
//   null MX (RFC 7505, "MX 0 .")              5.1.0 "Domain x does not accept mail (nullMX)"
//   no MX and no address, or MX hosts that
//   all lack addresses                        5.4.4 permanent (4.4.3 if a lookup was temporary)
//   the best MX is this host ($myhostname)    5.4.6 "mail for x loops back to myself"
//
// The list is cut to smtp_mx_address_limit addresses (0 = no limit). Randomness comes from a
// seed so tests can fix it. Coroutine; uses `dns` (which must outlive the call) only when DNS is
// enabled. Thread safety: as DnsResolver.
#pragma once

// clang-format off
#include <cstdint>
#include <expected>
#include <string>
#include <vector>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
// clang-format on

#include "core/dns_resolver.h"
#include "mta/resolve_nexthop.h"

namespace moat::mta {

struct DeliveryHost {
  std::string name;  // the MX exchange or the [host]; the address text for literals
  asio::ip::address address;
  std::uint16_t port = 25;
  int preference = 0;  // MX preference; 0 without MX
  // "name[address]:port", as Postfix names a relay.
  std::string Label() const;
};

enum class AddressPreference { kAny, kIpv4, kIpv6 };

struct HostLookupOptions {
  bool use_dns = true;          // false: getaddrinfo only, no MX
  bool native_fallback = false;  // smtp_host_lookup = dns, native
  bool ipv4 = true;             // inet_protocols
  bool ipv6 = true;
  AddressPreference preference = AddressPreference::kAny;
  std::string myhostname;      // for "loops back to myself"
  std::size_t address_limit = 5;  // 0: no limit
  std::uint64_t random_seed = 0;  // 0: random
};

struct HostLookupFailure {
  bool temporary = true;
  std::string dsn;
  std::string reason;
};

using HostLookupResult = std::expected<std::vector<DeliveryHost>, HostLookupFailure>;

asio::awaitable<HostLookupResult> FindDeliveryHosts(NexthopDestination destination,
                                                    std::uint16_t default_port,
                                                    HostLookupOptions options,
                                                    core::DnsResolver* dns,
                                                    asio::any_io_executor executor);

}  // namespace moat::mta
