// mime_adapter.cc - MimeTree -> ParsedMessage (see mime_adapter.h).
#include "rules/mime_adapter.h"

#include <algorithm>

namespace moat::rules {
namespace {

using scanners::MimeHeader;
using scanners::MimePart;
using scanners::MimePartKind;

std::string WithoutCr(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

// End of the header section that starts at `begin`: the offset of its blank line (or of the end
// of `raw`).
size_t HeaderSectionEnd(std::string_view raw, size_t begin) {
  size_t pos = begin;
  while (pos < raw.size()) {
    size_t nl = raw.find('\n', pos);
    if (nl == std::string_view::npos) return raw.size();
    std::string_view line = raw.substr(pos, nl - pos);
    if (line.empty() || line == "\r") return pos;
    pos = nl + 1;
  }
  return raw.size();
}

// Finds the header section whose first field is `first`, at a line start at or after `*cursor`;
// advances the cursor past it. Empty view when it is not there.
std::string_view LocateHeaders(std::string_view raw, const std::vector<MimeHeader>& headers,
                               size_t* cursor) {
  if (headers.empty()) return {};
  const MimeHeader& first = headers.front();
  std::string_view value = first.raw_value;
  size_t line_end = value.find_first_of("\r\n");
  if (line_end != std::string_view::npos) value = value.substr(0, line_end);
  std::string needle = first.name + ":";
  needle.append(value);
  for (size_t pos = *cursor; pos < raw.size();) {
    size_t found = raw.find(needle, pos);
    if (found == std::string_view::npos) return {};
    if (found == 0 || raw[found - 1] == '\n') {
      size_t end = HeaderSectionEnd(raw, found);
      *cursor = end;
      return raw.substr(found, end - found);
    }
    pos = found + 1;
  }
  return {};
}

// Whether a message's body is a multipart (its children are then parts with their own headers).
bool IsMultipartMessage(const MimePart& message) {
  if (message.parent < 0) return message.content_type.starts_with("multipart/");
  const MimeHeader* type = scanners::FindHeader(message.message_headers, "Content-Type");
  if (type == nullptr) return false;
  std::string_view value = type->value;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  constexpr std::string_view kMultipart = "multipart/";
  return value.size() >= kMultipart.size() &&
         std::equal(kMultipart.begin(), kMultipart.end(), value.begin(),
                    [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b + 32 : b); });
}

bool IsTextual(const MimePart& part, std::string_view type) {
  return type.starts_with("text/") || type.starts_with("message/") ||
         part.transfer_encoding == "quoted-printable";
}

}  // namespace

void AdaptMimeTree(const scanners::MimeTree& tree, std::string_view raw, ParsedMessage& out) {
  out.raw = raw;
  size_t cursor = 0;
  // The top-level header section comes first; entities below it are searched after it.
  if (!tree.parts.empty()) LocateHeaders(raw, tree.parts[0].headers, &cursor);
  for (size_t i = 1; i < tree.parts.size(); ++i) {
    const MimePart& part = tree.parts[i];
    if (part.kind == MimePartKind::kEmbedded) continue;
    // The body of a non-multipart message has no header section of its own (its Content-*
    // fields are the message's): it was counted with the message.
    bool message_body = part.parent >= 0 &&
                        tree.parts[part.parent].kind == MimePartKind::kMessage &&
                        !IsMultipartMessage(tree.parts[part.parent]);
    if (!message_body) out.entity_headers.push_back(LocateHeaders(raw, part.headers, &cursor));
    if (part.kind == MimePartKind::kMessage) {
      out.entity_headers.push_back(LocateHeaders(raw, part.message_headers, &cursor));
    }
    if (part.kind != MimePartKind::kLeaf) continue;
    LeafPart leaf;
    leaf.content_type = part.content_type.empty() ? "text/plain" : part.content_type;
    leaf.charset = part.charset;
    leaf.filename = part.name();
    bool textual = IsTextual(part, leaf.content_type);
    leaf.raw_text = textual ? WithoutCr(part.body) : part.body;
    if (part.is_text) leaf.utf8_text = WithoutCr(part.utf8_text());
    out.parts.push_back(std::move(leaf));
  }
}

core::Status ParseForRules(std::string_view raw, ParsedMessage& out,
                           const scanners::DecodeLimits& limits) {
  auto tree = scanners::ParseMime(raw, limits);
  if (!tree) return core::Fail(tree.error());
  AdaptMimeTree(*tree, raw, out);
  return {};
}

}  // namespace moat::rules
