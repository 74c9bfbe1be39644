// stage_decompose.cc - content tree and UNCHECKED findings (see stage_decompose.h).
#include "filterd/stage_decompose.h"

#include <optional>

#include <fmt/format.h>

#include "filterd/content_artefacts.h"
#include "filterd/content_findings.h"
#include "scanners/decomposer.h"

namespace moat::filterd {
namespace {

struct DecomposerSlot {
  std::optional<scanners::Decomposer> decomposer;
};

}  // namespace

DecomposeStage::DecomposeStage(scanners::DecodeLimits limits)
    : limits_(limits),
      slot_key_(fmt::format("decompose/{}/{}/{}/{}/{}/{}/{}/{}/{}", limits.max_mime_parts,
                            limits.max_mime_depth, limits.max_depth, limits.max_members,
                            limits.max_total_bytes, limits.max_member_bytes,
                            limits.max_compression_ratio, limits.ratio_floor_bytes,
                            limits.max_time.count())) {}

core::Status DecomposeStage::Run(MessageContext& context, WorkerResources& resources) const {
  auto& slot = resources.Slot<DecomposerSlot>(slot_key_,
                                              [] { return std::make_shared<DecomposerSlot>(); });
  if (!slot.decomposer) {
    auto created = scanners::Decomposer::Create(limits_);
    if (!created) return core::Fail(created.error().WithContext("content decomposition"));
    slot.decomposer.emplace(std::move(*created));
  }
  auto tree = slot.decomposer->Decompose(context.message);
  if (!tree) return core::Fail(tree.error().WithContext("content decomposition"));

  auto artefact = std::make_shared<ContentArtefact>();
  artefact->tree = std::move(*tree);
  const scanners::ContentTree& t = artefact->tree;
  for (const scanners::LimitEvent& event : t.limit_events) {
    context.findings.push_back(LimitFinding(name(), event));
  }
  for (const scanners::ContentNode& node : t.nodes) {
    if (!node.encrypted) continue;
    Finding f;
    f.stage = std::string(name());
    f.name = "encrypted";
    f.content_class = ContentClass::kUnchecked;
    f.subclass = "encrypted";
    f.part = node.path;
    f.detail = node.container ? fmt::format("{} with encrypted headers", node.container_format)
                              : "encrypted archive member";
    context.findings.push_back(std::move(f));
  }
  for (const scanners::Anomaly& anomaly : t.anomalies) {
    AnomalyRole role = RoleOf(anomaly);
    if (role == AnomalyRole::kMimeAmbiguity || role == AnomalyRole::kCorruptContent) {
      context.findings.push_back(AnomalyFinding(anomaly));
    }
  }
  context.trace.push_back(fmt::format("decompose: {} nodes, {} unpacked bytes, {} anomalies, {} "
                                      "limit events",
                                      t.nodes.size(), t.unpacked_bytes, t.anomalies.size(),
                                      t.limit_events.size()));
  context.artefacts[kContentArtefact] = std::move(artefact);
  return {};
}

}  // namespace moat::filterd
