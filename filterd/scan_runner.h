// scan_runner.h - the content pipeline as a library: one message, every stage, the decision.
//
// RunScan() is what `moat scan` (and the golden-corpus tests and the content benchmark) run:
// it builds a MessageContext for a message as moat-filterd would on LMTP DATA (bare LF line
// ends turned into CRLF, the given envelope and policy bank), runs the pipeline's stages in
// order on the calling thread - I/O stages inside a private io_context, so the DKIM stage
// really queries DNS - and lets the bank's policy decide. Nothing is quarantined, edited,
// signed or reinjected: those finishing steps belong to the daemon.
//
// Stage errors follow the stage's failure mode, as in the daemon: kRecordUnchecked adds an
// UNCHECKED "scanner-failure" finding and goes on; kTempFail stops the pipeline, sets
// `tempfail` (the daemon would answer 4xx) and records the same finding, so the report's
// verdict is UNCHECKED, never CLEAN.
//
// Thread safety: RunScan() may run on several threads at once with the same pipeline, each
// with its own WorkerResources.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "filterd/content_factory.h"
#include "filterd/message_context.h"
#include "filterd/policy.h"

namespace moat::filterd {

struct ScanRequest {
  std::string message;
  std::string id = "scan";
  std::string sender;                   // MAIL FROM ("" = <>)
  std::vector<std::string> recipients;  // RCPT TO; empty: one, kDefaultScanRecipient
  std::string client_address;           // XFORWARD ADDR, if any
};

inline constexpr const char* kDefaultScanRecipient = "postmaster";

struct ScanResult {
  MessageContext context;
  Decision decision;
  std::optional<core::Error> tempfail;  // a stage failed with failure mode tempfail
  std::string failed_stage;
};

ScanResult RunScan(ScanRequest request, const ContentPipeline& pipeline,
                   WorkerResources& resources);

// `raw` with every bare LF turned into CRLF (what the LMTP DATA reader delivers).
std::string WithCrlfLineEnds(std::string_view raw);

}  // namespace moat::filterd
