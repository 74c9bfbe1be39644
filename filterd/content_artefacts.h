// content_artefacts.h - what the content stages leave in MessageContext::artefacts.
//
// Each stage stores its full result under its own key, for the stages after it (the banned and
// spam stages read the decomposed content tree, the spam stage reads the DKIM results), for
// the policy (spam levels per recipient), and for `moat scan`'s report. Findings remain the
// only input of the verdict; artefacts carry the details behind them.
//
//   kContentArtefact  "decompose"  ContentArtefact: the content tree
//   kVirusArtefact    "clamav"     VirusArtefact: database, what was scanned, the raw pass
//   kBannedArtefact   "banned"     BannedArtefact: every node's strings and its decision
//   kSpamArtefact     "spam"       SpamArtefact: the rule evaluation and per-recipient levels
//   kDkimArtefact     "dkim"       DkimArtefact: one result per DKIM-Signature
//   kDmarcArtefact    "dmarc"      DmarcArtefact: the DMARC outcome and the MTA's SPF results
//
// Artefacts are written by one stage and read afterwards; never modified once stored.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "filterd/dkim_auth_results.h"
#include "filterd/dkim_verifier.h"
#include "filterd/dmarc_evaluator.h"
#include "filterd/dmarc_policy.h"
#include "filterd/message_context.h"
#include "rules/banned_subject.h"
#include "rules/rule_evaluator.h"
#include "rules/rule_set.h"
#include "rules/spam_headers.h"
#include "scanners/clamav_engine.h"
#include "scanners/content_tree.h"

namespace moat::filterd {

inline constexpr const char* kContentArtefact = "decompose";
inline constexpr const char* kVirusArtefact = "clamav";
inline constexpr const char* kBannedArtefact = "banned";
inline constexpr const char* kSpamArtefact = "spam";
inline constexpr const char* kDkimArtefact = "dkim";
inline constexpr const char* kDmarcArtefact = "dmarc";

struct ContentArtefact : ArtefactBase {
  scanners::ContentTree tree;
};

struct VirusArtefact : ArtefactBase {
  scanners::ClamavDatabaseInfo database;
  std::string library_version;
  size_t scanned_nodes = 0;
  uint64_t scanned_bytes = 0;
  // The pass over the raw message: "skipped" (structure unambiguous, policy "ambiguous"),
  // "bytes" (signatures over the raw bytes), "parsed" (ClamAV's own MIME parser too).
  std::string raw_message_pass;
};

struct BannedArtefact : ArtefactBase {
  std::shared_ptr<const rules::BannedRules> rules;  // keeps the verdicts' rule pointers valid
  std::vector<rules::BannedCheck> checks;
};

struct SpamArtefact : ArtefactBase {
  std::shared_ptr<const rules::RuleSet> rules;
  rules::Evaluation evaluation;
  // Parallel to the envelope's recipients: the levels that apply to each (bank levels, or a
  // spam_levels_maps entry).
  std::vector<rules::SpamLevels> recipient_levels;
  rules::SpamLevels bank_levels;
};

struct DkimArtefact : ArtefactBase {
  std::vector<DkimSignatureResult> results;
  std::string author_domain;
  DkimRuleHits hits;
};

struct DmarcArtefact : ArtefactBase {
  DmarcOutcome outcome;
  MtaSpfResults spf;         // the MTA's Received-SPF results DMARC used
  bool enforced = false;     // DmarcEnforcement may act on a failure (stage_dmarc.h says when)
  std::string not_enforced;  // why not, when not
  // What DmarcEnforcement does (dmarc_reject_destiny or dmarc_quarantine_destiny): set when the
  // outcome is fail, enforced and its disposition is reject or quarantine.
  std::optional<DmarcAction> action;
};

}  // namespace moat::filterd
