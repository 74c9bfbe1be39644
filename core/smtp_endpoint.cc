// smtp_endpoint.cc - parsing and resolving listener/peer addresses.
#include "core/smtp_endpoint.h"

#include <fmt/format.h>
#include <sys/un.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>

namespace moat::core {
namespace {

bool ValidPort(std::string_view port) {
  if (port.empty() || port.size() > 32) return false;
  bool digits = std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) return port.size() <= 5 && std::stoul(std::string(port)) <= 65535;
  if (!((port[0] >= 'a' && port[0] <= 'z') || (port[0] >= 'A' && port[0] <= 'Z'))) return false;
  return std::all_of(port.begin(), port.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool ValidHost(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':' || c == '_' || c == '%';
  });
}

}  // namespace

std::string SmtpEndpoint::ToString() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return host.empty() ? port : fmt::format("{}:{}", host, port);
}

Result<SmtpEndpoint> ParseSmtpEndpoint(std::string_view text) {
  SmtpEndpoint endpoint;
  std::string_view original = text;
  if (text.starts_with("unix:") || text.starts_with("/")) {
    if (text.starts_with("unix:")) text.remove_prefix(5);
    if (text.empty() || text.front() != '/') {
      return Fail(ErrorCode::kInvalid, "unix socket path must be absolute: '{}'", original);
    }
    if (text.size() >= sizeof(sockaddr_un::sun_path)) {
      return Fail(ErrorCode::kInvalid, "unix socket path too long: '{}'", original);
    }
    endpoint.kind = SmtpEndpoint::Kind::kUnix;
    endpoint.path = std::string(text);
    return endpoint;
  }
  if (text.starts_with("inet:")) text.remove_prefix(5);
  if (text.empty()) return Fail(ErrorCode::kInvalid, "empty address");
  if (text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Fail(ErrorCode::kInvalid, "expected [host]:port in '{}'", original);
    }
    endpoint.host = std::string(text.substr(1, close - 1));
    endpoint.port = std::string(text.substr(close + 2));
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      endpoint.port = std::string(text);
    } else {
      if (text.find(':') != colon) {
        return Fail(ErrorCode::kInvalid, "IPv6 address needs brackets: '{}'", original);
      }
      endpoint.host = std::string(text.substr(0, colon));
      endpoint.port = std::string(text.substr(colon + 1));
    }
  }
  if (endpoint.host == "*") endpoint.host.clear();
  if (!ValidPort(endpoint.port)) return Fail(ErrorCode::kInvalid, "bad port in '{}'", original);
  if (!ValidHost(endpoint.host)) return Fail(ErrorCode::kInvalid, "bad host in '{}'", original);
  return endpoint;
}

Result<std::vector<asio::generic::stream_protocol::endpoint>> ResolveListenEndpoints(
    const SmtpEndpoint& endpoint) {
  std::vector<asio::generic::stream_protocol::endpoint> out;
  if (endpoint.kind == SmtpEndpoint::Kind::kUnix) {
    out.emplace_back(asio::local::stream_protocol::endpoint(endpoint.path));
    return out;
  }
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  asio::error_code error;
  auto results =
      resolver.resolve(endpoint.host, endpoint.port, asio::ip::resolver_base::passive, error);
  if (error) {
    return Fail(ErrorCode::kIo, "resolving {}: {}", endpoint.ToString(), error.message());
  }
  std::vector<asio::ip::tcp::endpoint> seen;
  for (const auto& entry : results) {
    if (std::find(seen.begin(), seen.end(), entry.endpoint()) != seen.end()) continue;
    seen.push_back(entry.endpoint());
    out.emplace_back(entry.endpoint());
  }
  if (out.empty()) return Fail(ErrorCode::kIo, "{} resolves to no address", endpoint.ToString());
  return out;
}

}  // namespace moat::core
