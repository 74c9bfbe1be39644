// smtpd_relay_test.cc - not an open relay: the classic relay-test battery (the address forms of
// the abuse.net / ORDB tests and Postfix's own resolve tests) from a client outside mynetworks
// that has not authenticated. Every attempt to reach another domain must be refused; mail for
// the gateway's own domain and users still gets through (so the test can fail).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/mta/smtpd_test_support.h"

namespace moat::mta::testing {
namespace {

// The seeds' inbound smarthost, with a local domain and a virtual alias domain added so the
// routing forms through local domains are exercised too.
constexpr const char* kSmarthost =
    "compatibility_level = 3.6\n"
    "myhostname = mx.example.test\n"
    "mydomain = example.test\n"
    "mydestination = localhost, $myhostname\n"
    "local_recipient_maps = hash:local_users\n"
    "inet_interfaces = loopback-only\n"
    "mynetworks = 127.0.0.1/32\n"
    "relay_domains = example.test\n"
    "relay_recipient_maps = hash:relay_recipients\n"
    "virtual_alias_domains = alias.example.test\n"
    "virtual_alias_maps = hash:virtual\n"
    "smtpd_helo_required = yes\n"
    "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,\n"
    "    reject_unauth_destination\n"
    "smtpd_recipient_restrictions = reject_non_fqdn_recipient\n"
    "smtpd_sender_restrictions = reject_non_fqdn_sender\n"
    "smtpd_error_sleep_time = 0\n"
    "smtpd_hard_error_limit = 1000\n"
    "smtpd_soft_error_limit = 1000\n";

class SmtpdRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = moat::testing::FreeTcpPort();
    h_.Write("relay_recipients", "alice@example.test OK\npostmaster@example.test OK\n");
    h_.Write("local_users", "operator OK\n");
    h_.Write("virtual", "team@alias.example.test alice@example.test\n");
    h_.Write("main.cf", kSmarthost);
    h_.Write("master.cf", fmt::format("127.0.0.1:{} inet n - n - - smtpd\n", port_));
    ASSERT_EQ(h_.Start(), "");
  }

  SmtpdHarness h_;
  int port_ = 0;
};

const std::vector<std::string>& Battery() {
  static const std::vector<std::string> battery = {
      // plain relaying, in every spelling
      "user@other.example", "USER@OTHER.EXAMPLE", "user@other.example.", "USER@OTHER.EXAMPLE.",
      "postmaster@other.example", "\"user\"@other.example", "user@sub.other.example",
      // the percent hack, through a relay domain, a local domain and our address literal
      "user%other.example@example.test", "user%other.example@mx.example.test",
      "user%other.example@localhost", "user%other.example@[127.0.0.1]",
      "user%other.example%example.test@mx.example.test", "user%other.example",
      "USER%OTHER.EXAMPLE@EXAMPLE.TEST.",
      // bang paths
      "other.example!user@example.test", "other.example!user@mx.example.test",
      "other.example!user@[127.0.0.1]", "other.example!user", "example.test!other.example!user",
      // quoted local parts holding routing operators
      "\"user@other.example\"@example.test", "\"user@other.example\"@mx.example.test",
      "\"user%other.example\"@example.test", "\"other.example!user\"@example.test",
      "\"user@other.example\"@[127.0.0.1]", "\"user@other.example\"",
      // several @ without quotes
      "user@other.example@example.test", "user@other.example@mx.example.test",
      "user@example.test@other.example",
      // source routes (dropped, leaving the real destination)
      "@example.test:user@other.example", "@mx.example.test,@example.test:user@other.example",
      "@[127.0.0.1]:user@other.example",
      // routing in the domain part
      "user@other.example%example.test", "user@example.test%other.example",
      "user@other.example!example.test", "user@example.test!other.example",
      // address literals that are not ours
      "user@[10.1.2.3]", "user@[192.0.2.1]", "user@[IPv6:2001:db8::1]", "user@[example.test]",
      "user@[127.0.0.2]",
      // long and strange
      std::string(300, 'a') + "@other.example", "user@" + std::string(250, 'b') + ".example",
      "user@other.example.example", "user@.example.test", "user@example..test",
      // our own domains, but unknown users (no backscatter)
      "nobody@example.test", "nobody@alias.example.test", "nobody@mx.example.test",
      "user@sub.example.test",
  };
  return battery;
}

