// ip_network.cc - address/network parsing and matching for cidr: tables and mynetworks.
#include "core/ip_network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "core/table_file.h"

namespace moat::core {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// inet_pton needs a NUL-terminated string; addresses are short, so a stack buffer will do.
bool PtonInto(int family, std::string_view text, void* out) {
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  return inet_pton(family, buffer, out) == 1;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

IpAddress FromRaw(bool v6, const uint8_t (&raw)[16]) {
  if (v6) return IpAddress::V6(raw);
  uint8_t v4[4];
  std::memcpy(v4, raw, 4);
  return IpAddress::V4(v4);
}

void FillMask(std::array<uint8_t, 16>& mask, int prefix_length) {
  mask.fill(0);
  for (int i = 0; i < 16 && prefix_length > 0; ++i, prefix_length -= 8) {
    mask[i] = prefix_length >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - prefix_length));
  }
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // Postfix decides the family by the presence of ':' (cidr_match.c does the same).
  if (text.find(':') == std::string_view::npos) {
    uint8_t v4[4];
    if (!PtonInto(AF_INET, text, v4)) return std::nullopt;
    return V4(v4);
  }
  uint8_t v6[16];
  if (!PtonInto(AF_INET6, text, v6)) return std::nullopt;
  return V6(v6);
}

IpAddress IpAddress::V4(const uint8_t (&bytes)[4]) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), bytes, 4);
  a.v4_ = true;
  return a;
}

IpAddress IpAddress::V6(const uint8_t (&bytes)[16]) {
  IpAddress a;
  if (std::memcmp(bytes, kMappedPrefix, sizeof kMappedPrefix) == 0) {
    std::memcpy(a.bytes_.data(), bytes + 12, 4);
    a.v4_ = true;
  } else {
    std::memcpy(a.bytes_.data(), bytes, 16);
    a.v4_ = false;
  }
  return a;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof buffer) == nullptr) {
    return "?";
  }
  return buffer;
}

IpNetwork::IpNetwork(const IpAddress& address, int prefix_length)
    : network_(address), prefix_length_(std::clamp(prefix_length, 0, address.bit_count())) {
  FillMask(mask_, prefix_length_);
  for (int i = 0; i < network_.byte_count(); ++i) network_.bytes_[i] &= mask_[i];
}

Result<IpNetwork> IpNetwork::Parse(std::string_view pattern) {
  const std::string_view original = pattern;
  if (pattern.empty()) return Fail(ErrorCode::kInvalid, "no address pattern");

  // "[addr]", "[addr]/len" and "[addr/len]": the brackets only matter to match lists.
  std::string unbracketed;
  if (pattern.front() == '[') {
    size_t close = pattern.find(']');
    if (close == std::string_view::npos) {
      return Fail(ErrorCode::kInvalid, "missing ']' character after \"{}\"", Printable(original));
    }
    std::string_view rest = pattern.substr(close + 1);
    if (!rest.empty() && rest.front() != '/') {
      return Fail(ErrorCode::kInvalid, "garbage after \"{}\"",
                  Printable(pattern.substr(0, close + 1)));
    }
    unbracketed.assign(pattern.substr(1, close - 1));
    unbracketed.append(rest);
    pattern = unbracketed;
  }

  size_t slash = pattern.find('/');
  std::string_view address_text = pattern.substr(0, slash);
  const bool v6 = address_text.find(':') != std::string_view::npos;
  const int bits = v6 ? 128 : 32;
  uint8_t raw[16] = {};
  if (slash == std::string_view::npos) {
    if (!PtonInto(v6 ? AF_INET6 : AF_INET, address_text, raw)) {
      return Fail(ErrorCode::kInvalid, "bad address pattern: \"{}\"", Printable(original));
    }
    IpAddress address = FromRaw(v6, raw);
    return IpNetwork(address, address.bit_count());
  }

  std::string_view mask_text = pattern.substr(slash + 1);
  int prefix = -1;
  if (AllDigits(mask_text) && mask_text.size() <= 3) {
    prefix = 0;
    for (char c : mask_text) prefix = prefix * 10 + (c - '0');
  }
  if (prefix < 0 || prefix > bits || !PtonInto(v6 ? AF_INET6 : AF_INET, address_text, raw)) {
    return Fail(ErrorCode::kInvalid, "bad net/mask pattern: \"{}\"", Printable(original));
  }

  std::array<uint8_t, 16> mask;
  FillMask(mask, prefix);
  bool host_bits = false;
  for (int i = 0; i < bits / 8; ++i) host_bits |= (raw[i] & ~mask[i]) != 0;
  if (host_bits) {
    for (int i = 0; i < bits / 8; ++i) raw[i] &= mask[i];
    char suggestion[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, raw, suggestion, sizeof suggestion);
    return Fail(ErrorCode::kInvalid,
                "non-null host address bits in \"{}\", perhaps you should use \"{}/{}\" instead",
                Printable(original), suggestion, prefix);
  }

  IpAddress address = FromRaw(v6, raw);
  // A network written in IPv4-mapped form is the IPv4 network it covers.
  if (v6 && address.is_v4()) return IpNetwork(address, std::max(prefix - 96, 0));
  return IpNetwork(address, prefix);
}

bool IpNetwork::Contains(const IpAddress& address) const {
  if (address.is_v4() != network_.is_v4()) return false;
  const uint8_t* a = address.bytes();
  const uint8_t* n = network_.bytes();
  for (int i = 0; i < network_.byte_count(); ++i) {
    if ((a[i] & mask_[i]) != n[i]) return false;
  }
  return true;
}

std::string IpNetwork::ToString() const {
  if (network_.is_v4()) return fmt::format("{}/{}", network_.ToString(), prefix_length_);
  return fmt::format("[{}]/{}", network_.ToString(), prefix_length_);
}

}  // namespace moat::core
