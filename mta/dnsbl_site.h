// dnsbl_site.h - one DNS block/allow list entry as main.cf writes it, and its reply filter.
//
// postscreen_dnsbl_sites (postconf(5)) is a list of `domain[=filter][*weight]` entries:
//   zen.example                      any 127.0.0.0/8 answer lists the client, weight 1
//   zen.example*2                    weight 2
//   zen.example=127.0.0.[2..11]*2    only answers matching the filter count
//   list.example=127.0.[0..255].[1..3]*-2   a negative weight allow-lists
// The filter is d.d.d.d where each d is a number or a "[...]" pattern of ";"-separated numbers and
// number..number ranges (Postfix's ip_match syntax). Moat also accepts several whole patterns
// separated by ";" ("=127.0.0.2;127.0.0.3"). reject_rbl_client and reject_rhsbl_* take the same
// `domain[=filter]` argument without a weight.
//
// Answers outside 127.0.0.0/8 never list anyone, filter or not: a DNSBL does not answer so, and
// a resolver or a hijacking ISP that does (a wildcard, an ad server) must not get mail refused.
//
// Errors: ParseDnsblSite() returns kInvalid naming the entry ("bad DNSBL reply filter ...").
// CheckDnsblSites() is the check-config hook for the parameter. Values only; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <asio/ip/address.hpp>

#include "core/error.h"
#include "core/parameter_registry.h"

namespace moat::mta {

class DnsblReplyFilter {
 public:
  // An empty filter matches every 127.0.0.0/8 answer.
  DnsblReplyFilter() = default;
  static core::Result<DnsblReplyFilter> Parse(std::string_view text);

  bool Matches(const asio::ip::address_v4& answer) const;
  bool empty() const { return patterns_.empty(); }
  const std::string& text() const { return text_; }

 private:
  struct Range {
    uint8_t low;
    uint8_t high;
  };
  using Octet = std::vector<Range>;
  std::vector<std::array<Octet, 4>> patterns_;  // any pattern may match
  std::string text_;
};

struct DnsblSite {
  std::string domain;  // lower case, without a trailing dot
  DnsblReplyFilter filter;
  int weight = 1;
  std::string text;  // the entry as written, for logs
};

// `allow_weight`: postscreen_dnsbl_sites entries may carry "*weight"; restriction arguments not.
core::Result<DnsblSite> ParseDnsblSite(std::string_view entry, bool allow_weight = true);
core::Result<std::vector<DnsblSite>> ParseDnsblSites(const std::vector<std::string>& entries);

// True when an answer lies in 127.0.0.0/8 (the only answers a DNSBL gives).
bool IsDnsblAnswer(const asio::ip::address_v4& answer);

// The query name for a client address under `domain`: "4.3.2.1.zen.example" for 1.2.3.4, the
// 32 reversed nibbles for IPv6 (an IPv4-mapped address is its IPv4 address).
std::string DnsblQueryName(const asio::ip::address& client, std::string_view domain);

// check-config: every entry of postscreen_dnsbl_sites must parse.
void CheckDnsblSites(std::string_view value, const core::ParameterContext& context,
                     std::vector<core::ValueProblem>& problems);

}  // namespace moat::mta
