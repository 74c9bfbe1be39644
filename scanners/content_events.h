// content_events.h - what decoding a message noticed besides its content: anomalies and limit
// events.
//
// Decoding never fails on hostile input; instead it records what was wrong and carries on:
//
//   Anomaly     the input broke a format rule (a missing closing boundary, bad base64, a
//               duplicate Content-Transfer-Encoding, garbage in a header, a truncated or lying
//               archive). Header anomalies later become BAD-HEADER findings, structural ones
//               UNCHECKED ("MIME ambiguity" / "corrupt content") findings.
//   LimitEvent  a resource limit (depth, members, bytes, ratio, time, MIME parts) stopped the
//               decoding of some subtree; what lies below `path` was not (fully) looked at. These
//               become UNCHECKED findings that name the limit.
//
// Both carry the content-tree path of the place they refer to ("" is the whole message). Plain
// value types; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace moat::scanners {

enum class AnomalyKind {
  // Header syntax (-> BAD-HEADER).
  kInvalidHeaderName,   // garbage where a header field name should be
  kEightBitHeader,      // unencoded 8-bit bytes in a header block
  kNulInHeader,         // a NUL byte in a header block
  kDuplicateHeader,     // a header that may appear once appears twice with the same value
  kConflictingHeader,   // ... or with different values (two Content-Transfer-Encodings)
  kInvalidContentType,  // unparsable Content-Type, application/octet-stream assumed
  kInvalidParameter,    // a malformed or duplicated header parameter
  kInvalidEncodedWord,  // an RFC 2047 encoded word that does not decode
  kInvalidAddressList,  // an address header that does not parse
  // MIME structure (-> UNCHECKED, MIME ambiguity).
  kMultipartWithoutBoundary,  // multipart/* without a boundary parameter
  kMissingBoundary,           // a multipart ended without its closing boundary
  kEmptyMultipart,            // a multipart without a single part (all content in its prologue)
  kAmbiguousBoundary,         // a line starts with a boundary but carries more text: other MIME
                              // parsers (RFC 2046 says: "sufficient that the boundary appear")
                              // split the message there, gmime does not
  kTruncatedMessage,          // the message ends inside a header block or a multipart
  kMalformedMessage,          // other structural damage gmime reports
  kPartWithoutContent,        // a part's headers ended at a boundary
  kNestingOverflow,           // the MIME parser itself refused to nest deeper
  kUnknownTransferEncoding,   // a Content-Transfer-Encoding value nobody knows
  kBadBase64,                 // characters outside the base64 alphabet, bad padding or length
  kBadQuotedPrintable,        // '=' not followed by two hex digits or a line break
  kBadUuencode,               // a uuencoded block without "end" or with broken lines
  kUnknownCharset,            // a charset iconv does not know; text decoded with a fallback
  kNulInText,                 // NUL bytes in a text/* body
  // Archives (-> UNCHECKED, corrupt content).
  kArchiveCorrupt,       // libarchive gave up: truncated, bad checksum, bad header
  kArchiveSizeMismatch,  // a member's data is shorter or longer than its header says
  kArchiveUnsupported,   // a format feature libarchive cannot read
  kTypeDetectionFailed,  // libmagic could not type the bytes
};

// The finding family an anomaly belongs to, for the rules/verdict layer.
enum class AnomalyCategory { kBadHeader, kMimeAmbiguity, kCorruptContent };

struct Anomaly {
  AnomalyKind kind;
  std::string path;    // content-tree path of the part or member concerned ("" = message)
  std::string detail;  // human-readable: the header name, the offending value, libarchive's error
};

enum class LimitKind {
  kMimeParts,         // more MIME parts than DecodeLimits::max_mime_parts
  kMimeDepth,         // MIME nesting deeper than max_mime_depth
  kDepth,             // container nesting (archives, attached messages) deeper than max_depth
  kMemberCount,       // more archive members in the message than max_members
  kTotalBytes,        // more unpacked bytes in the message than max_total_bytes
  kMemberBytes,       // one member larger than max_member_bytes
  kCompressionRatio,  // a container expanding beyond max_compression_ratio
  kTime,              // the message's decoding time budget ran out
  kScanner,           // a scanner's own limit (ClamAV: Heuristics.Limits.Exceeded.*)
};

struct LimitEvent {
  LimitKind limit;
  std::string path;    // where it tripped: the container or member path ("" = message)
  std::string detail;  // "limit 67108864 bytes", "ratio 1024 > 200", ...
};

// Stable lower-case names used in logs, JSON and rules: "missing-boundary", "member-bytes", ...
std::string_view AnomalyKindName(AnomalyKind kind);
std::string_view LimitKindName(LimitKind kind);
AnomalyCategory CategoryOf(AnomalyKind kind);
std::string_view AnomalyCategoryName(AnomalyCategory category);

}  // namespace moat::scanners
