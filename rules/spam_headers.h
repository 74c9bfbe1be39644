// spam_headers.h - spam levels and the X-Spam-* headers, as amavisd-new writes them.
//
// DecideSpam() turns an Evaluation into what the filter applies to a message for one recipient
// (levels come from the policy bank or a per-recipient lookup):
//   score >= tag_level  (or tag_level unset: always)  -> X-Spam-Flag, X-Spam-Score,
//                        X-Spam-Level, X-Spam-Status headers
//   score >= tag2_level -> X-Spam-Flag: YES, X-Spam-Status: Yes, the subject tag, class SPAMMY
//   score >= kill_level -> content class SPAM (its destiny and quarantine are the policy's)
// Header values follow amavisd-new 2.x:
//   X-Spam-Score: -1.901
//   X-Spam-Level: **             (one '*' per whole point, none below 1, at most 64)
//   X-Spam-Status: No, score=-1.901 tagged_above=2 required=6.2
//           tests=[BAYES_00=-1.9, SPF_PASS=-0.001]
//
// RemoveSpamHeaders() deletes every incoming X-Spam-* field (with its continuation lines) from a
// message's header section, so a sender cannot plant a verdict; the body is left untouched.
//
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/rule_evaluator.h"

namespace moat::rules {

struct SpamLevels {
  std::optional<double> tag_level = 2.0;  // unset: headers on every message
  double tag2_level = 6.2;
  double kill_level = 6.9;
  std::string subject_tag = "***SPAM*** ";
};

enum class SpamClass { kClean, kSpammy, kSpam };

std::string_view SpamClassName(SpamClass c);  // "CLEAN", "SPAMMY", "SPAM"

struct SpamDecision {
  double score = 0;
  bool add_headers = false;  // score reached the tag level
  bool spam = false;         // score reached tag2: flagged and subject-tagged
  SpamClass content_class = SpamClass::kClean;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value (folded as needed)
  std::optional<std::string> subject_tag;                    // prefix for the Subject
};

SpamDecision DecideSpam(const Evaluation& evaluation, const SpamLevels& levels);

// "6.2", "-999", "1.234": at most three decimals, trailing zeros dropped (amavis' style).
std::string FormatLevel(double value);

std::string RemoveSpamHeaders(std::string_view message);

}  // namespace moat::rules
