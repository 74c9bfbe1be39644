// cleanup_address.h - small address helpers cleanup shares: RFC 5321/5322 local-part quoting
// (Postfix's quote_822_local / unquote_822_local) and splitting at the domain.
//
// Cleanup keeps envelope addresses in internal form (local part unquoted: `john doe@example.com`)
// and looks them up, rewrites them and writes them into headers in external form (quoted when
// needed: `"john doe"@example.com`), as Postfix does.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace moat::mta {

// Quotes the local part when it is not a dot-atom ("john doe@x" -> "\"john doe\"@x"); the domain
// is left alone. An address without '@' is all local part. The empty address stays empty.
std::string QuoteLocalPart(std::string_view internal);
// The reverse: removes quoting and backslash escapes from the local part.
std::string UnquoteLocalPart(std::string_view external);

// Position of the '@' that separates local part and domain in external form (the last one
// outside quotes), or npos.
size_t DomainSeparator(std::string_view external);

// The domain of an internal-form address (after the last '@'), empty when there is none.
std::string_view DomainOf(std::string_view internal);
std::string_view LocalPartOf(std::string_view internal);

std::string Lowercase(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace moat::mta
