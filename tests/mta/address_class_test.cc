// address_class_test.cc - canonical rewrite and resolution as trivial-rewrite does it for smtpd:
// the address forms of the classic relay tests, address classes, domain lists.
#include "mta/address_class.h"

#include <gtest/gtest.h>

#include "mta/domain_list.h"
#include "mta/mta_parameters.h"
#include "tests/support/test_support.h"

namespace moat::mta {

using smtpd_rewrite::AddressClass;
using smtpd_rewrite::AddressClassName;
using smtpd_rewrite::AddressResolver;
using smtpd_rewrite::DomainList;

namespace {

class AddressClassTest : public ::testing::Test {
 protected:
  void Load(const std::string& main_cf) {
    dir_.WriteFile("relay_domains", "tabled.example OK\n");
    dir_.WriteFile("main.cf", main_cf);
    config_ = core::Config::Load(MtaParameterRegistry(), {dir_.path(), "main.cf", {}});
    tables_ = std::make_unique<TableSet>(core::TableOpenOptions{dir_.path()});
    auto resolver = AddressResolver::Build(*config_, *tables_);
    ASSERT_TRUE(resolver) << resolver.error().message();
    resolver_ = std::move(*resolver);
  }
  ResolvedAddress Resolve(const std::string& address) {
    ResolvedAddress out;
    auto status = resolver_.Resolve(InternalizeAddress(address), out);
    EXPECT_TRUE(status) << address;
    return out;
  }

