// stage_header_checks.cc - BAD-HEADER findings from the content tree's anomalies.
#include "filterd/stage_header_checks.h"

#include "filterd/content_artefacts.h"
#include "filterd/content_findings.h"

namespace moat::filterd {

core::Status HeaderChecksStage::Run(MessageContext& context, WorkerResources&) const {
  const auto* content = context.Artefact<ContentArtefact>(kContentArtefact);
  if (content == nullptr) {
    return core::Fail(core::ErrorCode::kInvalid, "header checks need the decomposition stage");
  }
  for (const scanners::Anomaly& anomaly : content->tree.anomalies) {
    AnomalyRole role = RoleOf(anomaly);
    if (role == AnomalyRole::kBadHeader || role == AnomalyRole::kInformational) {
      context.findings.push_back(AnomalyFinding(anomaly));
    }
  }
  return {};
}

}  // namespace moat::filterd
