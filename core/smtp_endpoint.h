// smtp_endpoint.h - the addresses SMTP/LMTP listeners bind and clients connect to, as written in
// configuration: "host:port", "[::1]:port", "[mx.example.com]:25", "port" (every interface),
// "inet:host:port", and unix sockets "unix:/path" or "/path".
//
// Brackets only delimit the host (so IPv6 literals can carry a port); the MX-or-not meaning they
// have in Postfix's transport(5) is decided by the caller before it gets here. Ports may be
// numbers or service names ("smtp"). Parsing is pure; resolution (ResolveListenEndpoints) calls
// getaddrinfo synchronously and is meant for start-up. Errors are kInvalid for syntax and kIo when
// a name does not resolve.
#pragma once

// Standard headers before asio's: see smtp_stream.h.
// clang-format off
#include <string>
#include <string_view>
#include <vector>
#include <asio/generic/stream_protocol.hpp>
// clang-format on

#include "core/error.h"

namespace moat::core {

struct SmtpEndpoint {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;  // TCP: name or address literal without brackets; empty: every interface
  std::string port;  // TCP: number or service name
  std::string path;  // unix socket path

  // Canonical text: "host:port", "[v6]:port", "unix:/path".
  std::string ToString() const;
  friend bool operator==(const SmtpEndpoint&, const SmtpEndpoint&) = default;
};

Result<SmtpEndpoint> ParseSmtpEndpoint(std::string_view text);

// The socket addresses to listen on: one per address the host resolves to (an empty host gives
// 0.0.0.0 and ::), duplicates removed; a unix endpoint gives its path.
Result<std::vector<asio::generic::stream_protocol::endpoint>> ResolveListenEndpoints(
    const SmtpEndpoint& endpoint);

}  // namespace moat::core