  moat::testing::TempDir dir_;
  std::shared_ptr<const core::Config> config_;
  std::unique_ptr<TableSet> tables_;
  AddressResolver resolver_;
};

constexpr const char* kSmarthost =
    "myhostname = mx.example.test\n"
    "mydomain = example.test\n"
    "mydestination = localhost\n"
    "inet_interfaces = loopback-only\n"
    "relay_domains = relay.example, hash:relay_domains\n"
    "virtual_alias_domains = alias.example\n"
    "virtual_mailbox_domains = mailbox.example\n";

TEST_F(AddressClassTest, ClassesInPostfixPrecedence) {
  Load(kSmarthost);
  struct Case {
    std::string address;
    AddressClass expected;
    std::string resolved;
  };
  const Case cases[] = {
      {"user@relay.example", AddressClass::kRelay, "user@relay.example"},
      {"User@Relay.Example", AddressClass::kRelay, "user@relay.example"},
      {"user@sub.relay.example", AddressClass::kRelay, "user@sub.relay.example"},  // parent style
      {"user@tabled.example", AddressClass::kRelay, "user@tabled.example"},
      {"user@alias.example", AddressClass::kAlias, "user@alias.example"},
      {"user@mailbox.example", AddressClass::kVirtual, "user@mailbox.example"},
      {"user@localhost", AddressClass::kLocal, "user@localhost"},
      {"user@[127.0.0.1]", AddressClass::kLocal, "user@[127.0.0.1]"},
      {"user@[10.1.2.3]", AddressClass::kDefault, "user@[10.1.2.3]"},
      {"user", AddressClass::kDefault, "user@mx.example.test"},  // @$myorigin, not ours
      {"user@other.example", AddressClass::kDefault, "user@other.example"},
      {"user@relay.example.", AddressClass::kRelay, "user@relay.example"},
      {"USER@OTHER.EXAMPLE.", AddressClass::kDefault, "user@other.example"},
      {"@hop1,@hop2:user@relay.example", AddressClass::kRelay, "user@relay.example"},
      {"\"\"@localhost", AddressClass::kLocal, "mailer-daemon@localhost"},
  };
  for (const Case& c : cases) {
    ResolvedAddress r = Resolve(c.address);
    EXPECT_EQ(r.address_class, c.expected) << c.address << " -> " << AddressClassName(r.address_class);
    EXPECT_EQ(r.address, c.resolved) << c.address;
    EXPECT_FALSE(r.routed) << c.address;
  }
}

TEST_F(AddressClassTest, RoutingOperatorsAreSeenWhateverTheForm) {
  Load(kSmarthost);
  // Addresses of relay_domains that route elsewhere: all must come back `routed`.
  const std::string routed[] = {
      "user%other.example@relay.example",
      "other.example!user@relay.example",
      "\"user@other.example\"@relay.example",
      "user@other.example@relay.example",
      "\"user%other.example\"@relay.example",
      "\"other.example!user\"@relay.example",
      "user%other.example%third.example@relay.example",
  };
  for (const std::string& address : routed) {
    ResolvedAddress r = Resolve(address);
    EXPECT_TRUE(r.routed) << address << " -> " << r.address;
    EXPECT_EQ(r.address_class, AddressClass::kRelay) << address;
  }
}

TEST_F(AddressClassTest, LocalDomainsAreStrippedAndTheRestResolvedAgain) {
  Load(kSmarthost);
  // user%other@<local> becomes user@other: not ours, so a relay attempt in the default class.
  const std::string cases[] = {"user%other.example@localhost", "other.example!user@localhost",
                               "user%other.example@[127.0.0.1]", "\"user@other.example\"@localhost",
                               "user@other.example@localhost"};
  for (const std::string& address : cases) {
    ResolvedAddress r = Resolve(address);
    EXPECT_EQ(r.address_class, AddressClass::kDefault) << address;
    EXPECT_EQ(r.address, "user@other.example") << address;
  }
  // ... and to a relay domain: relay class, not routed.
  ResolvedAddress r = Resolve("user%relay.example@localhost");
  EXPECT_EQ(r.address_class, AddressClass::kRelay);
  EXPECT_EQ(r.address, "user@relay.example");
}

TEST_F(AddressClassTest, DomainSyntax) {
  Load(kSmarthost);
  for (std::string bad : {"user@bad..example", "user@-bad.example", "user@[300.1.2.3]",
                                 "user@bad_%.example", "user@123.45", "user@[nonsense]"}) {
    EXPECT_TRUE(Resolve(bad).syntax_error) << bad;
  }
  for (std::string good : {"user@good.example", "user@[192.0.2.1]",
                                  "user@[IPv6:2001:db8::1]", "user@under_score.example"}) {
    EXPECT_FALSE(Resolve(good).syntax_error) << good;
  }
}

TEST_F(AddressClassTest, PercentHackAndBangPathCanBeTurnedOff) {
  Load(std::string(kSmarthost) + "allow_percent_hack = no\nswap_bangpath = no\n");
  ResolvedAddress r = Resolve("user%other.example@localhost");
  EXPECT_EQ(r.address_class, AddressClass::kLocal);
  EXPECT_EQ(r.address, "user%other.example@localhost");
}

TEST(HostnameSyntaxTest, AsPostfixValidHostname) {
  EXPECT_TRUE(IsValidHostname("mx.example.com"));
  EXPECT_TRUE(IsValidHostname("localhost"));
  EXPECT_TRUE(IsValidHostname("a-b.c_d.example"));
  EXPECT_FALSE(IsValidHostname(""));
  EXPECT_FALSE(IsValidHostname("-a.example"));
  EXPECT_FALSE(IsValidHostname("a-.example"));
  EXPECT_FALSE(IsValidHostname("a..example"));
  EXPECT_FALSE(IsValidHostname("example."));
  EXPECT_FALSE(IsValidHostname("1.2.3.4"));
  EXPECT_FALSE(IsValidHostname(std::string(64, 'a') + ".example"));
  EXPECT_FALSE(IsValidHostname("exa mple.com"));
  EXPECT_TRUE(IsValidHostLiteral("[192.0.2.1]"));
  EXPECT_TRUE(IsValidHostLiteral("[IPv6:::1]"));
  EXPECT_FALSE(IsValidHostLiteral("[IPv6:192.0.2.1]"));
  EXPECT_FALSE(IsValidHostLiteral("192.0.2.1"));
  EXPECT_EQ(StripTrailingDot("example.com."), "example.com");
  EXPECT_EQ(StripTrailingDot("example.com.."), "example.com..");
}

TEST(DomainListTest, PatternsTablesNegationAndStyles) {
  moat::testing::TempDir dir;
  dir.WriteFile("domains", "listed.example x\n");
  std::string file = dir.WriteFile("domain_file", "# comment\nfromfile.example\n");
  TableSet tables(core::TableOpenOptions{dir.path()});
  auto parent = DomainList::Parse(
      "!bad.example.com example.com, .dotted.example hash:domains " + file,
      core::ParentDomainStyle::kParent, tables);
  ASSERT_TRUE(parent) << parent.error().message();
  EXPECT_TRUE(*parent->Contains("example.com"));
  EXPECT_TRUE(*parent->Contains("EXAMPLE.com"));
  EXPECT_TRUE(*parent->Contains("sub.example.com"));
  EXPECT_FALSE(*parent->Contains("bad.example.com"));
  EXPECT_FALSE(*parent->Contains("notexample.com"));
  EXPECT_TRUE(*parent->Contains("a.dotted.example"));
  EXPECT_FALSE(*parent->Contains("dotted.example"));
  EXPECT_TRUE(*parent->Contains("listed.example"));
  EXPECT_TRUE(*parent->Contains("sub.listed.example"));
  EXPECT_TRUE(*parent->Contains("fromfile.example"));
  auto exact = DomainList::Parse("example.com", core::ParentDomainStyle::kNone, tables);
  ASSERT_TRUE(exact);
  EXPECT_FALSE(*exact->Contains("sub.example.com"));
  EXPECT_FALSE(DomainList::Parse("hash:missing", core::ParentDomainStyle::kNone, tables));
}

}  // namespace
}  // namespace moat::mta
