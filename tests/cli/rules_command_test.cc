// rules_command_test.cc - `moat rules lint` and `moat rules test`, run in-process.
//
// `rules test` gets the test-only MIME splitter as its message adapter (the production one is
// the scanners' MIME tree, wired by filterd).
#include "cli/rules_command.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/rules/mime_splitter.h"
#include "tests/cli/command_run.h"
#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

using moat::testing::CommandRun;

CommandRun RunRules(const GlobalOptions& global, std::vector<std::string> args) {
  auto split = [](std::string_view raw, rules::ParsedMessage& out) -> core::Status {
    out = rules::testing::SplitMessage(raw);
    return {};
  };
  auto register_command = [&](CLI::App& app) { RegisterRulesCommand(app, global, split); };
  return moat::testing::RunMoat(register_command, args);
}

TEST(RulesCommandTest, LintReportsErrorsWithFileAndLine) {
  moat::testing::TempDir dir;
  std::string file = dir.WriteFile("bad.cf",
                                   "# comment\n"
                                   "body GOOD /hello/\n"
                                   "body BAD_RE /unclosed(/\n"
                                   "meta SELF SELF && GOOD\n"
                                   "frobnicate FOO bar\n"
                                   "header EVAL_RULE eval:check_something()\n");
  GlobalOptions global;
  global.config_directory = dir.path();
  CommandRun run = RunRules(global, {"rules", "lint", file});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find(file + ":3: rule BAD_RE: invalid regexp"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(file + ":4: meta rule SELF refers to itself"), std::string::npos)
      << run.err;
  EXPECT_NE(run.out.find("frobnicate"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("header eval"), std::string::npos) << run.out;
}

TEST(RulesCommandTest, LintOfCleanFilesExitsZero) {
  moat::testing::TempDir dir;
  std::string file =
      dir.WriteFile("ok.cf", "body GOOD /hello/\ndescribe GOOD says hello\nscore GOOD 1.5\n");
  GlobalOptions global;
  global.config_directory = dir.path();
  CommandRun run = RunRules(global, {"rules", "lint", "--verbose", file});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("body 1"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("0 error(s)"), std::string::npos) << run.out;
}

TEST(RulesCommandTest, LintUsesRulesDirectoriesOverride) {
  moat::testing::TempDir dir;
  dir.WriteFile("r/a.cf", "body A /a/\n");
  dir.WriteFile("r/b.cf", "body B /b(/\n");
  GlobalOptions global;
  global.config_directory = dir.path();
  global.overrides = {"rules_directories=r"};  // relative to the config directory
  CommandRun run = RunRules(global, {"rules", "lint"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find(dir.Path("r/b.cf") + ":1:"), std::string::npos) << run.err;
}

TEST(RulesCommandTest, TestPrintsHitsTotalAndVerdict) {
  GlobalOptions global;
  global.config_directory = "/nonexistent";
  global.overrides = {"rules_directories=" + moat::testing::SourcePath("rules/default")};
  std::string message =
      moat::testing::SourcePath("testdata/corpus/rules/default/MOAT_PHISH_COMBO.eml");
  CommandRun run = RunRules(global, {"rules", "test", message});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("MOAT_HTML_PASSWORD_FIELD"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("[rawbody: "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Verdict: SPAM"), std::string::npos) << run.out;

  CommandRun json = RunRules(global, {"rules", "test", "--json", message});
  ASSERT_EQ(json.status, 0) << json.err;
  auto parsed = nlohmann::json::parse(json.out);
  EXPECT_GE(parsed["score"].get<double>(), 6.9);
  EXPECT_EQ(parsed["verdict"], "SPAM");
  EXPECT_EQ(parsed["headers"]["X-Spam-Flag"], "YES");
  bool found = false;
  for (const auto& hit : parsed["hits"]) found |= hit["name"] == "MOAT_PHISH_COMBO";
  EXPECT_TRUE(found) << json.out;
}

TEST(RulesCommandTest, TestUsesSpamLevelsFromOverrides) {
  GlobalOptions global;
  global.config_directory = "/nonexistent";
  global.overrides = {"rules_directories=" + moat::testing::SourcePath("rules/default"),
                      "spam_tag2_level=100", "spam_kill_level=200"};
  std::string message =
      moat::testing::SourcePath("testdata/corpus/rules/default/MOAT_PHISH_COMBO.eml");
  CommandRun run = RunRules(global, {"rules", "test", message});
  ASSERT_EQ(run.status, 0);
  EXPECT_NE(run.out.find("Verdict: CLEAN"), std::string::npos) << run.out;
}

TEST(RulesCommandTest, MissingMessageIsAnError) {
  GlobalOptions global;
  global.overrides = {"rules_directories=" + moat::testing::SourcePath("rules/default")};
  CommandRun run = RunRules(global, {"rules", "test", "/nonexistent/message.eml"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("cannot read"), std::string::npos);
}

TEST(RulesCommandTest, ProductionAdapterParsesMimeWithGmime) {
  rules::ParsedMessage parsed;
  std::string raw =
      "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
      "--b\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--b--\r\n";
  ASSERT_TRUE(ParseMessageForRules(raw, parsed));
  ASSERT_EQ(parsed.parts.size(), 2u);
  EXPECT_EQ(parsed.parts[0].content_type, "text/plain");
  EXPECT_EQ(parsed.parts[1].content_type, "text/html");
  // RFC 2046 5.1.1: the CRLF before a boundary belongs to the boundary. SpamAssassin 4.0
  // (Message::_parse_multipart) strips it, so its rawbody rules see "<b>html</b>" with no line
  // end; the adapter gives the rules the same text (as tests/rules/mime_adapter_test.cc checks).
  EXPECT_EQ(parsed.parts[1].raw_text, "<b>html</b>");
  EXPECT_EQ(parsed.entity_headers.size(), 2u);
}

}  // namespace
}  // namespace moat::cli
