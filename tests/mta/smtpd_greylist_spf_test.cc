// smtpd_greylist_spf_test.cc - the policy restrictions inside moat-mta's smtpd (in process, with
// a real DNS server, dnsmasq): check_spf where a list places it (at MAIL FROM with
// smtpd_delay_reject = no), SPF never checked for SASL-authenticated clients, one Received-SPF
// field set per transaction however many recipients, check_greylist with client exemptions and
// DEFER_IF_PERMIT semantics (a later reject wins), and the configuration loader's (so
// `moat check-config`'s) view of every parameter and restriction name these modules add.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/password_hash.h"
#include "tests/mta/smtpd_test_support.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::mta::testing {
namespace {

using ::testing::HasSubstr;
using moat::testing::DnsmasqServer;
using moat::testing::RunCommand;

class SmtpdGreylistSpfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dns_ = DnsmasqServer::Start({"test"}, {"--txt-record=spf.test,v=spf1 ip4:127.0.0.40 -all"});
    ASSERT_TRUE(dns_);
    spf_port_ = moat::testing::FreeTcpPort();
    submission_port_ = moat::testing::FreeTcpPort();
    greylist_port_ = moat::testing::FreeTcpPort();
    auto alice = core::HashPassword("alice secret", {1000});
    ASSERT_TRUE(alice);
    h_.Write("sasl_passwords", "alice " + *alice + "\n");
    h_.Write("greylist_clients.cidr", "127.0.0.50/32 OK\n127.0.0.0/8 DUNNO\n");
    h_.Write("main.cf",
             fmt::format("compatibility_level = 3.6\n"
                         "myhostname = mx.example.test\n"
                         "mydestination =\n"
                         "inet_interfaces = loopback-only\n"
                         "mynetworks = 127.0.0.1/32\n"
                         "relay_domains = example.test\n"
                         "dns_servers = {}\n"
                         "data_directory = {}\n"
                         "smtpd_tls_security_level = may\n"
                         "smtpd_tls_cert_file = {}\n"
                         "smtpd_tls_key_file = {}\n"
                         "smtpd_sasl_password_maps = hash:sasl_passwords\n"
                         "smtpd_spf_reject_fail = yes\n",
                         dns_->address(), h_.dir().Path("data"),
                         moat::testing::SourcePath("conf/tls/sample-cert.pem"),
                         moat::testing::SourcePath("conf/tls/sample-key.pem")));
    h_.Write("master.cf",
             fmt::format("127.0.0.1:{} inet n - n - - smtpd\n"
                         "  -o smtpd_delay_reject=no\n"
                         "  -o smtpd_sender_restrictions=check_spf\n"
                         "127.0.0.1:{} inet n - n - - smtpd\n"
                         "  -o smtpd_tls_security_level=encrypt\n"
                         "  -o smtpd_sasl_auth_enable=yes\n"
                         "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
                         "  -o smtpd_spf_checks=yes\n"
                         "  -o smtpd_spf_stage=mail\n"
                         "127.0.0.1:{} inet n - n - - smtpd\n"
                         "  -o smtpd_recipient_restrictions=check_greylist,"
                         "check_recipient_access,texthash:rcpt_access\n"
                         "  -o greylist_client_exemptions=cidr:greylist_clients.cidr\n",
                         spf_port_, submission_port_, greylist_port_));
    h_.Write("rcpt_access", "closed@example.test REJECT mailbox closed\n");
    ASSERT_EQ(h_.Start(), "");
  }

  std::unique_ptr<DnsmasqServer> dns_;
  SmtpdHarness h_;
  int spf_port_ = 0;
  int submission_port_ = 0;
  int greylist_port_ = 0;
};

TEST_F(SmtpdGreylistSpfTest, CheckSpfInSenderRestrictionsRefusesAtMail) {
  auto stranger = Open(spf_port_, "127.0.0.41", "client.test");
  EXPECT_THAT(Say(*stranger, "MAIL FROM:<a@spf.test>"),
              HasSubstr("550 5.7.23 Message rejected due to: SPF fail - not authorized"));
  // The same sender from its own address: pass, and the fields go with the message once,
  // whatever the number of recipients.
  auto own = Open(spf_port_, "127.0.0.40", "client.test");
  EXPECT_EQ(Code(Say(*own, "MAIL FROM:<a@spf.test>")), 250);
  EXPECT_EQ(Code(Say(*own, "RCPT TO:<x@example.test>")), 250);
  EXPECT_EQ(Code(Say(*own, "RCPT TO:<y@example.test>")), 250);
  EXPECT_EQ(Code(Say(*own, "DATA")), 354);
  EXPECT_EQ(Code(Say(*own, std::string(kTestMessage) + ".")), 250);
  auto messages = h_.acceptor().Messages();
  ASSERT_EQ(messages.size(), 1u);
  const auto& headers = messages[0].message.actions.prepend_headers;
  ASSERT_EQ(headers.size(), 2u);  // MAIL FROM (pass), then HELO (none)
  EXPECT_THAT(headers[0], HasSubstr("Received-SPF: pass ("));
  EXPECT_THAT(headers[0], HasSubstr("identity=mailfrom"));
  EXPECT_THAT(headers[1], HasSubstr("identity=helo"));
}

