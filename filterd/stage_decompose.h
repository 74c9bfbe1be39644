// stage_decompose.h - the first CPU stage: the message decoded once into a content tree.
//
// Runs the scanners' Decomposer (MIME, archives, attached messages, true file types) under the
// configured DecodeLimits and stores the tree as the "decompose" artefact (content_artefacts.h)
// for every later stage. It records UNCHECKED findings (content_findings.h) for each limit that
// stopped the descent, each encrypted member, each archive that could not be read, and each
// MIME ambiguity. Header-syntax anomalies stay in the tree for the header-check stage.
//
// Per worker: the Decomposer owns a libmagic handle, so each worker thread keeps its own in its
// WorkerResources (keyed by the limits, so a reload with other limits gets a new one).
// Errors: only when a Decomposer cannot be created or the process cannot allocate (kTempFail);
// hostile input never fails.
#pragma once

#include <string>

#include "filterd/stage.h"
#include "scanners/decode_limits.h"

namespace moat::filterd {

class DecomposeStage : public Stage {
 public:
  explicit DecomposeStage(scanners::DecodeLimits limits);

  std::string_view name() const override { return "decompose"; }
  core::Status Run(MessageContext& context, WorkerResources& resources) const override;

 private:
  scanners::DecodeLimits limits_;
  std::string slot_key_;
};

}  // namespace moat::filterd
