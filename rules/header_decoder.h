// header_decoder.h - header field values as SpamAssassin's rules see them.
//
// DecodeHeaderValue() is Message::Node::_decode_header(): non-ASCII raw bytes kept when valid
// UTF-8 (RFC 6532) and read as Windows-1252 otherwise; RFC 2047 encoded words (B and Q, RFC 2231
// language suffix) decoded to UTF-8, whitespace between adjacent encoded words dropped,
// adjacent words of the same charset joined before charset decoding (so a multi-byte character
// split across words survives). Received, Message-ID, Date, MIME-Version, References,
// In-Reply-To and List-* fields are never decoded, as in SpamAssassin.
//
// UnfoldHeaderValue() turns a raw value (after the colon) into the form rules match:
// continuation line breaks become a space, leading and trailing whitespace go.
//
// DecodeBase64() and DecodeQuotedPrintable() are SpamAssassin's lenient decoders (garbage
// characters skipped, never an error). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace moat::rules {

std::string UnfoldHeaderValue(std::string_view raw_value);
std::string DecodeHeaderValue(std::string_view unfolded_value, std::string_view field_name);

std::string DecodeBase64(std::string_view encoded);
std::string DecodeQuotedPrintable(std::string_view encoded);

}  // namespace moat::rules
