// dmarc_record_test.cc - DMARC policy records (RFC 7489 section 6.3/6.4): which TXT records are
// DMARC records, the tags, and malformed records (no policy, defaults, notes).
#include <random>

#include "filterd/dmarc_identifiers.h"
#include "filterd/dmarc_record.h"

#include <gtest/gtest.h>

namespace moat::filterd {
namespace {

TEST(DmarcRecordTest, RecognisesOnlyRecordsStartingWithVersion1) {
  EXPECT_TRUE(IsDmarcRecord("v=DMARC1; p=none"));
  EXPECT_TRUE(IsDmarcRecord("v=DMARC1"));
  EXPECT_TRUE(IsDmarcRecord("  V = DMARC1 ;p=reject"));  // tag names are case-insensitive
  EXPECT_FALSE(IsDmarcRecord("v=dmarc1; p=reject"));     // the value is not
  EXPECT_FALSE(IsDmarcRecord("v=DMARC10; p=reject"));
  EXPECT_FALSE(IsDmarcRecord("p=reject; v=DMARC1"));  // v must come first
  EXPECT_FALSE(IsDmarcRecord("v=spf1 -all"));
  EXPECT_FALSE(IsDmarcRecord(""));
}

// RFC 7489 Appendix B.2: the Domain Owner examples, as published.
TEST(DmarcRecordTest, AppendixB2RecordsParse) {
  auto b21 = ParseDmarcRecord("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com");
  ASSERT_TRUE(b21) << b21.error().ToString();
  EXPECT_EQ(b21->policy, DmarcPolicy::kNone);
  EXPECT_FALSE(b21->subdomain_policy);
  EXPECT_EQ(b21->dkim_alignment, DmarcAlignment::kRelaxed);
  EXPECT_EQ(b21->spf_alignment, DmarcAlignment::kRelaxed);
  EXPECT_EQ(b21->percent, 100);
  EXPECT_TRUE(b21->notes.empty());

  auto b23 = ParseDmarcRecord(
      "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
      "ruf=mailto:auth-reports@thirdparty.example.net");
  ASSERT_TRUE(b23);
  EXPECT_EQ(b23->policy, DmarcPolicy::kNone);

  // B.2.4, its four TXT strings joined.
  auto b24 = ParseDmarcRecord(
      "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
      "mailto:tld-test@thirdparty.example.net!10m; pct=25");
  ASSERT_TRUE(b24);
  EXPECT_EQ(b24->policy, DmarcPolicy::kQuarantine);
  EXPECT_EQ(b24->percent, 25);
  EXPECT_EQ(b24->Summary(), "p=quarantine adkim=r aspf=r pct=25");

  // B.3.1.
  auto b31 = ParseDmarcRecord("v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com");
  ASSERT_TRUE(b31);
  EXPECT_EQ(b31->policy, DmarcPolicy::kReject);
  EXPECT_EQ(b31->spf_alignment, DmarcAlignment::kRelaxed);
}

TEST(DmarcRecordTest, EveryTagAndWhitespace) {
  auto r = ParseDmarcRecord(
      "v=DMARC1;p=REJECT ; sp = quarantine;adkim=s; aspf=S; pct=0; fo=1; rf=afrf; ri=3600; "
      "ruf=mailto:f@example.com; x-future=1;");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->policy, DmarcPolicy::kReject);
  ASSERT_TRUE(r->subdomain_policy);
  EXPECT_EQ(*r->subdomain_policy, DmarcPolicy::kQuarantine);
  EXPECT_EQ(r->dkim_alignment, DmarcAlignment::kStrict);
  EXPECT_EQ(r->spf_alignment, DmarcAlignment::kStrict);
  EXPECT_EQ(r->percent, 0);
  EXPECT_TRUE(r->notes.empty());  // reporting and unknown tags are ignored without a word
  EXPECT_EQ(r->Summary(), "p=reject sp=quarantine adkim=s aspf=s pct=0");
}

TEST(DmarcRecordTest, MalformedPolicyMeansNoPolicyUnlessRuaIsValid) {
  struct Case {
    const char* record;
    bool usable;
  };
  const Case cases[] = {
      {"v=DMARC1", false},  // B.2.3's report authorisation
      {"v=DMARC1;", false},
      {"v=DMARC1; p=block", false},
      {"v=DMARC1; p=", false},
      {"v=DMARC1; p=reject; sp=maybe", false},
      {"v=DMARC1; rua=not a uri", false},
      {"v=DMARC1; rua=mailto:a@example.com!10x", false},  // bad size suffix
      {"v=DMARC1; rua=mailto:a@example.com", true},       // acts as p=none
      {"v=DMARC1; p=block; rua=junk, mailto:a@example.com!5m", true},
      {"v=DMARC1; p=reject; sp=maybe; rua=https://r.example.net/dmarc", true},
  };
  for (const Case& c : cases) {
    auto r = ParseDmarcRecord(c.record);
    EXPECT_EQ(r.has_value(), c.usable) << c.record;
    if (r) {
      EXPECT_EQ(r->policy, DmarcPolicy::kNone) << c.record;
      EXPECT_FALSE(r->subdomain_policy) << c.record;
      EXPECT_TRUE(r->policy_from_rua) << c.record;
      EXPECT_FALSE(r->notes.empty()) << c.record;
    } else {
      EXPECT_EQ(r.error().code(), core::ErrorCode::kInvalid);
      EXPECT_NE(r.error().message().find("malformed DMARC record"), std::string::npos);
    }
  }
}

TEST(DmarcRecordTest, BadOptionalValuesFallBackToDefaultsWithANote) {
  auto r = ParseDmarcRecord("v=DMARC1; p=quarantine; adkim=x; aspf=; pct=150; junk; p=none");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->policy, DmarcPolicy::kQuarantine);  // the first p counts
  EXPECT_EQ(r->dkim_alignment, DmarcAlignment::kRelaxed);
  EXPECT_EQ(r->spf_alignment, DmarcAlignment::kRelaxed);
  EXPECT_EQ(r->percent, 100);
  ASSERT_EQ(r->notes.size(), 5u);
  EXPECT_EQ(r->notes[0], "\"junk\": not a tag, ignored");
  EXPECT_EQ(r->notes[1], "adkim=x: not r or s, using r");
  EXPECT_EQ(r->notes[4], "p=none: repeated tag, ignored");
  for (const char* pct : {"-1", "1.5", "0x10", "1000", " "}) {
    auto p = ParseDmarcRecord(std::string("v=DMARC1; p=reject; pct=") + pct);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->percent, 100) << pct;
  }
}

