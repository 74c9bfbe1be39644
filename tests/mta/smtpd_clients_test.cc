// smtpd_clients_test.cc - moat-mta's smtpd with clients no one here wrote: swaks (plain,
// STARTTLS, AUTH PLAIN/LOGIN), Python's smtplib, Postfix's smtp-source and openssl s_client.
// Every 250 they see is a message the durable test acceptor fsynced.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/password_hash.h"
#include "tests/mta/smtpd_test_support.h"

namespace moat::mta::testing {
namespace {

using ::testing::HasSubstr;
using moat::testing::RunCommand;

class SmtpdClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    smtp_port_ = moat::testing::FreeTcpPort();
    submission_port_ = moat::testing::FreeTcpPort();
    // Cheap hashes keep the test fast; the format is the production one.
    auto alice = core::HashPassword("alice secret", {1000});
    auto bob = core::HashPassword("bob's pass", {1000});
    ASSERT_TRUE(alice && bob);
    h_.Write("sasl_passwords", "alice " + *alice + "\nbob@example.test " + *bob + "\n");
    h_.Write("sender_logins", "alice@example.test alice\nbob@example.test bob@example.test\n");
    h_.Write("relay_recipients", "alice@example.test OK\nbob@example.test OK\n");
    h_.Write("main.cf", fmt::format(
                            "compatibility_level = 3.6\n"
                            "myhostname = mx.example.test\n"
                            "mydestination =\n"
                            "inet_interfaces = loopback-only\n"
                            "mynetworks = 127.0.0.1/32\n"
                            "relay_domains = example.test\n"
                            "relay_recipient_maps = hash:relay_recipients\n"
                            "smtpd_tls_security_level = may\n"
                            "smtpd_tls_cert_file = {}\n"
                            "smtpd_tls_key_file = {}\n"
                            "smtpd_sasl_password_maps = hash:sasl_passwords\n"
                            "smtpd_sender_login_maps = hash:sender_logins\n",
                            moat::testing::SourcePath("conf/tls/sample-cert.pem"),
                            moat::testing::SourcePath("conf/tls/sample-key.pem")));
    // The sample submission service of conf/master.cf, as written there.
    h_.Write("master.cf",
             fmt::format("127.0.0.1:{} inet n - n - - smtpd\n"
                         "127.0.0.1:{} inet n - n - - smtpd\n"
                         "  -o syslog_name=moat-mta/submission\n"
                         "  -o smtpd_tls_security_level=encrypt\n"
                         "  -o smtpd_tls_auth_only=yes\n"
                         "  -o smtpd_sasl_auth_enable=yes\n"
                         "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
                         "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
                         "  -o smtpd_sender_restrictions=reject_sender_login_mismatch\n",
                         smtp_port_, submission_port_));
    ASSERT_EQ(h_.Start(), "");
  }
  std::vector<std::string> Swaks(int port, std::vector<std::string> extra) {
    std::vector<std::string> argv = {"swaks", "--server", fmt::format("127.0.0.1:{}", port),
                                     "--helo", "client.example.org", "--timeout", "30"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  SmtpdHarness h_;
  int smtp_port_ = 0;
  int submission_port_ = 0;
};

TEST_F(SmtpdClientsTest, SwaksPlainAndStartTls) {
  auto plain = RunCommand(Swaks(smtp_port_, {"--local-interface", "127.0.0.2", "--from",
                                             "sender@example.org", "--to", "alice@example.test"}));
  EXPECT_EQ(plain.exit_code, 0) << plain.out;
  EXPECT_THAT(plain.out, HasSubstr("250-STARTTLS"));
  EXPECT_THAT(plain.out, ::testing::Not(HasSubstr("AUTH")));  // not enabled on this service
  EXPECT_THAT(plain.out, HasSubstr("<-  250 2.0.0 Ok: queued as T"));

  auto tls = RunCommand(Swaks(smtp_port_, {"--local-interface", "127.0.0.2", "-tls", "--from",
                                           "sender@example.org", "--to", "bob@example.test"}));
  EXPECT_EQ(tls.exit_code, 0) << tls.out;
  EXPECT_THAT(tls.out, HasSubstr("TLS started"));
  auto messages = h_.acceptor().Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_FALSE(messages[0].message.session.tls.has_value());
  ASSERT_TRUE(messages[1].message.session.tls.has_value());
  EXPECT_THAT(messages[1].message.session.tls->protocol, ::testing::StartsWith("TLSv1."));
}

TEST_F(SmtpdClientsTest, SwaksSubmissionWithAuth) {
  // Without TLS the submission service refuses everything but the TLS start.
  auto clear = RunCommand(Swaks(submission_port_, {"--from", "alice@example.test", "--to",
                                                   "user@other.example", "-a", "PLAIN", "-au",
                                                   "alice", "-ap", "alice secret"}));
  EXPECT_NE(clear.exit_code, 0);
  EXPECT_THAT(clear.out, ::testing::Not(HasSubstr("AUTH PLAIN LOGIN")));

  for (std::string mechanism : {"PLAIN", "LOGIN"}) {
    auto ok = RunCommand(Swaks(
        submission_port_, {"-tls", "--local-interface", "127.0.0.2", "--from",
                           "alice@example.test", "--to", "user@other.example", "-a", mechanism,
                           "-au", "alice", "-ap", "alice secret"}));
    EXPECT_EQ(ok.exit_code, 0) << ok.out;
    EXPECT_THAT(ok.out, HasSubstr("235 2.7.0 Authentication successful"));
    EXPECT_THAT(ok.out, HasSubstr("250 2.0.0 Ok: queued as"));
  }
  auto wrong = RunCommand(Swaks(submission_port_, {"-tls", "--from", "alice@example.test", "--to",
                                                   "user@other.example", "-a", "PLAIN", "-au",
                                                   "alice", "-ap", "guess"}));
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_THAT(wrong.out, HasSubstr("535 5.7.8"));
  auto nobody = RunCommand(Swaks(submission_port_, {"-tls", "--from", "alice@example.test",
                                                    "--to", "user@other.example", "-a", "PLAIN",
                                                    "-au", "mallory", "-ap", "alice secret"}));
  EXPECT_THAT(nobody.out, HasSubstr("535 5.7.8"));
  // Authenticated, but not the owner of the sender address (smtpd_sender_login_maps).
  auto spoof = RunCommand(Swaks(submission_port_, {"-tls", "--from", "bob@example.test", "--to",
                                                   "user@other.example", "-a", "LOGIN", "-au",
                                                   "alice", "-ap", "alice secret"}));
  EXPECT_THAT(spoof.out,
              HasSubstr("553 5.7.1 <bob@example.test>: Sender address rejected: not owned by "
                        "user alice"));
  // Unauthenticated: the client restrictions of the submission service refuse.
  auto anonymous = RunCommand(Swaks(submission_port_, {"-tls", "--from", "x@example.org", "--to",
                                                       "alice@example.test"}));
  EXPECT_THAT(anonymous.out, HasSubstr("554 5.7.1 <unknown[127.0.0.1]>: Client host rejected"));

  auto messages = h_.acceptor().Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].message.session.auth_user, "alice");
  EXPECT_EQ(messages[0].message.session.auth_mechanism, "PLAIN");
  EXPECT_EQ(messages[1].message.session.auth_mechanism, "LOGIN");
}

