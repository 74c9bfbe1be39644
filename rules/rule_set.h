// rule_set.h - SpamAssassin-syntax rules compiled once into an immutable, shareable set.
//
// RuleSet::Load() reads the rule files (rule_config.h) and compiles every rule of a supported
// kind: header (Name, Name:raw, :addr, :name, :first, :last, :host, :domain, :ip, ALL, ToCc,
// MESSAGEID, EnvelopeFrom, exists:Name, =~ and !~, [if-unset: ...]), body, rawbody, full, uri,
// mimeheader, meta (boolean and arithmetic over rule names, rules_matching()), and the eval:
// functions Moat implements (EvalFunction below: DKIM/SPF/DMARC results and local checks).
// ReplaceTags (<A> style tags) are expanded first, as SpamAssassin's plugin does. It never throws
// and never fails as a whole:
//
//   - a rule whose regex does not compile, a malformed header test, a meta rule with a syntax
//     error, that refers to itself, sits in a dependency cycle, or divides by a rule value, is
//     a per-rule error with its file:line; the rule is left out and everything else loads.
//   - directives Moat does not run are counted per kind (report().unsupported_counts) and
//     listed with file:line.
//
// Scores come from one score set (default 0: no Bayes, no network tests, what `spamassassin -L`
// uses); a rule without a score gets 1.0 (0.01 for T_ rules, negative with tflags nice); a rule
// scored 0 is disabled and does not run, as in SpamAssassin. Regex rules carry the literals
// their regex requires (literal_prefilter.h) so evaluation can skip them cheaply.
//
// Thread safety: a loaded RuleSet is immutable; share it as std::shared_ptr<const RuleSet>
// between any number of threads (the filter keeps one per configuration snapshot).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/regex.h"
#include "rules/expression.h"
#include "rules/header_query.h"
#include "rules/literal_prefilter.h"
#include "rules/perl_regex.h"
#include "rules/rule_config.h"
#include "rules/uri_extractor.h"

namespace moat::rules {

enum class EvalFunction {
  kNone,
  kDkimSigned,
  kDkimValid,
  kDkimValidAuthorSig,
  kSpfPass,
  kSpfNeutral,
  kSpfNone,
  kSpfFail,
  kSpfSoftFail,
  kSpfPermError,
  kSpfTempError,
  kSpfHeloPass,
  kSpfHeloNeutral,
  kSpfHeloNone,
  kSpfHeloFail,
  kSpfHeloSoftFail,
  kSpfHeloPermError,
  kSpfHeloTempError,
  kDmarcPass,
  kDmarcReject,
  kDmarcQuarantine,
  kDmarcNone,
  kDmarcMissing,
  // Local (no network) checks of SpamAssassin's HeaderEval, BodyEval, RelayEval, MIMEEval and
  // HTMLEval plugins.
  kBodyLength,
  kNoRelays,
  kGatedThroughReceivedRemover,
  kEnvAndHeaderFromMatch,
  kEqualFromDomains,
  kHtmlTagExists,
  kHtmlMessage,
  kHtmlLengthRange,
  kMimeHtml,
  kMimeHtmlOnly,
  kMissingToHeader,
  kVerticalWords,
};

struct Rule {
  std::string name;
  RuleKind kind = RuleKind::kBody;
  std::string description;
  SourceLocation where;
  double score = 0;      // in the selected score set
  bool enabled = false;  // score != 0: the rule runs
  bool multiple = false;
  uint32_t maxhits = 0;  // 0 = unlimited (with `multiple`)
  bool nosubject = false;
  bool subrule = false;  // name starts with "__": reported separately, never scored

