// config_value.h - the value syntaxes of Postfix parameters, parsed from expanded text.
//
//   time     "300", "300s", "5m", "1h", "2d", "1w": a non-negative integer with an optional
//            one-letter unit; the parameter's default unit applies without one (postconf(5))
//   integer  optional sign and decimal digits
//   size     a byte count; Moat also accepts a k, m or g suffix (powers of 1024)
//   bool     yes/no (Postfix), also true/false; case-insensitive
//   number   a decimal number such as a spam score ("6.31", "-0.5")
//   list     split on commas and whitespace; `{ ... }` groups stay one element, braces kept
//            ("inline:{ a=b, c=d }" is one element)
//   host:port   "127.0.0.1:10024", "[::1]:10024", "localhost:25"; port 1..65535
//   network  a mynetworks element: address, address/prefix, [ipv6], [ipv6]/prefix, with an
//            optional leading `!`
//
// All functions are pure and thread-safe. Errors are kInvalid with a message that quotes the text
// and says what was expected; the caller adds the parameter name and file:line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::core {

Result<std::chrono::seconds> ParseTime(std::string_view text, char default_unit = 's');
Result<int64_t> ParseInteger(std::string_view text);
Result<uint64_t> ParseSize(std::string_view text);
Result<bool> ParseBool(std::string_view text);
Result<double> ParseNumber(std::string_view text);

std::vector<std::string> SplitList(std::string_view text);

struct HostPort {
  std::string host;  // without brackets ("::1")
  uint16_t port = 0;
  // "host:port", or "[host]:port" for IPv6.
  std::string ToString() const;
};
Result<HostPort> ParseHostPort(std::string_view text);

// Validates one mynetworks-style element (see above); tables and /file names are not handled here.
Status ValidateNetwork(std::string_view text);

// True when `text` looks like a lookup table reference "type:name" of one of Postfix's table
// types (hash, btree, texthash, pcre, regexp, cidr, static, inline, ...).
bool LooksLikeTableSpec(std::string_view text);

// The Damerau-Levenshtein (optimal string alignment) distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace moat::core
