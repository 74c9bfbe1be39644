// cleanup_address_list.h - finds the addresses in an RFC 5322 address-list header value (From,
// To, Cc, Reply-To, ...) and rewrites them in place, keeping everything else byte for byte:
// display names, comments, group syntax, quoting, whitespace and line folding.
//
// Postfix's cleanup parses the header into tokens and prints it again (normalizing whitespace);
// Moat splices the rewritten addr-spec into the original text instead, so a header whose
// addresses do not change comes out identical (a DKIM signature over it stays valid) and one
// that changes differs only in its addresses.
//
// Grammar (lenient, as mail in the wild needs):
//   list     = item *("," item)       empty items are allowed ("a@x,,b@y")
//   item     = [phrase ":"] mailbox *("," mailbox) ";"   a group; or a mailbox
//   mailbox  = [phrase] "<" [route ":"] addr-spec ">"  |  addr-spec
// Tokens: atoms, "quoted strings" (backslash escapes), (nested (comments)), [domain literals],
// specials, and whitespace including CRLF folding. The addr-spec of a mailbox without angle
// brackets is its tokens without comments and whitespace.
//
// Unbalanced quotes, comments, brackets or angle brackets make the value unparseable: it is left
// alone (no address is rewritten), never guessed at. More than `token_limit` tokens
// (header_address_token_limit) is treated the same way.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::mta {

struct AddressSpan {
  size_t begin = 0;     // byte offsets of the addr-spec in the header value
  size_t end = 0;
  std::string address;  // external form: tokens without comments and whitespace ("\"a b\"@x")
};

// The addr-specs of `value` in order; nullopt when the value cannot be parsed. "<>" yields an
// empty address.
std::optional<std::vector<AddressSpan>> FindAddresses(std::string_view value,
                                                      size_t token_limit = 10240);

// Calls `rewrite` with each address (external form) and splices in what it returns (nullopt or
// the same text: unchanged). Returns the new value, or `value` unchanged when it cannot be
// parsed. Empty addresses (<>) are not offered.
std::string RewriteAddresses(
    std::string_view value,
    const std::function<std::optional<std::string>(const std::string&)>& rewrite,
    size_t token_limit = 10240);

}  // namespace moat::mta
