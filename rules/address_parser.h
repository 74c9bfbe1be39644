// address_parser.h - addresses and display names in From/To/Cc-like header fields.
//
// ParseHeaderAddresses() is SpamAssassin 4.0's pure-Perl Util::_parse_header_addresses() (the
// parser `spamassassin` uses when Email::Address::XS is absent, as on Debian), run with the same
// regular expressions on PCRE2: group syntax ("team: a@x, b@y;") flattened, quoted phrases
// unquoted, comments dropped from phrases (a comment becomes the name when there is no phrase),
// "Name <addr>" / "addr (Name)" / bare addresses, extra "<addr>" pieces picked up, anything after
// a second '@' cut off. `:addr` rules see `address`, `:name` rules see `phrase` (RFC 2047-decoded
// and whitespace-normalized unless `:raw`).
//
// Pure and thread-safe. Input is the raw header value; output never fails (junk yields nothing).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::rules {

struct ParsedAddress {
  std::optional<std::string> phrase;   // display name (raw, unquoted)
  std::optional<std::string> address;  // local@domain
  std::optional<std::string> comment;
};

std::vector<ParsedAddress> ParseHeaderAddresses(std::string_view raw_value);

// The `:name` form of a phrase: RFC 2047-decoded, whitespace runs to one space, trimmed, one
// level of single quotes removed.
std::string DisplayName(std::string_view phrase);

}  // namespace moat::rules
