// bank_policy_test.cc - findings to classes, destinies, quarantine and header edits.
#include "filterd/bank_policy.h"

#include <gtest/gtest.h>

#include "filterd/content_artefacts.h"

namespace moat::filterd {
namespace {

MessageContext Context(std::vector<Finding> findings, size_t recipients = 1) {
  MessageContext c;
  c.id = "Q1";
  c.policy_bank = "inbound";
  c.findings = std::move(findings);
  for (size_t i = 0; i < recipients; ++i) {
    core::RcptParams r;
    r.recipient = "r" + std::to_string(i) + "@example.net";
    c.envelope.recipients.push_back(r);
  }
  return c;
}

Finding F(ContentClass c, std::string name, std::string subclass = "", std::string part = "2") {
  Finding f;
  f.stage = "test";
  f.name = std::move(name);
  f.content_class = c;
  f.subclass = std::move(subclass);
  f.part = std::move(part);
  f.detail = "detail";
  return f;
}

void AddSpam(MessageContext& c, double score, std::vector<rules::SpamLevels> per_recipient = {}) {
  auto spam = std::make_shared<SpamArtefact>();
  rules::RuleHit hit;
  hit.name = "TEST_RULE";
  hit.score = score;
  hit.rule_score = score;
  hit.count = 1;
  spam->evaluation.hits.push_back(hit);
  spam->evaluation.score = score;
  spam->recipient_levels = std::move(per_recipient);
  c.spam_score = score;
  c.artefacts[kSpamArtefact] = spam;
}

TEST(BankPolicyTest, TheMostSevereClassWins) {
  BankPolicy policy({});
  Decision d = policy.Decide(Context({F(ContentClass::kBadHeader, "eight-bit-header"),
                                      F(ContentClass::kUnchecked, "encrypted", "encrypted"),
                                      F(ContentClass::kVirus, "Eicar"),
                                      F(ContentClass::kBanned, "x.exe", "block ext=exe")}));
  EXPECT_EQ(d.content_class, ContentClass::kVirus);
  EXPECT_EQ(d.reason, "Eicar");
  EXPECT_EQ(d.recipients[0].destiny, Destiny::kDiscard);
  EXPECT_TRUE(d.quarantine);
}

TEST(BankPolicyTest, DefaultDestiniesAreAmavisLike) {
  BankPolicy policy({});
  EXPECT_EQ(policy.DestinyOf(ContentClass::kVirus), Destiny::kDiscard);
  EXPECT_EQ(policy.DestinyOf(ContentClass::kBanned), Destiny::kDiscard);
  EXPECT_EQ(policy.DestinyOf(ContentClass::kSpam), Destiny::kDiscard);
  EXPECT_EQ(policy.DestinyOf(ContentClass::kUnchecked), Destiny::kPass);
  EXPECT_EQ(policy.DestinyOf(ContentClass::kBadHeader), Destiny::kPass);
  EXPECT_EQ(policy.DestinyOf(ContentClass::kSpammy), Destiny::kPass);
  EXPECT_EQ(policy.DestinyOf(ContentClass::kClean), Destiny::kPass);
}

TEST(BankPolicyTest, PassedUncheckedMailIsTaggedAndNotQuarantined) {
  BankPolicy policy({});
  Decision d = policy.Decide(Context({F(ContentClass::kUnchecked, "max-depth", "limit:depth")}));
  EXPECT_EQ(d.content_class, ContentClass::kUnchecked);
  EXPECT_EQ(d.subclass, "limit:depth");
  EXPECT_FALSE(d.quarantine);
  const auto& edits = d.recipients[0].header_edits;
  ASSERT_GE(edits.size(), 3u);
  EXPECT_EQ(edits[0].name, "X-Moat-Alert");
  EXPECT_EQ(edits[0].value, "UNCHECKED, limit:depth: 2");
  EXPECT_EQ(edits[1].kind, HeaderEdit::Kind::kRemoveAll);
  EXPECT_EQ(edits[1].name, "Subject");
  EXPECT_EQ(edits[2].value, "***UNCHECKED***");  // no Subject: the tag alone
}

TEST(BankPolicyTest, BounceAndRejectCarryA554) {
  BankPolicySettings s;
  s.banned_destiny = Destiny::kReject;
  BankPolicy policy(s);
  Decision d = policy.Decide(Context({F(ContentClass::kBanned, "x.exe", "block ext=exe (f:1)")}));
  ASSERT_EQ(d.recipients[0].destiny, Destiny::kReject);
  EXPECT_EQ(d.recipients[0].reply.code(), 554);
  EXPECT_EQ(d.recipients[0].reply.enhanced(), "5.7.0");
  EXPECT_EQ(d.recipients[0].reply.text(), "Reject, id=Q1, BANNED: 2 x.exe: block ext=exe (f:1)");
  EXPECT_TRUE(d.recipients[0].header_edits.empty());
}

TEST(BankPolicyTest, SpamClassesFromTheScoreAndEachRecipientsLevels) {
  rules::SpamLevels strict;
  strict.kill_level = 3;
  rules::SpamLevels lenient;
  lenient.tag2_level = 50;
  lenient.kill_level = 100;
  MessageContext c = Context({}, 2);
  AddSpam(c, 7.5, {strict, lenient});
  BankPolicy policy({});
  Decision d = policy.Decide(c);
  EXPECT_EQ(d.content_class, ContentClass::kSpam);
  EXPECT_EQ(d.recipients[0].destiny, Destiny::kDiscard);
  EXPECT_EQ(d.recipients[1].destiny, Destiny::kPass);
  EXPECT_TRUE(d.quarantine);
  const auto& edits = d.recipients[1].header_edits;
  ASSERT_FALSE(edits.empty());
  EXPECT_EQ(edits[0].kind, HeaderEdit::Kind::kRemoveAll);
  EXPECT_EQ(edits[0].name, "X-Spam-*");
  bool status = false;
  for (const HeaderEdit& e : edits) {
    if (e.name == "X-Spam-Status") status = e.value.starts_with("No, score=7.5");
    EXPECT_NE(e.name, "Subject");  // under tag2 for this recipient
  }
  EXPECT_TRUE(status);
}

TEST(BankPolicyTest, NoBounceForObviousSpam) {
  BankPolicySettings s;
  s.spam_destiny = Destiny::kBounce;
  BankPolicy policy(s);
  MessageContext high = Context({});
  AddSpam(high, 12);
  EXPECT_EQ(policy.Decide(high).recipients[0].destiny, Destiny::kDiscard);
  MessageContext low = Context({});
  AddSpam(low, 8);
  EXPECT_EQ(policy.Decide(low).recipients[0].destiny, Destiny::kBounce);
}

TEST(BankPolicyTest, CleanFindingsDoNotChangeTheClass) {
  BankPolicy policy({});
  Decision d = policy.Decide(Context({F(ContentClass::kClean, "bad-base64")}));
  EXPECT_EQ(d.content_class, ContentClass::kClean);
  EXPECT_EQ(d.reason, "");
  for (const HeaderEdit& e : d.recipients[0].header_edits) EXPECT_NE(e.name, "X-Moat-Alert");
}

TEST(BankPolicyTest, QuarantineOnlyForConfiguredClasses) {
  BankPolicySettings s;
  s.quarantine_classes = {ContentClass::kVirus};
  BankPolicy policy(s);
  EXPECT_FALSE(policy.Decide(Context({F(ContentClass::kBanned, "x", "r")})).quarantine);
  EXPECT_TRUE(policy.Decide(Context({F(ContentClass::kVirus, "v")})).quarantine);
}

}  // namespace
}  // namespace moat::filterd
