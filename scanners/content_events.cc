// content_events.cc - names and categories of anomalies and limit events.
#include "scanners/content_events.h"

namespace moat::scanners {

std::string_view AnomalyKindName(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kInvalidHeaderName:
      return "invalid-header-name";
    case AnomalyKind::kEightBitHeader:
      return "8bit-header";
    case AnomalyKind::kNulInHeader:
      return "nul-in-header";
    case AnomalyKind::kDuplicateHeader:
      return "duplicate-header";
    case AnomalyKind::kConflictingHeader:
      return "conflicting-header";
    case AnomalyKind::kInvalidContentType:
      return "invalid-content-type";
    case AnomalyKind::kInvalidParameter:
      return "invalid-parameter";
    case AnomalyKind::kInvalidEncodedWord:
      return "invalid-encoded-word";
    case AnomalyKind::kInvalidAddressList:
      return "invalid-address-list";
    case AnomalyKind::kMultipartWithoutBoundary:
      return "multipart-without-boundary";
    case AnomalyKind::kMissingBoundary:
      return "missing-boundary";
    case AnomalyKind::kEmptyMultipart:
      return "empty-multipart";
    case AnomalyKind::kAmbiguousBoundary:
      return "ambiguous-boundary";
    case AnomalyKind::kTruncatedMessage:
      return "truncated-message";
    case AnomalyKind::kMalformedMessage:
      return "malformed-message";
    case AnomalyKind::kPartWithoutContent:
      return "part-without-content";
    case AnomalyKind::kNestingOverflow:
      return "nesting-overflow";
    case AnomalyKind::kUnknownTransferEncoding:
      return "unknown-transfer-encoding";
    case AnomalyKind::kBadBase64:
      return "bad-base64";
    case AnomalyKind::kBadQuotedPrintable:
      return "bad-quoted-printable";
    case AnomalyKind::kBadUuencode:
      return "bad-uuencode";
    case AnomalyKind::kUnknownCharset:
      return "unknown-charset";
    case AnomalyKind::kNulInText:
      return "nul-in-text";
    case AnomalyKind::kArchiveCorrupt:
      return "archive-corrupt";
    case AnomalyKind::kArchiveSizeMismatch:
      return "archive-size-mismatch";
    case AnomalyKind::kArchiveUnsupported:
      return "archive-unsupported";
    case AnomalyKind::kTypeDetectionFailed:
      return "type-detection-failed";
  }
  return "unknown";
}

std::string_view LimitKindName(LimitKind kind) {
  switch (kind) {
    case LimitKind::kMimeParts:
      return "mime-parts";
    case LimitKind::kMimeDepth:
      return "mime-depth";
    case LimitKind::kDepth:
      return "depth";
    case LimitKind::kMemberCount:
      return "members";
    case LimitKind::kTotalBytes:
      return "total-bytes";
    case LimitKind::kMemberBytes:
      return "member-bytes";
    case LimitKind::kCompressionRatio:
      return "compression-ratio";
    case LimitKind::kTime:
      return "time";
    case LimitKind::kScanner:
      return "scanner";
  }
  return "unknown";
}

AnomalyCategory CategoryOf(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kInvalidHeaderName:
    case AnomalyKind::kEightBitHeader:
    case AnomalyKind::kNulInHeader:
    case AnomalyKind::kDuplicateHeader:
    case AnomalyKind::kConflictingHeader:
    case AnomalyKind::kInvalidContentType:
    case AnomalyKind::kInvalidParameter:
    case AnomalyKind::kInvalidEncodedWord:
    case AnomalyKind::kInvalidAddressList:
      return AnomalyCategory::kBadHeader;
    case AnomalyKind::kArchiveCorrupt:
    case AnomalyKind::kArchiveSizeMismatch:
    case AnomalyKind::kArchiveUnsupported:
    case AnomalyKind::kTypeDetectionFailed:
      return AnomalyCategory::kCorruptContent;
    default:
      return AnomalyCategory::kMimeAmbiguity;
  }
}

std::string_view AnomalyCategoryName(AnomalyCategory category) {
  switch (category) {
    case AnomalyCategory::kBadHeader:
      return "bad-header";
    case AnomalyCategory::kMimeAmbiguity:
      return "mime-ambiguity";
    case AnomalyCategory::kCorruptContent:
      return "corrupt-content";
  }
  return "unknown";
}

}  // namespace moat::scanners
