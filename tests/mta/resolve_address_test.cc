// resolve_address_test.cc - address classes, transport_maps precedence and nexthop defaults,
// table-driven from the examples of transport(5), relocated(5), postconf(5) and Postfix's
// ADDRESS_CLASS_README.
#include "mta/resolve_address.h"

#include <gtest/gtest.h>

#include "tests/mta/routing_fixture.h"

namespace moat::mta {
namespace {

using testing::RoutingFixture;

constexpr const char* kMainCf = R"(myhostname = mx.example.test
mydomain = example.test
mydestination = $myhostname, localhost.$mydomain, localhost
inet_interfaces = loopback-only
relay_domains = relay.test, hash:relay_domains
virtual_alias_domains = alias.test
virtual_mailbox_domains = mailbox.test
transport_maps = hash:transport
relocated_maps = hash:relocated
recipient_delimiter = +
amavisfeed_destination_recipient_limit = 1
defer_transports = slow
)";

// transport(5) EXAMPLES, plus the other result forms.
constexpr const char* kTransport = R"(# transport(5)
example.com      smtp:bar.example:2025
.example.com     smtp:[gateway.example.com]
kdent@example.com error:no mail accepted for kdent
my.domain        :
.my.domain       :
slow.test        slow:
gw.test          :[gateway.gw.test]
uucp.test        uucp:example
.err.test        error:mail for *.err.test is not deliverable
bounce.test      error:
multi.test       smtp:bar.example, foo.example
lmtp.test        lmtp:unix:/var/run/lmtp.sock
lmtpinet.test    lmtp:inet:127.0.0.1:2424
lmtpbracket.test lmtp:[::1]:2525
user+ext@ext.test smtp:[ext-full]
user@ext.test    smtp:[ext-stripped]
ext.test         smtp:[ext-domain]
retry.test       retry:4.3.2 try later
discard.test     discard:silently dropped
sub.relay.test   relay:[relay-sub.test]:2626
ipv6.test        smtp:[ipv6:2001:db8::1]:25
bad.test         smtp:[unclosed
)";

struct Case {
  const char* recipient;
  const char* recipient_after;  // "" = same as recipient
  AddressClass address_class;
  const char* transport;
  const char* nexthop;
  DeliveryAgentKind agent;
  bool failure;
};

class ResolveAddressTest : public ::testing::Test {
 protected:
  ResolveAddressTest()
      : fixture_(kMainCf, {{"transport", kTransport},
                           {"relocated", "old@relay.test new@example.net\n"
                                         "@gone.relay.test the sales department, +1 555 0100\n"},
                           {"relay_domains", "relaytable.test ok\n"}}) {}

  Resolution Resolve(const std::string& recipient, const std::string& sender = "s@example.org") {
    auto r = fixture_.resolver().Resolve(sender, recipient);
    EXPECT_TRUE(r.has_value()) << recipient << ": " << r.error().ToString();
    return r.value_or(Resolution{});
  }

