// banned_subject.h - what each node of a decomposed message presents to the attachment rules.
//
// BannedSubjectsOf() walks a scanners::ContentTree and returns one BannedSubject
// (banned_rules.h) per node the rules judge: every MIME leaf, uuencoded file, attached message,
// archive and archive member - everything but the message itself and its multipart containers.
// Names are normalised here (banned_name.h); the enclosing containers are the node's ancestors
// that are files holding other files: archives and compressed streams that were opened, and
// attached messages.
//
// CheckBannedContent() applies a rule set to all of them and keeps every subject with its
// verdict, so `moat scan` can show exactly which strings each rule saw.
//
// Pure functions of their input; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "rules/banned_rules.h"
#include "scanners/content_tree.h"

namespace moat::rules {

std::vector<BannedSubject> BannedSubjectsOf(const scanners::ContentTree& tree);

struct BannedCheck {
  BannedSubject subject;
  BannedVerdict verdict;
};

std::vector<BannedCheck> CheckBannedContent(const BannedRules& rules, std::string_view bank,
                                            const scanners::ContentTree& tree);

}  // namespace moat::rules
