// network_list.cc - mynetworks-style lists (after match_list.c, match_ops.c, mynetworks.c).
#include "core/network_list.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "core/inline_table.h"
#include "core/table_file.h"

namespace moat::core {
namespace {

constexpr int kMaxFileDepth = 10;

int PrefixFromMask(const uint8_t* mask, int bytes) {
  int prefix = 0;
  for (int i = 0; i < bytes; ++i) prefix += std::popcount(static_cast<unsigned>(mask[i]));
  return prefix;
}

}  // namespace

Status NetworkList::AddEntries(std::string_view list, const TableOpenOptions& options, int depth,
                               std::string_view origin) {
  auto tokens = SplitOutsideBraces(list);
  if (!tokens) return Fail(ErrorCode::kInvalid, "{}{}", origin, tokens.error().message());
  for (std::string_view token : *tokens) {
    Entry entry;
    while (!token.empty() && token.front() == '!') {
      entry.negated = !entry.negated;
      token.remove_prefix(1);
    }
    if (token.empty()) return Fail(ErrorCode::kInvalid, "{}no pattern after '!'", origin);

    if (token.front() == '/') {
      if (depth >= kMaxFileDepth) {
        return Fail(ErrorCode::kInvalid, "{}{}: files nested more than {} deep", origin, token,
                    kMaxFileDepth);
      }
      if (entry.negated) {
        return Fail(ErrorCode::kInvalid, "{}!{}: a file cannot be negated; negate its entries",
                    origin, token);
      }
      std::string path(token);
      auto file = ReadTableFile(path, options.max_file_bytes);
      if (!file) return Fail(file.error().code(), "{}{}", origin, file.error().message());
      // One or more entries per line; # comment lines and blank lines are skipped.
      std::string_view text = file->text;
      int line = 0;
      for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view physical = text.substr(pos, end - pos);
        pos = end + 1;
        ++line;
        size_t first = physical.find_first_not_of(" \t\r\f\v");
        if (first == std::string_view::npos || physical[first] == '#') continue;
        Status status =
            AddEntries(physical, options, depth + 1, fmt::format("{}:{}: ", path, line));
        if (!status) return status;
      }
      continue;
    }

    // An address or network first: an unbracketed IPv6 network also contains ':' but is never
    // a table (Postfix insists on [brackets]; we accept both).
    if (auto network = IpNetwork::Parse(token)) {
      entry.what = *network;
      entries_.push_back(std::move(entry));
      continue;
    }
    // type:table, where a type is a word of letters; "2001:db8::/129" is a bad network instead.
    const size_t colon = token.find(':');
    const bool table_type = colon != std::string_view::npos && colon > 0 &&
                            std::all_of(token.begin(), token.begin() + static_cast<long>(colon),
                                        [](char c) { return c >= 'a' && c <= 'z'; });
    if (table_type) {
      auto table = OpenTable(token, options);
      if (!table) return Fail(table.error().code(), "{}{}", origin, table.error().message());
      entry.what = std::move(*table);
      entries_.push_back(std::move(entry));
      continue;
    }
    auto network = IpNetwork::Parse(token);
    return Fail(ErrorCode::kInvalid, "{}{}", origin, network.error().message());
  }
  return {};
}

Result<NetworkList> NetworkList::Parse(std::string_view list, const TableOpenOptions& options) {
  NetworkList result;
  Status status = result.AddEntries(list, options, 0, "");
  if (!status) return Fail(OneLine(status.error()));
  return result;
}

Result<bool> NetworkList::Contains(std::string_view address) const {
  auto parsed = IpAddress::Parse(address);
  if (!parsed) return false;
  return Contains(*parsed);
}

Result<bool> NetworkList::Contains(const IpAddress& address) const {
  std::string text;  // the address as table key, built on first need
  std::string value;
  for (const Entry& entry : entries_) {
    bool matched;
    if (const auto* network = std::get_if<IpNetwork>(&entry.what)) {
      matched = network->Contains(address);
    } else {
      if (text.empty()) text = address.ToString();
      auto found =
          std::get<std::shared_ptr<const LookupTable>>(entry.what)->LookupInto(text, value);
      if (!found) return std::unexpected(found.error());
      matched = *found;
    }
    if (matched) return !entry.negated;
  }
  return false;
}

Result<MynetworksStyle> ParseMynetworksStyle(std::string_view value) {
  if (value == "host") return MynetworksStyle::kHost;
  if (value == "subnet") return MynetworksStyle::kSubnet;
  if (value == "class") return MynetworksStyle::kClass;
  return Fail(ErrorCode::kInvalid,
              "bad mynetworks_style value: \"{}\"; specify exactly one of host, subnet, class",
              Printable(value));
}

std::string MynetworksFromStyle(MynetworksStyle style,
                                const std::vector<InterfaceNetwork>& interfaces) {
  std::vector<std::string> seen;
  std::string result;
  for (const InterfaceNetwork& iface : interfaces) {
    const IpAddress& a = iface.address;
    int prefix = a.bit_count();
    if (style == MynetworksStyle::kSubnet || (style == MynetworksStyle::kClass && !a.is_v4())) {
      prefix = iface.prefix_length;
    } else if (style == MynetworksStyle::kClass) {
      const uint8_t top = a.bytes()[0];
      if ((top & 0x80) == 0) {
        prefix = 8;  // class A
      } else if ((top & 0xc0) == 0x80) {
        prefix = 16;  // class B
      } else if ((top & 0xe0) == 0xc0) {
        prefix = 24;  // class C
      } else if ((top & 0xf0) == 0xe0) {
        prefix = 4;  // class D
      }
    }
    std::string text = IpNetwork(a, prefix).ToString();
    if (std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
    seen.push_back(text);
    if (!result.empty()) result += ' ';
    result += text;
  }
  return result;
}

Result<std::vector<InterfaceNetwork>> LocalInterfaces() {
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return Fail(ErrorCode::kIo, "getifaddrs: {}", std::strerror(errno));
  }
  std::vector<InterfaceNetwork> out;
  for (struct ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_netmask == nullptr) continue;
    if (ifa->ifa_addr->sa_family == AF_INET) {
      uint8_t bytes[4];
      std::memcpy(bytes, &reinterpret_cast<sockaddr_in*>(ifa->ifa_addr)->sin_addr, 4);
      const auto* mask = reinterpret_cast<const uint8_t*>(
          &reinterpret_cast<sockaddr_in*>(ifa->ifa_netmask)->sin_addr);
      out.push_back(InterfaceNetwork{IpAddress::V4(bytes), PrefixFromMask(mask, 4)});
    } else if (ifa->ifa_addr->sa_family == AF_INET6) {
      uint8_t bytes[16];
      std::memcpy(bytes, &reinterpret_cast<sockaddr_in6*>(ifa->ifa_addr)->sin6_addr, 16);
      if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) continue;  // link-local needs a scope
      const auto* mask = reinterpret_cast<const uint8_t*>(
          &reinterpret_cast<sockaddr_in6*>(ifa->ifa_netmask)->sin6_addr);
      out.push_back(InterfaceNetwork{IpAddress::V6(bytes), PrefixFromMask(mask, 16)});
    }
  }
  freeifaddrs(list);
  return out;
}

}  // namespace moat::core
