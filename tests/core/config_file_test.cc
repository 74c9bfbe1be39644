// config_file_test.cc - main.cf syntax: logical lines, comments, continuations, locations.
#include "core/config_file.h"

#include <gtest/gtest.h>

namespace moat::core {
namespace {

TEST(ConfigFileTest, ParsesNameValueWithLocations) {
  auto c = ParseConfigText(
      "# a comment\n"
      "myhostname = mx.example.com\n"
      "\n"
      "relay_domains=example.com\n"
      "empty =\n",
      "main.cf");
  EXPECT_TRUE(c.diagnostics.empty());
  ASSERT_EQ(c.entries.size(), 3u);
  EXPECT_EQ(c.entries[0].name, "myhostname");
  EXPECT_EQ(c.entries[0].value, "mx.example.com");
  EXPECT_EQ(c.entries[0].location.ToString(), "main.cf:2");
  EXPECT_EQ(c.entries[1].value, "example.com");
  EXPECT_EQ(c.entries[1].location.line, 4);
  EXPECT_EQ(c.entries[2].value, "");
}

TEST(ConfigFileTest, ContinuationLinesJoinKeepingWhitespaceAsPostfixDoes) {
  // Compared with postconf 3.7: "list = a,   b   c   d".
  auto c = ParseConfigText(
      "list = a,\n"
      "   b\n"
      "# a comment does not end the logical line\n"
      "   c\n"
      "\n"
      "   d\n"
      "next = 1\n",
      "main.cf");
  ASSERT_EQ(c.entries.size(), 2u);
  EXPECT_EQ(c.entries[0].value, "a,   b   c   d");
  EXPECT_EQ(c.entries[0].location.line, 1);
  EXPECT_EQ(c.entries[1].location.line, 7);
}

TEST(ConfigFileTest, HashAfterAValueIsPartOfTheValue) {
  auto c = ParseConfigText("smtpd_banner = $myhostname # not a comment\n", "main.cf");
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].value, "$myhostname # not a comment");
}

TEST(ConfigFileTest, WhitespaceAroundValueIsTrimmedAndCrLfAccepted) {
  auto c = ParseConfigText("myhostname =   \tfoo   \r\nx\t=\ty\r\n", "main.cf");
  ASSERT_EQ(c.entries.size(), 2u);
  EXPECT_EQ(c.entries[0].value, "foo");
  EXPECT_EQ(c.entries[1].name, "x");
  EXPECT_EQ(c.entries[1].value, "y");
}

TEST(ConfigFileTest, ContinuationCanCarryTheEqualsSign) {
  auto c = ParseConfigText("noeq\n  = z\n", "main.cf");
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].name, "noeq");
  EXPECT_EQ(c.entries[0].value, "z");
}

TEST(ConfigFileTest, SyntaxErrorsHaveFileAndLine) {
  auto c = ParseConfigText("good = 1\nbad name = y\n=z\njustaword\n", "conf/main.cf");
  ASSERT_EQ(c.diagnostics.size(), 3u);
  EXPECT_EQ(c.diagnostics[0].ToString(),
            "conf/main.cf:2: error: missing '=' after parameter name: \"bad name = y\"");
  EXPECT_EQ(c.diagnostics[1].location.line, 3);
  EXPECT_NE(c.diagnostics[1].message.find("missing parameter name"), std::string::npos);
  EXPECT_EQ(c.diagnostics[2].location.line, 4);
  ASSERT_EQ(c.entries.size(), 1u);
}

TEST(ConfigFileTest, LeadingWhitespaceOnTheFirstLineIsAWarning) {
  auto c = ParseConfigText("  smtpd_banner = x\n", "main.cf");
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].severity, Severity::kWarning);
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].name, "smtpd_banner");
}

TEST(ConfigFileTest, NulBytesAreReportedNotTruncated) {
  std::string text = "a = 1\nb = x";
  text.push_back('\0');
  text += "y\nc = 3\n";
  auto c = ParseConfigText(text, "main.cf");
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].location.line, 2);
  EXPECT_EQ(c.entries.size(), 2u);
}

TEST(ConfigFileTest, UnreadableFileIsOneDiagnostic) {
  auto c = ReadConfigFile("/nonexistent/main.cf");
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].location.file, "/nonexistent/main.cf");
  EXPECT_EQ(c.diagnostics[0].ToString(),
            "/nonexistent/main.cf: error: cannot open: No such file or directory");
}

TEST(ConfigFileTest, Overrides) {
  auto o = ParseOverride(" smtpd_timeout = 10s ", 2);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->name, "smtpd_timeout");
  EXPECT_EQ(o->value, "10s");
  EXPECT_EQ(o->location.ToString(), "-o #2");
  auto empty = ParseOverride("content_filter=", 1);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->value, "");
  EXPECT_FALSE(ParseOverride("novalue", 1));
  EXPECT_FALSE(ParseOverride("=x", 1));
}

}  // namespace
}  // namespace moat::core
