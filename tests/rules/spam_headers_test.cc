// spam_headers_test.cc - amavisd-new style levels and X-Spam-* headers.
#include "rules/spam_headers.h"

#include <gtest/gtest.h>

namespace moat::rules {
namespace {

Evaluation WithHits(std::vector<std::pair<std::string, double>> hits) {
  Evaluation e;
  for (auto& [name, score] : hits) {
    RuleHit h;
    h.name = name;
    h.rule_score = h.score = score;
    h.count = 1;
    e.hits.push_back(h);
    e.score += score;
  }
  return e;
}

std::string Header(const SpamDecision& d, const std::string& name) {
  for (const auto& [n, v] : d.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

TEST(SpamHeadersTest, BelowTagLevelNoHeaders) {
  SpamDecision d = DecideSpam(WithHits({{"A", 1.0}}), SpamLevels{});
  EXPECT_FALSE(d.add_headers);
  EXPECT_TRUE(d.headers.empty());
  EXPECT_EQ(d.content_class, SpamClass::kClean);
  EXPECT_FALSE(d.subject_tag);
}

TEST(SpamHeadersTest, TagLevelAddsHeadersWithTests) {
  SpamDecision d =
      DecideSpam(WithHits({{"BAYES_00", -1.9}, {"SPF_PASS", -0.001}, {"X", 5}}), SpamLevels{});
  EXPECT_TRUE(d.add_headers);
  EXPECT_FALSE(d.spam);
  EXPECT_EQ(Header(d, "X-Spam-Flag"), "NO");
  EXPECT_EQ(Header(d, "X-Spam-Score"), "3.099");
  EXPECT_EQ(Header(d, "X-Spam-Level"), "***");
  EXPECT_EQ(
      Header(d, "X-Spam-Status"),
      "No, score=3.099 tagged_above=2 required=6.2\n\ttests=[BAYES_00=-1.9, SPF_PASS=-0.001, X=5]");
}

TEST(SpamHeadersTest, Tag2TagsSubjectKillIsSpamClass) {
  SpamLevels levels;
  levels.subject_tag = "[SPAM] ";
  SpamDecision spammy = DecideSpam(WithHits({{"A", 6.5}}), levels);
  EXPECT_TRUE(spammy.spam);
  EXPECT_EQ(spammy.content_class, SpamClass::kSpammy);
  EXPECT_EQ(spammy.subject_tag.value_or(""), "[SPAM] ");
  EXPECT_EQ(Header(spammy, "X-Spam-Flag"), "YES");
  SpamDecision spam = DecideSpam(WithHits({{"GTUBE", 1000}}), levels);
  EXPECT_EQ(spam.content_class, SpamClass::kSpam);
  EXPECT_EQ(SpamClassName(spam.content_class), "SPAM");
  EXPECT_EQ(Header(spam, "X-Spam-Level").size(), 64u);  // capped, as amavis
}

TEST(SpamHeadersTest, UnsetTagLevelAlwaysAddsHeaders) {
  SpamLevels levels;
  levels.tag_level.reset();
  SpamDecision d = DecideSpam(WithHits({}), levels);
  EXPECT_TRUE(d.add_headers);
  EXPECT_EQ(Header(d, "X-Spam-Status"),
            "No, score=0.000 tagged_above=-999 required=6.2\n\ttests=[none]");
  EXPECT_EQ(Header(d, "X-Spam-Level"), "");
}

TEST(SpamHeadersTest, LongTestListsAreFolded) {
  std::vector<std::pair<std::string, double>> hits;
  for (int i = 0; i < 20; ++i)
    hits.emplace_back("SOME_LONGISH_RULE_NAME_" + std::to_string(i), 0.5);
  SpamDecision d = DecideSpam(WithHits(hits), SpamLevels{});
  std::string status = Header(d, "X-Spam-Status");
  size_t start = 0;
  while (start < status.size()) {
    size_t nl = status.find('\n', start);
    size_t end = nl == std::string::npos ? status.size() : nl;
    EXPECT_LE(end - start, 80u);
    start = end + 1;
  }
}

TEST(SpamHeadersTest, IncomingSpamHeadersAreRemoved) {
  std::string in =
      "Received: by x\nX-Spam-Flag: YES\nX-Spam-Status: Yes, score=99\n\ttests=[FAKE]\n"
      "x-spam-level: ****\nX-Spammy: keep\nSubject: hi\n\nX-Spam-Flag: in the body stays\n";
  EXPECT_EQ(RemoveSpamHeaders(in),
            "Received: by x\nX-Spammy: keep\nSubject: hi\n\nX-Spam-Flag: in the body stays\n");
}

}  // namespace
}  // namespace moat::rules
