// mime_lint.h - byte-level checks on MIME content that decoders silently paper over.
//
// gmime (like every lenient decoder) skips characters outside the base64 alphabet and passes
// broken quoted-printable through; a filter must notice that, because such damage is how
// attachments get smuggled past scanners that decode differently from the recipient's client.
// These are pure functions over bytes, used by mime_tree.cc; each answers "what is wrong" as a
// short human-readable text, or nullopt when nothing is.
//
// Also here: finding uuencoded blocks inside text, cutting a message after N boundary-like
// lines (the bound on gmime's work, see mime_tree.h), UTF-8 validation, and content paths.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::scanners {

std::optional<std::string> Base64Problem(std::string_view encoded);
std::optional<std::string> QuotedPrintableProblem(std::string_view encoded);

// A "begin <mode> <name>" ... "end" block inside text.
struct UuBlock {
  std::string filename;
  size_t data_begin = 0;    // offset of the first line after "begin"
  size_t data_end = 0;      // offset of the "end" line (or of the end of the text)
  bool terminated = false;  // an "end" line was found
};
std::vector<UuBlock> FindUuBlocks(std::string_view text, size_t max_blocks);

// The offset just before the `max_lines`-th line that starts with "--", or raw.size() when there
// are fewer such lines.
size_t CutBeforeBoundaryLine(std::string_view raw, size_t max_lines);

// Offset one past the blank line ending the header block that starts at `start`, or raw.size().
size_t HeaderBlockEnd(std::string_view raw, size_t start);

// A line of `text` that starts with "--" + one of `boundaries` followed by more than
// whitespace (or "--" and whitespace): a boundary to RFC 2046 readers, content to gmime.
std::optional<std::string> AmbiguousBoundaryLine(std::string_view text,
                                                 const std::vector<std::string>& boundaries);

bool IsValidUtf8(std::string_view bytes);

// Appends U+FFFD for every invalid sequence, so the result is always valid UTF-8.
std::string SanitizeUtf8(std::string_view bytes);

// The path under which a node's children live: "2" + "attachment.zip" -> "2/attachment.zip";
// a node without a name keeps its own path ("1" -> "1"); the message ("") has no prefix.
std::string ChildPrefix(std::string_view path, std::string_view name);
std::string JoinPath(std::string_view prefix, std::string_view child);

}  // namespace moat::scanners
