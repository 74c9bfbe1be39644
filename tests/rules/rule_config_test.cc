// rule_config_test.cc - reading .cf files as SpamAssassin's Conf::Parser does.
#include "rules/rule_config.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace moat::rules {
namespace {

RuleConfig Read(const std::string& text, ReadOptions options = {}) {
  RuleConfig config;
  ReadRuleText(text, "test.cf", options, config);
  return config;
}

TEST(RuleConfigTest, DefinitionsKeepFileAndLine) {
  RuleConfig c = Read(
      "# a comment\n"
      "\n"
      "body   FOO  /foo\\#bar/i   # trailing comment\n"
      "header BAR  Subject =~ /x/\n"
      "score  FOO  2.5\n"
      "score  BAR  1 2 3 4\n"
      "describe FOO Foo found\n"
      "tflags FOO multiple maxhits=3\n");
  ASSERT_EQ(c.rules.count("FOO"), 1u);
  EXPECT_EQ(c.rules["FOO"].kind, RuleKind::kBody);
  EXPECT_EQ(c.rules["FOO"].definition, "/foo#bar/i");
  EXPECT_EQ(c.rules["FOO"].where.ToString(), "test.cf:3");
  EXPECT_EQ(c.rules["BAR"].where.line, 4);
  EXPECT_EQ(c.scores["FOO"].values[0], 2.5);
  EXPECT_EQ(c.scores["FOO"].values[3], 2.5);
  EXPECT_EQ(c.scores["BAR"].values[0], 1);
  EXPECT_EQ(c.scores["BAR"].values[3], 4);
  EXPECT_EQ(c.descriptions["FOO"], "Foo found");
  EXPECT_EQ(c.tflags["FOO"], "multiple maxhits=3");
  EXPECT_TRUE(c.errors.empty());
}

TEST(RuleConfigTest, LaterDefinitionsWin) {
  RuleConfig c = Read("body FOO /a/\nscore FOO 1\nrawbody FOO /b/\nscore FOO 3\n");
  EXPECT_EQ(c.rules["FOO"].kind, RuleKind::kRawbody);
  EXPECT_EQ(c.rules["FOO"].definition, "/b/");
  EXPECT_EQ(c.scores["FOO"].values[0], 3);
}

TEST(RuleConfigTest, ConditionalsFollowPluginsVersionsAndCapabilities) {
  RuleConfig c = Read(
      "ifplugin Mail::SpamAssassin::Plugin::BodyEval\nbody KNOWN /a/\nendif\n"
      "ifplugin Mail::SpamAssassin::Plugin::NoSuchPlugin\nbody UNKNOWN /a/\nelse\nbody ELSE "
      "/a/\nendif\n"
      "if (version >= 3.004000)\nbody NEW_ENOUGH /a/\nendif\n"
      "if version < 3.0\nbody TOO_OLD /a/\nendif\n"
      "if can(Mail::SpamAssassin::Conf::feature_bug6558_free)\nbody CAN /a/\nendif\n"
      "if !plugin(Mail::SpamAssassin::Plugin::NoSuchPlugin)\n"
      "  ifplugin Mail::SpamAssassin::Plugin::NoSuchPlugin\n  body NESTED_SKIPPED /a/\n  else\n  "
      "body NESTED_ELSE /a/\n  endif\n"
      "endif\n"
      "ifplugin Mail::SpamAssassin::Plugin::NoSuchPlugin\n  if (version >= 3.0)\n  else\n  body "
      "ELSE_IN_SKIPPED /a/\n  endif\nendif\n");
  EXPECT_TRUE(c.errors.empty()) << c.errors[0].message;
  for (const char* present : {"KNOWN", "ELSE", "NEW_ENOUGH", "CAN", "NESTED_ELSE"}) {
    EXPECT_EQ(c.rules.count(present), 1u) << present;
  }
  for (const char* absent : {"UNKNOWN", "TOO_OLD", "NESTED_SKIPPED", "ELSE_IN_SKIPPED"}) {
    EXPECT_EQ(c.rules.count(absent), 0u) << absent;
  }
}

TEST(RuleConfigTest, UnbalancedConditionalsAreErrorsWithLines) {
  RuleConfig c = Read("endif\nelse\nif (version >= 3)\nbody A /a/\n");
  ASSERT_EQ(c.errors.size(), 3u);
  EXPECT_EQ(c.errors[0].where.line, 1);
  EXPECT_EQ(c.errors[1].where.line, 2);
  EXPECT_NE(c.errors[2].message.find("unclosed"), std::string::npos);
  EXPECT_EQ(c.errors[2].where.line, 3);
  EXPECT_EQ(c.rules.count("A"), 1u);  // reading went on
}

TEST(RuleConfigTest, UnsupportedDirectivesAreCountedNotFatal) {
  RuleConfig c = Read(
      "header EV1 eval:check_rbl('x', 'y.example.')\n"
      "body EV2 eval:check_stock_info()\n"
      "freemail_domains a.example b.example\n"
      "freemail_domains c.example\n"
      "uridnsbl URIBL_X multi.uribl.example. A\n"
      "loadplugin Mail::SpamAssassin::Plugin::Fancy\n"
      "body AFTER /still read/\n");
  EXPECT_TRUE(c.errors.empty());
  EXPECT_EQ(c.unsupported_counts["header eval"], 1u);
  EXPECT_EQ(c.unsupported_counts["body eval"], 1u);
  EXPECT_EQ(c.unsupported_counts["freemail_domains"], 2u);
  EXPECT_EQ(c.unsupported_counts["uridnsbl"], 1u);
  EXPECT_EQ(c.unsupported_counts["loadplugin (unknown plugin)"], 1u);
  ASSERT_FALSE(c.unsupported.empty());
  EXPECT_EQ(c.unsupported[2].where.line, 3);
  EXPECT_TRUE(c.rules.count("AFTER"));
  EXPECT_TRUE(c.rules["EV1"].eval);
}

TEST(RuleConfigTest, SyntaxErrorsAreReportedWithLines) {
  RuleConfig c = Read("body\nbody 9BAD /a/\nbody NODEF\nscore X abc\nscore Y 1 2\nbody OK /ok/\n");
  ASSERT_EQ(c.errors.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.errors[static_cast<size_t>(i)].where.line, i + 1);
  EXPECT_TRUE(c.rules.count("OK"));
}

TEST(RuleConfigTest, LangLinesApplyOnlyToTheirLanguage) {
  std::string text = "lang de describe FOO Deutsch\ndescribe FOO English\nlang fr body FR /x/\n";
  RuleConfig english = Read(text);
  EXPECT_EQ(english.descriptions["FOO"], "English");
  EXPECT_FALSE(english.rules.count("FR"));
  ReadOptions french;
  french.language = "fr_FR.UTF-8";
  RuleConfig fr = Read(text, french);
  EXPECT_TRUE(fr.rules.count("FR"));
}

TEST(RuleConfigTest, DirectoriesReadInLexicalOrderAndIncludesResolveRelatively) {
  moat::testing::TempDir dir;
  dir.WriteFile("rules/20_b.cf", "body X /from-b/\ninclude sub/inc.cf\n");
  dir.WriteFile("rules/10_a.cf", "body X /from-a/\nbody A /a/\n");
  dir.WriteFile("rules/sub/inc.cf", "body INC /inc/\n");
  dir.WriteFile("rules/notes.txt", "body NOT_READ /x/\n");
  dir.WriteFile("local/50_local.cf", "score X 7\n");
  RuleConfig c = ReadRuleFiles({dir.Path("rules"), dir.Path("local")}, {});
  EXPECT_TRUE(c.errors.empty());
  EXPECT_EQ(c.rules["X"].definition, "/from-b/");  // later file wins
  EXPECT_TRUE(c.rules.count("INC"));
  EXPECT_EQ(c.rules["INC"].where.file, dir.Path("rules/sub/inc.cf"));
  EXPECT_FALSE(c.rules.count("NOT_READ"));
  EXPECT_EQ(c.scores["X"].values[0], 7);
  ASSERT_EQ(c.files.size(), 4u);
  EXPECT_EQ(c.files[0], dir.Path("rules/10_a.cf"));
}

TEST(RuleConfigTest, IncludeLoopsAndMissingFilesAreErrors) {
  moat::testing::TempDir dir;
  dir.WriteFile("a.cf", "include a.cf\n");
  RuleConfig loop = ReadRuleFiles({}, {dir.Path("a.cf")});
  EXPECT_FALSE(loop.errors.empty());
  RuleConfig missing = ReadRuleFiles({dir.Path("nonexistent")}, {dir.Path("nope.cf")});
  EXPECT_EQ(missing.errors.size(), 2u);
}

TEST(RuleConfigTest, ReplaceTagsAndRegistrySettings) {
  RuleConfig c = Read(
      "replace_tag A [a@]\nreplace_rules FOO BAR\nreplace_start <\n"
      "util_rb_tld com NET\nutil_rb_2tld co.uk\nredirector_pattern "
      "/^http:\\/\\/r\\.example\\/(.*)$/i\n");
  EXPECT_EQ(c.replace_tag["A"], "[a@]");
  EXPECT_TRUE(c.replace_rules.count("BAR"));
  EXPECT_TRUE(c.valid_tlds.count("net"));
  EXPECT_TRUE(c.two_level_domains.count("co.uk"));
  ASSERT_EQ(c.redirector_patterns.size(), 1u);
  EXPECT_EQ(c.redirector_patterns[0].second.line, 6);
}

}  // namespace
}  // namespace moat::rules
