// network_list.h - mynetworks-style client address lists, shared by moat-mta (mynetworks,
// permit_mynetworks) and moat-filterd (originating detection, policy banks by network).
//
// A list (Postfix addr_match_list / match_list(3)) is entries separated by commas or whitespace:
//
//   192.168.0.0/16  10.1.2.3  [2001:db8::]/32  [::1]   networks and hosts (see ip_network.h)
//   /etc/moat/networks                                  a file whose entries are read in place
//                                                       (# comments, one or more per line)
//   cidr:/etc/moat/clients.cidr   hash:networks         a table: the client address is
//                                                       looked up as is; found means "in the list"
//   !entry                                              found here means NOT in the list
//
// Entries are tried in order and the first one that matches decides (so "!10.0.0.1 10.0.0.0/8"
// excludes one host). Relative file and table names are resolved against the configuration
// directory. IPv4-mapped IPv6 client addresses are their IPv4 address.
//
// MynetworksFromStyle() computes the default list Postfix derives when mynetworks is not set,
// from mynetworks_style and the machine's interface addresses (given, so tests pass their own;
// LocalInterfaces() reads the real ones):
//   host    each interface address only (/32, /128)
//   subnet  each interface's subnet (address & netmask)
//   class   IPv4: the whole class A/B/C (D) network; IPv6: like subnet
//
// Errors: Parse() returns kInvalid "bad net/mask pattern" style messages naming the entry (and
// the file:line for entries read from a file), and OpenTable() errors for tables; Contains()
// returns a table's lookup error, never "not in the list". Thread safety: immutable after Parse().
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/ip_network.h"
#include "core/lookup_table.h"

namespace moat::core {

enum class MynetworksStyle { kHost, kSubnet, kClass };

struct InterfaceNetwork {
  IpAddress address;
  int prefix_length;  // of the interface's netmask
};

class NetworkList {
 public:
  NetworkList() = default;

  static Result<NetworkList> Parse(std::string_view list, const TableOpenOptions& options = {});

  // True when the first entry that matches `address` is not negated; false when none matches,
  // when a negated one matches first, or when `address` is not an IP address.
  Result<bool> Contains(std::string_view address) const;
  Result<bool> Contains(const IpAddress& address) const;

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::variant<std::shared_ptr<const LookupTable>, IpNetwork> what;
    bool negated = false;
  };
  Status AddEntries(std::string_view list, const TableOpenOptions& options, int depth,
                    std::string_view origin);

  std::vector<Entry> entries_;
};

Result<MynetworksStyle> ParseMynetworksStyle(std::string_view value);

// The mynetworks value Postfix computes for `style`, e.g. "127.0.0.0/8 [::1]/128 192.0.2.0/24".
std::string MynetworksFromStyle(MynetworksStyle style,
                                const std::vector<InterfaceNetwork>& interfaces);

// The addresses and netmasks of this machine's interfaces (getifaddrs), link-local IPv6 skipped.
Result<std::vector<InterfaceNetwork>> LocalInterfaces();

}  // namespace moat::core
