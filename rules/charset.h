// charset.h - bytes in a declared charset to UTF-8, with SpamAssassin's fallbacks.
//
// Used for RFC 2047 encoded words and for text parts whose adapter supplied no UTF-8 text.
// ToUtf8() follows Message::Node::_normalize(): all-ASCII input is returned as is; input that is
// valid UTF-8 is kept (unless `insist_on_declared` is set, as SpamAssassin does for encoded
// words); otherwise the declared charset is converted with iconv (ISO-8859-1 read as its superset
// Windows-1252, as mail clients do); a charset iconv does not know, or bytes invalid in it, fall
// back to Windows-1252, which cannot fail. The result is always valid UTF-8.
//
// The only file that includes <iconv.h>. Thread-safe (each call opens its own converter).
#pragma once

#include <string>
#include <string_view>

namespace moat::rules {

std::string ToUtf8(std::string_view bytes, std::string_view charset,
                   bool insist_on_declared = false);

bool IsValidUtf8(std::string_view bytes);

// Windows-1252 bytes to UTF-8 (never fails; undefined bytes map to U+FFFD).
std::string Windows1252ToUtf8(std::string_view bytes);

// Appends the UTF-8 encoding of a code point (invalid ones as U+FFFD).
void AppendUtf8(std::string& out, unsigned code_point);

}  // namespace moat::rules
