// dkim_canon.h - splitting a message into header fields and body, and DKIM canonicalization
// (RFC 6376 section 3.4: "simple" and "relaxed", for header fields and for the body).
//
// Messages arrive with CRLF line ends (SMTP) or bare LF (a queue file, a .eml on disk). DKIM is
// defined on the CRLF wire form, so canonicalization treats a bare LF as CRLF: a message signed in
// LF form verifies after the MTA converts it to CRLF, and the other way round. A CR not followed
// by LF is an ordinary character.
//
// SplitMessage is lenient about content (8-bit bytes, odd spacing) but a line in the header
// section that is neither a field ("name:") nor a continuation is kInvalid, as is a message with
// no header field at all. The returned views point into the caller's message, which must outlive
// them. Everything here is a pure function: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::filterd {

enum class DkimCanonicalization { kSimple, kRelaxed };

std::string_view DkimCanonicalizationName(DkimCanonicalization c);  // "simple", "relaxed"

struct HeaderField {
  std::string_view name;  // as written, without surrounding whitespace
  // The whole field: name, colon, value and folding, without the final line break.
  std::string_view raw;
};

struct SplitMessageView {
  std::vector<HeaderField> headers;  // in message order
  std::string_view body;             // after the empty line; empty when there is none
};

core::Result<SplitMessageView> SplitMessage(std::string_view message);

// The unfolded value of a field (after the colon), with CR/LF removed and ends trimmed.
std::string HeaderValue(const HeaderField& field);

// One header field in canonical form, terminated by CRLF. `raw` as in HeaderField::raw.
void CanonicalizeHeader(std::string_view raw, DkimCanonicalization c, std::string* out);

// The header part of the data a signature covers (section 5.4.2): for each name of h=, in order,
// the last not yet used instance of that field counted from the bottom, canonicalized; a name
// with no unused instance left adds nothing (that is how oversigning works).
std::string CanonicalSignedHeaders(const SplitMessageView& message,
                                   const std::vector<std::string>& names, DkimCanonicalization c);

// The canonical body (section 3.4.3 / 3.4.4). A limit keeps only the first `limit` octets of the
// canonical form (the l= tag); `full_length` receives the untruncated canonical length.
std::string CanonicalizeBody(std::string_view body, DkimCanonicalization c,
                             uint64_t* full_length = nullptr);

// The DKIM-Signature field `raw` with the value of its b= tag removed (section 3.5, "b="): what is
// hashed when signing and verifying. kInvalid when the field has no b= tag.
core::Result<std::string> WithoutSignatureValue(std::string_view raw);

}  // namespace moat::filterd
