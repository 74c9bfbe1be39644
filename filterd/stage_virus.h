// stage_virus.h - ClamAV over every leaf of the content tree (and the raw message when needed).
//
// Each scan leaf of the decomposition (ContentTree::IsScanLeaf) is handed to the engine the
// ClamavService holds at that moment, from memory; an infection is a VIRUS finding with the
// node's path, a ClamAV limit an UNCHECKED "limit:scanner" finding. The "clamav" artefact keeps
// the database description (signature count, version) and what was scanned.
//
// The raw-message pass (clamav_raw_message_scan = never | ambiguous | always; default
// ambiguous): see stage_virus.cc for why the default skips it on well-formed mail.
//
// A ClamAV error on any node never passes as clean. scanner_failure_action decides:
//   tempfail   (default) Run() returns the error: failure_mode() kTempFail, the message is
//              deferred with a 4xx;
//   unchecked  an UNCHECKED "scanner-failure" finding per failed node, and the stage succeeds;
//   pass       a CLEAN "scanner-failure" finding (visible in the trace), and the stage succeeds.
//
// Immutable after construction; Run() is thread-safe (the engine is shared, read-only).
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "filterd/stage.h"
#include "scanners/clamav_service.h"

namespace moat::filterd {

enum class RawMessageScan { kNever, kAmbiguous, kAlways };
enum class ScannerFailureAction { kTempFail, kUnchecked, kPass };

// "never" | "ambiguous" | "always"; "tempfail" | "unchecked" | "pass". nullopt when unknown.
std::optional<RawMessageScan> ParseRawMessageScan(std::string_view text);
std::optional<ScannerFailureAction> ParseScannerFailureAction(std::string_view text);

class VirusStage : public Stage {
 public:
  VirusStage(std::shared_ptr<scanners::ClamavService> clamav, RawMessageScan raw_message_scan,
             ScannerFailureAction failure_action);

  std::string_view name() const override { return "clamav"; }
  FailureMode failure_mode() const override;
  core::Status Run(MessageContext& context, WorkerResources& resources) const override;

 private:
  std::shared_ptr<scanners::ClamavService> clamav_;
  RawMessageScan raw_message_scan_;
  ScannerFailureAction failure_action_;
};

}  // namespace moat::filterd
