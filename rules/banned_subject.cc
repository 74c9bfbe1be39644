// banned_subject.cc - content-tree nodes as banned-rule subjects.
#include "rules/banned_subject.h"

#include <algorithm>
#include <cctype>

namespace moat::rules {
namespace {

using scanners::ContentNode;
using scanners::ContentNodeKind;

bool HoldsFiles(const ContentNode& node, int index) {
  return index > 0 && (node.container || node.kind == ContentNodeKind::kMessage);
}

std::string ContainerType(const ContentNode& node) {
  if (!node.short_type.empty()) return node.short_type;
  return node.kind == ContentNodeKind::kMessage ? "eml" : "";
}

}  // namespace

std::vector<BannedSubject> BannedSubjectsOf(const scanners::ContentTree& tree) {
  std::vector<BannedSubject> subjects;
  for (size_t i = 1; i < tree.nodes.size(); ++i) {
    const ContentNode& node = tree.nodes[i];
    if (node.kind == ContentNodeKind::kMultipart) continue;
    BannedSubject s;
    s.path = node.path;
    s.raw_name = node.name;
    s.name = NormalizeAttachmentName(node.name);
    s.declared_type = node.declared_type;
    std::transform(s.declared_type.begin(), s.declared_type.end(), s.declared_type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    s.detected_type = node.detected_type;
    s.short_type = node.short_type;
    s.encrypted = node.encrypted;
    for (int up = node.parent; up > 0; up = tree.nodes[up].parent) {
      const ContentNode& ancestor = tree.nodes[up];
      if (!HoldsFiles(ancestor, up)) continue;
      s.inside_names.push_back(NormalizeAttachmentName(ancestor.name).name);
      s.inside_types.push_back(ContainerType(ancestor));
    }
    std::reverse(s.inside_names.begin(), s.inside_names.end());
    std::reverse(s.inside_types.begin(), s.inside_types.end());
    s.depth = static_cast<int>(s.inside_names.size());
    subjects.push_back(std::move(s));
  }
  return subjects;
}

std::vector<BannedCheck> CheckBannedContent(const BannedRules& rules, std::string_view bank,
                                            const scanners::ContentTree& tree) {
  std::vector<BannedCheck> checks;
  for (BannedSubject& subject : BannedSubjectsOf(tree)) {
    BannedVerdict verdict = rules.Check(bank, subject);
    checks.push_back({std::move(subject), verdict});
  }
  return checks;
}

}  // namespace moat::rules
