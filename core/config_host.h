// config_host.h - the host-dependent defaults of Postfix: myhostname, mydomain, mynetworks.
//
// Computed as Postfix computes them, so an administrator who leaves them unset gets the same
// values `postconf` shows:
//   myhostname   gethostname(); when that is not fully qualified, "<name>.$mydomain"
//   mydomain     $myhostname without its first label, or "localdomain"
//   mynetworks   from mynetworks_style and the addresses of the interfaces that are up:
//                host   each address alone (/32, /128)
//                subnet each address's subnet (address and netmask of the interface)
//                class  IPv4: the whole class A, B or C network; IPv6: as subnet
//                IPv4 first, then IPv6 in [brackets], in interface order.
//
// The *Default functions plug into a ParameterRegistry as DefaultComputer. Thread-safe (no shared
// state); the interface list is read on every call.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/parameter_registry.h"

namespace moat::core {

struct InterfaceAddress {
  std::string address;  // numeric, without brackets
  bool ipv6 = false;
  int prefix_length = 0;  // from the interface netmask
};

// Addresses of the interfaces that are up (getifaddrs); empty when they cannot be read.
std::vector<InterfaceAddress> LocalInterfaceAddresses();

// The mynetworks value for `style` ("host", "subnet", "class") over `addresses`.
std::string NetworksForStyle(std::string_view style, const std::vector<InterfaceAddress>& addresses);

// "mx.example.com" -> "example.com"; a name without a dot -> "localdomain".
std::string DomainOfHost(std::string_view host);

std::string MyhostnameDefault(const ParameterContext& context);
std::string MydomainDefault(const ParameterContext& context);
std::string MynetworksDefault(const ParameterContext& context);
// The -c directory, absolute (Postfix's config_directory).
std::string ConfigDirectoryDefault(const ParameterContext& context);

}  // namespace moat::core