  RoutingFixture fixture_;
};

TEST_F(ResolveAddressTest, TableOfCases) {
  using A = AddressClass;
  using K = DeliveryAgentKind;
  const Case kCases[] = {
      // transport(5) search order: full address, stripped address, domain, .parent, then the
      // class default.
      {"user@example.com", "", A::kDefault, "smtp", "bar.example:2025", K::kSmtp, false},
      {"USER@Example.COM", "", A::kDefault, "smtp", "bar.example:2025", K::kSmtp, false},
      {"user@sub.example.com", "", A::kDefault, "smtp", "[gateway.example.com]", K::kSmtp, false},
      {"user@a.b.example.com", "", A::kDefault, "smtp", "[gateway.example.com]", K::kSmtp, false},
      {"kdent@example.com", "", A::kDefault, "error", "no mail accepted for kdent", K::kError,
       false},
      {"user+ext@ext.test", "", A::kDefault, "smtp", "[ext-full]", K::kSmtp, false},
      {"user+other@ext.test", "", A::kDefault, "smtp", "[ext-stripped]", K::kSmtp, false},
      {"other@ext.test", "", A::kDefault, "smtp", "[ext-domain]", K::kSmtp, false},
      // Empty fields: ":" changes nothing, "slow:" resets the nexthop to the domain,
      // ":[gw]" keeps the transport.
      {"user@my.domain", "", A::kDefault, "smtp", "my.domain", K::kSmtp, false},
      {"user@host.my.domain", "", A::kDefault, "smtp", "host.my.domain", K::kSmtp, false},
      {"user@slow.test", "", A::kDefault, "slow", "slow.test", K::kSmtp, false},
      {"user@gw.test", "", A::kDefault, "smtp", "[gateway.gw.test]", K::kSmtp, false},
      {"user@x.err.test", "", A::kDefault, "error", "mail for *.err.test is not deliverable",
       K::kError, false},
      {"user@err.test", "", A::kDefault, "smtp", "err.test", K::kSmtp, false},
      {"user@bounce.test", "", A::kDefault, "error", "Address is undeliverable", K::kError, false},
      {"user@uucp.test", "", A::kDefault, "uucp", "example", K::kUnsupported, true},
      {"user@multi.test", "", A::kDefault, "smtp", "bar.example, foo.example", K::kSmtp, false},
      {"user@lmtp.test", "", A::kDefault, "lmtp", "unix:/var/run/lmtp.sock", K::kLmtp, false},
      {"user@lmtpinet.test", "", A::kDefault, "lmtp", "inet:127.0.0.1:2424", K::kLmtp, false},
      {"user@retry.test", "", A::kDefault, "retry", "4.3.2 try later", K::kRetry, false},
      {"user@discard.test", "", A::kDefault, "discard", "silently dropped", K::kDiscard, false},
      {"user@bad.test", "", A::kDefault, "smtp", "[unclosed", K::kSmtp, true},
      // Address classes (ADDRESS_CLASS_README).
      {"user@mx.example.test", "", A::kLocal, "local", "mx.example.test", K::kUnsupported, true},
      {"user@localhost", "", A::kLocal, "local", "mx.example.test", K::kUnsupported, true},
      {"user", "user@mx.example.test", A::kLocal, "local", "mx.example.test", K::kUnsupported,
       true},
      {"", "MAILER-DAEMON@mx.example.test", A::kLocal, "local", "mx.example.test",
       K::kUnsupported, true},
      {"user@[127.0.0.1]", "", A::kLocal, "local", "mx.example.test", K::kUnsupported, true},
      {"user@[IPv6:::1]", "", A::kLocal, "local", "mx.example.test", K::kUnsupported, true},
      {"user@[192.0.2.99]", "", A::kDefault, "smtp", "[192.0.2.99]", K::kSmtp, false},
      {"user@relay.test", "", A::kRelay, "relay", "relay.test", K::kSmtp, false},
      {"user@deep.sub.relay.test", "", A::kRelay, "relay", "deep.sub.relay.test", K::kSmtp,
       false},
      {"user@relaytable.test", "", A::kRelay, "relay", "relaytable.test", K::kSmtp, false},
      {"user@sub.relay.test", "", A::kRelay, "relay", "[relay-sub.test]:2626", K::kSmtp, false},
      {"user@alias.test", "", A::kVirtualAlias, "error",
       "5.1.1 User unknown in virtual alias table", K::kError, false},
      {"user@mailbox.test", "", A::kVirtualMailbox, "virtual", "mailbox.test", K::kUnsupported,
       true},
      {"user@elsewhere.test", "", A::kDefault, "smtp", "elsewhere.test", K::kSmtp, false},
      // Normalisation: trailing dot, routing operators inside local domains.
      {"user@elsewhere.test.", "user@elsewhere.test", A::kDefault, "smtp", "elsewhere.test",
       K::kSmtp, false},
      {"user%elsewhere.test@localhost", "user@elsewhere.test", A::kDefault, "smtp",
       "elsewhere.test", K::kSmtp, false},
      {"elsewhere.test!user@localhost", "user@elsewhere.test", A::kDefault, "smtp",
       "elsewhere.test", K::kSmtp, false},
      {"user@elsewhere.test@localhost", "user@elsewhere.test", A::kDefault, "smtp",
       "elsewhere.test", K::kSmtp, false},
      {"user%relay.test", "user@relay.test", A::kRelay, "relay", "relay.test", K::kSmtp, false},
      // relocated(5) wins over every class.
      {"old@relay.test", "", A::kRelay, "error", "5.1.6 User has moved to new@example.net",
       K::kError, false},
      {"anyone@gone.relay.test", "", A::kRelay, "error",
       "5.1.6 User has moved to the sales department, +1 555 0100", K::kError, false},
      // The queue manager discards mail to the local double-bounce address.
      {"double-bounce@mx.example.test", "", A::kLocal, "discard",
       "undeliverable postmaster notification discarded", K::kDiscard, false},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::string("recipient <") + c.recipient + ">");
    Resolution r = Resolve(c.recipient);
    EXPECT_EQ(r.recipient, *c.recipient_after ? c.recipient_after : c.recipient);
    EXPECT_EQ(AddressClassName(r.address_class), AddressClassName(c.address_class));
    EXPECT_EQ(r.transport, c.transport);
    EXPECT_EQ(r.nexthop, c.nexthop);
    EXPECT_EQ(DeliveryAgentKindName(r.agent), DeliveryAgentKindName(c.agent));
    EXPECT_EQ(r.failure.has_value(), c.failure) << (r.failure ? r.failure->reason : "");
  }
}