  std::optional<core::Regex> regex;  // header/body/rawbody/full/uri
  // Header rules.
  HeaderQuery header;
  bool header_exists = false;
  bool header_negate = false;
  std::optional<std::string> if_unset;
  bool matches_empty = false;  // the regex matches "" (the value of an absent header)
  // mimeheader rules (header.name / header.raw say which field): entities range=MIN-MAX
  // (1-based, the message itself is 1) and tflags concat.
  uint32_t mime_range_min = 0;
  uint32_t mime_range_max = 1000;
  bool mime_concat = false;
  // Eval rules Moat implements.
  EvalFunction eval = EvalFunction::kNone;
  std::vector<std::string> eval_args;
  // Meta rules: the expression, and for each of its names the rule index (-1: undefined rule).
  std::optional<Expression> meta;
  std::vector<int32_t> meta_inputs;
  bool meta_blocked = false;  // depends on a disabled meta rule: never evaluates (as in SA)
  // Prefilter: ids of literals (per kind) one of which must occur; empty = always run.
  std::vector<uint32_t> literals;
};

struct LoadOptions {
  std::vector<std::string> directories;  // rules_directories: each one's *.cf, in order
  std::vector<std::string> files;        // extra files, read after the directories
  ReadOptions read;
  int score_set = 0;  // 0..3
  RegexLimits limits;
  bool prefilter = true;  // literal prefilter for body/rawbody/full (off only to test it)
};

struct LoadReport {
  std::vector<std::string> files;
  std::array<size_t, kRuleKindCount> loaded{};       // compiled, enabled rules per kind
  std::array<size_t, kRuleKindCount> disabled{};     // compiled but scored 0
  std::array<size_t, kRuleKindCount> prefiltered{};  // of `loaded`, with a literal prefilter
  size_t eval_rules_run = 0;                         // eval: rules Moat implements
  std::vector<ConfigProblem> errors;                 // syntax and per-rule compile errors
  std::map<std::string, size_t> unsupported_counts;
  std::vector<UnsupportedLine> unsupported;
  size_t total_loaded() const;
};

class RuleSet {
 public:
  static std::shared_ptr<const RuleSet> Load(const LoadOptions& options);
  // Rules from text (tests, `moat rules lint -`), optionally on top of files/directories.
  static std::shared_ptr<const RuleSet> FromText(std::string_view text,
                                                 const LoadOptions& options = {});

  const std::vector<Rule>& rules() const { return rules_; }
  const LoadReport& report() const { return report_; }
  const UriContext* uri_context() const { return uri_context_.get(); }
  double required_score() const { return required_score_; }
  // Index of a rule by name, or -1.
  int32_t Find(std::string_view name) const;

  // Evaluation plumbing (rule_evaluator.cc).
  const std::vector<int32_t>& rules_of_kind(RuleKind kind) const {
    return by_kind_[static_cast<size_t>(kind)];
  }
  const std::vector<int32_t>& meta_order() const { return meta_order_; }
  const std::vector<int32_t>& eval_rules() const { return eval_rules_; }
  const LiteralMatcher& literal_matcher(RuleKind kind) const {
    return matchers_[static_cast<size_t>(kind)];
  }
  // Distinct header queries, and for each the header rules using it.
  const std::vector<std::pair<HeaderQuery, std::vector<int32_t>>>& header_groups() const {
    return header_groups_;
  }

 private:
  RuleSet() = default;
  void Compile(RuleConfig config, const LoadOptions& options);

  std::vector<Rule> rules_;
  std::map<std::string, int32_t, std::less<>> index_;
  std::array<std::vector<int32_t>, kRuleKindCount> by_kind_;  // enabled, non-meta (+eval)
  std::vector<int32_t> meta_order_;                           // enabled metas, dependencies first
  std::vector<int32_t> eval_rules_;                           // enabled eval: rules Moat runs
  std::array<LiteralMatcher, kRuleKindCount> matchers_;
  std::vector<std::pair<HeaderQuery, std::vector<int32_t>>> header_groups_;
  std::shared_ptr<const UriContext> uri_context_;
  LoadReport report_;
  double required_score_ = 5.0;
};

}  // namespace moat::rules
