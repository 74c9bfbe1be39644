// rule_test_util.h - compile rules from text and run them on a message from text (tests only).
#pragma once

#include <algorithm>
#include <memory>
#include <string>

#include "rules/message_view.h"
#include "rules/rule_evaluator.h"
#include "rules/rule_set.h"
#include "tests/rules/mime_splitter.h"

namespace moat::rules::testing {

inline Evaluation Check(const RuleSet& set, const std::string& raw,
                        MessageView* view_out = nullptr) {
  ParsedMessage parsed = SplitMessage(raw);
  ViewOptions options;
  options.uri_context = set.uri_context();
  MessageView view = BuildMessageView(parsed, options);
  Evaluation e = Evaluate(set, view);
  if (view_out != nullptr) *view_out = std::move(view);
  return e;
}

inline bool Hit(const Evaluation& e, const std::string& name) {
  return std::any_of(e.hits.begin(), e.hits.end(),
                     [&](const RuleHit& h) { return h.name == name; }) ||
         std::find(e.subrule_hits.begin(), e.subrule_hits.end(), name) != e.subrule_hits.end();
}

inline const RuleHit* FindHit(const Evaluation& e, const std::string& name) {
  for (const RuleHit& h : e.hits) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

inline std::string HitNames(const Evaluation& e) {
  std::string out;
  for (const RuleHit& h : e.hits) out += h.name + " ";
  for (const std::string& n : e.subrule_hits) out += n + " ";
  return out;
}

}  // namespace moat::rules::testing
