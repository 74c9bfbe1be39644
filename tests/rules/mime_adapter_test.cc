// mime_adapter_test.cc - the gmime tree as the rule engine's input.
//
// The rule engine's tests and its SpamAssassin agreement test use a small splitter written to
// follow SpamAssassin's Message.pm (tests/rules/mime_splitter.h). The production adapter must
// give the rules the same view: on every message of the rules corpus, the default rules hit the
// same rules through either.
#include "rules/mime_adapter.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "rules/rule_evaluator.h"
#include "rules/rule_set.h"
#include "rules/rules_directories.h"
#include "tests/rules/mime_splitter.h"
#include "tests/support/test_support.h"

namespace moat::rules {
namespace {

std::vector<std::string> Hits(const RuleSet& set, const ParsedMessage& parsed) {
  ViewOptions options;
  options.uri_context = set.uri_context();
  Evaluation e = Evaluate(set, BuildMessageView(parsed, options));
  std::vector<std::string> names;
  for (const RuleHit& h : e.hits) names.push_back(h.name);
  names.insert(names.end(), e.subrule_hits.begin(), e.subrule_hits.end());
  return names;
}

TEST(MimeAdapterTest, PartsTextAndEntityHeaders) {
  std::string raw =
      "From: a@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n"
      "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n"
      "--b\r\nContent-Type: message/rfc822\r\n\r\n"
      "From: c@example.org\r\nSubject: inner\r\n\r\ninner body\r\n"
      "--b\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
  ParsedMessage parsed;
  ASSERT_TRUE(ParseForRules(raw, parsed));
  ASSERT_EQ(parsed.parts.size(), 3u);
  EXPECT_EQ(parsed.parts[0].content_type, "text/plain");
  EXPECT_EQ(parsed.parts[0].charset, "iso-8859-1");
  EXPECT_EQ(parsed.parts[0].raw_text, "caf\xE9");
  ASSERT_TRUE(parsed.parts[0].utf8_text.has_value());
  EXPECT_EQ(*parsed.parts[0].utf8_text, "caf\xC3\xA9");
  EXPECT_EQ(parsed.parts[1].content_type, "text/plain");  // the attached message's body
  EXPECT_EQ(parsed.parts[1].raw_text, "inner body");
  EXPECT_EQ(parsed.parts[2].content_type, "application/pdf");
  EXPECT_EQ(parsed.parts[2].filename, "x.pdf");
  EXPECT_EQ(parsed.parts[2].raw_text, "%PDF-1.4\n");
  // Entities below the message: the three parts' headers, then the attached message's own.
  ASSERT_EQ(parsed.entity_headers.size(), 4u);
  EXPECT_TRUE(parsed.entity_headers[0].starts_with("Content-Type: text/plain"));
  EXPECT_TRUE(parsed.entity_headers[1].starts_with("Content-Type: message/rfc822"));
  EXPECT_TRUE(parsed.entity_headers[2].starts_with("From: c@example.org"));
  EXPECT_TRUE(parsed.entity_headers[3].starts_with("Content-Type: application/pdf"));
  EXPECT_EQ(parsed.entity_headers[3].find("JVBER"), std::string_view::npos);
}

TEST(MimeAdapterTest, SinglePartMessageHasNoEntityBelowIt) {
  ParsedMessage parsed;
  ASSERT_TRUE(ParseForRules("Subject: x\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n", parsed));
  ASSERT_EQ(parsed.parts.size(), 1u);
  EXPECT_EQ(parsed.parts[0].content_type, "text/html");
  EXPECT_TRUE(parsed.entity_headers.empty());
}

TEST(MimeAdapterTest, SameRuleHitsAsTheSpamAssassinStyleSplitter) {
  LoadOptions options;
  options.directories = {DefaultRulesDirectory()};
  auto set = RuleSet::Load(options);
  std::vector<std::string> files;
  for (const char* dir : {"testdata/corpus/rules/default", "testdata/corpus/rules/agreement"}) {
    for (const auto& entry :
         std::filesystem::directory_iterator(moat::testing::SourcePath(dir))) {
      files.push_back(entry.path().string());
    }
  }
  for (const char* f : {"/usr/share/doc/spamassassin/examples/sample-spam.txt",
                        "/usr/share/doc/spamassassin/examples/sample-nonspam.txt"}) {
    if (std::filesystem::exists(f)) files.push_back(f);
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 40u);
  size_t same = 0;
  for (const std::string& file : files) {
    std::string raw = moat::testing::ReadTextFile(file);
    ParsedMessage adapted;
    ASSERT_TRUE(ParseForRules(raw, adapted));
    ParsedMessage split = testing::SplitMessage(raw);
    std::vector<std::string> a = Hits(*set, adapted);
    std::vector<std::string> b = Hits(*set, split);
    EXPECT_EQ(a, b) << file;
    same += a == b;
  }
  EXPECT_EQ(same, files.size());
}

}  // namespace
}  // namespace moat::rules
