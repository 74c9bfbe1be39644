// resolve_nexthop.h - the text forms of routing: "transport:nexthop" values, the next-hop
// destinations of the SMTP and LMTP delivery agents, and the reason text of error:/retry:.
//
// Where they come from (transport(5), postconf(5)): transport_maps results, relay_transport,
// default_transport, local_transport, virtual_transport, sender_dependent_default_transport_maps,
// content_filter (main.cf, a service's -o, access(5)/header_checks FILTER), relayhost.
//
//   SplitTransport("smtp:[mx.example.com]:2525")  -> {"smtp", "[mx.example.com]:2525"}
//   SplitTransport(":[gw]")   -> {"", "[gw]"}       (empty transport: keep the class's)
//   SplitTransport("relay:")  -> {"relay", ""}      (empty nexthop: the recipient domain)
//   SplitTransport("error")   -> {"error", ""}
//
// Next-hop destinations (smtp(8)/lmtp(8)); a nexthop may list several, separated by commas or
// whitespace (Postfix 3.5), tried in order:
//   SMTP  domain         MX lookup of domain, port smtp_tcp_port
//         domain:port    MX lookup, that port (number or /etc/services name)
//         [host]         no MX lookup: the host's addresses; [192.0.2.1], [2001:db8::1] and
//         [host]:port    [ipv6:2001:db8::1] literals too
//         inet:...       the same ("inet:" is dropped)
//   LMTP  unix:/path     a unix-domain socket
//         inet:host[:port], host[:port], [host][:port]   TCP, port lmtp_tcp_port; never MX
//
// Error/retry reasons (error(8)): an optional enhanced status code, then text:
// "5.1.6 User has moved to x" -> {"5.1.6", "User has moved to x"}; without a code the default
// (5.0.0 for error, 4.0.0 for retry) applies; an empty text reads "Address is undeliverable"
// (error) / "delivery temporarily suspended" (retry), as Postfix says.
//
// All functions are pure and thread-safe. Errors are kInvalid with the offending text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::mta {

struct TransportNexthop {
  std::string transport;  // master.cf service name; empty: "do not change"
  std::string nexthop;    // empty: the default for the transport
  friend bool operator==(const TransportNexthop&, const TransportNexthop&) = default;
};

// Splits at the first ':'. A value without ':' is a transport alone.
TransportNexthop SplitTransport(std::string_view value);

enum class NexthopProtocol { kSmtp, kLmtp };

struct NexthopDestination {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;  // TCP: domain or host name, or an address literal without brackets
  std::string port;  // TCP: as written ("2525", "submission"); empty: the agent's default port
  bool use_mx = false;  // SMTP without [brackets]
  std::string path;     // unix socket path
  std::string text;     // the destination as written, e.g. "[mx.example.com]:2525"

  friend bool operator==(const NexthopDestination&, const NexthopDestination&) = default;
};

// Parses a nexthop (one destination or a list). kInvalid for an empty list, unbalanced brackets,
// a bad port, or unix: with SMTP.
core::Result<std::vector<NexthopDestination>> ParseNexthop(std::string_view nexthop,
                                                           NexthopProtocol protocol);

// A port as written -> number: digits, or a service name from /etc/services (tcp).
core::Result<uint16_t> ResolvePort(std::string_view port);

struct ErrorReason {
  std::string dsn;   // "5.1.6"
  std::string text;  // "User has moved to x"
};
// `temporary` selects retry: (4.x.x) instead of error: (5.x.x). A code of the wrong class is
// replaced by the default code (an error: reason "4.1.1 x" still bounces, with 5.0.0), as
// Postfix's bounce_append()/defer_append() do.
ErrorReason ParseErrorReason(std::string_view nexthop, bool temporary);

// content_filter / FILTER values: "transport:nexthop"; kInvalid when the transport is empty
// ("filter:" needs a transport name; ":x" does not).
core::Result<TransportNexthop> ParseContentFilter(std::string_view value);

}  // namespace moat::mta
