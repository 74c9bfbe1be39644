// smtp_xtext.h - xtext, the encoding of RFC 3461 section 4 (DSN ENVID and ORCPT, AUTH=, and the
// attribute values of Postfix's XFORWARD command).
//
// xtext keeps the printable ASCII characters '!'..'~' except '+' and '='; every other byte is
// written "+XX" with two upper-case hex digits. Encoding is total; decoding fails (kInvalid) on a
// '+' not followed by two hex digits or on a byte outside '!'..'~'. Decoding accepts lower-case
// hex, as Postfix does. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::core {

std::string XtextEncode(std::string_view raw);
void XtextEncodeAppend(std::string_view raw, std::string& out);
Result<std::string> XtextDecode(std::string_view xtext);

}  // namespace moat::core