TEST_F(SmtpdRelayTest, EveryRelayAttemptIsRefused) {
  auto c = Open(port_, "127.0.0.2", "client.example.org");
  ASSERT_EQ(Code(Say(*c, "MAIL FROM:<tester@example.org>")), 250);
  for (const std::string& rcpt : Battery()) {
    std::string reply = Say(*c, "RCPT TO:<" + rcpt + ">");
    int code = Code(reply);
    EXPECT_TRUE(code >= 400 && code < 600) << "ACCEPTED: <" << rcpt << "> " << reply;
  }
  // Nothing was accepted, so there is nothing to send.
  EXPECT_EQ(Code(Say(*c, "DATA")), 554);
  // The gateway's own users still get mail (in every spelling).
  for (std::string rcpt :
       {"alice@example.test", "ALICE@EXAMPLE.TEST.", "postmaster", "postmaster@example.test",
        "team@alias.example.test", "operator@mx.example.test", "postmaster@[127.0.0.1]"}) {
    EXPECT_EQ(Code(Say(*c, std::string("RCPT TO:<") + rcpt + ">")), 250) << rcpt;
  }
  EXPECT_EQ(h_.acceptor().Count(), 0u);
}

TEST_F(SmtpdRelayTest, NullSenderAndSpoofedLocalSendersDoNotHelp) {
  for (std::string sender : {"", "alice@example.test", "postmaster@mx.example.test",
                                    "user@[127.0.0.1]", "MAILER-DAEMON"}) {
    for (std::string helo :
         {"client.example.org", "mx.example.test", "localhost", "[127.0.0.1]"}) {
      auto c = Open(port_, "127.0.0.2", helo);
      ASSERT_EQ(Code(Say(*c, "MAIL FROM:<" + sender + ">")), 250) << sender;
      std::string reply = Say(*c, "RCPT TO:<user@other.example>");
      // 554 Relay access denied; a sender without a domain is refused earlier (504).
      EXPECT_THAT(Code(reply), ::testing::AnyOf(554, 504))
          << "from <" << sender << "> helo " << helo << ": " << reply;
    }
  }
}

TEST_F(SmtpdRelayTest, EmptyAndMalformedRecipientsAreSyntaxErrors) {
  auto c = Open(port_, "127.0.0.2", "client.example.org");
  ASSERT_EQ(Code(Say(*c, "MAIL FROM:<tester@example.org>")), 250);
  for (std::string line :
       {"RCPT TO:<>", "RCPT TO:", "RCPT TO:<<user@other.example>>", "RCPT TO:<user@other.example",
        "RCPT TO:<user@other.example> FOO=BAR", "RCPT TO:<\"unterminated@other.example>"}) {
    int code = Code(Say(*c, line));
    EXPECT_TRUE(code >= 500 && code < 600) << line << " -> " << code;
  }
}

TEST_F(SmtpdRelayTest, SwaksSeesTheSameRefusals) {
  if (!moat::testing::HaveTool("swaks")) GTEST_SKIP() << "swaks is not installed";
  for (std::string rcpt :
       {"user@other.example", "user%other.example@example.test", "other.example!user@example.test",
        "\"user@other.example\"@example.test", "user@[10.1.2.3]", "USER@OTHER.EXAMPLE."}) {
    auto result = moat::testing::RunCommand(
        {"swaks", "--server", fmt::format("127.0.0.1:{}", port_), "--local-interface",
         "127.0.0.2", "--helo", "client.example.org", "--from", "tester@example.org", "--to",
         rcpt, "--quit-after", "RCPT", "--timeout", "20"});
    EXPECT_NE(result.exit_code, 0) << rcpt << "\n" << result.out;
    EXPECT_THAT(result.out, ::testing::HasSubstr("<** 554 5.7.1")) << rcpt << "\n" << result.out;
  }
  // From inside mynetworks the same client may relay: the refusals above are about the client.
  auto ok = moat::testing::RunCommand(
      {"swaks", "--server", fmt::format("127.0.0.1:{}", port_), "--local-interface", "127.0.0.1",
       "--helo", "client.example.org", "--from", "tester@example.org", "--to",
       "user@other.example", "--quit-after", "RCPT", "--timeout", "20"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
}

}  // namespace
}  // namespace moat::mta::testing
