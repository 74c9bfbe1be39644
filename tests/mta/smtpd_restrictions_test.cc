// smtpd_restrictions_test.cc - smtpd_*_restrictions evaluated as Postfix evaluates them, over real
// SMTP dialogues with the in-process server (clients from 127.0.0.2 are outside mynetworks).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/mta/smtpd_test_support.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::mta::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kBase =
    "compatibility_level = 3.6\n"
    "myhostname = mx.example.test\n"
    "mydomain = example.test\n"
    "mydestination =\n"
    "inet_interfaces = loopback-only\n"
    "mynetworks = 127.0.0.1/32\n"
    "relay_domains = example.test\n"
    "relay_recipient_maps = hash:relay_recipients\n"
    "smtpd_error_sleep_time = 0\n"
    "log_level = warn\n";

class SmtpdRestrictionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = moat::testing::FreeTcpPort();
    h_.Write("relay_recipients", "alice@example.test OK\nbob@example.test OK\n");
  }
  // Starts the server with kBase + `extra` in main.cf and one smtpd service with `overrides`.
  void Start(const std::string& extra, const std::string& overrides = "") {
    h_.Write("main.cf", std::string(kBase) + extra);
    h_.Write("master.cf", fmt::format("127.0.0.1:{} inet n - n - - smtpd\n{}", port_, overrides));
    std::string error = h_.Start();
    ASSERT_EQ(error, "");
  }
  std::unique_ptr<RawClient> Outside(const std::string& helo = "client.example.org") {
    return Open(port_, "127.0.0.2", helo);
  }
  std::unique_ptr<RawClient> Inside(const std::string& helo = "client.example.org") {
    return Open(port_, "127.0.0.1", helo);
  }
  // MAIL FROM + RCPT TO; returns the RCPT reply.
  std::string Rcpt(RawClient& c, const std::string& from, const std::string& to) {
    std::string mail = Say(c, "MAIL FROM:<" + from + ">");
    if (Code(mail) != 250) return mail;
    return Say(c, "RCPT TO:<" + to + ">");
  }
  // A whole transaction; returns the final reply.
  std::string Send(RawClient& c, const std::string& from, const std::vector<std::string>& to) {
    std::string mail = Say(c, "MAIL FROM:<" + from + ">");
    if (Code(mail) != 250) return mail;
    for (const std::string& rcpt : to) Say(c, "RCPT TO:<" + rcpt + ">");
    std::string data = Say(c, "DATA");
    if (Code(data) != 354) return data;
    c.Send(kTestMessage);
    return Say(c, ".");
  }

  SmtpdHarness h_;
  int port_ = 0;
};

TEST_F(SmtpdRestrictionsTest, RelayControlWithTheDefaultRelayRestrictions) {
  Start("smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n");
  auto outside = Outside();
  EXPECT_EQ(Rcpt(*outside, "a@example.org", "x@other.example"),
            "554 5.7.1 <x@other.example>: Relay access denied\r\n");
  EXPECT_EQ(Code(Say(*outside, "RCPT TO:<alice@example.test>")), 250);
  EXPECT_EQ(Say(*outside, "RCPT TO:<nobody@example.test>"),
            "550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in relay "
            "recipient table\r\n");
  auto inside = Inside();
  EXPECT_EQ(Code(Rcpt(*inside, "a@example.org", "x@other.example")), 250);
  // Unknown users of relay_domains are refused for mynetworks too: no backscatter.
  EXPECT_EQ(Code(Say(*inside, "RCPT TO:<nobody@example.test>")), 550);
}

