// content_header_edits.h - applying HeaderEdits to a message (the reference implementation).
//
// The stages and the policy only plan header edits (message_context.h); the finishing steps
// apply them to a copy of the message for each group of recipients, before DKIM signing. This is
// the editor they can use, and what `moat scan` uses to show the header section a recipient
// would get:
//
//   kRemoveAll  deletes every field whose name matches (case-insensitive; "X-Spam-*" matches
//               every field starting with "X-Spam-"; with authserv_id set, only
//               Authentication-Results fields whose authserv-id equals it), with their
//               continuation lines;
//   kPrepend    inserts at the top; consecutive prepends keep their list order (the first
//               listed ends up first);
//   kAppend     inserts at the end of the header section.
// New fields are folded at white space to lines of at most 78 characters where possible, and
// use the line ending of the message (CRLF unless the message uses bare LF). The body is not
// touched. A message without a header/body separator is treated as all header.
//
// Pure function; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "filterd/message_context.h"

namespace moat::filterd {

std::string ApplyHeaderEdits(std::string_view message, std::span<const HeaderEdit> edits);

// "Name: value" folded as described above, ending with `line_ending`.
std::string FoldHeaderField(std::string_view name, std::string_view value,
                            std::string_view line_ending = "\r\n");

}  // namespace moat::filterd
