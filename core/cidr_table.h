// cidr_table.h - cidr: tables (Postfix cidr_table(5)): client IP address -> result.
//
//   network/prefix  result       e.g. 192.168.0.0/16 REJECT, 2001:db8::/32 OK
//   address         result       a host: 192.168.1.1 OK (a /32 or /128)
//   !network/prefix result       matches every address of the same family outside the network
//   if network/prefix ... endif  (also "if !network") the rules in between apply only inside
//
// Rules are tried in file order; the first match wins, so specific entries go before general
// ones. IPv6 may be written with or without [brackets]. IPv4-mapped IPv6 addresses are IPv4,
// both as keys (::ffff:192.0.2.1 matches 192.0.2.0/24) and in the file (see core/ip_network.h).
// A key that is not an IP address is simply not found.
//
// Errors (kInvalid, "path:line: message", Postfix's wording): bad net/mask pattern, bad address
// pattern, non-null host address bits, no lookup result, endif without if, unterminated if.
//
// Thread safety: immutable after Compile(). IsCidr() and IsPattern() are true.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_network.h"
#include "core/lookup_table.h"

namespace moat::core {

class CidrTable final : public LookupTable {
 public:
  static Result<std::shared_ptr<const CidrTable>> Compile(std::string spec, std::string_view path,
                                                          std::string_view text,
                                                          std::vector<std::string>& warnings);

  Result<std::optional<std::string>> Lookup(std::string_view key) const override;
  Result<bool> LookupInto(std::string_view key, std::string& value) const override;
  const std::string& spec() const override { return spec_; }
  bool IsPattern() const override { return true; }
  bool IsCidr() const override { return true; }

  // The result for `address`, or nullptr.
  const std::string* Match(const IpAddress& address) const;

 private:
  enum class Op { kMatch, kIf, kEndif };
  struct Rule {
    Op op;
    IpNetwork network;
    bool negated;
    std::string value;
    size_t endif;
  };
  explicit CidrTable(std::string spec) : spec_(std::move(spec)) {}

  std::string spec_;
  std::vector<Rule> rules_;
};

}  // namespace moat::core
