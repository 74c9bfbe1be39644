// spf_record_test.cc - SPF record syntax (RFC 7208 section 12) and macro expansion (section 7,
// with the examples of 7.4), table-driven; the Received-SPF field format and parser.
#include <gtest/gtest.h>

#include "core/received_spf.h"
#include "mta/spf_macro.h"
#include "mta/spf_record.h"

namespace moat::mta {
namespace {

TEST(SpfRecordTest, SelectsVersionOneRecords) {
  EXPECT_TRUE(IsSpfRecord("v=spf1"));
  EXPECT_TRUE(IsSpfRecord("v=spf1 -all"));
  EXPECT_TRUE(IsSpfRecord("V=SPF1 -all"));
  EXPECT_FALSE(IsSpfRecord("v=spf10 -all"));
  EXPECT_FALSE(IsSpfRecord("v=spf1-all"));
  EXPECT_FALSE(IsSpfRecord("spf2.0/pra -all"));
  EXPECT_FALSE(IsSpfRecord(" v=spf1 -all"));
}

TEST(SpfRecordTest, ParsesEveryMechanismAndModifier) {
  auto record = ParseSpfRecord(
      "v=spf1 +all -include:_spf.example.com ~a a:mail.example.com/24//64 mx/30 "
      "?mx:%{d}.example.net ptr ptr:example.org ip4:192.0.2.0/24 ip6:2001:db8::/32 "
      "exists:%{ir}.%{l1r+-}._spf.%{d} redirect=_spf.example.com exp=explain._spf.%{d} "
      "unknown-mod=%{l}.whatever");
  ASSERT_TRUE(record) << record.error().message();
  ASSERT_EQ(record->mechanisms.size(), 11u);
  EXPECT_EQ(record->mechanisms[0].kind, SpfMechanismKind::kAll);
  EXPECT_EQ(record->mechanisms[0].qualifier, core::SpfResult::kPass);
  EXPECT_EQ(record->mechanisms[1].kind, SpfMechanismKind::kInclude);
  EXPECT_EQ(record->mechanisms[1].qualifier, core::SpfResult::kFail);
  EXPECT_EQ(record->mechanisms[1].domain_spec, "_spf.example.com");
  EXPECT_EQ(record->mechanisms[2].qualifier, core::SpfResult::kSoftFail);
  EXPECT_EQ(record->mechanisms[2].domain_spec, "");
  EXPECT_EQ(record->mechanisms[3].domain_spec, "mail.example.com");
  EXPECT_EQ(record->mechanisms[3].cidr4, 24);
  EXPECT_EQ(record->mechanisms[3].cidr6, 64);
  EXPECT_EQ(record->mechanisms[4].kind, SpfMechanismKind::kMx);
  EXPECT_EQ(record->mechanisms[4].cidr4, 30);
  EXPECT_EQ(record->mechanisms[4].cidr6, 128);
  EXPECT_EQ(record->mechanisms[5].qualifier, core::SpfResult::kNeutral);
  EXPECT_EQ(record->mechanisms[7].domain_spec, "example.org");
  EXPECT_EQ(record->mechanisms[8].network->ToString(), "192.0.2.0/24");
  EXPECT_EQ(record->mechanisms[9].network->ToString(), "[2001:db8::]/32");
  EXPECT_EQ(record->mechanisms[10].kind, SpfMechanismKind::kExists);
  EXPECT_EQ(record->redirect, "_spf.example.com");
  EXPECT_EQ(record->exp, "explain._spf.%{d}");
  EXPECT_TRUE(record->has_all);
}

TEST(SpfRecordTest, DomainSpecMayContainSlashes) {
  auto record = ParseSpfRecord("v=spf1 -mx:%%%_/.Clara.de/27");
  ASSERT_TRUE(record) << record.error().message();
  EXPECT_EQ(record->mechanisms[0].domain_spec, "%%%_/.Clara.de");
  EXPECT_EQ(record->mechanisms[0].cidr4, 27);
}

TEST(SpfRecordTest, SyntaxErrorsArePermanent) {
  const char* bad[] = {
      "v=spf1 foo",                     // unknown mechanism
      "v=spf1 -all:3030",               // all takes nothing
      "v=spf1 include",                 // include needs a domain
      "v=spf1 include:",                // empty domain
      "v=spf1 a:example.123",           // numeric top label
      "v=spf1 a:localhost",             // not fully qualified
      "v=spf1 a:example.com:8080",      // port is not a domain
      "v=spf1 ip4:192.0.2.0/33",        // CIDR too long
      "v=spf1 ip4:1.2.03.4",            // leading zero
      "v=spf1 ip4:1.2.3.444",           // octet too large
      "v=spf1 ip4:192.0.2.1/024",       // leading zero in the length
      "v=spf1 ip6:2001:db8::/129",      // CIDR too long
      "v=spf1 ip6:192.0.2.1",           // not IPv6
      "v=spf1 a/33",                    // CIDR too long
      "v=spf1 a//129",                  // IPv6 CIDR too long
      "v=spf1 exists:%{x}.example.com", // unknown macro letter
      "v=spf1 exists:%{d0}.example.com",// zero digits
      "v=spf1 exists:%.example.com",    // lone percent
      "v=spf1 exists:%{c}.example.com", // c only in explanations
      "v=spf1 redirect=a.example.com redirect=b.example.com",
      "v=spf1 exp=a.example.com exp=b.example.com",
      "v=spf1 -all caf\xc3\xa9=1",      // non-ASCII
      "v=spf1 ptr/24",                  // ptr has no CIDR
      "v=spf1 unknown=%",               // bad macro in an unknown modifier
  };
  for (const char* text : bad) {
    auto record = ParseSpfRecord(text);
    EXPECT_FALSE(record) << text;
    if (!record) {
      EXPECT_EQ(record.error().code(), core::ErrorCode::kInvalid) << text;
    }
  }
}

TEST(SpfRecordTest, AcceptedOddities) {
  const char* good[] = {
      "v=spf1",                          // no terms: neutral
      "v=spf1    -all   ",               // several spaces
      "v=spf1 a:mail.example.com.",      // trailing dot
      "v=spf1 a:foo-bar.1-2",            // hyphenated numeric top label
      "v=spf1 exists:%{i}.%{s1}.100/86400.rate.%{d}",
      "v=spf1 Include:Example.COM -ALL", // case
      "v=spf1 ip6:::ffff:192.0.2.0/120", // IPv4-mapped
  };
  for (const char* text : good) {
    auto record = ParseSpfRecord(text);
    EXPECT_TRUE(record) << text << ": " << (record ? "" : record.error().message());
  }
}

class SpfMacroTest : public ::testing::Test {
 protected:
  SpfMacroValues V4() {
    SpfMacroValues v;
    v.sender = "strong-bad@email.example.com";
    v.local_part = "strong-bad";
    v.sender_domain = "email.example.com";
    v.domain = "email.example.com";
    v.ip = asio::ip::make_address("192.0.2.3");
    v.helo = "mx.example.org";
    v.receiver = "receiver.example";
    v.timestamp = 1700000000;
    return v;
  }
  std::string Expand(std::string_view text, const SpfMacroValues& values,
                     SpfMacroMode mode = SpfMacroMode::kDomainSpec) {
    auto out = ExpandSpfMacros(text, values, mode);
    EXPECT_TRUE(out) << text << ": " << (out ? "" : out.error().message());
    return out ? *out : std::string();
  }
};

TEST_F(SpfMacroTest, Rfc7208Section74Examples) {
  const std::pair<const char*, const char*> examples[] = {
      {"%{s}", "strong-bad@email.example.com"},
      {"%{o}", "email.example.com"},
      {"%{d}", "email.example.com"},
      {"%{d4}", "email.example.com"},
      {"%{d3}", "email.example.com"},
      {"%{d2}", "example.com"},
      {"%{d1}", "com"},
      {"%{dr}", "com.example.email"},
      {"%{d2r}", "example.email"},
      {"%{l}", "strong-bad"},
      {"%{l-}", "strong.bad"},
      {"%{lr}", "strong-bad"},
      {"%{lr-}", "bad.strong"},
      {"%{l1r-}", "strong"},
      {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
      {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
      {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
      {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
      {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
      {"%{h}", "mx.example.org"},
      {"%{p}", "unknown"},
      {"%%%_%-", "% %20"},
      {"%{S}", "strong-bad%40email.example.com"},
  };
  for (const auto& [text, want] : examples) EXPECT_EQ(Expand(text, V4()), want) << text;
}

TEST_F(SpfMacroTest, Ipv6AndExplanationOnlyLetters) {
  SpfMacroValues v = V4();
  v.ip = asio::ip::make_address("2001:db8::cb01");
  EXPECT_EQ(Expand("%{ir}.%{v}._spf.%{d2}", v),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  EXPECT_EQ(Expand("%{c} %{r} %{t}", v, SpfMacroMode::kExplanation),
            "2001:db8::cb01 receiver.example 1700000000");
  EXPECT_FALSE(ExpandSpfMacros("%{c}", v, SpfMacroMode::kDomainSpec));
  EXPECT_EQ(Expand("%{i}", V4()), "192.0.2.3");
}

TEST_F(SpfMacroTest, DelimitersAndLongNames) {
  SpfMacroValues v = V4();
  v.local_part = "a+b=c/d_e,f";
  EXPECT_EQ(Expand("%{l+=/_,}", v), "a.b.c.d.e.f");
  EXPECT_EQ(Expand("%{l2r+}", v), "b=c/d_e,f.a");
  EXPECT_TRUE(UsesPtrMacro("x.%{p}.example.com"));
  EXPECT_TRUE(UsesPtrMacro("x.%{P2}.example.com"));
  EXPECT_FALSE(UsesPtrMacro("x.%{d}.example.com"));
  std::string label(60, 'a');
  std::string name;
  for (int i = 0; i < 6; ++i) name += label + ".";
  name += "example.com.";
  std::string truncated = TruncateSpfDomain(name);
  EXPECT_LE(truncated.size(), 253u);
  EXPECT_TRUE(truncated.ends_with("example.com"));
  EXPECT_EQ(truncated.front(), 'a');
}

TEST(ReceivedSpfTest, FormatsAndParsesRfc7208Fields) {
  core::ReceivedSpf field;
  field.result = core::SpfResult::kPass;
  field.comment = "mybox.example.org: domain of myname@example.com designates 192.0.2.1 as "
                  "permitted sender";
  field.receiver = "mybox.example.org";
  field.client_ip = "192.0.2.1";
  field.envelope_from = "myname@example.com";
  field.helo = "foo.example.com";
  std::string header = core::FormatReceivedSpf(field);
  EXPECT_TRUE(header.starts_with("Received-SPF: pass (mybox.example.org: domain of"));
  EXPECT_NE(header.find("envelope-from=\"myname@example.com\";"), std::string::npos) << header;
  EXPECT_NE(header.find("client-ip=192.0.2.1;"), std::string::npos) << header;
  EXPECT_TRUE(header.ends_with("\r\n"));
  for (size_t at = 0, end; (end = header.find("\r\n", at)) != std::string::npos; at = end + 2) {
    EXPECT_LE(end - at, 78u) << header;
  }
  auto parsed = core::ParseReceivedSpf(header.substr(header.find(':') + 1));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->result, core::SpfResult::kPass);
  EXPECT_EQ(parsed->identity, core::SpfIdentity::kMailFrom);
  EXPECT_EQ(parsed->envelope_from, "myname@example.com");
  EXPECT_EQ(parsed->helo, "foo.example.com");
  EXPECT_EQ(parsed->client_ip, "192.0.2.1");
  EXPECT_EQ(parsed->comment, field.comment);
  EXPECT_EQ(parsed->Domain(), "example.com");
  EXPECT_EQ(core::SpfAuthenticationResult(*parsed), "spf=pass smtp.mailfrom=example.com");

  std::string line = core::FormatReceivedSpf(field, "");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
}

TEST(ReceivedSpfTest, ParsesPolicydSpfAndRejectsGarbage) {
  auto policyd = core::ParseReceivedSpf(
      " Pass (mailfrom) identity=mailfrom; client-ip=2001:db8::25; helo=mx.example.net; "
      "envelope-from=bounce@Example.NET; receiver=<UNKNOWN> ");
  ASSERT_TRUE(policyd);
  EXPECT_EQ(policyd->result, core::SpfResult::kPass);
  EXPECT_EQ(policyd->Domain(), "example.net");
  EXPECT_EQ(policyd->client_ip, "2001:db8::25");
  auto helo = core::ParseReceivedSpf("None (no SPF record) identity=helo; helo=mx.example.net");
  ASSERT_TRUE(helo);
  EXPECT_EQ(helo->identity, core::SpfIdentity::kHelo);
  EXPECT_EQ(core::SpfRuleName(helo->result, helo->identity), "SPF_HELO_NONE");
  EXPECT_FALSE(core::ParseReceivedSpf("maybe (who knows)"));
  EXPECT_FALSE(core::ParseReceivedSpf(""));
  EXPECT_TRUE(core::ParseReceivedSpf("softfail ((((unbalanced"));
}

TEST(ReceivedSpfTest, OnlyFieldsAboveTheFirstReceivedAreTrusted) {
  std::string message =
      "Received-SPF: fail (ours) identity=mailfrom; envelope-from=a@bad.example\r\n"
      "Received: from x by y\r\n"
      "Received-SPF: pass (forged) identity=mailfrom; envelope-from=a@bad.example\r\n"
      "Subject: hi\r\n\r\nReceived-SPF: pass body\r\n";
  auto trusted = core::TrustedReceivedSpf(message);
  ASSERT_EQ(trusted.size(), 1u);
  EXPECT_EQ(trusted[0].result, core::SpfResult::kFail);
  EXPECT_EQ(trusted[0].comment, "ours");
}

TEST(ReceivedSpfTest, RuleNamesAsSpamAssassin) {
  using core::SpfIdentity;
  using core::SpfResult;
  EXPECT_EQ(core::SpfRuleName(SpfResult::kPass, SpfIdentity::kMailFrom), "SPF_PASS");
  EXPECT_EQ(core::SpfRuleName(SpfResult::kFail, SpfIdentity::kMailFrom), "SPF_FAIL");
  EXPECT_EQ(core::SpfRuleName(SpfResult::kSoftFail, SpfIdentity::kMailFrom), "SPF_SOFTFAIL");
  EXPECT_EQ(core::SpfRuleName(SpfResult::kNeutral, SpfIdentity::kMailFrom), "SPF_NEUTRAL");
  EXPECT_EQ(core::SpfRuleName(SpfResult::kNone, SpfIdentity::kMailFrom), "SPF_NONE");
  EXPECT_EQ(core::SpfRuleName(SpfResult::kTempError, SpfIdentity::kMailFrom), "T_SPF_TEMPERROR");
  EXPECT_EQ(core::SpfRuleName(SpfResult::kPermError, SpfIdentity::kMailFrom), "T_SPF_PERMERROR");
  EXPECT_EQ(core::SpfRuleName(SpfResult::kPass, SpfIdentity::kHelo), "SPF_HELO_PASS");
  EXPECT_EQ(core::SpfRuleName(SpfResult::kTempError, SpfIdentity::kHelo),
            "T_SPF_HELO_TEMPERROR");
}

}  // namespace
}  // namespace moat::mta
