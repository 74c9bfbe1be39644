// config_value.cc - parsers for the value syntaxes of Postfix parameters.
#include "core/config_value.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace moat::core {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<uint64_t> ParseUnsigned(std::string_view digits, std::string_view original,
                               std::string_view what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (!IsDigits(digits) || ec != std::errc() || end != digits.data() + digits.size()) {
    return Fail(ErrorCode::kInvalid, "bad {} value \"{}\"", what, original);
  }
  return value;
}

bool ValidAddress(std::string_view text, int family) {
  std::string copy(text);
  unsigned char buffer[16];
  return ::inet_pton(family, copy.c_str(), buffer) == 1;
}

}  // namespace

Result<std::chrono::seconds> ParseTime(std::string_view text, char default_unit) {
  std::string_view t = Trim(text);
  char unit = default_unit;
  std::string_view digits = t;
  if (!t.empty() && std::isalpha(static_cast<unsigned char>(t.back()))) {
    unit = static_cast<char>(std::tolower(static_cast<unsigned char>(t.back())));
    digits = t.substr(0, t.size() - 1);
  }
  int64_t multiplier = 0;
  switch (unit) {
    case 's': multiplier = 1; break;
    case 'm': multiplier = 60; break;
    case 'h': multiplier = 3600; break;
    case 'd': multiplier = 86400; break;
    case 'w': multiplier = 604800; break;
    default:
      return Fail(ErrorCode::kInvalid,
                  "bad time value \"{}\": unknown unit '{}' (use s, m, h, d or w)", t, unit);
  }
  if (!IsDigits(digits)) {
    return Fail(ErrorCode::kInvalid,
                "bad time value \"{}\" (expected a number with an optional unit s, m, h, d or w)",
                t);
  }
  auto value = ParseUnsigned(digits, t, "time");
  if (!value) return Fail(value.error());
  if (*value > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()) / multiplier) {
    return Fail(ErrorCode::kInvalid, "bad time value \"{}\": too large", t);
  }
  return std::chrono::seconds(static_cast<int64_t>(*value) * multiplier);
}

Result<int64_t> ParseInteger(std::string_view text) {
  std::string_view t = Trim(text);
  int64_t value = 0;
  std::string_view digits = t.starts_with('-') || t.starts_with('+') ? t.substr(1) : t;
  auto [end, ec] = std::from_chars(t.data() + (t.starts_with('+') ? 1 : 0), t.data() + t.size(),
                                   value);
  if (!IsDigits(digits) || ec != std::errc() || end != t.data() + t.size()) {
    return Fail(ErrorCode::kInvalid, "bad numerical value \"{}\" (expected an integer)", t);
  }
  return value;
}

Result<uint64_t> ParseSize(std::string_view text) {
  std::string_view t = Trim(text);
  uint64_t multiplier = 1;
  std::string_view digits = t;
  if (!t.empty()) {
    switch (std::tolower(static_cast<unsigned char>(t.back()))) {
      case 'k': multiplier = 1ull << 10; break;
      case 'm': multiplier = 1ull << 20; break;
      case 'g': multiplier = 1ull << 30; break;
      default: break;
    }
    if (multiplier != 1) digits = t.substr(0, t.size() - 1);
  }
  if (!IsDigits(digits)) {
    return Fail(ErrorCode::kInvalid,
                "bad size value \"{}\" (expected a byte count, optionally with k, m or g)", t);
  }
  auto value = ParseUnsigned(digits, t, "size");
  if (!value) return Fail(value.error());
  if (*value > std::numeric_limits<uint64_t>::max() / multiplier) {
    return Fail(ErrorCode::kInvalid, "bad size value \"{}\": too large", t);
  }
  return *value * multiplier;
}

Result<bool> ParseBool(std::string_view text) {
  std::string v = Lower(Trim(text));
  if (v == "yes" || v == "true") return true;
  if (v == "no" || v == "false") return false;
  return Fail(ErrorCode::kInvalid, "bad boolean value \"{}\" (expected yes or no)", Trim(text));
}

