// resolve_nexthop.cc - transport:nexthop values and next-hop destinations (after Postfix
// transport.c, smtp_connect.c, host_port.c and dsn_split.c).
#include "mta/resolve_nexthop.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>

#include "core/smtp_reply.h"

namespace moat::mta {
namespace {

bool IsListSeparator(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::vector<std::string_view> SplitDestinations(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsListSeparator(text[i])) ++i;
    size_t begin = i;
    bool bracket = false;
    while (i < text.size() && (bracket || !IsListSeparator(text[i]))) {
      if (text[i] == '[') bracket = true;
      if (text[i] == ']') bracket = false;
      ++i;
    }
    if (i > begin) out.push_back(text.substr(begin, i - begin));
  }
  return out;
}

core::Status CheckPort(std::string_view port, std::string_view destination) {
  if (port.empty()) {
    return core::Fail(core::ErrorCode::kInvalid, "bad next-hop destination \"{}\": empty port",
                      destination);
  }
  auto resolved = ResolvePort(port);
  if (!resolved) {
    return core::Fail(core::ErrorCode::kInvalid, "bad next-hop destination \"{}\": {}",
                      destination, resolved.error().message());
  }
  return {};
}

core::Result<NexthopDestination> ParseOne(std::string_view text, NexthopProtocol protocol) {
  NexthopDestination out;
  out.text.assign(text);
  std::string_view rest = text;
  if (rest.starts_with("unix:")) {
    if (protocol == NexthopProtocol::kSmtp) {
      return core::Fail(core::ErrorCode::kInvalid,
                        "bad next-hop destination \"{}\": unix-domain sockets need LMTP", text);
    }
    out.kind = NexthopDestination::Kind::kUnix;
    out.path.assign(rest.substr(5));
    if (out.path.empty()) {
      return core::Fail(core::ErrorCode::kInvalid, "bad next-hop destination \"{}\": no path",
                        text);
    }
    return out;
  }
  if (rest.starts_with("inet:")) rest.remove_prefix(5);
  if (rest.empty()) {
    return core::Fail(core::ErrorCode::kInvalid, "bad next-hop destination \"{}\": no host",
                      text);
  }
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return core::Fail(core::ErrorCode::kInvalid, "bad next-hop destination \"{}\": missing ]",
                        text);
    }
    out.host.assign(rest.substr(1, close - 1));
    if (out.host.size() > 5 && (out.host.starts_with("ipv6:") || out.host.starts_with("IPv6:") ||
                                out.host.starts_with("IPV6:"))) {
      out.host.erase(0, 5);
    }
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return core::Fail(core::ErrorCode::kInvalid,
                          "bad next-hop destination \"{}\": text after ]", text);
      }
      out.port.assign(after.substr(1));
      if (auto status = CheckPort(out.port, text); !status) return std::unexpected(status.error());
    }
    out.use_mx = false;
  } else {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
      return core::Fail(core::ErrorCode::kInvalid,
                        "bad next-hop destination \"{}\": IPv6 addresses need [brackets]", text);
    }
    out.host.assign(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      out.port.assign(rest.substr(colon + 1));
      if (auto status = CheckPort(out.port, text); !status) return std::unexpected(status.error());
    }
    out.use_mx = protocol == NexthopProtocol::kSmtp;
  }
  if (out.host.empty()) {
    return core::Fail(core::ErrorCode::kInvalid, "bad next-hop destination \"{}\": no host",
                      text);
  }
  while (out.host.size() > 1 && out.host.back() == '.') out.host.pop_back();
  return out;
}

}  // namespace

TransportNexthop SplitTransport(std::string_view value) {
  size_t colon = value.find(':');
  if (colon == std::string_view::npos) return {std::string(value), ""};
  return {std::string(value.substr(0, colon)), std::string(value.substr(colon + 1))};
}

core::Result<uint16_t> ResolvePort(std::string_view port) {
  if (port.empty()) return core::Fail(core::ErrorCode::kInvalid, "empty port");
  if (port.find_first_not_of("0123456789") == std::string_view::npos) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return core::Fail(core::ErrorCode::kInvalid, "bad port \"{}\"", port);
    }
    return static_cast<uint16_t>(value);
  }
  std::string name(port);
  servent entry{};
  servent* found = nullptr;
  char buffer[1024];
  if (::getservbyname_r(name.c_str(), "tcp", &entry, buffer, sizeof buffer, &found) != 0 ||
      found == nullptr) {
    return core::Fail(core::ErrorCode::kInvalid, "unknown service \"{}\" (not in /etc/services)",
                      port);
  }
  return static_cast<uint16_t>(ntohs(static_cast<uint16_t>(found->s_port)));
}

core::Result<std::vector<NexthopDestination>> ParseNexthop(std::string_view nexthop,
                                                           NexthopProtocol protocol) {
  std::vector<NexthopDestination> out;
  for (std::string_view text : SplitDestinations(nexthop)) {
    auto one = ParseOne(text, protocol);
    if (!one) return std::unexpected(one.error());
    out.push_back(std::move(*one));
  }
  if (out.empty()) {
    return core::Fail(core::ErrorCode::kInvalid, "empty next-hop destination");
  }
  return out;
}

ErrorReason ParseErrorReason(std::string_view nexthop, bool temporary) {
  const std::string_view default_code = temporary ? "4.0.0" : "5.0.0";
  ErrorReason out;
  std::string_view text = nexthop;
  size_t space = text.find_first_of(" \t");
  std::string_view first = text.substr(0, space);
  if (core::IsEnhancedStatusCode(first)) {
    out.dsn.assign(first);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space);
    size_t start = text.find_first_not_of(" \t");
    text = start == std::string_view::npos ? std::string_view() : text.substr(start);
  }
  if (out.dsn.empty() || out.dsn.front() != default_code.front()) out.dsn.assign(default_code);
  out.text.assign(text);
  if (out.text.empty()) {
    out.text = temporary ? "delivery temporarily suspended" : "Address is undeliverable";
  }
  return out;
}

core::Result<TransportNexthop> ParseContentFilter(std::string_view value) {
  size_t begin = value.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    return core::Fail(core::ErrorCode::kInvalid, "empty content filter");
  }
  size_t end = value.find_last_not_of(" \t");
  TransportNexthop out = SplitTransport(value.substr(begin, end - begin + 1));
  if (out.transport.empty()) {
    return core::Fail(core::ErrorCode::kInvalid,
                      "content filter \"{}\": expected transport:nexthop", value);
  }
  return out;
}

}  // namespace moat::mta
