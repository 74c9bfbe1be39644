// mta_policy_test.cc - inbound policy at the door of the real moat-mta: DNS blocklists
// (postscreen's screen and reject_rbl_client / reject_rhsbl_sender), greylisting (check_greylist)
// and SPF (smtpd_spf_checks), each against a DNS server the test starts (dnsmasq on a free
// loopback port, with one domain forwarded to a server that answers SERVFAIL), with swaks as the
// client connecting from different 127.0.0.0/8 source addresses (--local-interface), Postfix's
// smtp-sink as the next hop that shows what was delivered, and `moat greylist` on the state.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/integration/mta_process.h"
#include "tests/mta/servfail_server.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::mta {
namespace {

using moat::testing::CommandResult;
using moat::testing::DnsmasqServer;
using moat::testing::DnsmasqTxtRecord;
using moat::testing::FreeTcpPort;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitForTcpPort;
using moat::testing::WaitUntil;
using testing::MtaProcess;
using testing::ServfailServer;
using testing::SinkProcess;
using namespace std::chrono_literals;

struct Mail {
  std::string from = "alice@example.org";
  std::string to = "user@example.test";
  std::string helo = "client.test";
  std::string subject = "policy test";
};

// One SMTP session with swaks from `source` (a 127.0.0.0/8 address) to 127.0.0.1:port.
CommandResult Swaks(int port, const std::string& source, const Mail& mail = {}) {
  return RunCommand({"swaks", "--server", "127.0.0.1", "--port", std::to_string(port),
                     "--local-interface", source, "--helo", mail.helo, "--from", mail.from,
                     "--to", mail.to, "--header", "Subject: " + mail.subject, "--timeout", "15"},
                    moat::testing::WithTimeout(30s));
}

bool Accepted(const CommandResult& r) {
  return r.exit_code == 0 && r.out.find("250 2.0.0 Ok: queued as") != std::string::npos;
}

std::string MasterLine(int port, const std::string& command, const std::string& options = "") {
  return fmt::format("127.0.0.1:{} inet n - n - - {}\n{}", port, command, options);
}

// The base the three tests share: clients from 127.0.0.N (N > 1) are strangers.
constexpr const char* kStrangers = "mynetworks = 127.0.0.1/32\n";

TEST(MtaPolicyTest, DnsblScreenAndRestrictions) {
  TempDir dir;
  ServfailServer servfail;
  auto dns = DnsmasqServer::Start(
      {"test"},
      {
          // 127.0.0.10 on zen (in its filter): score 2.
          "--host-record=10.0.0.127.zen.test,127.0.0.2",
          DnsmasqTxtRecord("10.0.0.127.zen.test", "https://zen.test/query/ip/127.0.0.10"),
          // 127.0.0.11 on bl only: score 1.
          "--host-record=11.0.0.127.bl.test,127.0.0.2",
          // 127.0.0.12 on bl, and on zen with an answer outside zen's filter: score 1.
          "--host-record=12.0.0.127.bl.test,127.0.0.2",
          "--host-record=12.0.0.127.zen.test,127.0.0.20",
          // 127.0.0.13 on bl and zen: score 3.
          "--host-record=13.0.0.127.bl.test,127.0.0.2",
          "--host-record=13.0.0.127.zen.test,127.0.0.3",
          DnsmasqTxtRecord("13.0.0.127.zen.test", "listed: 127.0.0.13 sends spam"),
          // 127.0.0.14: a list answering garbage (not 127.0.0.0/8) with a weight of 3.
          "--host-record=14.0.0.127.garbage.test,10.0.0.1",
          // 127.0.0.15: on zen, but permitted by postscreen_access_list.
          "--host-record=15.0.0.127.zen.test,127.0.0.2",
          // RHSBL for sender domains.
          "--host-record=spammer.example.dbl.test,127.0.1.2",
          DnsmasqTxtRecord("spammer.example.dbl.test", "domain listed"),
          // Every query for broken.test gets SERVFAIL.
          "--server=/broken.test/127.0.0.1#" + std::to_string(servfail.port()),
      });
  ASSERT_TRUE(dns);
  dir.WriteFile("postscreen_access.cidr", "127.0.0.15/32 permit\n");
  const int enforce_port = FreeTcpPort();
  const int drop_port = FreeTcpPort();
  MtaProcess mta(
      dir,
      std::string(kStrangers) + "dns_servers = " + dns->address() +
          "\n"
          "postscreen_dnsbl_sites = zen.test=127.0.0.[2..11]*2, bl.test*1, garbage.test*3,\n"
          "    broken.test*3\n"
          "postscreen_dnsbl_threshold = 2\n"
          "postscreen_dnsbl_action = enforce\n"
          "postscreen_dnsbl_timeout = 5s\n"
          "postscreen_access_list = permit_mynetworks, cidr:$config_directory/"
          "postscreen_access.cidr\n"
          "relay_transport = discard\n"
          "smtpd_recipient_restrictions = reject_rbl_client zen.test=127.0.0.[2..11],\n"
          "    reject_rbl_client broken.test, reject_rhsbl_sender dbl.test\n",
      MasterLine(enforce_port, "postscreen", "  -o smtpd_recipient_restrictions=\n") +
          MasterLine(drop_port, "postscreen",
                     "  -o postscreen_dnsbl_action=drop\n  -o smtpd_recipient_restrictions=\n"));
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(WaitForTcpPort(enforce_port, 10s) && WaitForTcpPort(drop_port, 10s)) << mta.Log();

  // postscreen, enforce: listed clients get 550 with the list's name and TXT text at RCPT.
  auto listed = Swaks(enforce_port, "127.0.0.10");
  EXPECT_FALSE(Accepted(listed));
  EXPECT_NE(listed.out.find("550 5.7.1 Service unavailable; client [127.0.0.10] blocked using "
                            "zen.test; https://zen.test/query/ip/127.0.0.10"),
            std::string::npos)
      << listed.out;
  // Weights against the threshold (2): bl alone (1) passes, bl + zen (3) does not; zen's
  // answer outside its reply filter does not count.
  EXPECT_TRUE(Accepted(Swaks(enforce_port, "127.0.0.11"))) << mta.Log();
  EXPECT_TRUE(Accepted(Swaks(enforce_port, "127.0.0.12"))) << mta.Log();
  auto both = Swaks(enforce_port, "127.0.0.13");
  EXPECT_FALSE(Accepted(both));
  EXPECT_NE(both.out.find("blocked using zen.test; listed: 127.0.0.13 sends spam"),
            std::string::npos)
      << both.out;
  // Garbage answers list no one; the access list permits before any DNSBL; an unlisted client
  // passes although broken.test (weight 3) answered SERVFAIL.
  EXPECT_TRUE(Accepted(Swaks(enforce_port, "127.0.0.14"))) << mta.Log();
  EXPECT_TRUE(Accepted(Swaks(enforce_port, "127.0.0.15"))) << mta.Log();
  EXPECT_TRUE(Accepted(Swaks(enforce_port, "127.0.0.20"))) << mta.Log();
  EXPECT_NE(mta.Log().find("lists did not answer"), std::string::npos) << mta.Log();

  // postscreen, drop: 521 instead of the greeting.
  auto dropped = Swaks(drop_port, "127.0.0.10");
  EXPECT_NE(dropped.out.find("521 5.7.1 Service unavailable; client [127.0.0.10] blocked using "
                             "zen.test"),
            std::string::npos)
      << dropped.out;
  EXPECT_TRUE(Accepted(Swaks(drop_port, "127.0.0.20"))) << mta.Log();
  // ... and the server hangs up after it (RFC 7504), without waiting for the client's QUIT.
  CommandResult hangup = RunCommand(
      {moat::testing::kSystemPython, "-c",
       "import socket, sys\n"
       "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10,\n"
       "                             source_address=('127.0.0.10', 0))\n"
       "f = s.makefile('rb')\n"
       "print(f.readline().decode().strip())\n"
       "try:\n"
       "    print('closed' if f.readline() == b'' else 'more')\n"
       "except socket.timeout:\n"
       "    print('still open')\n",
       std::to_string(drop_port)},
      moat::testing::WithTimeout(30s));
  EXPECT_NE(hangup.out.find("521 5.7.1"), std::string::npos) << hangup.out << hangup.err;
  EXPECT_NE(hangup.out.find("closed"), std::string::npos) << hangup.out << hangup.err;

  // smtpd restrictions: Postfix's reply texts with the list's TXT text; SERVFAIL is DUNNO.
  auto rbl = Swaks(mta.smtp_port(), "127.0.0.10");
  EXPECT_NE(rbl.out.find("554 5.7.1 Service unavailable; Client host [127.0.0.10] blocked using "
                         "zen.test; https://zen.test/query/ip/127.0.0.10"),
            std::string::npos)
      << rbl.out;
  Mail spammer;
  spammer.from = "someone@spammer.example";
  auto rhsbl = Swaks(mta.smtp_port(), "127.0.0.20", spammer);
  EXPECT_NE(rhsbl.out.find("554 5.7.1 Service unavailable; Sender address [spammer.example] "
                           "blocked using dbl.test; domain listed"),
            std::string::npos)
      << rhsbl.out;
  EXPECT_TRUE(Accepted(Swaks(mta.smtp_port(), "127.0.0.20"))) << mta.Log();
  EXPECT_EQ(mta.Stop(), 0);
}

TEST(MtaPolicyTest, GreylistingDefersThenAcceptsAcrossARestart) {
  TempDir dir;
  SinkProcess sink(dir, "sink");
  ASSERT_TRUE(sink.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", sink.port()));
  dir.WriteFile("greylist_recipients", "abuse@example.test OK\n");
  MtaProcess mta(dir, std::string(kStrangers) +
                          "transport_maps = hash:$config_directory/transport\n"
                          "smtpd_recipient_restrictions = reject_unauth_destination, "
                          "check_greylist\n"
                          "greylist_delay = 1s\n"
                          "greylist_recipient_exemptions = hash:$config_directory/"
                          "greylist_recipients\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();

  auto greylisted = Swaks(mta.smtp_port(), "127.0.0.30");
  // Taken after the 450: the triplet was first seen before it, however long swaks took to start.
  const auto first = std::chrono::steady_clock::now();
  EXPECT_FALSE(Accepted(greylisted));
  EXPECT_NE(greylisted.out.find("450 4.7.1 <user@example.test>: Recipient address rejected: "
                                "Greylisted"),
            std::string::npos)
      << greylisted.out;
  // Too early (the same /24 counts as the same client).
  auto again = Swaks(mta.smtp_port(), "127.0.0.31");
  EXPECT_NE(again.out.find("450 4.7.1"), std::string::npos) << again.out;
  // Exempt recipients are never greylisted.
  Mail abuse;
  abuse.to = "abuse@example.test";
  EXPECT_TRUE(Accepted(Swaks(mta.smtp_port(), "127.0.0.30", abuse))) << mta.Log();

  // The triplet survives a restart: after the delay the first retry to the new process passes.
  ASSERT_EQ(mta.Stop(), 0);
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return std::chrono::steady_clock::now() - first > 1100ms; }, 5s));
  Mail retry;
  retry.subject = "greylist retry";
  auto passed = Swaks(mta.smtp_port(), "127.0.0.30", retry);
  EXPECT_TRUE(Accepted(passed)) << passed.out << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return sink.CountWith("greylist retry") == 1; }, 20s)) << mta.Log();
  for (const std::string& message : sink.Messages()) {
    if (message.find("greylist retry") == std::string::npos) continue;
    EXPECT_NE(message.find("X-Greylist: delayed "), std::string::npos) << message;
  }

  // moat greylist list --json shows the passed triplet; clear forgets it.
  auto list = RunCommand({moat::testing::BinaryPath("moat"), "-c", dir.path(), "greylist", "list",
                          "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto json = nlohmann::json::parse(list.out);
  ASSERT_EQ(json["triplets"].size(), 1u) << list.out;
  EXPECT_EQ(json["triplets"][0]["client"], "127.0.0.0/24");
  EXPECT_EQ(json["triplets"][0]["sender"], "alice@example.org");
  EXPECT_EQ(json["triplets"][0]["recipient"], "user@example.test");
  EXPECT_EQ(json["triplets"][0]["state"], "passed");
  EXPECT_EQ(json["clients"][0]["retries"], 1);
  auto clear = RunCommand({moat::testing::BinaryPath("moat"), "-c", dir.path(), "greylist",
                           "clear"});
  ASSERT_EQ(clear.exit_code, 0) << clear.err;
  auto forgotten = Swaks(mta.smtp_port(), "127.0.0.30");
  EXPECT_NE(forgotten.out.find("450 4.7.1"), std::string::npos) << forgotten.out;
  EXPECT_EQ(mta.Stop(), 0);
}

TEST(MtaPolicyTest, SpfChecksRejectOnlyWhenConfiguredAndAddReceivedSpf) {
  TempDir dir;
  ServfailServer servfail;
  auto dns = DnsmasqServer::Start(
      {"test"}, {
                    "--txt-record=spf.test,v=spf1 ip4:127.0.0.40 -all",
                    "--server=/tempfail.test/127.0.0.1#" + std::to_string(servfail.port()),
                });
  ASSERT_TRUE(dns);
  SinkProcess sink(dir, "sink");
  ASSERT_TRUE(sink.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", sink.port()));
  const int strict_port = FreeTcpPort();
  MtaProcess mta(dir,
                 std::string(kStrangers) + "dns_servers = " + dns->address() +
                     "\n"
                     "transport_maps = hash:$config_directory/transport\n"
                     "smtpd_spf_checks = yes\n",
                 MasterLine(strict_port, "smtpd",
                            "  -o smtpd_spf_reject_fail=yes\n"
                            "  -o smtpd_spf_defer_temperror=yes\n"
                            "  -o smtpd_spf_stage=mail\n"));
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(WaitForTcpPort(strict_port, 10s)) << mta.Log();

  auto send = [&](int port, const std::string& source, const std::string& from,
                  const std::string& subject) {
    Mail mail;
    mail.from = from;
    mail.subject = subject;
    return Swaks(port, source, mail);
  };
  // Default policy: every result is accepted and recorded.
  EXPECT_TRUE(Accepted(send(mta.smtp_port(), "127.0.0.40", "a@spf.test", "spf-pass")));
  EXPECT_TRUE(Accepted(send(mta.smtp_port(), "127.0.0.41", "a@spf.test", "spf-fail")));
  EXPECT_TRUE(Accepted(send(mta.smtp_port(), "127.0.0.41", "a@tempfail.test", "spf-temp")));
  EXPECT_TRUE(Accepted(send(mta.smtp_port(), "127.0.0.1", "a@spf.test", "spf-mynetworks")));
  // smtpd_spf_reject_fail = yes: fail is refused at MAIL FROM; temperror is deferred.
  auto rejected = send(strict_port, "127.0.0.41", "a@spf.test", "spf-rejected");
  EXPECT_NE(rejected.out.find("550 5.7.23 Message rejected due to: SPF fail - not authorized"),
            std::string::npos)
      << rejected.out;
  auto deferred = send(strict_port, "127.0.0.41", "a@tempfail.test", "spf-deferred");
  EXPECT_NE(deferred.out.find("451 4.7.24 SPF temporary error"), std::string::npos)
      << deferred.out;
  EXPECT_TRUE(Accepted(send(strict_port, "127.0.0.40", "a@spf.test", "spf-strict-pass")));

  ASSERT_TRUE(WaitUntil([&] { return sink.Messages().size() == 5; }, 20s)) << mta.Log();
  std::map<std::string, std::string> by_subject;
  for (const std::string& message : sink.Messages()) {
    for (const char* subject : {"spf-pass", "spf-fail", "spf-temp", "spf-mynetworks",
                                "spf-strict-pass"}) {
      size_t at = message.find(std::string("Subject: ") + subject);
      size_t end = at + 9 + std::string_view(subject).size();
      if (at != std::string::npos && end < message.size() &&
          (message[end] == '\r' || message[end] == '\n')) {
        by_subject[subject] = message;
      }
    }
  }
  ASSERT_EQ(by_subject.size(), 5u);
  auto spf_of = [](const std::string& message) {
    size_t at = message.find("Received-SPF: ");
    if (at == std::string::npos) return std::string();
    return message.substr(at + 14, message.find(' ', at + 14) - at - 14);
  };
  EXPECT_EQ(spf_of(by_subject["spf-pass"]), "pass") << by_subject["spf-pass"];
  EXPECT_EQ(spf_of(by_subject["spf-fail"]), "fail") << by_subject["spf-fail"];
  EXPECT_EQ(spf_of(by_subject["spf-temp"]), "temperror") << by_subject["spf-temp"];
  EXPECT_EQ(spf_of(by_subject["spf-strict-pass"]), "pass");
  EXPECT_EQ(spf_of(by_subject["spf-mynetworks"]), "") << by_subject["spf-mynetworks"];
  // Our field sits above our own Received field, where moat-filterd trusts it.
  const std::string& pass = by_subject["spf-pass"];
  EXPECT_LT(pass.find("Received-SPF: pass"), pass.find("Received: from client.test"));
  EXPECT_NE(pass.find("client-ip=127.0.0.40"), std::string::npos) << pass;
  EXPECT_EQ(mta.Stop(), 0);
}

// moat check-config: the new parameters are known and checked, the new restrictions implemented.
TEST(MtaPolicyTest, CheckConfigReportsPolicyMistakes) {
  TempDir dir;
  MtaProcess mta(dir, std::string(kStrangers) +
                          "smtpd_recipient_restrictions = reject_unauth_destination,\n"
                          "    reject_rbl_client zen.example, check_greylist, check_spf\n"
                          "postscreen_dnsbl_sites = zen.example*2\n"
                          "smtpd_spf_checks = yes\n");
  auto good = RunCommand({moat::testing::BinaryPath("moat"), "-c", dir.path(), "check-config"});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_EQ((good.out + good.err).find("not supported"), std::string::npos) << good.out;
  auto bad = RunCommand({moat::testing::BinaryPath("moat"), "-c", dir.path(), "-o",
                         "smtpd_spf_stage=data", "-o", "postscreen_dnsbl_sites=bad..example*2",
                         "-o", "greylist_delay=soon", "check-config"});
  EXPECT_EQ(bad.exit_code, 1);
  for (const char* name : {"smtpd_spf_stage", "bad..example", "greylist_delay"}) {
    EXPECT_NE((bad.out + bad.err).find(name), std::string::npos) << name << "\n" << bad.out;
  }
}

}  // namespace
}  // namespace moat::mta