TEST_F(SmtpdRestrictionsTest, AcceptedMessagesAreDurableBeforeTheReply) {
  Start("smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n");
  auto c = Outside();
  std::string reply = Send(*c, "a@example.org", {"alice@example.test", "bob@example.test"});
  ASSERT_THAT(reply, StartsWith("250 2.0.0 Ok: queued as T"));
  std::string id = reply.substr(reply.find("as ") + 3);
  id.erase(id.find('\r'));
  std::string stored = moat::testing::ReadTextFile(h_.acceptor().directory() + "/" + id);
  EXPECT_THAT(stored, HasSubstr("X-Envelope-To: <bob@example.test>"));
  EXPECT_THAT(stored, HasSubstr("Subject: test"));
  auto messages = h_.acceptor().Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].message.service, fmt::format("127.0.0.1:{}", port_));
  EXPECT_EQ(messages[0].message.session.client_address, "127.0.0.2");
  EXPECT_EQ(messages[0].message.envelope.recipients.size(), 2u);
  // A queue that cannot write answers 451: the client keeps the message.
  h_.acceptor().FailNext();
  EXPECT_EQ(Send(*c, "a@example.org", {"alice@example.test"}),
            "451 4.3.0 Error: queue file write error\r\n");
}

TEST_F(SmtpdRestrictionsTest, DelayRejectEvaluatesClientRestrictionsAtRcpt) {
  h_.Write("clients", "127.0.0.2 REJECT go away\n");
  Start("smtpd_client_restrictions = check_client_access cidr:clients\n");
  auto c = Outside();
  EXPECT_EQ(Code(Say(*c, "MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Say(*c, "RCPT TO:<alice@example.test>"),
            "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: go away\r\n");
  EXPECT_EQ(Code(Rcpt(*Inside(), "a@example.org", "alice@example.test")), 250);
}

TEST_F(SmtpdRestrictionsTest, WithoutDelayRejectTheClientIsRefusedAtConnect) {
  h_.Write("clients", "127.0.0.2 REJECT go away\n");
  Start("smtpd_delay_reject = no\nsmtpd_client_restrictions = check_client_access cidr:clients\n");
  RawClient c(ConnectFrom("127.0.0.2", port_));
  EXPECT_EQ(c.ReadReply(), "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: go away\r\n");
  EXPECT_EQ(Code(Say(c, "EHLO x.example")), 503);
  EXPECT_EQ(Code(Say(c, "QUIT")), 221);
}

TEST_F(SmtpdRestrictionsTest, HeloRestrictions) {
  Start(
      "smtpd_helo_required = yes\n"
      "smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname\n");
  EXPECT_EQ(Rcpt(*Outside("bad_host!"), "a@example.org", "alice@example.test"),
            "501 5.5.2 <bad_host!>: Helo command rejected: Invalid name\r\n");
  EXPECT_EQ(Rcpt(*Outside("localhost"), "a@example.org", "alice@example.test"),
            "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname\r\n");
  EXPECT_EQ(Rcpt(*Outside("[300.1.1.1]"), "a@example.org", "alice@example.test"),
            "501 5.5.2 <[300.1.1.1]>: Helo command rejected: invalid ip address\r\n");
  EXPECT_EQ(Code(Rcpt(*Outside("[192.0.2.1]"), "a@example.org", "alice@example.test")), 250);
  EXPECT_EQ(Code(Rcpt(*Outside("mail.example.org."), "a@example.org", "alice@example.test")),
            250);
  // smtpd_helo_required
  auto c = Open(port_, "127.0.0.2", "");
  EXPECT_EQ(Code(Say(*c, "MAIL FROM:<a@example.org>")), 503);
}

TEST_F(SmtpdRestrictionsTest, NonFqdnAddresses) {
  Start(
      "smtpd_sender_restrictions = reject_non_fqdn_sender\n"
      "smtpd_recipient_restrictions = reject_non_fqdn_recipient\n");
  auto c = Outside();
  EXPECT_EQ(Rcpt(*c, "user", "alice@example.test"),
            "504 5.5.2 <user>: Sender address rejected: need fully-qualified address\r\n");
  Say(*c, "RSET");
  EXPECT_EQ(Rcpt(*c, "user@localhost", "alice@example.test"),
            "504 5.5.2 <user@localhost>: Sender address rejected: need fully-qualified "
            "address\r\n");
  Say(*c, "RSET");
  EXPECT_EQ(Code(Rcpt(*c, "", "alice@example.test")), 250);  // <> is fine
  Say(*c, "RSET");
  EXPECT_EQ(Rcpt(*c, "a@example.org", "alice"),
            "504 5.5.2 <alice>: Recipient address rejected: need fully-qualified address\r\n");
  // RFC 5321: bare "postmaster" is always accepted.
  EXPECT_EQ(Code(Say(*c, "RCPT TO:<postmaster>")), 250);
}

TEST_F(SmtpdRestrictionsTest, AddressSyntaxIsCheckedFirst) {
  Start("");
  auto c = Outside();
  EXPECT_EQ(Say(*c, "MAIL FROM:<a@bad..example>"), "501 5.1.7 Bad sender address syntax\r\n");
  EXPECT_EQ(Code(Say(*c, "MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Say(*c, "RCPT TO:<b@[999.1.1.1]>"), "501 5.1.3 Bad recipient address syntax\r\n");
}

TEST_F(SmtpdRestrictionsTest, AccessTableActionsReachTheQueue) {
  h_.Write("senders",
           "hold@example.org HOLD manual review\n"
           "filter@example.org FILTER smtp:[127.0.0.1]:10099\n"
           "prepend@example.org PREPEND X-Moat-Test: prepended\n"
           "discard@example.org DISCARD spam trap\n"
           "defer@example.org DEFER try tomorrow\n"
           "numeric@example.org 551 5.1.6 gone to another place\n"
           "example.net REJECT not from there\n"
           "warn@example.org WARN just saying\n"
           "redirect@example.org REDIRECT abuse@example.test\n"
           "ok@example.org OK\n");
  Start("smtpd_sender_restrictions = check_sender_access hash:senders, reject_non_fqdn_sender\n");
  auto c = Outside();
  EXPECT_THAT(Send(*c, "hold@example.org", {"alice@example.test"}), StartsWith("250 2.0.0"));
  EXPECT_THAT(Send(*c, "filter@example.org", {"alice@example.test"}), StartsWith("250 2.0.0"));
  EXPECT_THAT(Send(*c, "prepend@example.org", {"alice@example.test"}), StartsWith("250 2.0.0"));
  EXPECT_EQ(Send(*c, "discard@example.org", {"alice@example.test"}),
            "250 2.0.0 Ok: discarded\r\n");
  EXPECT_THAT(Send(*c, "warn@example.org", {"alice@example.test"}), StartsWith("250 2.0.0"));
  EXPECT_THAT(Send(*c, "redirect@example.org", {"alice@example.test"}), StartsWith("250 2.0.0"));
  Say(*c, "RSET");
  EXPECT_EQ(Rcpt(*c, "defer@example.org", "alice@example.test"),
            "450 4.7.1 <defer@example.org>: Sender address rejected: try tomorrow\r\n");
  Say(*c, "RSET");
  // Postfix's smtpd_dsn_fix(): x.1.6 is a recipient code; for a sender it becomes x.1.0.
  EXPECT_EQ(Rcpt(*c, "numeric@example.org", "alice@example.test"),
            "551 5.1.0 <numeric@example.org>: Sender address rejected: gone to another "
            "place\r\n");
  Say(*c, "RSET");
  EXPECT_EQ(Rcpt(*c, "someone@sub.example.net", "alice@example.test"),
            "554 5.7.1 <someone@sub.example.net>: Sender address rejected: not from there\r\n");
  Say(*c, "RSET");
  // OK ends the list: reject_non_fqdn_sender is not reached for this sender... but relay control
  // still applies.
  EXPECT_EQ(Code(Rcpt(*c, "ok@example.org", "x@other.example")), 454);

  auto messages = h_.acceptor().Messages();
  ASSERT_EQ(messages.size(), 6u);
  EXPECT_TRUE(messages[0].message.actions.hold);
  EXPECT_EQ(messages[0].message.actions.hold_reason, "manual review");
  EXPECT_EQ(messages[1].message.actions.filter, "smtp:[127.0.0.1]:10099");
  EXPECT_THAT(messages[2].message.actions.prepend_headers,
              ::testing::ElementsAre("X-Moat-Test: prepended"));
  EXPECT_TRUE(messages[3].message.actions.discard);
  EXPECT_EQ(messages[3].queue_id, "");
  // Actions belong to their transaction only.
  EXPECT_FALSE(messages[4].message.actions.hold);
  EXPECT_FALSE(messages[4].message.actions.filter);
}

TEST_F(SmtpdRestrictionsTest, RestrictionClassesFromAccessTables) {
  h_.Write("recipients",
           "alice@example.test local_only\n"
           "bob@example.test permit_mynetworks, reject\n");
  Start(
      "smtpd_restriction_classes = local_only\n"
      "local_only = permit_mynetworks, reject\n"
      "smtpd_recipient_restrictions = check_recipient_access hash:recipients,\n"
      "    permit_mynetworks, reject_unauth_destination\n");
  EXPECT_EQ(Rcpt(*Outside(), "a@example.org", "alice@example.test"),
            "554 5.7.1 <alice@example.test>: Recipient address rejected: Access denied\r\n");
  EXPECT_EQ(Code(Rcpt(*Outside(), "a@example.org", "bob@example.test")), 554);
  EXPECT_EQ(Code(Rcpt(*Inside(), "a@example.org", "alice@example.test")), 250);
  EXPECT_EQ(Code(Rcpt(*Inside(), "a@example.org", "bob@example.test")), 250);
}

TEST_F(SmtpdRestrictionsTest, WarnIfRejectOnlyLogs) {
  Start("smtpd_relay_restrictions =\n"
        "smtpd_recipient_restrictions = warn_if_reject, reject_non_fqdn_recipient,\n"
        "    reject_unauth_destination\n");
  auto c = Outside();
  // reject_non_fqdn_recipient only warns. "alice" is alice@$myorigin (mx.example.test, a
  // subdomain of relay_domains), so relay control passes and the recipient table decides.
  EXPECT_EQ(Rcpt(*c, "a@example.org", "alice"),
            "550 5.1.1 <alice>: Recipient address rejected: User unknown in relay recipient "
            "table\r\n");
}

TEST_F(SmtpdRestrictionsTest, DeferIfPermitAndDeferIfReject) {
  Start(
      "smtpd_restriction_classes = soft_reject\n"
      "soft_reject = defer_if_reject, reject\n"
      "smtpd_sender_restrictions = defer_if_permit\n"
      "smtpd_recipient_restrictions = reject_unauth_destination\n");
  auto c = Outside();
  // A later permit turns into 450 ...
  EXPECT_EQ(Rcpt(*c, "a@example.org", "alice@example.test"),
            "450 4.7.0 <a@example.org>: Sender address rejected: defer_if_permit requested\r\n");
  // ... a reject stays a reject (454: the default relay restrictions defer).
  EXPECT_EQ(Code(Say(*c, "RCPT TO:<x@other.example>")), 454);
  h_.Stop();
  Start(
      "smtpd_restriction_classes = soft_reject\n"
      "soft_reject = defer_if_reject, reject\n"
      "smtpd_recipient_restrictions = reject_unauth_destination, soft_reject\n");
  EXPECT_EQ(Rcpt(*Outside(), "a@example.org", "alice@example.test"),
            "450 4.7.0 <alice@example.test>: Recipient address rejected: defer_if_reject "
            "requested\r\n");
}

TEST_F(SmtpdRestrictionsTest, DataAndEndOfDataRestrictions) {
  h_.Write("eod", "127.0.0.3 REJECT not after the message\n");
  Start(
      "smtpd_data_restrictions = reject_unauth_pipelining, reject_multi_recipient_bounce\n"
      "smtpd_end_of_data_restrictions = check_client_access cidr:eod\n");
  // A client that sends DATA and the message without waiting for 354: improper pipelining.
  auto c = Outside();
  Say(*c, "MAIL FROM:<a@example.org>");
  Say(*c, "RCPT TO:<alice@example.test>");
  c->Send(std::string("DATA\r\n") + kTestMessage + ".\r\n");
  EXPECT_EQ(c->ReadReply(),
            "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command "
            "pipelining\r\n");
  // <> with two recipients: a multi-recipient bounce.
  auto b = Outside();
  Say(*b, "MAIL FROM:<>");
  Say(*b, "RCPT TO:<alice@example.test>");
  Say(*b, "RCPT TO:<bob@example.test>");
  EXPECT_EQ(Say(*b, "DATA"),
            "550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce\r\n");
  auto e = Open(port_, "127.0.0.3");
  EXPECT_EQ(Send(*e, "a@example.org", {"alice@example.test"}),
            "554 5.7.1 <unknown[127.0.0.3]>: Client host rejected: not after the message\r\n");
  EXPECT_EQ(h_.acceptor().Count(), 0u);
}

TEST_F(SmtpdRestrictionsTest, UnknownRecipientsOfEveryAddressClass) {
  h_.Write("virtual", "alias@alias.example real@example.test\n");
  h_.Write("mailboxes", "box@mailbox.example x\n");
  Start(
      "virtual_alias_domains = alias.example\n"
      "virtual_alias_maps = hash:virtual\n"
      "virtual_mailbox_domains = mailbox.example\n"
      "virtual_mailbox_maps = hash:mailboxes\n"
      "mydestination = localhost\n"
      "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n");
  auto c = Outside();
  Say(*c, "MAIL FROM:<a@example.org>");
  EXPECT_EQ(Code(Say(*c, "RCPT TO:<alias@alias.example>")), 250);
  EXPECT_EQ(Say(*c, "RCPT TO:<other@alias.example>"),
            "550 5.1.1 <other@alias.example>: Recipient address rejected: User unknown in "
            "virtual alias table\r\n");
  EXPECT_EQ(Code(Say(*c, "RCPT TO:<box@mailbox.example>")), 250);
  EXPECT_EQ(Say(*c, "RCPT TO:<other@mailbox.example>"),
            "550 5.1.1 <other@mailbox.example>: Recipient address rejected: User unknown in "
            "virtual mailbox table\r\n");
  // Moat has no local delivery agent: without local_recipient_maps only postmaster exists.
  EXPECT_EQ(Say(*c, "RCPT TO:<root@localhost>"),
            "550 5.1.1 <root@localhost>: Recipient address rejected: User unknown in local "
            "recipient table\r\n");
  EXPECT_EQ(Code(Say(*c, "RCPT TO:<postmaster@localhost>")), 250);
}

TEST_F(SmtpdRestrictionsTest, ReceiveOverrideOptionsTurnOffUnknownRecipientChecks) {
  Start("", " -o receive_override_options=no_unknown_recipient_checks\n");
  EXPECT_EQ(Code(Rcpt(*Outside(), "a@example.org", "nobody@example.test")), 250);
}

TEST_F(SmtpdRestrictionsTest, UnknownSenderDomainsThroughDns) {
  auto dns = moat::testing::DnsmasqServer::Start(
      {"example.org", "nxdomain.example"},
      {"--mx-host=example.org,mx.example.org,10", "--host-record=mx.example.org,192.0.2.10",
       "--host-record=aonly.example.org,192.0.2.11"});
  ASSERT_TRUE(dns);
  Start(fmt::format("dns_servers = {}\n"
                    "smtpd_sender_restrictions = reject_unknown_sender_domain\n",
                    dns->address()));
  auto c = Outside();
  EXPECT_EQ(Code(Rcpt(*c, "a@example.org", "alice@example.test")), 250);  // MX
  Say(*c, "RSET");
  EXPECT_EQ(Code(Rcpt(*c, "a@aonly.example.org", "alice@example.test")), 250);  // A only
  Say(*c, "RSET");
  EXPECT_EQ(Rcpt(*c, "a@nxdomain.example", "alice@example.test"),
            "450 4.1.8 <a@nxdomain.example>: Sender address rejected: Domain not found\r\n");
  Say(*c, "RSET");
  EXPECT_EQ(Rcpt(*c, "a@nodata.example.org", "alice@example.test"),
            "450 4.1.8 <a@nodata.example.org>: Sender address rejected: Domain not found\r\n");
  Say(*c, "RSET");
  // A DNS failure (REFUSED here) defers - if nothing else rejects.
  EXPECT_EQ(Rcpt(*c, "a@refused.example", "alice@example.test"),
            "450 4.1.8 <a@refused.example>: Sender address rejected: Domain not found\r\n");
  EXPECT_EQ(Code(Say(*c, "RCPT TO:<x@other.example>")), 454);
  h_.Stop();
  Start(fmt::format("dns_servers = {}\nunknown_address_reject_code = 550\n"
                    "smtpd_sender_restrictions = reject_unknown_sender_domain\n",
                    dns->address()));
  EXPECT_EQ(Code(Rcpt(*Outside(), "a@nxdomain.example", "alice@example.test")), 550);
  EXPECT_EQ(Code(Rcpt(*Outside(), "a@refused.example", "alice@example.test")), 450);
}

TEST_F(SmtpdRestrictionsTest, OpenRelayConfigurationsAreRefused) {
  h_.Write("main.cf", std::string(kBase) +
                          "smtpd_relay_restrictions = permit_mynetworks\n"
                          "smtpd_recipient_restrictions = permit_mynetworks\n");
  h_.Write("master.cf", fmt::format("127.0.0.1:{} inet n - n - - smtpd\n", port_));
  EXPECT_THAT(h_.Start(), HasSubstr("specify at least one of reject_unauth_destination"));
}

TEST_F(SmtpdRestrictionsTest, UnknownAndUnimplementedRestrictionsAreRefused) {
  h_.Write("master.cf", fmt::format("127.0.0.1:{} inet n - n - - smtpd\n", port_));
  h_.Write("main.cf", std::string(kBase) + "smtpd_client_restrictions = check_policy_service "
                                           "inet:127.0.0.1:9\n");
  EXPECT_THAT(h_.Start(), HasSubstr("\"check_policy_service\" is unknown or not implemented"));
  h_.Write("main.cf", std::string(kBase) + "smtpd_client_restrictions = check_client_access "
                                           "hash:missing\n");
  EXPECT_THAT(h_.Start(), HasSubstr("missing"));
}

TEST_F(SmtpdRestrictionsTest, PostfixDefaultRelayRestrictionsDefer) {
  // smtpd_relay_restrictions' default ends in defer_unauth_destination: 454, as Postfix.
  Start("");
  EXPECT_EQ(Rcpt(*Outside(), "a@example.org", "x@other.example"),
            "454 4.7.1 <x@other.example>: Relay access denied\r\n");
}

TEST_F(SmtpdRestrictionsTest, SoftBounceTurnsRejectsIntoDeferrals) {
  Start("soft_bounce = yes\nsmtpd_relay_restrictions = reject_unauth_destination\n");
  EXPECT_EQ(Rcpt(*Outside(), "a@example.org", "x@other.example"),
            "454 4.7.1 <x@other.example>: Relay access denied\r\n");
  EXPECT_EQ(Code(Rcpt(*Outside(), "a@example.org", "nobody@example.test")), 450);
}

}  // namespace
}  // namespace moat::mta::testing
