// content_findings.h - how decoding events become findings (which content class each argues for).
//
// The decomposer records anomalies and limit events without judging them (content_events.h);
// this is where Moat decides what they mean, in one table, shared by the decomposition stage
// (UNCHECKED findings) and the header-check stage (BAD-HEADER findings):
//
//   UNCHECKED "mime-ambiguity"   the structure can be read more than one way, so what we checked
//                                may not be what the recipient's client shows: a conflicting
//                                Content-Type/Content-Transfer-Encoding, a multipart without a
//                                boundary, a boundary line that other parsers split on
//                                (ambiguous-boundary), MIME nesting gmime refused.
//   UNCHECKED "corrupt-content"  an archive libarchive could not read to its end (truncated,
//                                bad checksum, sizes that lie, an unsupported feature): what is
//                                inside was not looked at (ClamAV still saw the bytes).
//   UNCHECKED "encrypted"        an encrypted member or archive header.
//   UNCHECKED "limit:<name>"     a decoding limit stopped the descent (content_events.h names).
//   BAD-HEADER                   header syntax (8-bit or NUL bytes, invalid field names,
//                                duplicated fields or conflicting values of a non-MIME field
//                                such as two different From:, malformed parameters, Content-Type or
//                                address lists) and MIME errors amavis also reports as a bad
//                                header (a multipart without its closing boundary, a truncated
//                                or malformed message, a part without content).
//   informational (CLEAN)        damage every mail client tolerates the same way: bad base64 or
//                                quoted-printable, an unknown charset or transfer encoding, a
//                                broken encoded word, NUL bytes in text, an empty multipart, a
//                                failed type detection. Recorded for the trace, never a class.
//
// Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "filterd/verdict.h"
#include "scanners/content_events.h"

namespace moat::filterd {

enum class AnomalyRole { kMimeAmbiguity, kCorruptContent, kBadHeader, kInformational };

AnomalyRole RoleOf(scanners::AnomalyKind kind);
// As above, with what depends on the detail: conflicting values of a MIME field (Content-*,
// MIME-Version) are a MIME ambiguity, of any other field (two different From: or To:) a bad
// header, as amavisd-new's "Duplicate header field".
AnomalyRole RoleOf(const scanners::Anomaly& anomaly);

// The finding for an anomaly (stage "decompose" for UNCHECKED roles, "header" otherwise).
Finding AnomalyFinding(const scanners::Anomaly& anomaly);
// UNCHECKED "limit:<name>".
Finding LimitFinding(std::string_view stage, const scanners::LimitEvent& event);

}  // namespace moat::filterd