TEST_F(ResolveAddressTest, NexthopsAreParsedForTheAgent) {
  Resolution r = Resolve("user@example.com");
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].host, "bar.example");
  EXPECT_EQ(r.destinations[0].port, "2025");
  EXPECT_TRUE(r.destinations[0].use_mx);

  r = Resolve("user@sub.example.com");
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].host, "gateway.example.com");
  EXPECT_EQ(r.destinations[0].port, "");
  EXPECT_FALSE(r.destinations[0].use_mx);

  r = Resolve("user@multi.test");
  ASSERT_EQ(r.destinations.size(), 2u);
  EXPECT_EQ(r.destinations[1].host, "foo.example");

  r = Resolve("user@lmtp.test");
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].kind, NexthopDestination::Kind::kUnix);
  EXPECT_EQ(r.destinations[0].path, "/var/run/lmtp.sock");

  r = Resolve("user@lmtpinet.test");
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].host, "127.0.0.1");
  EXPECT_EQ(r.destinations[0].port, "2424");
  EXPECT_FALSE(r.destinations[0].use_mx);  // LMTP never looks up MX

  r = Resolve("user@lmtpbracket.test");
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].host, "::1");

  r = Resolve("user@ipv6.test");
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].host, "2001:db8::1");
  EXPECT_EQ(r.destinations[0].port, "25");
}

TEST_F(ResolveAddressTest, ErrorRetryAndDiscardReasons) {
  Resolution r = Resolve("kdent@example.com");
  EXPECT_EQ(r.error.dsn, "5.0.0");
  EXPECT_EQ(r.error.text, "no mail accepted for kdent");
  r = Resolve("old@relay.test");
  EXPECT_TRUE(r.relocated);
  EXPECT_EQ(r.error.dsn, "5.1.6");
  EXPECT_EQ(r.error.text, "User has moved to new@example.net");
  r = Resolve("user@alias.test");
  EXPECT_EQ(r.error.dsn, "5.1.1");
  r = Resolve("user@retry.test");
  EXPECT_EQ(r.error.dsn, "4.3.2");
  EXPECT_EQ(r.error.text, "try later");
  r = Resolve("user@discard.test");
  EXPECT_EQ(r.error.text, "silently dropped");
}

