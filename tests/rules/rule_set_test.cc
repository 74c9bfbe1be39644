// rule_set_test.cc - compiling rules: per-rule errors, metas, scores, ReplaceTags, evals.
#include "rules/rule_set.h"

#include <gtest/gtest.h>

#include "tests/rules/rule_test_util.h"

namespace moat::rules {
namespace {

using testing::Check;
using testing::Hit;

bool HasError(const RuleSet& set, const std::string& needle, int line = -1) {
  for (const ConfigProblem& p : set.report().errors) {
    if (p.message.find(needle) != std::string::npos && (line < 0 || p.where.line == line))
      return true;
  }
  return false;
}

TEST(RuleSetTest, InvalidRegexDropsOnlyThatRule) {
  auto set = RuleSet::FromText("body GOOD /good/\nbody BAD /(bad/\nbody ALSO_GOOD /also/\n");
  EXPECT_TRUE(HasError(*set, "rule BAD: invalid regexp", 2));
  EXPECT_EQ(set->Find("BAD"), -1);
  EXPECT_GE(set->Find("GOOD"), 0);
  EXPECT_GE(set->Find("ALSO_GOOD"), 0);
  EXPECT_EQ(set->report().loaded[static_cast<size_t>(RuleKind::kBody)], 2u);
}

TEST(RuleSetTest, MetaSelfReferenceAndCyclesAreErrors) {
  auto set = RuleSet::FromText(
      "body A /a/\n"
      "meta SELF SELF || A\n"
      "meta C1 C2 && A\n"
      "meta C2 C3\n"
      "meta C3 C1\n"
      "meta USES_C1 !C1 && A\n");
  EXPECT_TRUE(HasError(*set, "meta rule SELF refers to itself", 2));
  EXPECT_TRUE(HasError(*set, "dependency cycle"));
  // As in SpamAssassin, rules in a cycle never hit, and rules using them still evaluate.
  auto e = Check(*set, "Subject: a\n\na\n");
  EXPECT_FALSE(Hit(e, "SELF"));
  EXPECT_FALSE(Hit(e, "C1"));
  EXPECT_TRUE(Hit(e, "USES_C1"));
}

TEST(RuleSetTest, MetaDivisionByARuleIsRejected) {
  auto set = RuleSet::FromText("body A /a/\nmeta DIV (A / A) > 0\nmeta OK (A * 2) > 1\n");
  EXPECT_TRUE(HasError(*set, "division by zero possible", 2));
  EXPECT_GE(set->Find("OK"), 0);
}

TEST(RuleSetTest, DefaultScoresAndDisabledRules) {
  auto set = RuleSet::FromText(
      "body PLAIN /x/\nbody T_TESTING /x/\nbody NICE /x/\ntflags NICE nice\n"
      "body OFF /x/\nscore OFF 0\nbody FOUR /x/\nscore FOUR 1 2 3 4\n");
  auto score = [&](const char* name) {
    return set->rules()[static_cast<size_t>(set->Find(name))].score;
  };
  EXPECT_EQ(score("PLAIN"), 1.0);
  EXPECT_EQ(score("T_TESTING"), 0.01);
  EXPECT_EQ(score("NICE"), -1.0);
  EXPECT_EQ(score("FOUR"), 1.0);  // score set 0: no Bayes, no network tests
  EXPECT_FALSE(set->rules()[static_cast<size_t>(set->Find("OFF"))].enabled);
  auto e = Check(*set, "Subject: s\n\nx\n");
  EXPECT_FALSE(Hit(e, "OFF"));
  EXPECT_DOUBLE_EQ(e.score, 1.0 + 0.01 - 1.0 + 1.0);

  LoadOptions set3;
  set3.score_set = 3;
  auto other = RuleSet::FromText("body FOUR /x/\nscore FOUR 1 2 3 4\n", set3);
  EXPECT_EQ(other->rules()[0].score, 4.0);
}

TEST(RuleSetTest, MetaOnDisabledMetaNeverEvaluatesButDisabledBodyCountsAsZero) {
  auto set = RuleSet::FromText(
      "body B /b/\nscore B 0\nmeta M_OFF B\nscore M_OFF 0\n"
      "meta NOT_B !B\n"            // disabled non-meta input: 0, so this hits
      "meta NOT_M_OFF !M_OFF\n");  // disabled meta input: never ready in SpamAssassin
  auto e = Check(*set, "Subject: s\n\nb\n");
  EXPECT_TRUE(Hit(e, "NOT_B"));
  EXPECT_FALSE(Hit(e, "NOT_M_OFF"));
}

TEST(RuleSetTest, UndefinedMetaInputsAreZero) {
  auto set = RuleSet::FromText("body A /a/\nmeta M A && !NO_SUCH_RULE\nmeta N NO_SUCH_RULE\n");
  EXPECT_TRUE(set->report().errors.empty());
  auto e = Check(*set, "Subject: s\n\na\n");
  EXPECT_TRUE(Hit(e, "M"));
  EXPECT_FALSE(Hit(e, "N"));
}

TEST(RuleSetTest, RulesMatchingExpandsToScoredRules) {
  auto set = RuleSet::FromText(
      "body FOO_1 /a/\nscore FOO_1 1\nbody FOO_2 /b/\nscore FOO_2 1\nbody FOO_3 /zzz/\nscore FOO_3 "
      "1\n"
      "meta TWO_FOOS rules_matching(FOO_*) >= 2\n");
  auto e = Check(*set, "Subject: s\n\na b\n");
  EXPECT_TRUE(Hit(e, "TWO_FOOS"));
}

TEST(RuleSetTest, ReplaceTagsExpandListedRules) {
  auto set = RuleSet::FromText(
      "replace_tag V (?:[vu]|\\\\\\/)\nreplace_tag I [il|!1]\nreplace_tag SP [\\s~_-]\n"
      "replace_tag A [a@]\nreplace_tag G [gk]\nreplace_tag R [r3]\n"
      "body VIAGRA_OBFU /(?!viagra)<V>+<SP>*<I>+<SP>*<A>+<SP>*<G>+<SP>*<R>+<SP>*<A>+/i\n"
      "replace_rules VIAGRA_OBFU\n"
      "body NOT_LISTED /<A>/\n");
  EXPECT_TRUE(set->report().errors.empty());
  EXPECT_TRUE(Hit(Check(*set, "Subject: s\n\nbuy v1agr@ now\n"), "VIAGRA_OBFU"));
  EXPECT_FALSE(Hit(Check(*set, "Subject: s\n\nbuy viagra now\n"), "VIAGRA_OBFU"));
  EXPECT_TRUE(Hit(Check(*set, "Subject: s\n\nliteral <A> tag\n"), "NOT_LISTED"));
}

TEST(RuleSetTest, PreInterPostTags) {
  auto set = RuleSet::FromText(
      "replace_tag A a\nreplace_tag B b\nreplace_inter DOT \\.\nreplace_post P {1,2}\n"
      "body INTER /<inter DOT><A><B>/\nbody POST /^<post P><A><B>\\s*$/\nreplace_rules INTER "
      "POST\n");
  // As SpamAssassin's split() keeps the leading empty field, <inter> also lands before the
  // first tag: the pattern is "\.a\.b".
  EXPECT_TRUE(Hit(Check(*set, "Subject: s\n\nx .a.b y\n"), "INTER"));
  EXPECT_FALSE(Hit(Check(*set, "Subject: s\n\nx ab y\n"), "INTER"));
  EXPECT_TRUE(Hit(Check(*set, "Subject: s\n\naabb\n"), "POST"));
}

TEST(RuleSetTest, HeaderTestSyntax) {
  auto set = RuleSet::FromText(
      "header OK1 From:addr =~ /x/\nheader OK2 exists:X-Foo\nheader OK3 Subject !~ /y/ [if-unset: "
      "y]\n"
      "header BAD1 From:bogus =~ /x/\nheader BAD2 Subject ~= /x/\nheader BAD3 exists:Bad Name\n");
  EXPECT_GE(set->Find("OK1"), 0);
  EXPECT_GE(set->Find("OK2"), 0);
  EXPECT_GE(set->Find("OK3"), 0);
  EXPECT_TRUE(HasError(*set, "invalid header modifier", 4));
  EXPECT_TRUE(HasError(*set, "invalid head test", 5));
  EXPECT_TRUE(HasError(*set, "invalid head test header", 6));
}

TEST(RuleSetTest, EvalRulesMoatImplementsAreNotCountedUnsupported) {
  auto set = RuleSet::FromText(
      "header DKIM_VALID eval:check_dkim_valid()\nheader SPF_PASS eval:check_for_spf_pass()\n"
      "header RBL eval:check_rbl('x', 'zen.example.')\nbody LEN eval:check_body_length('100')\n"
      "body HT eval:html_test('some_other_key')\n");
  const auto& counts = set->report().unsupported_counts;
  EXPECT_EQ(counts.at("header eval"), 1u);  // only check_rbl
  EXPECT_EQ(counts.at("body eval"), 1u);    // html_test with an argument Moat does not implement
  EXPECT_EQ(set->report().eval_rules_run, 3u);
}

}  // namespace
}  // namespace moat::rules
