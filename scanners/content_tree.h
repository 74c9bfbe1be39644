// content_tree.h - everything one message contains, decoded once: the content tree.
//
// The Decomposer (decomposer.h) turns a raw message into a ContentTree: one node per MIME part
// (message, multipart, leaf, uuencoded file inside a text part) and per archive member, in
// document order (pre-order: a node's parent always comes before it), with
//
//   path            where it is: MIME part numbers, then names inside containers, "/"-joined:
//                   "" the message, "1" its first part, "2/attachment.zip/inner.7z/eicar.com"
//                   a member of inner.7z inside the zip attached as part 2, "3/fwd.eml/2" part 2
//                   of an encoded message/rfc822 attached as part 3 (see mime_tree.h for MIME
//                   numbering). Names are as the sender wrote them (UTF-8); they may contain "/".
//   name            the declared file name (MIME filename/name; the member's own name)
//   declared_type   the MIME Content-Type (MIME nodes only)
//   detected_type   libmagic's MIME type of the bytes, short_type its short form (file_type.h)
//   size            decoded bytes (for a truncated node: the bytes read before a limit)
//   encrypted       the member, or the archive's headers (7z -mhe), are encrypted
//   depth           0 for the message, +1 per level below (MIME or container)
//   container_chain names of the enclosing files (attachments, archives, attached messages)
//                   outermost first: for the eicar.com above {"attachment.zip", "inner.7z"}
//
// plus the anomalies and limit events met on the way (content_events.h), with paths.
//
// Bytes: every node that carries content has it decoded exactly once; ContentTree::bytes(node)
// returns a view of it for every check (ClamAV, banned rules, regex rules). MIME bodies live in
// the MimeTree they came from (with headers and the UTF-8 text of text parts: mime_part(node)),
// archive members own their bytes. A container read completely (every member visited, at least
// one file in it, no error, no limit) is not a scan leaf, and a member container of that kind
// releases its own bytes (its members carry the content); one that was not (corrupt,
// unsupported, encrypted headers, empty) stays a scan leaf, so ClamAV still sees it - except
// where a limit stopped us (limit_stopped): what a limit skipped is not handed to ClamAV to
// unpack instead.
//
// A ContentTree is a plain value; views into it stay valid while it lives and is not modified.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scanners/content_events.h"
#include "scanners/mime_tree.h"

namespace moat::scanners {

enum class ContentNodeKind {
  kMessage,    // the message or an attached message
  kMultipart,  // a multipart/* inside a message
  kPart,       // a MIME leaf
  kEmbedded,   // a uuencoded file inside a text part
  kMember,     // an archive member (or the content of a single compressed stream)
};

std::string_view ContentNodeKindName(ContentNodeKind kind);

struct ContentNode {
  ContentNodeKind kind = ContentNodeKind::kPart;
  std::string path;
  std::string name;
  std::string member_path;  // kMember: the full path inside its archive ("dir/file.exe")
  std::string declared_type;
  std::string detected_type;
  std::string short_type;
  uint64_t size = 0;
  bool encrypted = false;
  bool truncated = false;      // a limit stopped reading its bytes
  bool limit_stopped = false;  // a limit kept this container from being opened or read to its
                               // end: the rest is skipped, by ClamAV too
  int depth = 0;
  int container_depth = 0;  // containers (archives, attached messages) above this node
  int parent = -1;
  std::vector<int> children;
  std::vector<std::string> container_chain;

  // Set when this node was opened as a container (archive, compressed stream, encoded message).
  bool container = false;
  bool container_complete = false;  // ... and read to its end without error or limit
  std::string container_format;     // "ZIP 2.0 (deflation)", "GNU tar format + gzip", "MIME"

  // Where the bytes are (see the file comment): a part of a MimeTree, or owned (members).
  int mime_tree = -1;
  int mime_part = -1;
  std::shared_ptr<const std::string> owned_bytes;
  // A node whose bytes were parsed as a message: the MimeTree of that message (headers).
  int nested_mime_tree = -1;
};

struct ContentTree {
  std::vector<ContentNode> nodes;    // nodes[0] is the message
  std::vector<MimeTree> mime_trees;  // [0] the message; more for messages found inside content
  std::vector<Anomaly> anomalies;
  std::vector<LimitEvent> limit_events;
  uint64_t unpacked_bytes = 0;  // bytes produced by archive members in total

  // The node's decoded content (empty for multiparts and for complete containers).
  std::string_view bytes(const ContentNode& node) const;
  // The MIME part a node came from (headers, charset, UTF-8 text), or nullptr for members.
  const MimePart* mime_part(const ContentNode& node) const;
  // True for nodes whose bytes ClamAV and other content checks should look at: everything with
  // content except containers we read completely.
  bool IsScanLeaf(const ContentNode& node) const;
  // True when some of the message's content was not looked at: a limit tripped, or something is
  // encrypted, or an archive could not be read.
  bool incomplete() const;
};

// JSON for `moat scan --json` and logs. Parts fields: path, name, declared_type,
// detected_type, short_type, size, encrypted, truncated, kind, depth, container_chain,
// container_format (containers only). Anomalies: kind, category, path, detail. Limit events:
// limit, path, detail.
std::string ContentPartsJson(const ContentTree& tree);
std::string ContentAnomaliesJson(const ContentTree& tree);
std::string ContentLimitEventsJson(const ContentTree& tree);

}  // namespace moat::scanners