TEST(DmarcRecordTest, NotADmarcRecordIsInvalid) {
  auto r = ParseDmarcRecord("v=spf1 -all");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), core::ErrorCode::kInvalid);
}

TEST(DmarcRecordTest, LessStrictPolicyForUnsampledMail) {
  EXPECT_EQ(NextLessStrict(DmarcPolicy::kReject), DmarcPolicy::kQuarantine);
  EXPECT_EQ(NextLessStrict(DmarcPolicy::kQuarantine), DmarcPolicy::kNone);
  EXPECT_EQ(NextLessStrict(DmarcPolicy::kNone), DmarcPolicy::kNone);
}

// Records and From fields come from the network: junk of every kind gets an answer, never a
// crash, a hang or an exception.
TEST(DmarcRecordTest, HostileInputIsAnsweredNotFatal) {
  std::mt19937 random(7489);
  std::string alphabet = "v=DMARC1;p rejctqusnoa,!:@.<>\"()\\\t\r\n\xff";
  alphabet += '\0';
  for (int i = 0; i < 3000; ++i) {
    std::string text = i % 2 == 0 ? "v=DMARC1;" : "From: ";
    size_t length = random() % 300;
    for (size_t j = 0; j < length; ++j) text += alphabet[random() % alphabet.size()];
    auto record = ParseDmarcRecord(text);
    if (record) {
      EXPECT_LE(record->percent, 100);
    }
    AuthorDomains authors = FindAuthorDomains(text + "\r\n\r\n");
    EXPECT_LE(authors.domains.size(), 100u);
    EXPECT_LT(DmarcSampleBucket(text), 100u);
  }
  std::string huge = "v=DMARC1; p=reject; " + std::string(1 << 20, ';') + " pct=5";
  auto record = ParseDmarcRecord(huge);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->percent, 5);
}

}  // namespace
}  // namespace moat::filterd