TEST_F(ResolveAddressTest, FailuresSayWhy) {
  Resolution r = Resolve("user@uucp.test");
  ASSERT_TRUE(r.failure);
  EXPECT_TRUE(r.failure->temporary);
  EXPECT_EQ(r.failure->reason, "mail transport unavailable");
  r = Resolve("user@localhost");
  ASSERT_TRUE(r.failure);
  EXPECT_TRUE(r.failure->temporary);
  EXPECT_NE(r.failure->reason.find("local delivery agent"), std::string::npos)
      << r.failure->reason;
  r = Resolve("user@-bad-.test");
  EXPECT_TRUE(r.bad_address);
  ASSERT_TRUE(r.failure);
  EXPECT_FALSE(r.failure->temporary);
  EXPECT_EQ(r.failure->dsn, "5.1.3");
  EXPECT_EQ(r.failure->reason, "bad address syntax");
  r = Resolve("-option@elsewhere.test");
  EXPECT_TRUE(r.bad_address);
  r = Resolve("user@bad.test");
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->dsn, "4.3.5");
  EXPECT_NE(r.failure->reason.find("[unclosed"), std::string::npos);
}

TEST_F(ResolveAddressTest, RoutedAddressesAreFlagged) {
  EXPECT_FALSE(Resolve("user@relay.test").routed);
  EXPECT_TRUE(Resolve("user%other.test@relay.test").routed);
  EXPECT_TRUE(Resolve("other.test!user@relay.test").routed);
  EXPECT_FALSE(Resolve("user%relay.test@localhost").routed);
}

TEST_F(ResolveAddressTest, TransportSettingsFromMasterCf) {
  Resolution r = Resolve("user@slow.test");
  ASSERT_NE(r.settings, nullptr);
  EXPECT_TRUE(r.settings->deferred);  // defer_transports = slow
  EXPECT_EQ(r.settings->process_limit, 1);

  const TransportSettings* amavis = fixture_.catalog().Find("amavisfeed");
  ASSERT_NE(amavis, nullptr);
  EXPECT_EQ(amavis->kind, DeliveryAgentKind::kLmtp);
  EXPECT_EQ(amavis->process_limit, 2);
  EXPECT_EQ(amavis->destination_recipient_limit, 1);      // main.cf
  EXPECT_EQ(amavis->destination_concurrency_limit, 20);   // the default
  EXPECT_EQ(amavis->initial_destination_concurrency, 5);
  EXPECT_TRUE(amavis->config->GetBool("lmtp_send_xforward_command"));
  EXPECT_EQ(amavis->config->GetTime("lmtp_data_done_timeout").count(), 1200);
  EXPECT_FALSE(fixture_.main().GetBool("lmtp_send_xforward_command"));  // only for amavisfeed
  EXPECT_FALSE(amavis->deferred);

  const TransportSettings* smtp_amavis = fixture_.catalog().Find("smtp-amavis");
  ASSERT_NE(smtp_amavis, nullptr);
  EXPECT_EQ(smtp_amavis->kind, DeliveryAgentKind::kSmtp);
  EXPECT_TRUE(smtp_amavis->config->GetBool("smtp_send_xforward_command"));
  EXPECT_TRUE(smtp_amavis->config->GetBool("disable_dns_lookups"));

  const TransportSettings* smtp = fixture_.catalog().Find("smtp");
  ASSERT_NE(smtp, nullptr);
  EXPECT_EQ(smtp->process_limit, 100);  // "-": default_process_limit
  EXPECT_EQ(fixture_.catalog().Find("retry")->kind, DeliveryAgentKind::kRetry);
  EXPECT_EQ(fixture_.catalog().Find("error")->kind, DeliveryAgentKind::kError);
  EXPECT_EQ(fixture_.catalog().Find("local")->kind, DeliveryAgentKind::kUnsupported);
  EXPECT_EQ(fixture_.catalog().Find("cleanup"), nullptr);
}

