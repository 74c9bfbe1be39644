// ip_network.h - IP addresses and networks as Postfix writes them in cidr_table(5) and mynetworks.
//
// Used by cidr: tables (core/cidr_table.h) and by mynetworks-style lists (core/network_list.h),
// so both daemons and `moat map query` agree on what an address and a network are.
//
// Addresses: IPv4 dotted quads and IPv6 (RFC 4291 text). An IPv4-mapped IPv6 address
// (::ffff:192.0.2.1) is the IPv4 address it carries, on both sides of a match: Postfix turns
// mapped client addresses into IPv4 before any lookup, and we do the same for networks written in
// mapped form ([::ffff:127.0.0.0]/104 is 127.0.0.0/8). Zone suffixes (fe80::1%eth0) are not
// addresses here.
//
// Networks follow cidr_match_parse(): "addr", "addr/len", "[addr]", "[addr]/len" or "[addr/len]";
// a bare address is a host (/32, /128); host bits set under the mask are an error, as in Postfix
// ("perhaps you should use ... instead").
//
// Contract: plain values, no allocation when parsing or matching; safe to copy and share.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::core {

class IpAddress {
 public:
  // A text address, or nullopt when `text` is not one. IPv4-mapped IPv6 becomes IPv4.
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress V4(const uint8_t (&bytes)[4]);
  // Raw IPv6 bytes; an IPv4-mapped address becomes IPv4.
  static IpAddress V6(const uint8_t (&bytes)[16]);

  bool is_v4() const { return v4_; }
  // 4 or 16 significant bytes, network order.
  const uint8_t* bytes() const { return bytes_.data(); }
  int byte_count() const { return v4_ ? 4 : 16; }
  int bit_count() const { return v4_ ? 32 : 128; }

  // Canonical text: "192.0.2.1", "2001:db8::1".
  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  friend class IpNetwork;
  IpAddress() = default;
  std::array<uint8_t, 16> bytes_{};
  bool v4_ = true;
};

class IpNetwork {
 public:
  // Parses one network pattern (no "!" here: callers handle negation). Errors are kInvalid and
  // use Postfix's wording: bad net/mask pattern: "10.0.0.0/33", bad address pattern: "x",
  // non-null host address bits in "10.0.0.1/8", perhaps you should use "10.0.0.0/8" instead.
  static Result<IpNetwork> Parse(std::string_view pattern);

  // `address` with everything after `prefix_length` bits cleared (prefix clamped to the family).
  IpNetwork(const IpAddress& address, int prefix_length);

  bool Contains(const IpAddress& address) const;

  const IpAddress& network() const { return network_; }
  int prefix_length() const { return prefix_length_; }

  // "10.0.0.0/8" and "[2001:db8::]/32", the form mynetworks accepts back.
  std::string ToString() const;

 private:
  IpAddress network_;
  std::array<uint8_t, 16> mask_{};
  int prefix_length_ = 0;
};

}  // namespace moat::core
