// mime_tree.h - a raw message as a tree of MIME parts with decoded bodies (gmime 3).
//
// ParseMime() turns the bytes of one message into a flat vector of parts in document order
// (pre-order), each knowing its parent and children. It never fails on hostile input: broken
// MIME is tolerated the way mail clients tolerate it and each oddity is recorded as an Anomaly
// (content_events.h) with the path of the part it concerns.
//
// Paths follow IMAP body-part numbering with "/" as the separator: the message itself is "",
// the parts of its top-level multipart are "1", "2", ...; a single-part message has its body at
// "1"; the parts of a message/rfc822 attached as part 2 are "2/1", "2/2" (its body "2/1" when it
// is not multipart). Files found uuencoded inside a text part are children of it, named after
// the part: "1/notes.txt/setup.exe", or "1/setup.exe" when the text part has no name.
//
// Per part: all headers in order (name, raw value, decoded UTF-8 value), declared Content-Type
// and charset, Content-Disposition and its filename, the Content-Type name (RFC 2231
// continuations and charsets, RFC 2047 encoded words, decoded to UTF-8), the declared transfer
// encoding, the decoded body bytes (base64, quoted-printable, uuencode), and for text/* parts the
// body converted to UTF-8 from its charset (unknown charsets: UTF-8 if valid, else Windows-1252,
// plus an anomaly).
//
// Bounds: at most DecodeLimits::max_mime_parts parts and max_mime_depth levels are reported
// (a LimitEvent marks where the rest was dropped). Before gmime sees the message, the input is
// cut after 4 * max_mime_parts boundary-like lines ("--..."), which bounds gmime's own work and
// memory whatever the structure; gmime stops recursing at 1024 levels by itself (measured: 1024
// levels fit in a 128 KB thread stack; threads with the default 8 MB stack are plenty). Our own
// walk of the tree is iterative.
//
// Thread safety: ParseMime() may run concurrently on different threads (gmime is initialised
// once per process on first use). A MimeTree is a plain value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "scanners/content_events.h"
#include "scanners/decode_limits.h"

namespace moat::scanners {

enum class MimePartKind {
  kMessage,    // the message itself (root) or an attached message/rfc822
  kMultipart,  // multipart/* below a message
  kLeaf,       // a part with a body
  kEmbedded,   // a file uuencoded inside a text part's body
};

struct MimeHeader {
  std::string name;       // as written ("Content-Type")
  std::string raw_value;  // exactly the bytes after the colon, folding included
  std::string value;      // unfolded, RFC 2047 decoded, UTF-8
};

struct MimePart {
  MimePartKind kind = MimePartKind::kLeaf;
  std::string path;
  int depth = 0;    // 0 for the message; MIME nesting level otherwise
  int parent = -1;  // index into MimeTree::parts; -1 for the root
  std::vector<int> children;

  // This entity's header block. For the root these are the message headers; for an attached
  // message/rfc822 part they are the part's own MIME headers and `message_headers` holds the
  // embedded message's header block.
  std::vector<MimeHeader> headers;
  std::vector<MimeHeader> message_headers;

  std::string content_type;       // lower-case "type/subtype" as declared (or defaulted)
  std::string charset;            // lower-case charset parameter, "" when absent
  std::string disposition;        // lower-case "attachment", "inline", "" when absent
  std::string filename;           // Content-Disposition filename, decoded to UTF-8
  std::string name_param;         // Content-Type name, decoded to UTF-8
  std::string transfer_encoding;  // lower-case as declared, "" when absent

  std::string body;           // decoded bytes (kLeaf, kEmbedded)
  bool is_text = false;       // a text/* leaf
  bool text_is_body = false;  // the body already was valid UTF-8 text; `text` stays empty
  std::string text;           // text/* leaves whose body needed converting: the UTF-8 text

  // The UTF-8 text of a text/* leaf (a view into this part; empty for other parts).
  std::string_view utf8_text() const { return text_is_body ? std::string_view(body) : text; }

  // The attachment name a user would see: filename, else the Content-Type name.
  const std::string& name() const { return filename.empty() ? name_param : filename; }
};

struct MimeTree {
  std::vector<MimePart> parts;  // parts[0] is the message
  std::vector<Anomaly> anomalies;
  std::vector<LimitEvent> limit_events;
};

// Never fails on malformed input; an error means the process could not allocate or initialise.
core::Result<MimeTree> ParseMime(std::string_view raw, const DecodeLimits& limits);

// Lookup helpers over a header list (case-insensitive names): the first value, or nullptr.
const MimeHeader* FindHeader(const std::vector<MimeHeader>& headers, std::string_view name);

}  // namespace moat::scanners
