// rule_evaluator.h - runs a compiled RuleSet over one MessageView.
//
// Evaluate() follows SpamAssassin's Check plugin: header rules per distinct header query, body
// rules per rendered paragraph (stopping at the first hit unless `tflags multiple`, then up to
// `maxhits`), uri rules per URI, rawbody rules per decoded chunk, full rules over the raw
// message, the eval: functions Moat implements, then meta rules in dependency order with the
// hit counts of their inputs. Body, rawbody and full rules whose required literals do not occur
// in the message are skipped without running their regex (literal_prefilter.h).
//
// Every regex runs under the RuleSet's match limits: a rule that exceeds them is recorded in
// `limit_exceeded`, treated as not hit for this message, and not retried on further lines, so
// the time spent per message is bounded whatever the rules and the input.
//
// Score: the sum over hit rules of score x hits (a `multiple` rule scores each hit, as in
// SpamAssassin). Rules named __* are sub-rules: listed in `subrule_hits`, never scored.
//
// Thread safety: Evaluate() only reads the RuleSet and the view; call it from any number of
// threads at once (each call keeps its state on its own stack and in thread-local PCRE2 scratch).
#pragma once

#include <string>
#include <vector>

#include "rules/message_view.h"
#include "rules/rule_set.h"

namespace moat::rules {

struct RuleHit {
  std::string name;
  RuleKind kind = RuleKind::kBody;
  bool eval = false;      // an eval: rule (DKIM/SPF/DMARC results)
  double score = 0;       // score x count
  double rule_score = 0;  // the rule's score per hit
  int count = 0;          // hits (1 unless `multiple`)
  std::string description;
  std::string area;     // "header Subject", "body", "rawbody", "full", "uri", "meta", "eval"
  std::string excerpt;  // the matched text with a little context, or the meta expression
};

struct Evaluation {
  std::vector<RuleHit> hits;              // scored rules that hit, sorted by name
  std::vector<std::string> subrule_hits;  // __* rules that hit, sorted
  double score = 0;
  std::vector<std::string> limit_exceeded;  // rules stopped by a match limit (not hit)
  size_t regex_runs = 0;                    // rules whose regex actually ran (for benchmarks)
};

Evaluation Evaluate(const RuleSet& rules, const MessageView& view);

}  // namespace moat::rules