TEST_F(ResolveAddressTest, ContentFilterBypassesResolution) {
  auto r = fixture_.resolver().ResolveFilter("amavisfeed:[127.0.0.1]:10024", "old@relay.test");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->transport, "amavisfeed");
  EXPECT_EQ(r->agent, DeliveryAgentKind::kLmtp);
  EXPECT_FALSE(r->relocated);
  ASSERT_EQ(r->destinations.size(), 1u);
  EXPECT_EQ(r->destinations[0].host, "127.0.0.1");
  EXPECT_EQ(r->destinations[0].port, "10024");
  // No nexthop: the recipient domain (default_filter_nexthop is empty).
  r = fixture_.resolver().ResolveFilter("smtp-amavis:", "a@relay.test");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->nexthop, "relay.test");
  EXPECT_EQ(r->agent, DeliveryAgentKind::kSmtp);
  EXPECT_FALSE(fixture_.resolver().ResolveFilter(":[127.0.0.1]:10024", "a@b.test"));
  EXPECT_FALSE(fixture_.resolver().ResolveFilter("", "a@b.test"));
}

TEST_F(ResolveAddressTest, ClassifyDomainForRelayControl) {
  EXPECT_EQ(*fixture_.resolver().ClassifyDomain("relay.test"), AddressClass::kRelay);
  EXPECT_EQ(*fixture_.resolver().ClassifyDomain("x.relay.test."), AddressClass::kRelay);
  EXPECT_EQ(*fixture_.resolver().ClassifyDomain("notrelay.test"), AddressClass::kDefault);
  EXPECT_EQ(*fixture_.resolver().ClassifyDomain("LOCALHOST"), AddressClass::kLocal);
  EXPECT_EQ(*fixture_.resolver().ClassifyDomain("[127.0.0.1]"), AddressClass::kLocal);
  EXPECT_EQ(*fixture_.resolver().ClassifyDomain("alias.test"), AddressClass::kVirtualAlias);
}

// relayhost, relay_transport with a nexthop, and the sender-dependent maps (postconf(5)).
TEST(ResolveRelayhostTest, PrecedenceOfNexthops) {
  RoutingFixture fixture(R"(myhostname = mx.example.test
mydestination = localhost
relay_domains = relay.test
relay_transport = relay:[127.0.0.1]:2526
relayhost = [smarthost.test]:587
sender_dependent_relayhost_maps = hash:sender_relay
sender_dependent_default_transport_maps = hash:sender_transport
)",
                         {{"sender_relay", "@corp.test [corp-relay.test]\n"
                                           "<> [bounce-relay.test]\n"
                                           "dunno@corp.test DUNNO\n"},
                          {"sender_transport", "@lmtp-sender.test lmtp:[127.0.0.1]:2424\n"
                                               "@slow-sender.test slow\n"}});
  auto resolve = [&](const char* sender, const char* recipient) {
    auto r = fixture.resolver().Resolve(sender, recipient);
    EXPECT_TRUE(r) << r.error().ToString();
    return r.value_or(Resolution{});
  };
  Resolution r = resolve("a@example.org", "user@elsewhere.test");
  EXPECT_EQ(r.ToString(), "smtp:[smarthost.test]:587");
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_FALSE(r.destinations[0].use_mx);
  EXPECT_EQ(r.destinations[0].port, "587");
  // relay_transport's own nexthop beats relayhost.
  EXPECT_EQ(resolve("a@example.org", "user@relay.test").ToString(), "relay:[127.0.0.1]:2526");
  // sender_dependent_relayhost_maps beats relayhost; DUNNO falls back to relayhost.
  EXPECT_EQ(resolve("boss@corp.test", "user@elsewhere.test").ToString(),
            "smtp:[corp-relay.test]");
  EXPECT_EQ(resolve("dunno@corp.test", "user@elsewhere.test").ToString(),
            "smtp:[smarthost.test]:587");
  EXPECT_EQ(resolve("", "user@elsewhere.test").ToString(), "smtp:[bounce-relay.test]");
  // sender_dependent_default_transport_maps: a transport with a nexthop wins over the relayhost,
  // one without keeps the relayhost.
  EXPECT_EQ(resolve("a@lmtp-sender.test", "user@elsewhere.test").ToString(),
            "lmtp:[127.0.0.1]:2424");
  EXPECT_EQ(resolve("a@slow-sender.test", "user@elsewhere.test").ToString(),
            "slow:[smarthost.test]:587");
  // Only the default class uses sender_dependent_default_transport_maps.
  EXPECT_EQ(resolve("a@lmtp-sender.test", "user@relay.test").ToString(),
            "relay:[127.0.0.1]:2526");
}

