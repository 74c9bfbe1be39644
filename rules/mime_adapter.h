// mime_adapter.h - the scanners' MIME tree (gmime) as the rule engine's input.
//
// The rule engine does not parse MIME (message_view.h); the filter parses every message once
// in the decomposition stage, and this adapter hands the same parse to the rules:
//
//   parts           every MIME leaf in document order (attached messages that gmime parsed
//                   inline included, as SpamAssassin descends into message/rfc822): lower-case
//                   type (missing = text/plain), charset, the attachment name, the transfer-
//                   decoded bytes, and for text/* the UTF-8 text gmime decoded from the charset.
//                   Text bodies (text/*, message/*, and anything sent quoted-printable) have CRLF
//                   turned into LF, as SpamAssassin's Message::Node does.
//   entity_headers  the raw header section of every entity below the message itself, in
//                   document order, as views into `raw` (an attached message contributes its MIME
//                   part headers and then its own header section). An entity whose header
//                   section cannot be found in `raw` gets an empty view, so entity numbers
//                   (mimeheader `range=`) stay right.
//
// Uuencoded files found inside text parts are not separate parts here (SpamAssassin does not
// split them either); the banned and virus checks see them through the content tree.
//
// `raw` must be the bytes the tree was parsed from and must outlive `out` (views point into
// it). Envelope and authentication results are left for the caller. Pure function.
#pragma once

#include <string_view>

#include "core/error.h"
#include "rules/message_view.h"
#include "scanners/decode_limits.h"
#include "scanners/mime_tree.h"

namespace moat::rules {

void AdaptMimeTree(const scanners::MimeTree& tree, std::string_view raw, ParsedMessage& out);

// ParseMime() + AdaptMimeTree(): for `moat rules test` and tools that have no content tree.
// Fails (kTempFail) only when the MIME parser cannot initialise; hostile input never fails.
core::Status ParseForRules(std::string_view raw, ParsedMessage& out,
                           const scanners::DecodeLimits& limits = {});

}  // namespace moat::rules
