// dmarc_identifiers_test.cc - what DMARC takes from a message and from the Public Suffix List:
// organisational domains (Debian's list through libpsl, and a small list of our own for the
// wildcard and exception rules), author domains (one, several, none, junk), the Received-SPF
// fields trusted (only those the MTA in front added), and repeatable pct sampling.
#include "filterd/dmarc_identifiers.h"

#include <gtest/gtest.h>

#include "filterd/dmarc_public_suffix.h"
#include "tests/support/test_support.h"

namespace moat::filterd {
namespace {

std::shared_ptr<const PublicSuffixList> DebianList() {
  auto list = PublicSuffixList::Load(kDefaultPublicSuffixList);
  EXPECT_TRUE(list) << list.error().ToString() << " (Debian package publicsuffix)";
  return list ? *list : nullptr;
}

TEST(PublicSuffixListTest, OrganisationalDomainsFromDebiansList) {
  auto list = DebianList();
  ASSERT_TRUE(list);
  EXPECT_GT(list->rule_count(), 5000);
  struct Case {
    const char* domain;
    const char* org;
  };
  const Case cases[] = {
      // RFC 7489 section 3.2 and Appendix B: subdomains of example.com share it.
      {"example.com", "example.com"},
      {"mail.example.com", "example.com"},
      {"a.b.child.example.com", "example.com"},
      {"Mail.EXAMPLE.com.", "example.com"},
      {"sample.net", "sample.net"},
      // Multi-label public suffixes and the private section.
      {"a.b.example.co.uk", "example.co.uk"},
      {"co.uk", "co.uk"},  // a public suffix is its own organisational domain
      {"foo.blogspot.com", "foo.blogspot.com"},
      {"x.y.foo.blogspot.com", "foo.blogspot.com"},
      // Names under no rule: the implicit "*" rule.
      {"mx.example.test", "example.test"},
      {"test", "test"},
      // Unicode rules match A-labels: 公司.cn is a public suffix, xn--55qx5d.cn is it.
      {"a.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"},
      // Not a domain name: only ever equal to itself.
      {"a..example.com", "a..example.com"},
      {"", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(list->OrganizationalDomain(c.domain), c.org) << c.domain;
  }
}

TEST(PublicSuffixListTest, WildcardAndExceptionRulesOfASmallList) {
  moat::testing::TempDir dir;
  std::string path = dir.WriteFile("list.dat",
                                   "// ===BEGIN ICANN DOMAINS===\n"
                                   "com\nuk\nco.uk\n*.ck\n!www.ck\n"
                                   "// ===END ICANN DOMAINS===\n");
  auto list = PublicSuffixList::Load(path);
  ASSERT_TRUE(list) << list.error().ToString();
  EXPECT_EQ((*list)->OrganizationalDomain("mail.example.co.uk"), "example.co.uk");
  EXPECT_EQ((*list)->OrganizationalDomain("a.b.foo.ck"), "b.foo.ck");  // *.ck: foo.ck is a suffix
  EXPECT_EQ((*list)->OrganizationalDomain("mail.www.ck"), "www.ck");   // !www.ck: ck is the suffix
  EXPECT_EQ((*list)->OrganizationalDomain("www.ck"), "www.ck");
}

TEST(PublicSuffixListTest, LoadErrors) {
  auto missing = PublicSuffixList::Load("/nonexistent/public_suffix_list.dat");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), core::ErrorCode::kIo);
  moat::testing::TempDir dir;
  auto empty = PublicSuffixList::Load(dir.WriteFile("empty.dat", "// nothing\n"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), core::ErrorCode::kInvalid);
}

TEST(AuthorDomainsTest, FromFieldsAndTheirAddresses) {
  AuthorDomains one = FindAuthorDomains(
      "From: \"Example, Inc.\" <Sender@Mail.Example.COM>\r\nTo: r@example.org\r\n\r\nbody\r\n");
  EXPECT_EQ(one.domains, std::vector<std::string>{"mail.example.com"});
  EXPECT_TRUE(one.problem.empty());
  EXPECT_EQ(one.from_fields, 1u);

  // A From with several addresses, folded, and a second From field: every domain counts.
  AuthorDomains many = FindAuthorDomains(
      "From: a@example.com,\r\n b@example.org, (comment@x) c@EXAMPLE.com\r\n"
      "From: d@example.net\r\n\r\n");
  EXPECT_EQ(many.domains, (std::vector<std::string>{"example.com", "example.org", "example.net"}));
  EXPECT_EQ(many.from_fields, 2u);
  EXPECT_TRUE(many.problem.empty());

  AuthorDomains none = FindAuthorDomains("To: r@example.org\r\nSubject: x\r\n\r\n");
  EXPECT_EQ(none.problem, "no From field");
  AuthorDomains local = FindAuthorDomains("From: root\r\n\r\n");
  EXPECT_EQ(local.problem, "no From address with a domain DMARC can check");
  AuthorDomains literal = FindAuthorDomains("From: a@[192.0.2.1], b@bad..example\r\n\r\n");
  EXPECT_FALSE(literal.problem.empty());
  EXPECT_EQ(literal.notes.size(), 2u);

  std::string crowd = "From: ";
  for (int i = 0; i < 9; ++i) crowd += "u@d" + std::to_string(i) + ".example, ";
  crowd += "u@last.example\r\n\r\n";
  AuthorDomains too_many = FindAuthorDomains(crowd);
  EXPECT_EQ(too_many.problem, "From names 10 domains (at most 8 are checked)");

  AuthorDomains broken = FindAuthorDomains("not a header line\r\n\r\n");
  EXPECT_FALSE(broken.problem.empty());
}

TEST(AuthorDomainsTest, DnsNames) {
  EXPECT_TRUE(IsDnsDomainName("example.com"));
  EXPECT_TRUE(IsDnsDomainName("a-b_c.example"));
  EXPECT_FALSE(IsDnsDomainName("example.com."));
  EXPECT_FALSE(IsDnsDomainName(".example.com"));
  EXPECT_FALSE(IsDnsDomainName("a..b"));
  EXPECT_FALSE(IsDnsDomainName("[192.0.2.1]"));
  EXPECT_FALSE(IsDnsDomainName(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(IsDnsDomainName("ex\xc3\xa4mple.com"));
}

TEST(TrustedSpfTest, OnlyFieldsAboveTheTopmostReceivedCount) {
  // What moat-mta's smtpd writes: HELO and MAIL FROM results above its own Received field.
  std::string mta =
      "Received-SPF: none (mx.moat.test: no SPF record) client-ip=192.0.2.1; helo=mx.example.org;"
      " receiver=mx.moat.test; identity=helo\r\n"
      "Received-SPF: pass (mx.moat.test: domain of a@example.com designates 192.0.2.1)\r\n"
      "\tclient-ip=192.0.2.1; envelope-from=a@example.com; helo=mx.example.org;\r\n"
      "\treceiver=mx.moat.test; identity=mailfrom\r\n"
      "Received: from mx.example.org ([192.0.2.1]) by mx.moat.test with ESMTP id 1\r\n";
  // What the client sent: a forged pass below the MTA's Received field.
  std::string client =
      "Received-SPF: pass client-ip=203.0.113.9; envelope-from=ceo@bank.example\r\n"
      "From: a@example.com\r\n\r\nbody\r\n";
  MtaSpfResults trusted = TrustedSpfResults(mta + client);
  ASSERT_TRUE(trusted.mail_from);
  EXPECT_EQ(trusted.mail_from->result, core::SpfResult::kPass);
  EXPECT_EQ(trusted.mail_from->Domain(), "example.com");
  ASSERT_TRUE(trusted.helo);
  EXPECT_EQ(trusted.helo->result, core::SpfResult::kNone);
  EXPECT_EQ(trusted.helo->Domain(), "mx.example.org");

  MtaSpfResults forged = TrustedSpfResults("Received: from x by mx.moat.test\r\n" + client);
  EXPECT_FALSE(forged.mail_from);
  EXPECT_FALSE(forged.helo);
}

TEST(SampleBucketTest, RepeatableAndSpread) {
  std::string message = "From: a@example.com\r\nMessage-ID: <1@example.com>\r\n\r\nx\r\n";
  uint32_t bucket = DmarcSampleBucket(message);
  EXPECT_LT(bucket, 100u);
  EXPECT_EQ(DmarcSampleBucket(message), bucket);
  // Only the Message-ID counts when there is one: a retry with another Received field is the
  // same message.
  EXPECT_EQ(DmarcSampleBucket("Received: by relay\r\n" + message), bucket);
  // Without one, the header section.
  std::string plain = "From: a@example.com\r\nSubject: s\r\n\r\nx\r\n";
  EXPECT_EQ(DmarcSampleBucket(plain), DmarcSampleBucket(plain + "other body\r\n"));
  // A thousand Message-IDs land in every quarter of the range.
  int quarters[4] = {0, 0, 0, 0};
  for (int i = 0; i < 1000; ++i) {
    uint32_t b = DmarcSampleBucket("Message-ID: <" + std::to_string(i) + "@example.com>\r\n\r\n");
    ++quarters[b / 25];
  }
  for (int q : quarters) EXPECT_GT(q, 150);
}

}  // namespace
}  // namespace moat::filterd
