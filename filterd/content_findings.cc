// content_findings.cc - the anomaly table (see content_findings.h).
#include "filterd/content_findings.h"

#include <cctype>
#include <string>

namespace moat::filterd {

using scanners::AnomalyKind;

AnomalyRole RoleOf(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kConflictingHeader:
    case AnomalyKind::kMultipartWithoutBoundary:
    case AnomalyKind::kAmbiguousBoundary:
    case AnomalyKind::kNestingOverflow:
      return AnomalyRole::kMimeAmbiguity;
    case AnomalyKind::kArchiveCorrupt:
    case AnomalyKind::kArchiveSizeMismatch:
    case AnomalyKind::kArchiveUnsupported:
      return AnomalyRole::kCorruptContent;
    case AnomalyKind::kInvalidHeaderName:
    case AnomalyKind::kEightBitHeader:
    case AnomalyKind::kNulInHeader:
    case AnomalyKind::kDuplicateHeader:
    case AnomalyKind::kInvalidContentType:
    case AnomalyKind::kInvalidParameter:
    case AnomalyKind::kInvalidAddressList:
    case AnomalyKind::kMissingBoundary:
    case AnomalyKind::kTruncatedMessage:
    case AnomalyKind::kMalformedMessage:
    case AnomalyKind::kPartWithoutContent:
      return AnomalyRole::kBadHeader;
    case AnomalyKind::kInvalidEncodedWord:
    case AnomalyKind::kEmptyMultipart:
    case AnomalyKind::kUnknownTransferEncoding:
    case AnomalyKind::kBadBase64:
    case AnomalyKind::kBadQuotedPrintable:
    case AnomalyKind::kBadUuencode:
    case AnomalyKind::kUnknownCharset:
    case AnomalyKind::kNulInText:
    case AnomalyKind::kTypeDetectionFailed:
      return AnomalyRole::kInformational;
  }
  return AnomalyRole::kInformational;
}

AnomalyRole RoleOf(const scanners::Anomaly& anomaly) {
  if (anomaly.kind == AnomalyKind::kConflictingHeader) {
    auto starts_with_no_case = [&](std::string_view prefix) {
      if (anomaly.detail.size() < prefix.size()) return false;
      for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(anomaly.detail[i])) != prefix[i]) return false;
      }
      return true;
    };
    bool mime_field = starts_with_no_case("content-") || starts_with_no_case("mime-version");
    return mime_field ? AnomalyRole::kMimeAmbiguity : AnomalyRole::kBadHeader;
  }
  return RoleOf(anomaly.kind);
}

Finding AnomalyFinding(const scanners::Anomaly& anomaly) {
  Finding f;
  f.name = std::string(scanners::AnomalyKindName(anomaly.kind));
  f.part = anomaly.path;
  f.detail = anomaly.detail;
  switch (RoleOf(anomaly)) {
    case AnomalyRole::kMimeAmbiguity:
      f.stage = "decompose";
      f.content_class = ContentClass::kUnchecked;
      f.subclass = "mime-ambiguity";
      break;
    case AnomalyRole::kCorruptContent:
      f.stage = "decompose";
      f.content_class = ContentClass::kUnchecked;
      f.subclass = "corrupt-content";
      break;
    case AnomalyRole::kBadHeader:
      f.stage = "header";
      f.content_class = ContentClass::kBadHeader;
      break;
    case AnomalyRole::kInformational:
      f.stage = "header";
      f.content_class = ContentClass::kClean;
      break;
  }
  return f;
}

Finding LimitFinding(std::string_view stage, const scanners::LimitEvent& event) {
  Finding f;
  f.stage = std::string(stage);
  f.name = std::string(scanners::LimitKindName(event.limit));
  f.content_class = ContentClass::kUnchecked;
  f.subclass = "limit:" + f.name;
  f.part = event.path;
  f.detail = event.detail;
  return f;
}

}  // namespace moat::filterd
