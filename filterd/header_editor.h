// header_editor.h - applies the planned header edits (HeaderEdit, message_context.h) to a raw
// message: the "header edits" finishing step, before DKIM signing.
//
// The result is the original message byte for byte, apart from:
//   kPrepend    the field goes above the original header section; several prepends keep their
//               order (the first edit ends up topmost);
//   kAppend     the field goes at the end of the header section, just above the blank line
//               (a message without one gets the field at its very end);
//   kRemoveAll  every ORIGINAL field of that name (case-insensitive; a trailing '*' matches a
//               prefix: "X-Spam-*") is removed with its continuation lines. Fields other edits
//               add are never removed, so the order of removals and additions does not matter.
// New fields use the message's own line ending (CRLF for SMTP, LF for a .eml on disk) and are
// folded at whitespace (before a space or tab, so unfolding restores the value exactly) to keep
// lines within 78 characters where the value allows. CR, LF and NUL in names or values are
// replaced by spaces, and a name that is not a valid field name (RFC 5322 ftext) makes the edit
// be skipped, so a stage can never inject a line break or a second field.
//
// Pure functions; thread-safe. Cost: one pass over the header section and one copy of the
// message into the result (reserved in one allocation).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "filterd/message_context.h"

namespace moat::filterd {

// `message` with `first` then `second` applied (the context's edits, then a recipient's).
std::string ApplyHeaderEdits(std::string_view message, std::span<const HeaderEdit> first,
                             std::span<const HeaderEdit> second = {});

// One field "Name: value" folded as described above, ending with `line_ending`; "" when the
// name is invalid.
std::string FormatHeaderField(std::string_view name, std::string_view value,
                              std::string_view line_ending = "\r\n");

// True when `name` is a valid field name: 1..76 printable ASCII characters except ':'.
bool IsValidFieldName(std::string_view name);

}  // namespace moat::filterd