TEST_F(SmtpdClientsTest, PythonSmtplib) {
  const std::string script = fmt::format(R"(
import smtplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", {0}, local_hostname="client.example.org", timeout=30) as s:
    s.ehlo()
    assert not s.has_extn("auth"), "AUTH offered in clear text"
    s.starttls(context=ctx)
    s.ehlo()
    assert s.has_extn("auth"), "AUTH not offered after STARTTLS"
    s.login("bob@example.test", "bob's pass")
    refused = s.sendmail("bob@example.test", ["user@other.example", "alice@example.test"],
                         "From: bob@example.test\r\nSubject: smtplib\r\n\r\nHi.\r\n")
    assert refused == {{}}, refused
    try:
        s.sendmail("alice@example.test", ["user@other.example"], "Subject: x\r\n\r\nx\r\n")
        sys.exit("spoofed sender accepted")
    except smtplib.SMTPRecipientsRefused as e:
        (code, text), = e.recipients.values()
        assert code == 553 and b"not owned by user bob@example.test" in text, e
print("ok")
)",
                                         submission_port_);
  auto result = RunCommand({moat::testing::kSystemPython, "-c", script});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out, "ok\n");
  auto messages = h_.acceptor().Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].message.session.auth_user, "bob@example.test");
  EXPECT_EQ(messages[0].message.envelope.recipients.size(), 2u);
}

