// content_tree.cc - accessors of the content tree and its JSON form.
#include "scanners/content_tree.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "scanners/mime_lint.h"

namespace moat::scanners {

std::string_view ContentNodeKindName(ContentNodeKind kind) {
  switch (kind) {
    case ContentNodeKind::kMessage:
      return "message";
    case ContentNodeKind::kMultipart:
      return "multipart";
    case ContentNodeKind::kPart:
      return "part";
    case ContentNodeKind::kEmbedded:
      return "embedded";
    case ContentNodeKind::kMember:
      return "member";
  }
  return "unknown";
}

std::string_view ContentTree::bytes(const ContentNode& node) const {
  if (node.owned_bytes != nullptr) return *node.owned_bytes;
  if (const MimePart* part = mime_part(node)) return part->body;
  return {};
}

const MimePart* ContentTree::mime_part(const ContentNode& node) const {
  if (node.mime_tree < 0 || node.mime_tree >= static_cast<int>(mime_trees.size())) return nullptr;
  const MimeTree& tree = mime_trees[node.mime_tree];
  if (node.mime_part < 0 || node.mime_part >= static_cast<int>(tree.parts.size())) return nullptr;
  return &tree.parts[node.mime_part];
}

bool ContentTree::IsScanLeaf(const ContentNode& node) const {
  if (node.container && node.container_complete) return false;
  if (node.limit_stopped) return false;
  return !bytes(node).empty();
}

bool ContentTree::incomplete() const {
  if (!limit_events.empty()) return true;
  if (std::any_of(nodes.begin(), nodes.end(), [](const ContentNode& n) { return n.encrypted; })) {
    return true;
  }
  return std::any_of(anomalies.begin(), anomalies.end(), [](const Anomaly& a) {
    return CategoryOf(a.kind) == AnomalyCategory::kCorruptContent;
  });
}

namespace {

// Names and paths come from senders: invalid UTF-8 must not break the JSON encoder.
std::string Text(const std::string& text) { return IsValidUtf8(text) ? text : SanitizeUtf8(text); }

}  // namespace

std::string ContentPartsJson(const ContentTree& tree) {
  nlohmann::json parts = nlohmann::json::array();
  for (const ContentNode& node : tree.nodes) {
    nlohmann::json part = {
        {"path", Text(node.path)},
        {"name", Text(node.name)},
        {"declared_type", Text(node.declared_type)},
        {"detected_type", node.detected_type},
        {"short_type", node.short_type},
        {"size", node.size},
        {"encrypted", node.encrypted},
        {"truncated", node.truncated},
        {"kind", std::string(ContentNodeKindName(node.kind))},
        {"depth", node.depth},
    };
    nlohmann::json chain = nlohmann::json::array();
    for (const std::string& name : node.container_chain) chain.push_back(Text(name));
    part["container_chain"] = std::move(chain);
    if (node.container) part["container_format"] = Text(node.container_format);
    parts.push_back(std::move(part));
  }
  return parts.dump();
}

std::string ContentAnomaliesJson(const ContentTree& tree) {
  nlohmann::json out = nlohmann::json::array();
  for (const Anomaly& a : tree.anomalies) {
    out.push_back({{"kind", std::string(AnomalyKindName(a.kind))},
                   {"category", std::string(AnomalyCategoryName(CategoryOf(a.kind)))},
                   {"path", Text(a.path)},
                   {"detail", Text(a.detail)}});
  }
  return out.dump();
}

std::string ContentLimitEventsJson(const ContentTree& tree) {
  nlohmann::json out = nlohmann::json::array();
  for (const LimitEvent& e : tree.limit_events) {
    out.push_back({{"limit", std::string(LimitKindName(e.limit))},
                   {"path", Text(e.path)},
                   {"detail", Text(e.detail)}});
  }
  return out.dump();
}

}  // namespace moat::scanners
