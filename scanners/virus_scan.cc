// virus_scan.cc - ClamAV over the leaves of a content tree and over the raw message.
#include "scanners/virus_scan.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "scanners/mime_lint.h"

namespace moat::scanners {
namespace {

void Record(VirusScanReport& report, const std::string& path,
            const core::Result<ClamavScanOutcome>& outcome) {
  if (!outcome) {
    report.failures.push_back({path, outcome.error()});
    return;
  }
  switch (outcome->kind) {
    case ClamavScanOutcome::Kind::kClean:
      break;
    case ClamavScanOutcome::Kind::kInfected:
      report.viruses.push_back({path, outcome->signature});
      break;
    case ClamavScanOutcome::Kind::kLimitExceeded:
      report.limit_events.push_back(
          {LimitKind::kScanner, path, "ClamAV's own limit: " + outcome->signature});
      break;
  }
}

std::string Text(const std::string& text) { return IsValidUtf8(text) ? text : SanitizeUtf8(text); }

}  // namespace

VirusScanReport ScanContentTree(const ClamavEngine& engine, const ContentTree& tree,
                                std::string_view raw_message) {
  VirusScanReport report;
  report.database = engine.info().Describe();
  for (const ContentNode& node : tree.nodes) {
    if (!tree.IsScanLeaf(node)) continue;
    std::string_view bytes = tree.bytes(node);
    ++report.scanned_nodes;
    report.scanned_bytes += bytes.size();
    Record(report, node.path, engine.Scan(bytes, node.name, ClamavScanMode::kLeaf));
  }
  // Where gmime's reading of the structure may differ from the recipient's client, ClamAV's own
  // MIME parser gets the raw message too.
  bool ambiguous = std::any_of(tree.anomalies.begin(), tree.anomalies.end(), [](const Anomaly& a) {
    return CategoryOf(a.kind) == AnomalyCategory::kMimeAmbiguity;
  });
  report.scanned_bytes += raw_message.size();
  Record(report, "",
         engine.Scan(raw_message, "",
                     ambiguous ? ClamavScanMode::kRawMessageParsed : ClamavScanMode::kRawMessage));
  return report;
}

std::string VirusScanReportJson(const VirusScanReport& report) {
  nlohmann::json viruses = nlohmann::json::array();
  for (const VirusFinding& v : report.viruses) {
    viruses.push_back({{"path", Text(v.path)}, {"signature", Text(v.signature)}});
  }
  nlohmann::json limits = nlohmann::json::array();
  for (const LimitEvent& e : report.limit_events) {
    limits.push_back({{"limit", std::string(LimitKindName(e.limit))},
                      {"path", Text(e.path)},
                      {"detail", Text(e.detail)}});
  }
  nlohmann::json failures = nlohmann::json::array();
  for (const ScanFailure& f : report.failures) {
    failures.push_back({{"path", Text(f.path)}, {"error", Text(f.error.ToString())}});
  }
  nlohmann::json out = {
      {"database", Text(report.database)},     {"viruses", std::move(viruses)},
      {"limit_events", std::move(limits)},     {"failures", std::move(failures)},
      {"scanned_nodes", report.scanned_nodes}, {"scanned_bytes", report.scanned_bytes}};
  return out.dump();
}

}  // namespace moat::scanners