TEST_F(SmtpdClientsTest, PostfixSmtpSource) {
  if (!moat::testing::HaveTool("smtp-source")) GTEST_SKIP() << "smtp-source is not installed";
  auto result = RunCommand({"smtp-source", "-s", "5", "-m", "100", "-l", "3000", "-f",
                            "sender@example.org", "-t", "alice@example.test",
                            fmt::format("127.0.0.1:{}", smtp_port_)},
                           Input("", std::chrono::seconds(120)));
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(h_.acceptor().Count(), 100u);
  // Several messages over one connection (-d: do not disconnect after each message).
  auto pipelined = RunCommand({"smtp-source", "-s", "2", "-m", "20", "-d", "-f",
                               "sender@example.org", "-t", "bob@example.test",
                               fmt::format("127.0.0.1:{}", smtp_port_)},
                              Input("", std::chrono::seconds(120)));
  EXPECT_EQ(pipelined.exit_code, 0) << pipelined.err;
  EXPECT_EQ(h_.acceptor().Count(), 120u);
}

TEST_F(SmtpdClientsTest, OpensslSClientStartTls) {
  const std::string input =
      "EHLO client.example.org\n"
      "MAIL FROM:<sender@example.org>\n"
      "RCPT TO:<alice@example.test>\n"
      "DATA\n"
      "Subject: s_client\n"
      "\n"
      "over TLS\n"
      ".\n"
      "QUIT\n";
  auto result = RunCommand({"openssl", "s_client", "-connect",
                            fmt::format("127.0.0.1:{}", smtp_port_), "-starttls", "smtp",
                            "-crlf", "-ign_eof", "-quiet", "-verify_quiet"},
                           Input(input, std::chrono::seconds(60)));
  EXPECT_THAT(result.out, HasSubstr("250 2.0.0 Ok: queued as"));
  EXPECT_THAT(result.out, HasSubstr("221 2.0.0 Bye"));
  ASSERT_EQ(h_.acceptor().Count(), 1u);
  auto message = h_.acceptor().Messages()[0].message;
  EXPECT_TRUE(message.session.tls.has_value());
  EXPECT_THAT(message.content, HasSubstr("over TLS\r\n"));
  // A client that offers only TLS 1.1 (and allows it on its side) is refused by the safe
  // default smtpd_tls_protocols = >=TLSv1.2; the same client with TLS 1.2 gets in.
  auto old = RunCommand({"openssl", "s_client", "-connect",
                         fmt::format("127.0.0.1:{}", smtp_port_), "-starttls", "smtp", "-tls1_1",
                         "-cipher", "DEFAULT:@SECLEVEL=0", "-crlf"},
                        Input("QUIT\n", std::chrono::seconds(30)));
  EXPECT_NE(old.exit_code, 0) << old.out << old.err;
  EXPECT_THAT(old.out, ::testing::Not(HasSubstr("221 2.0.0")));
  auto current = RunCommand({"openssl", "s_client", "-connect",
                             fmt::format("127.0.0.1:{}", smtp_port_), "-starttls", "smtp",
                             "-tls1_2", "-cipher", "DEFAULT:@SECLEVEL=0", "-crlf", "-ign_eof"},
                            Input("QUIT\n", std::chrono::seconds(30)));
  EXPECT_THAT(current.out, HasSubstr("Protocol  : TLSv1.2"));
  EXPECT_THAT(current.out, HasSubstr("221 2.0.0"));
}

}  // namespace
}  // namespace moat::mta::testing