TEST_F(SmtpdGreylistSpfTest, AuthenticatedClientsAreNeverChecked) {
  auto sent = RunCommand({"swaks", "--server", fmt::format("127.0.0.1:{}", submission_port_),
                          "--local-interface", "127.0.0.41", "--helo", "client.test", "-tls",
                          "--from", "a@spf.test", "--to", "user@elsewhere.example", "-a",
                          "PLAIN", "-au", "alice", "-ap", "alice secret", "--timeout", "20"});
  EXPECT_EQ(sent.exit_code, 0) << sent.out;
  auto messages = h_.acceptor().Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].message.actions.prepend_headers.empty());
}

TEST_F(SmtpdGreylistSpfTest, GreylistExemptionsAndLaterRejects) {
  auto exempt = Open(greylist_port_, "127.0.0.50");
  EXPECT_EQ(Code(Say(*exempt, "MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Code(Say(*exempt, "RCPT TO:<x@example.test>")), 250);

  auto stranger = Open(greylist_port_, "127.0.1.51");
  EXPECT_EQ(Code(Say(*stranger, "MAIL FROM:<a@example.org>")), 250);
  EXPECT_THAT(Say(*stranger, "RCPT TO:<x@example.test>"),
              HasSubstr("450 4.7.1 <x@example.test>: Recipient address rejected: Greylisted"));
  // DEFER_IF_PERMIT, as postgrey answers: a later REJECT is what the client gets.
  EXPECT_THAT(Say(*stranger, "RCPT TO:<closed@example.test>"),
              HasSubstr("554 5.7.1 <closed@example.test>: Recipient address rejected: mailbox "
                        "closed"));
}

TEST(PolicyParametersTest, CheckConfigKnowsEveryNewName) {
  moat::testing::TempDir dir;
  dir.WriteFile("master.cf", "smtp inet n - n - - postscreen\nsmtpd pass - - n - - smtpd\n");
  dir.WriteFile("main.cf",
                "mynetworks = 127.0.0.0/8\n"
                "postscreen_dnsbl_sites = zen.example=127.0.0.[2..11]*2, list.example*-1\n"
                "postscreen_dnsbl_threshold = 2\n"
                "postscreen_dnsbl_allowlist_threshold = -1\n"
                "postscreen_dnsbl_action = enforce\n"
                "postscreen_denylist_action = drop\n"
                "postscreen_dnsbl_timeout = 5s\n"
                "postscreen_dnsbl_min_ttl = 60s\n"
                "postscreen_dnsbl_max_ttl = 1h\n"
                "postscreen_dnsbl_cache_limit = 1000\n"
                "postscreen_access_list = permit_mynetworks\n"
                "rbl_lookup_timeout = 5s\n"
                "smtpd_recipient_restrictions = reject_unauth_destination,\n"
                "    reject_rbl_client zen.example, reject_rhsbl_sender dbl.example,\n"
                "    reject_rhsbl_client dbl.example, reject_rhsbl_helo dbl.example,\n"
                "    check_greylist, check_spf\n"
                "smtpd_spf_checks = yes\n"
                "smtpd_spf_stage = mail\n"
                "smtpd_spf_reject_fail = yes\n"
                "smtpd_spf_defer_temperror = yes\n"
                "smtpd_spf_reject_permerror = no\n"
                "smtpd_spf_helo_checks = yes\n"
                "smtpd_spf_received_header = yes\n"
                "smtpd_spf_time_limit = 10s\n"
                "smtpd_spf_void_lookup_limit = 2\n"
                "greylist_delay = 60s\n"
                "greylist_retry_window = 1d\n"
                "greylist_max_age = 30d\n"
                "greylist_auto_allow_clients = 3\n"
                "greylist_client_exemptions =\n"
                "greylist_recipient_exemptions =\n"
                "greylist_database = $data_directory/greylist.sqlite\n"
                "greylist_ipv4_prefix = 24\n"
                "greylist_ipv6_prefix = 64\n"
                "greylist_normalize_sender = yes\n"
                "greylist_text = Greylisted for %s seconds\n"
                "greylist_header = yes\n");
  MtaConfig config = LoadMtaConfig({dir.path(), "main.cf", {}});
  std::vector<std::string> warnings;
  for (const auto& warning : config.warnings) warnings.push_back(warning.ToString());
  EXPECT_THAT(warnings, ::testing::IsEmpty());
  for (const char* wrong : {"smtpd_spf_stage=data", "postscreen_dnsbl_sites=bad..example",
                            "greylist_delay=soon"}) {
    EXPECT_THROW(LoadMtaConfig({dir.path(), "main.cf", {wrong}}), core::ConfigError) << wrong;
  }
}

}  // namespace
}  // namespace moat::mta::testing
