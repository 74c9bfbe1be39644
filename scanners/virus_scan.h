// virus_scan.h - the ClamAV pass over a decomposed message.
//
// ScanContentTree() hands ClamAV every scan leaf of a ContentTree (ContentTree::IsScanLeaf: all
// content except containers we read completely) from memory, plus the raw message once with
// parsing off (clamav_engine.h explains the split) - or with ClamAV's own MIME parsing on when
// the tree has a MIME-ambiguity anomaly (an attachment gmime did not see as one may be one to
// the recipient's client). Each infection becomes a VirusFinding with the path of the node it
// was found in ("" = the raw message).
//
// Nothing here decides a verdict. The report keeps three things apart, because they lead to
// different content classes later:
//   viruses        VIRUS
//   limit_events   ClamAV's own limits tripped on a node (UNCHECKED, limit exceeded)
//   failures       ClamAV returned an error for a node (UNCHECKED, scanner failure; tempfail
//                  by default). A failure is never read as clean: clean() is false.
//
// Thread safety: safe to call concurrently with a shared engine; the tree is only read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "scanners/clamav_engine.h"
#include "scanners/content_tree.h"

namespace moat::scanners {

struct VirusFinding {
  std::string path;       // content-tree path ("" = the raw message)
  std::string signature;  // "Eicar-Test-Signature"
};

struct ScanFailure {
  std::string path;
  core::Error error;
};

struct VirusScanReport {
  std::vector<VirusFinding> viruses;
  std::vector<LimitEvent> limit_events;
  std::vector<ScanFailure> failures;
  size_t scanned_nodes = 0;    // leaves handed to ClamAV (the raw message not counted)
  uint64_t scanned_bytes = 0;  // their bytes plus the raw message
  std::string database;        // ClamavDatabaseInfo::Describe() of the engine used

  bool infected() const { return !viruses.empty(); }
  // No virus, no failure and no ClamAV limit: the content ClamAV saw is clean.
  bool clean() const { return viruses.empty() && failures.empty() && limit_events.empty(); }
};

VirusScanReport ScanContentTree(const ClamavEngine& engine, const ContentTree& tree,
                                std::string_view raw_message);

// JSON: {"database": ..., "viruses": [{"path","signature"}], "limit_events": [...],
//        "failures": [{"path","error"}], "scanned_nodes": n, "scanned_bytes": n}
std::string VirusScanReportJson(const VirusScanReport& report);

}  // namespace moat::scanners
