// stage_spam.h - SpamAssassin-syntax rules over the decoded message; the spam score.
//
// Builds the rule engine's view of the message from the content tree's MIME parse
// (rules/mime_adapter.h: no second MIME parse), with the envelope and the DKIM results of the
// DKIM stage (for check_dkim_* eval rules and metas over DKIM_VALID, DKIM_VALID_AU, ...), the
// MTA's SPF and the DMARC stage's results (check_for_spf_*, check_dmarc_*; stage_dmarc.h), runs
// the configuration's RuleSet, and records one finding per scored rule hit (stage "spam", class
// CLEAN, the rule's score; detail = where it matched) and the total in context.spam_score. The
// verdict (SPAMMY at tag2, SPAM at kill) is the policy's, from the levels this stage stores for
// each recipient in the "spam" artefact: the bank's spam_tag_level / spam_tag2_level /
// spam_kill_level, or a `spam_levels_maps` entry for the recipient (Postfix address search:
// user+ext@domain, user@domain, @domain, domain) whose value sets any of
// "tag=N tag2=N kill=N", e.g. "boss@example.org  kill=12".
//
// Messages larger than spam_scan_size_limit are not run through the rules (amavis
// $sa_mail_body_size_limit): no artefact, a trace note, and no X-Spam-* headers later.
//
// Errors: kInvalid without a content tree; a lookup-table error or a malformed table value
// fails the stage (failure mode tempfail: the message is retried, never scored wrongly).
// Immutable; Run() is thread-safe (RuleSet evaluation keeps its state per call).
#pragma once

#include <cstdint>
#include <memory>

#include "core/lookup_table.h"
#include "filterd/stage.h"
#include "rules/rule_set.h"
#include "rules/spam_headers.h"

namespace moat::filterd {

struct SpamStageOptions {
  rules::SpamLevels levels;
  uint64_t size_limit = 400 * 1024;
  core::TableList level_maps;  // empty: the bank's levels for everyone
};

class SpamStage : public Stage {
 public:
  SpamStage(std::shared_ptr<const rules::RuleSet> rules, SpamStageOptions options);

  std::string_view name() const override { return "spam"; }
  core::Status Run(MessageContext& context, WorkerResources& resources) const override;

 private:
  core::Result<rules::SpamLevels> LevelsFor(const std::string& recipient) const;

  std::shared_ptr<const rules::RuleSet> rules_;
  SpamStageOptions options_;
};

// Applies "tag=N tag2=N kill=N" (any subset, separated by spaces or commas) to `levels`.
core::Status ApplyLevelOverrides(std::string_view text, rules::SpamLevels& levels);

}  // namespace moat::filterd
