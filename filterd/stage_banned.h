// stage_banned.h - attachment-type blocking: the bank's banned rules over every content node.
//
// For each node of the content tree (rules/banned_subject.h: parts, attached messages,
// uuencoded files, archives and their members) the rules of this stage's policy bank decide
// block or allow (rules/banned_rules.h: first match per node; an allow never covers what is
// inside an archive). Each blocked node is a BANNED finding with the node's path, the rule as
// written with its file:line as subclass, and the strings the rule saw as detail. The "banned"
// artefact keeps every node's strings and decision for `moat scan`.
//
// Immutable; Run() is thread-safe. Error: kInvalid without a content tree.
#pragma once

#include <memory>
#include <string>

#include "filterd/stage.h"
#include "rules/banned_rules.h"

namespace moat::filterd {

class BannedStage : public Stage {
 public:
  BannedStage(std::shared_ptr<const rules::BannedRules> rules, std::string bank);

  std::string_view name() const override { return "banned"; }
  core::Status Run(MessageContext& context, WorkerResources& resources) const override;

 private:
  std::shared_ptr<const rules::BannedRules> rules_;
  std::string bank_;
};

// What a rule saw, in one line: name "Invoice.pdf .exe" -> "invoice.pdf .exe" (ext exe; tricks
// ...), declared application/pdf, detected exe (application/vnd.microsoft.portable-executable),
// inside a.zip (zip), depth 1, encrypted.
std::string DescribeBannedSubject(const rules::BannedSubject& subject);

}  // namespace moat::filterd
