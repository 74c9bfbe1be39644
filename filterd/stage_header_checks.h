// stage_header_checks.h - BAD-HEADER: header syntax and MIME errors (amavis' bad-header checks).
//
// Reads the content tree the decomposition stage left and records a finding for each anomaly
// whose role (content_findings.h) is BAD-HEADER, plus the informational ones (class CLEAN) so the
// decision trace shows them. Skipped for banks with bypass_header_checks (the factory leaves the
// stage out).
//
// Immutable; Run() is thread-safe. Error: kInvalid when no content tree is there (a pipeline
// built without the decomposition stage before this one).
#pragma once

#include "filterd/stage.h"

namespace moat::filterd {

class HeaderChecksStage : public Stage {
 public:
  std::string_view name() const override { return "header"; }
  core::Status Run(MessageContext& context, WorkerResources& resources) const override;
};

}  // namespace moat::filterd
