// dkim_tags.h - the tag=value lists of DKIM (RFC 6376 section 3.2) and its base64.
//
// Both the DKIM-Signature header field and the DNS key record are tag-lists. Parsing is strict,
// because both come from strangers: a tag-list that breaks the grammar, repeats a tag, or holds a
// character outside VALCHAR is kInvalid with a message naming the offending tag, and the caller
// turns it into a DKIM permerror. Values keep their inner folding whitespace; leading and trailing
// whitespace is dropped. Unknown tags are kept (callers ignore them, as the RFC says).
//
// DecodeBase64 accepts folding whitespace anywhere (b=, bh= and p= are folded across lines) and
// rejects anything else that is not base64, including bad padding: "bad base64 in b=" is a
// permerror, never a crash and never a silently shortened value.
//
// Pure functions on values; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::filterd {

struct DkimTag {
  std::string name;
  std::string value;
};

class DkimTagList {
 public:
  static core::Result<DkimTagList> Parse(std::string_view text);

  // The value of tag `name` (tag names are case-sensitive), or nullptr.
  const std::string* Find(std::string_view name) const;
  const std::vector<DkimTag>& tags() const { return tags_; }

 private:
  std::vector<DkimTag> tags_;
};

// Decodes base64, skipping space, tab, CR and LF. kInvalid for any other non-base64 character,
// misplaced or excess '=' padding, or a length that is not a whole number of quanta.
core::Result<std::string> DecodeBase64(std::string_view text);
std::string EncodeBase64(std::string_view bytes);

// Removes spaces, tabs, CR and LF ("folding whitespace") from a value.
std::string StripWhitespace(std::string_view value);

// ASCII lowercase.
std::string AsciiLower(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace moat::filterd
