// config_host.cc - myhostname, mydomain and mynetworks computed from the host, as Postfix does.
#include "core/config_host.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

#include <fmt/format.h>

namespace moat::core {
namespace {

int PrefixFromMask(const unsigned char* bytes, size_t length) {
  int bits = 0;
  for (size_t i = 0; i < length; ++i) {
    unsigned char b = bytes[i];
    while (b & 0x80) {
      ++bits;
      b = static_cast<unsigned char>(b << 1);
    }
    if (bytes[i] != 0xff) break;
  }
  return bits;
}

// The network address of `address` with `prefix` bits kept, in numeric form.
std::string NetworkAddress(const std::string& address, bool ipv6, int prefix) {
  std::array<unsigned char, 16> bytes{};
  int family = ipv6 ? AF_INET6 : AF_INET;
  if (::inet_pton(family, address.c_str(), bytes.data()) != 1) return address;
  size_t length = ipv6 ? 16 : 4;
  for (size_t i = 0; i < length; ++i) {
    int keep = std::max(0, std::min(8, prefix - static_cast<int>(i) * 8));
    bytes[i] &= static_cast<unsigned char>(keep == 0 ? 0 : (0xff << (8 - keep)) & 0xff);
  }
  char text[INET6_ADDRSTRLEN];
  if (::inet_ntop(family, bytes.data(), text, sizeof text) == nullptr) return address;
  return text;
}

}  // namespace

std::vector<InterfaceAddress> LocalInterfaceAddresses() {
  std::vector<InterfaceAddress> out;
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (struct ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
    char text[INET6_ADDRSTRLEN];
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      auto* m = reinterpret_cast<const sockaddr_in*>(i->ifa_netmask);
      if (::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text) == nullptr) continue;
      int prefix = m != nullptr
                       ? PrefixFromMask(reinterpret_cast<const unsigned char*>(&m->sin_addr), 4)
                       : 32;
      out.push_back({text, false, prefix});
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      auto* m = reinterpret_cast<const sockaddr_in6*>(i->ifa_netmask);
      if (::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text) == nullptr) continue;
      int prefix = m != nullptr
                       ? PrefixFromMask(reinterpret_cast<const unsigned char*>(&m->sin6_addr), 16)
                       : 128;
      out.push_back({text, true, prefix});
    }
  }
  ::freeifaddrs(list);
  return out;
}

std::string NetworksForStyle(std::string_view style,
                             const std::vector<InterfaceAddress>& addresses) {
  std::vector<std::string> v4, v6;
  auto add = [](std::vector<std::string>& list, std::string item) {
    if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
  };
  for (const InterfaceAddress& a : addresses) {
    int prefix = a.prefix_length;
    if (style == "host") {
      prefix = a.ipv6 ? 128 : 32;
    } else if (style == "class" && !a.ipv6) {
      unsigned first = 0;
      std::array<unsigned char, 4> bytes{};
      if (::inet_pton(AF_INET, a.address.c_str(), bytes.data()) == 1) first = bytes[0];
      prefix = first < 128 ? 8 : (first < 192 ? 16 : 24);
    }
    std::string network = NetworkAddress(a.address, a.ipv6, prefix);
    if (a.ipv6) {
      add(v6, fmt::format("[{}]/{}", network, prefix));
    } else {
      add(v4, fmt::format("{}/{}", network, prefix));
    }
  }
  std::string out;
  for (const auto* list : {&v4, &v6}) {
    for (const std::string& item : *list) {
      if (!out.empty()) out += ' ';
      out += item;
    }
  }
  return out;
}

std::string DomainOfHost(std::string_view host) {
  size_t dot = host.find('.');
  if (dot == std::string_view::npos || dot + 1 >= host.size()) return "localdomain";
  return std::string(host.substr(dot + 1));
}

std::string MyhostnameDefault(const ParameterContext& context) {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') {
    std::strcpy(name, "localhost");
  }
  std::string host(name);
  if (host.find('.') != std::string::npos) return host;
  std::string domain = context.Value("mydomain").value_or("");
  return fmt::format("{}.{}", host, domain.empty() ? "localdomain" : domain);
}

std::string MydomainDefault(const ParameterContext& context) {
  return DomainOfHost(context.Value("myhostname").value_or(""));
}

std::string MynetworksDefault(const ParameterContext& context) {
  std::string style = context.Value("mynetworks_style").value_or("host");
  if (style != "subnet" && style != "class") style = "host";
  std::string networks = NetworksForStyle(style, LocalInterfaceAddresses());
  return networks.empty() ? "127.0.0.0/8 [::1]/128" : networks;
}

std::string ConfigDirectoryDefault(const ParameterContext& context) {
  return context.directory();
}

}  // namespace moat::core
