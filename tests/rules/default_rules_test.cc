// default_rules_test.cc - Moat's own rule set (rules/default): every rule is described, every
// rule hits the message written for it, and the clean message hits none.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "rules/message_view.h"
#include "rules/rule_evaluator.h"
#include "rules/rule_set.h"
#include "tests/rules/mime_splitter.h"
#include "tests/support/test_support.h"

namespace moat::rules {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const RuleSet> DefaultRules() {
  LoadOptions options;
  options.directories = {moat::testing::SourcePath("rules/default")};
  return RuleSet::Load(options);
}

Evaluation EvaluateFile(const RuleSet& set, const std::string& path) {
  std::string raw = moat::testing::ReadTextFile(path);
  ParsedMessage parsed = testing::SplitMessage(raw);
  ViewOptions view_options;
  view_options.uri_context = set.uri_context();
  return Evaluate(set, BuildMessageView(parsed, view_options));
}

std::string Names(const Evaluation& e) {
  std::string out;
  for (const RuleHit& h : e.hits) out += h.name + " ";
  return out;
}

TEST(DefaultRulesTest, LoadWithoutErrorsAndEveryRuleIsDescribed) {
  auto set = DefaultRules();
  for (const ConfigProblem& p : set->report().errors)
    ADD_FAILURE() << p.where.ToString() << ": " << p.message;
  size_t scored = 0;
  for (const Rule& rule : set->rules()) {
    if (rule.subrule) continue;
    ++scored;
    EXPECT_FALSE(rule.description.empty()) << rule.name << " has no describe";
    EXPECT_NE(rule.score, 0) << rule.name;
  }
  EXPECT_GE(scored, 30u);
  EXPECT_TRUE(set->report().unsupported_counts.empty());
  // The registry file gives URI extraction its TLDs.
  EXPECT_TRUE(set->uri_context()->IsKnownTld("com"));
}

TEST(DefaultRulesTest, EachRuleHitsItsMessage) {
  auto set = DefaultRules();
  std::string dir = moat::testing::SourcePath("testdata/corpus/rules/default");
  std::set<std::string> covered;
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".eml") continue;
    std::string stem = entry.path().stem().string();
    if (stem == "clean") continue;
    std::string rule = stem.substr(0, stem.find('-'));
    ++files;
    Evaluation e = EvaluateFile(*set, entry.path().string());
    bool hit =
        std::any_of(e.hits.begin(), e.hits.end(), [&](const RuleHit& h) { return h.name == rule; });
    EXPECT_TRUE(hit) << entry.path().filename() << " does not hit " << rule
                     << "; hits: " << Names(e);
    if (hit) covered.insert(rule);
  }
  EXPECT_GT(files, 30u);
  for (const Rule& rule : set->rules()) {
    if (!rule.subrule) {
      EXPECT_TRUE(covered.count(rule.name)) << rule.name << " has no test message";
    }
  }
}

TEST(DefaultRulesTest, CleanMessageHitsNothing) {
  auto set = DefaultRules();
  Evaluation e =
      EvaluateFile(*set, moat::testing::SourcePath("testdata/corpus/rules/default/clean.eml"));
  EXPECT_TRUE(e.hits.empty()) << Names(e);
  EXPECT_EQ(e.score, 0);
}

TEST(DefaultRulesTest, GtubeScoresAThousand) {
  auto set = DefaultRules();
  Evaluation e =
      EvaluateFile(*set, moat::testing::SourcePath("testdata/corpus/rules/default/GTUBE.eml"));
  EXPECT_GE(e.score, 1000);
}

}  // namespace
}  // namespace moat::rules
