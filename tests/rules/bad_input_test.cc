// bad_input_test.cc - hostile rules and hostile messages: clear errors or bounded work.
#include <gtest/gtest.h>

#include <string>

#include "tests/rules/rule_test_util.h"

namespace moat::rules {
namespace {

using testing::Check;
using testing::Hit;

TEST(BadInputTest, InvalidRegexIsAPerRuleErrorWithLocation) {
  auto set =
      RuleSet::FromText("body OK /ok/\nbody BROKEN /a[b/\nheader BROKEN_H Subject =~ /(?<!a+)b/\n");
  ASSERT_EQ(set->report().errors.size(), 2u);
  EXPECT_EQ(set->report().errors[0].where.ToString(), "<rules>:2");
  EXPECT_NE(set->report().errors[0].message.find("rule BROKEN: invalid regexp"), std::string::npos);
  EXPECT_EQ(set->report().errors[1].where.line, 3);
  EXPECT_TRUE(Hit(Check(*set, "Subject: s\n\nok\n"), "OK"));
}

TEST(BadInputTest, UnknownRuleKindIsCountedNotFatal) {
  auto set = RuleSet::FromText("bodyy TYPO /x/\nfull_body F /x/\nbody OK /ok/\n");
  EXPECT_TRUE(set->report().errors.empty());
  EXPECT_EQ(set->report().unsupported_counts.at("bodyy"), 1u);
  EXPECT_EQ(set->report().unsupported_counts.at("full_body"), 1u);
  ASSERT_EQ(set->report().unsupported.size(), 2u);
  EXPECT_EQ(set->report().unsupported[0].where.line, 1);
  EXPECT_GE(set->Find("OK"), 0);
}

TEST(BadInputTest, MetaReferringToItselfIsAnError) {
  auto set = RuleSet::FromText("meta LOOP LOOP && 1\n");
  ASSERT_EQ(set->report().errors.size(), 1u);
  EXPECT_NE(set->report().errors[0].message.find("refers to itself"), std::string::npos);
  EXPECT_EQ(set->report().errors[0].where.line, 1);
  EXPECT_FALSE(Hit(Check(*set, "Subject: s\n\nx\n"), "LOOP"));
}

TEST(BadInputTest, CatastrophicBacktrackingOnAMegabyteBodyIsBounded) {
  // Classic exponential patterns, on a 1 MB body made to defeat them (the characters each one
  // requires are present, so PCRE2's quick checks do not reject the lines). Each rule runs into
  // the match limit, is recorded and treated as not hit; the other rules still run.
  auto set = RuleSet::FromText(
      "body EXP1 /^(a+)+$/\n"
      "body EXP2 /(x+x+)+y/\n"
      "rawbody EXP3 /(?:a|aa)+b/\n"
      "full EXP4 /(\\w+\\s?)*\\d$/\n"
      "body FINE /aaaa/\n");
  ASSERT_TRUE(set->report().errors.empty());
  std::string body;
  body.reserve(1 << 20);
  while (body.size() < (1 << 20)) {
    body += std::string(1500, 'a') + " " + std::string(40, 'x') + " zy " + std::string(40, 'a') +
            " cb\n\n";
  }
  auto e = Check(*set, "Subject: s\n\n" + body);
  EXPECT_TRUE(Hit(e, "FINE"));
  for (const char* name : {"EXP1", "EXP2", "EXP3", "EXP4"}) {
    EXPECT_FALSE(Hit(e, name)) << name;
    EXPECT_NE(std::find(e.limit_exceeded.begin(), e.limit_exceeded.end(), name),
              e.limit_exceeded.end())
        << name << " should have hit the match limit";
  }
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(BadInputTest, HostileMessagesNeverCrash) {
  auto set = RuleSet::FromText(
      "util_rb_tld com\nbody B /x/\nrawbody R /x/\nuri U /x/\nheader H From:addr =~ /x/\n"
      "header N From:name =~ /x/\nheader A ALL =~ /x/\nheader X X-Spam-Relays-Untrusted =~ /x/\n");
  std::vector<std::string> messages = {
      "",
      "\n",
      "no colon line\nanother\nand another\nfourth\n\nbody",
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n--b--\n",
      "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n",
      "Content-Type: text/html\n\n<a href=\"" + std::string(100000, 'x') + "\">" +
          std::string(50000, '<'),
      "From: " + std::string(100000, '"') + "\n\nx",
      "From: <<<<@@@@>>>>, (((((, \"\\\n\n",
      "Subject: =?utf-8?B?" + std::string(10000, '=') + "?=\n\n",
      "Received: from " + std::string(20000, '(') + " by x\n\n",
      "Content-Transfer-Encoding: base64\n\n" + std::string(5000, '!'),
      // Quadratic traps for a naive HTML tokenizer: unterminated quotes, comments, tags.
      "Content-Type: text/html\n\n" + Repeat("<a x='", 40000) + Repeat("<!--", 40000) +
          Repeat("<p ", 40000) + Repeat("<![CDATA[", 20000),
      // Tag names without a delimiter, open and closing: each '<' must not rescan the rest.
      "Content-Type: text/html\n\n" + Repeat("<a", 100000) + Repeat("</a", 100000) +
          Repeat("<p a=b ", 40000),
      // Many links on one paragraph, and link-like noise.
      "Subject: s\n\n" + Repeat("http://a.example.com/x www.b.com c@d.com e.com/f ", 20000),
      std::string("Subject: \0\xff\xfe\n\n\0\0\0", 18),
  };
  for (const std::string& m : messages) {
    auto e = Check(*set, m);
    (void)e;
  }
  SUCCEED();
}

}  // namespace
}  // namespace moat::rules