TEST(ResolveWildcardTest, WildcardAndParentStyle) {
  // transport(5): "deliver internal mail directly, while using a mail relay for all other mail"
  RoutingFixture fixture(R"(myhostname = mx.example.test
mydestination =
transport_maps = hash:transport
parent_domain_matches_subdomains = transport_maps
)",
                         {{"transport", "my.domain :\n"
                                        "* smtp:outbound-relay.my.domain\n"
                                        "example.com smtp:[example-gw]\n"}});
  auto resolve = [&](const char* recipient) {
    auto r = fixture.resolver().Resolve("", recipient);
    EXPECT_TRUE(r) << r.error().ToString();
    return r.value_or(Resolution{}).ToString();
  };
  EXPECT_EQ(resolve("a@my.domain"), "smtp:my.domain");
  EXPECT_EQ(resolve("a@host.my.domain"), "smtp:host.my.domain");  // parent style
  EXPECT_EQ(resolve("a@sub.example.com"), "smtp:[example-gw]");
  EXPECT_EQ(resolve("a@other.test"), "smtp:outbound-relay.my.domain");
}

TEST(ResolveDefaultsTest, TheSampleConfiguration) {
  // conf/ as shipped: relay_domains = example.test, relay_transport = relay:[127.0.0.1]:2526,
  // content_filter = moatfilter:$inbound_filter_nexthop.
  moat::testing::TempDir empty;
  MtaConfig config = LoadMtaConfig({moat::testing::SourcePath("conf"), "main.cf", {}});
  auto catalog = TransportCatalog::Build(config.main, config.master);
  auto resolver = AddressResolver::Create(catalog);
  auto r = resolver->Resolve("a@example.org", "user@example.test");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->address_class, AddressClass::kRelay);
  EXPECT_EQ(r->ToString(), "relay:[127.0.0.1]:2526");
  auto filter = resolver->ResolveFilter(config.main->GetString("content_filter"),
                                        "user@example.test");
  ASSERT_TRUE(filter) << filter.error().ToString();
  EXPECT_EQ(filter->ToString(), "moatfilter:[127.0.0.1]:10024");
  EXPECT_EQ(filter->agent, DeliveryAgentKind::kLmtp);
  ASSERT_NE(filter->settings, nullptr);
  EXPECT_EQ(filter->settings->process_limit, 4);
  EXPECT_TRUE(filter->settings->config->GetBool("lmtp_send_xforward_command"));
}

TEST(ResolveErrorsTest, BadListsAreConfigurationErrors) {
  EXPECT_THROW(RoutingFixture("relay_domains = hash:missing_file\n"), core::ConfigError);
  EXPECT_THROW(RoutingFixture("transport_maps = pcre:bad.pcre\n", {{"bad.pcre", "/(/ x\n"}}),
               core::ConfigError);
  EXPECT_THROW(RoutingFixture("default_destination_concurrency_positive_feedback = 2\n"),
               core::ConfigError);
}

