// rule_evaluator_test.cc - what each rule kind sees and how hits are scored.
#include "rules/rule_evaluator.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/rules/rule_test_util.h"
#include "tests/support/test_support.h"

namespace moat::rules {
namespace {

using testing::Check;
using testing::FindHit;
using testing::Hit;
using testing::HitNames;

const char* kMessage =
    "Return-Path: <bounce@lists.example.com>\n"
    "Received: from mx.example.org (mx.example.org [192.0.2.10])\n"
    "\tby mail.example.net (Postfix) with ESMTP id 4F1A2;\n"
    "\tMon, 3 Mar 2025 10:15:00 +0100 (CET)\n"
    "From: =?UTF-8?B?SsO8cmdlbg==?= \"Boss\" <juergen@example.com>\n"
    "To: Bob <bob@example.net>\n"
    "Cc: carol@example.net\n"
    "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= from\n"
    " the office\n"
    "Message-ID: <abc123@example.com>\n"
    "X-Empty:\n"
    "\n"
    "First paragraph line one\n"
    "continues here.\n"
    "\n"
    "Second paragraph with http://www.example.com/page link.\n";

TEST(RuleEvaluatorTest, HeaderRulesSeeSpamAssassinValues) {
  auto set = RuleSet::FromText(
      "header SUBJ_DECODED Subject =~ /^Grüße from the office$/\n"
      "header SUBJ_RAW Subject:raw =~ /^ =\\?ISO-8859-1\\?Q\\?Gr=FC=DFe\\?= from\\n the "
      "office\\n$/\n"
      "header FROM_ADDR From:addr =~ /^juergen\\@example\\.com$/\n"
      "header FROM_NAME From:name =~ /^Jürgen Boss$/\n"
      "header TOCC ToCc =~ /example\\.net>\\ncarol/\n"
      "header ALL_HAS_CC ALL =~ /^Cc: carol/m\n"
      "header MSGID MESSAGEID =~ /abc123/\n"
      "header ENVFROM EnvelopeFrom =~ /^bounce\\@lists\\.example\\.com$/\n"
      "header MISSING_IS_EMPTY X-Nothing =~ /^$/\n"
      "header MISSING_NEGATED X-Nothing !~ /./\n"
      "header MISSING_UNSET X-Nothing =~ /^fallback$/ [if-unset: fallback]\n"
      "header HAS_EMPTY exists:X-Empty\n"
      "header HAS_NOTHING exists:X-Nothing\n"
      "header RELAY_UNTRUSTED X-Spam-Relays-Untrusted =~ /^\\[ ip=192\\.0\\.2\\.10 "
      "rdns=mx\\.example\\.org helo=mx\\.example\\.org by=mail\\.example\\.net /\n");
  ASSERT_TRUE(set->report().errors.empty()) << set->report().errors[0].message;
  auto e = Check(*set, kMessage);
  for (const char* name : {"SUBJ_DECODED", "SUBJ_RAW", "FROM_ADDR", "FROM_NAME", "TOCC",
                           "ALL_HAS_CC", "MSGID", "ENVFROM", "MISSING_IS_EMPTY", "MISSING_NEGATED",
                           "MISSING_UNSET", "HAS_EMPTY", "RELAY_UNTRUSTED"}) {
    EXPECT_TRUE(Hit(e, name)) << name << " did not hit; hits: " << HitNames(e);
  }
  EXPECT_FALSE(Hit(e, "HAS_NOTHING"));
  const RuleHit* h = FindHit(e, "FROM_ADDR");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->area, "header From:addr");
}

TEST(RuleEvaluatorTest, BodyRulesSeeSubjectAndParagraphs) {
  auto set = RuleSet::FromText(
      "util_rb_tld com net org\n"  // without known TLDs SpamAssassin keeps no text links either
      "body SUBJECT_LINE /^Grüße from the office$/\n"
      "body JOINED_PARAGRAPH /line one continues here\\./\n"
      "body ACROSS_PARAGRAPHS /continues here\\. Second/\n"
      "body NOSUBJ /Grüße/\ntflags NOSUBJ nosubject\n"
      "uri  URI_WWW /^http:\\/\\/www\\.example\\.com\\/page$/\n"
      "rawbody RAW_NEWLINES /one\\ncontinues/\n"
      "full FULL_HEADERS /^Cc: carol/m\n");
  auto e = Check(*set, kMessage);
  EXPECT_TRUE(Hit(e, "SUBJECT_LINE")) << HitNames(e);
  EXPECT_TRUE(Hit(e, "JOINED_PARAGRAPH")) << HitNames(e);
  EXPECT_FALSE(Hit(e, "ACROSS_PARAGRAPHS"));
  EXPECT_FALSE(Hit(e, "NOSUBJ"));
  EXPECT_TRUE(Hit(e, "URI_WWW")) << HitNames(e);
  EXPECT_TRUE(Hit(e, "RAW_NEWLINES"));
  EXPECT_TRUE(Hit(e, "FULL_HEADERS"));
}

TEST(RuleEvaluatorTest, MultipleAndMaxhitsScoreEachHit) {
  auto set = RuleSet::FromText(
      "body MANY /spam/\ntflags MANY multiple\nscore MANY 0.5\n"
      "body CAPPED /spam/\ntflags CAPPED multiple maxhits=2\nscore CAPPED 1\n"
      "body ONCE /spam/\nscore ONCE 1\n"
      "meta COUNTED MANY >= 4\n");
  auto e = Check(*set, "Subject: spam\n\nspam spam\n\nspam\n");
  const RuleHit* many = FindHit(e, "MANY");
  ASSERT_NE(many, nullptr);
  EXPECT_EQ(many->count, 4);  // subject line + three in the body
  EXPECT_DOUBLE_EQ(many->score, 2.0);
  EXPECT_EQ(FindHit(e, "CAPPED")->count, 2);
  EXPECT_EQ(FindHit(e, "ONCE")->count, 1);
  EXPECT_TRUE(Hit(e, "COUNTED"));
  EXPECT_DOUBLE_EQ(e.score, 2.0 + 2.0 + 1.0 + 1.0);
}

TEST(RuleEvaluatorTest, SubrulesAreListedButNotScored) {
  auto set = RuleSet::FromText(
      "body __PART /a/\nbody __OTHER /zzz/\nmeta VISIBLE __PART && !__OTHER\nscore VISIBLE 2\n");
  auto e = Check(*set, "Subject: s\n\na\n");
  ASSERT_EQ(e.subrule_hits, std::vector<std::string>{"__PART"});
  ASSERT_EQ(e.hits.size(), 1u);
  EXPECT_EQ(e.hits[0].name, "VISIBLE");
  EXPECT_EQ(e.hits[0].kind, RuleKind::kMeta);
  EXPECT_DOUBLE_EQ(e.score, 2.0);
}

TEST(RuleEvaluatorTest, AuthenticationResultsDriveEvalRules) {
  auto set = RuleSet::FromText(
      "header DKIM_VALID eval:check_dkim_valid()\nheader DKIM_AUTHOR "
      "eval:check_dkim_valid_author_sig()\n"
      "header DKIM_OTHER eval:check_dkim_valid('other.example')\nheader SPF_PASS "
      "eval:check_for_spf_pass()\n"
      "header SPF_FAIL eval:check_for_spf_fail()\nheader DMARC_REJECT eval:check_dmarc_reject()\n");
  ParsedMessage parsed = testing::SplitMessage(kMessage);
  MessageView unchecked = BuildMessageView(parsed, {});
  EXPECT_TRUE(Evaluate(*set, unchecked).hits.empty());  // unset results never hit
  parsed.auth.dkim = std::vector<DkimSignatureResult>{{"example.com", true}};
  parsed.auth.spf = AuthResult::kPass;
  parsed.auth.dmarc = "reject";
  auto e = Evaluate(*set, BuildMessageView(parsed, {}));
  EXPECT_TRUE(Hit(e, "DKIM_VALID"));
  EXPECT_TRUE(Hit(e, "DKIM_AUTHOR"));
  EXPECT_FALSE(Hit(e, "DKIM_OTHER"));
  EXPECT_TRUE(Hit(e, "SPF_PASS"));
  EXPECT_FALSE(Hit(e, "SPF_FAIL"));
  EXPECT_TRUE(Hit(e, "DMARC_REJECT"));
}

TEST(RuleEvaluatorTest, PrefilterNeverChangesResults) {
  std::string stock = "/usr/share/spamassassin";
  LoadOptions with, without;
  if (std::filesystem::exists(stock + "/50_scores.cf")) {
    with.directories = without.directories = {stock};
  } else {
    with.directories = without.directories = {moat::testing::SourcePath("rules/default")};
  }
  without.prefilter = false;
  auto fast = RuleSet::Load(with);
  auto slow = RuleSet::Load(without);
  ASSERT_GT(fast->report().prefiltered[static_cast<size_t>(RuleKind::kBody)], 0u);
  std::string corpus = moat::testing::SourcePath("testdata/corpus/rules");
  size_t checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus)) {
    if (entry.path().extension() != ".eml") continue;
    std::string raw = moat::testing::ReadTextFile(entry.path().string());
    auto a = Check(*fast, raw);
    auto b = Check(*slow, raw);
    EXPECT_EQ(HitNames(a), HitNames(b)) << entry.path();
    EXPECT_LE(a.regex_runs, b.regex_runs);
    ++checked;
  }
  EXPECT_GT(checked, 30u);
}

}  // namespace
}  // namespace moat::rules
