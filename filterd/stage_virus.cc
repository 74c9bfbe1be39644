// stage_virus.cc - ClamAV findings (see stage_virus.h).
//
// Why the raw-message pass defaults to "only when the MIME structure is ambiguous":
// every byte of the message already reaches ClamAV once as a decoded leaf (each MIME part,
// uuencoded file and archive member), with ClamAV's own file-type unpacking still on for what
// libarchive does not open. A second pass over the raw message roughly doubles the ClamAV cost
// of every message (it re-reads all attachments in their base64 form) and on well-formed mail
// finds nothing new: with parsing off, ClamAV matches only its "any file" signatures against
// base64 text, which cannot match a binary signature; with parsing on, it would decode the same
// parts again. It earns its cost only where our reading of the structure may differ from the
// recipient's client's - a conflicting header, a boundary other parsers split on, a multipart
// without a boundary (AnomalyCategory::kMimeAmbiguity): then ClamAV parses the raw message with
// its own MIME parser as a second opinion. Sites that run third-party signatures written
// against whole mail files (target type 4) set clamav_raw_message_scan = always.
#include "filterd/stage_virus.h"

#include <algorithm>

#include <fmt/format.h>

#include "filterd/content_artefacts.h"
#include "filterd/content_findings.h"

namespace moat::filterd {
namespace {

bool AmbiguousStructure(const scanners::ContentTree& tree) {
  return std::any_of(tree.anomalies.begin(), tree.anomalies.end(), [](const auto& a) {
    return scanners::CategoryOf(a.kind) == scanners::AnomalyCategory::kMimeAmbiguity;
  });
}

}  // namespace

std::optional<RawMessageScan> ParseRawMessageScan(std::string_view text) {
  if (text == "never") return RawMessageScan::kNever;
  if (text == "ambiguous") return RawMessageScan::kAmbiguous;
  if (text == "always") return RawMessageScan::kAlways;
  return std::nullopt;
}

std::optional<ScannerFailureAction> ParseScannerFailureAction(std::string_view text) {
  if (text == "tempfail") return ScannerFailureAction::kTempFail;
  if (text == "unchecked") return ScannerFailureAction::kUnchecked;
  if (text == "pass") return ScannerFailureAction::kPass;
  return std::nullopt;
}

VirusStage::VirusStage(std::shared_ptr<scanners::ClamavService> clamav,
                       RawMessageScan raw_message_scan, ScannerFailureAction failure_action)
    : clamav_(std::move(clamav)),
      raw_message_scan_(raw_message_scan),
      failure_action_(failure_action) {}

FailureMode VirusStage::failure_mode() const {
  return failure_action_ == ScannerFailureAction::kTempFail ? FailureMode::kTempFail
                                                            : FailureMode::kRecordUnchecked;
}

core::Status VirusStage::Run(MessageContext& context, WorkerResources&) const {
  const auto* content = context.Artefact<ContentArtefact>(kContentArtefact);
  if (content == nullptr) {
    return core::Fail(core::ErrorCode::kInvalid, "ClamAV needs the decomposition stage");
  }
  std::shared_ptr<const scanners::ClamavEngine> engine =
      clamav_ ? clamav_->engine() : nullptr;
  if (!engine) return core::Fail(core::ErrorCode::kTempFail, "no ClamAV engine loaded");

  const scanners::ContentTree& tree = content->tree;
  auto artefact = std::make_shared<VirusArtefact>();
  artefact->database = engine->info();
  artefact->library_version = scanners::ClamavEngine::LibraryVersion();

  std::vector<std::pair<std::string, core::Error>> failures;
  auto record = [&](const std::string& path, const core::Result<scanners::ClamavScanOutcome>& r) {
    if (!r) {
      failures.emplace_back(path, r.error());
      return;
    }
    switch (r->kind) {
      case scanners::ClamavScanOutcome::Kind::kClean:
        break;
      case scanners::ClamavScanOutcome::Kind::kInfected: {
        Finding f;
        f.stage = std::string(name());
        f.name = r->signature;
        f.content_class = ContentClass::kVirus;
        f.part = path;
        f.detail = path.empty() ? "found in the raw message" : "found by ClamAV";
        context.findings.push_back(std::move(f));
        break;
      }
      case scanners::ClamavScanOutcome::Kind::kLimitExceeded:
        context.findings.push_back(LimitFinding(
            name(), {scanners::LimitKind::kScanner, path, "ClamAV's own limit: " + r->signature}));
        break;
    }
  };

  for (const scanners::ContentNode& node : tree.nodes) {
    if (!tree.IsScanLeaf(node)) continue;
    std::string_view bytes = tree.bytes(node);
    ++artefact->scanned_nodes;
    artefact->scanned_bytes += bytes.size();
    record(node.path, engine->Scan(bytes, node.name, scanners::ClamavScanMode::kLeaf));
  }

  bool ambiguous = AmbiguousStructure(tree);
  bool raw_pass = raw_message_scan_ == RawMessageScan::kAlways ||
                  (raw_message_scan_ == RawMessageScan::kAmbiguous && ambiguous);
  if (raw_pass) {
    artefact->raw_message_pass = ambiguous ? "parsed" : "bytes";
    artefact->scanned_bytes += context.message.size();
    record("", engine->Scan(context.message, "",
                            ambiguous ? scanners::ClamavScanMode::kRawMessageParsed
                                      : scanners::ClamavScanMode::kRawMessage));
  } else {
    artefact->raw_message_pass = "skipped";
  }
  context.trace.push_back(fmt::format("clamav: {} leaves, {} bytes, raw message pass {}; {}",
                                      artefact->scanned_nodes, artefact->scanned_bytes,
                                      artefact->raw_message_pass, artefact->database.Describe()));
  context.artefacts[kVirusArtefact] = std::move(artefact);

  if (failures.empty()) return {};
  if (failure_action_ == ScannerFailureAction::kTempFail) {
    return core::Fail(core::ErrorCode::kTempFail, "ClamAV failed on {}: {}",
                      failures.front().first.empty() ? "the raw message" : failures.front().first,
                      failures.front().second.message());
  }
  for (const auto& [path, error] : failures) {
    Finding f;
    f.stage = std::string(name());
    f.name = "scanner-failure";
    f.content_class = failure_action_ == ScannerFailureAction::kUnchecked
                          ? ContentClass::kUnchecked
                          : ContentClass::kClean;
    f.subclass = "scanner-failure";
    f.part = path;
    f.detail = failure_action_ == ScannerFailureAction::kUnchecked
                   ? error.message()
                   : error.message() + " (passed: scanner_failure_action = pass)";
    context.findings.push_back(std::move(f));
  }
  return {};
}

}  // namespace moat::filterd