TEST(NexthopTest, Syntax) {
  auto smtp = [](std::string_view text) { return ParseNexthop(text, NexthopProtocol::kSmtp); };
  auto lmtp = [](std::string_view text) { return ParseNexthop(text, NexthopProtocol::kLmtp); };
  EXPECT_TRUE(smtp("example.com")->front().use_mx);
  EXPECT_EQ(smtp("example.com:submission")->front().port, "submission");
  EXPECT_EQ(smtp("inet:[10.0.0.1]:26")->front().host, "10.0.0.1");
  EXPECT_FALSE(smtp("unix:/x"));
  EXPECT_FALSE(smtp("[a"));
  EXPECT_FALSE(smtp("[a]x"));
  EXPECT_FALSE(smtp("a:99999"));
  EXPECT_FALSE(smtp("a:nosuchservice"));
  EXPECT_FALSE(smtp("2001:db8::1"));
  EXPECT_FALSE(smtp(""));
  EXPECT_FALSE(smtp(" , "));
  EXPECT_EQ(lmtp("unix:/run/x.sock")->front().path, "/run/x.sock");
  EXPECT_FALSE(lmtp("unix:"));
  EXPECT_FALSE(lmtp("host")->front().use_mx);
  EXPECT_EQ(*ResolvePort("smtp"), 25);
  EXPECT_EQ(*ResolvePort("2525"), 2525);
  EXPECT_FALSE(ResolvePort("0"));

  EXPECT_EQ(SplitTransport("relay:"), (TransportNexthop{"relay", ""}));
  EXPECT_EQ(SplitTransport(":[gw]:25"), (TransportNexthop{"", "[gw]:25"}));
  EXPECT_EQ(SplitTransport("error"), (TransportNexthop{"error", ""}));
  EXPECT_EQ(SplitTransport("error:5.1.1 no: such user"),
            (TransportNexthop{"error", "5.1.1 no: such user"}));

  ErrorReason reason = ParseErrorReason("4.1.1 wrong class", false);
  EXPECT_EQ(reason.dsn, "5.0.0");
  EXPECT_EQ(reason.text, "wrong class");
  reason = ParseErrorReason("5.7.1   spaced", false);
  EXPECT_EQ(reason.dsn, "5.7.1");
  EXPECT_EQ(reason.text, "spaced");
  reason = ParseErrorReason("", true);
  EXPECT_EQ(reason.dsn, "4.0.0");
  EXPECT_FALSE(reason.text.empty());
  EXPECT_EQ(ParseContentFilter(" amavisfeed:[127.0.0.1]:10024 ")->nexthop, "[127.0.0.1]:10024");
}

TEST(DomainListTest, StringAndDomainMatching) {
  auto exact = DomainList::Parse("a.test, !b.a.test .c.test", DomainMatch::kExact,
                                 core::ParentDomainStyle::kParent);
  ASSERT_TRUE(exact);
  EXPECT_TRUE(*exact->Contains("A.TEST"));
  EXPECT_FALSE(*exact->Contains("x.a.test"));  // string lists never match parents
  auto parent = DomainList::Parse("!b.a.test, a.test", DomainMatch::kDomain,
                                  core::ParentDomainStyle::kParent);
  ASSERT_TRUE(parent);
  EXPECT_TRUE(*parent->Contains("x.a.test"));
  EXPECT_FALSE(*parent->Contains("b.a.test"));  // negated first
  EXPECT_FALSE(*parent->Contains("xa.test"));
  auto dot = DomainList::Parse("a.test .c.test", DomainMatch::kDomain,
                               core::ParentDomainStyle::kDotParent);
  ASSERT_TRUE(dot);
  EXPECT_FALSE(*dot->Contains("x.a.test"));
  EXPECT_TRUE(*dot->Contains("x.c.test"));
  EXPECT_FALSE(*dot->Contains("c.test"));
  EXPECT_FALSE(DomainList::Parse("!", DomainMatch::kExact, core::ParentDomainStyle::kNone));
}

}  // namespace
}  // namespace moat::mta