Result<double> ParseNumber(std::string_view text) {
  std::string_view t = Trim(text);
  double value = 0;
  const char* begin = t.data() + (t.starts_with('+') ? 1 : 0);
  auto [end, ec] = std::from_chars(begin, t.data() + t.size(), value);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() ||
      t.find_first_of("eEnNiI") != std::string_view::npos) {
    return Fail(ErrorCode::kInvalid, "bad number \"{}\" (expected a decimal such as 6.31)", t);
  }
  return value;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  std::string current;
  int braces = 0;
  auto flush = [&] {
    if (!current.empty()) items.push_back(std::move(current));
    current.clear();
  };
  for (char c : text) {
    if (braces == 0 && (c == ',' || std::isspace(static_cast<unsigned char>(c)))) {
      flush();
      continue;
    }
    if (c == '{') ++braces;
    if (c == '}' && braces > 0) --braces;
    current.push_back(c);
  }
  flush();
  return items;
}

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<HostPort> ParseHostPort(std::string_view text) {
  std::string_view t = Trim(text);
  HostPort result;
  std::string_view port_text;
  if (t.starts_with('[')) {
    size_t close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      return Fail(ErrorCode::kInvalid, "bad address \"{}\" (expected [address]:port)", t);
    }
    result.host = std::string(t.substr(1, close - 1));
    if (!ValidAddress(result.host, AF_INET6) && !ValidAddress(result.host, AF_INET)) {
      return Fail(ErrorCode::kInvalid, "bad address \"{}\": not an IP address in []", t);
    }
    port_text = t.substr(close + 2);
  } else {
    size_t colon = t.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Fail(ErrorCode::kInvalid, "bad address \"{}\" (expected host:port)", t);
    }
    result.host = std::string(t.substr(0, colon));
    if (result.host.find(':') != std::string::npos) {
      return Fail(ErrorCode::kInvalid, "bad address \"{}\" (write IPv6 as [address]:port)", t);
    }
    port_text = t.substr(colon + 1);
  }
  uint64_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (!IsDigits(port_text) || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return Fail(ErrorCode::kInvalid, "bad port in \"{}\" (expected 1 to 65535)", t);
  }
  result.port = static_cast<uint16_t>(port);
  return result;
}

Status ValidateNetwork(std::string_view text) {
  std::string_view t = Trim(text);
  if (t.starts_with('!')) t.remove_prefix(1);
  std::string_view address = t;
  std::string_view prefix;
  if (t.starts_with('[')) {
    size_t close = t.find(']');
    if (close == std::string_view::npos) {
      return Fail(ErrorCode::kInvalid, "bad network \"{}\": missing ']'", text);
    }
    address = t.substr(1, close - 1);
    std::string_view rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != '/') return Fail(ErrorCode::kInvalid, "bad network \"{}\"", text);
      prefix = rest.substr(1);
    }
  } else if (size_t slash = t.find('/'); slash != std::string_view::npos) {
    address = t.substr(0, slash);
    prefix = t.substr(slash + 1);
  } else if (size_t close = t.find(']'); close != std::string_view::npos) {
    return Fail(ErrorCode::kInvalid, "bad network \"{}\"", text);
  }
  // Postfix allows "[::1]/128" and also "::1/128" in mynetworks.
  int max_prefix = 0;
  if (ValidAddress(address, AF_INET)) {
    max_prefix = 32;
  } else if (ValidAddress(address, AF_INET6)) {
    max_prefix = 128;
  } else {
    return Fail(ErrorCode::kInvalid, "bad network \"{}\": \"{}\" is not an IP address", text,
                address);
  }
  if (!prefix.empty() || t.find('/') != std::string_view::npos) {
    uint64_t bits = 0;
    auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
    if (!IsDigits(prefix) || ec != std::errc() || end != prefix.data() + prefix.size() ||
        bits > static_cast<uint64_t>(max_prefix)) {
      return Fail(ErrorCode::kInvalid, "bad network \"{}\": prefix length must be 0 to {}", text,
                  max_prefix);
    }
  }
  return {};
}

bool LooksLikeTableSpec(std::string_view text) {
  static constexpr std::array<std::string_view, 31> kTypes = {
      "btree", "cdb",    "cidr",    "dbm",     "environ",  "fail",     "hash",     "inline",
      "internal", "ldap", "lmdb",   "memcache", "mongodb", "mysql",    "netinfo",  "nis",
      "nisplus", "pcre", "pgsql",   "pipemap", "proxy",    "randmap",  "regexp",   "sdbm",
      "socketmap", "sqlite", "static", "tcp",   "texthash", "unionmap", "unix"};
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  std::string type = Lower(text.substr(0, colon));
  return std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end();
}

size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

}  // namespace moat::core
