// filterd_dmarc_test.cc - DMARC in the real moat-filterd, driven over LMTP by Python's
// smtplib.LMTP, with its DNS (dns_servers) pointed at a dnsmasq serving the sender domain's DMARC
// policy (p=reject) and DKIM key.
//
// What an administrator expects: a message that fails DMARC under p=reject gets the configured
// destiny - held in the quarantine by default (250 to the MTA, nothing delivered, `moat
// quarantine list` shows it), 550 5.7.1 with dmarc_reject_destiny = reject - while mail signed
// by the domain (dkimpy, a signer no one here wrote) or sent from an SPF-authorised host of the
// domain (the MTA's Received-SPF) is delivered with "dmarc=pass" in Authentication-Results.
// When DMARC cannot be evaluated (the DNS server refuses), dmarc_temperror_destiny = defer
// answers 451: the MTA keeps the message and retries, nothing is lost. `moat scan` shows the
// same SPF and DMARC results in its trace and its JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "core/received_spf.h"
#include "tests/filterd/filterd_test_helpers.h"
#include "tests/integration/filterd_process.h"
#include "tests/support/dnsmasq_server.h"
#include "tests/support/test_support.h"

namespace moat::filterd {
namespace {

using moat::testing::CommandOptions;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using testing::FakeRelay;
using testing::FilterdProcess;

// Sends `message` over LMTP; prints the reply for the one recipient: "250 ..." or "CODE text".
std::string SendWithSmtplib(int port, const std::string& message) {
  CommandOptions options;
  options.stdin_data = message;
  auto result = RunCommand({moat::testing::kSystemPython, "-c",
                            "import smtplib, sys\n"
                            "msg = sys.stdin.buffer.read()\n"
                            "c = smtplib.LMTP('127.0.0.1', int(sys.argv[1]))\n"
                            "try:\n"
                            "    c.sendmail('bounces@elsewhere.example', ['r@moat.test'], msg)\n"
                            "    print('250')\n"
                            "except smtplib.SMTPDataError as e:\n"
                            "    print(e.smtp_code, e.smtp_error.decode())\n"
                            "c.quit()\n",
                            std::to_string(port)},
                           options);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.out;
}

// What moat-mta's smtpd puts on top of a message it received: its Received-SPF field for the
// MAIL FROM identity (core/received_spf.h) above its own Received field.
std::string MtaFields(core::SpfResult result, const std::string& sender) {
  core::ReceivedSpf spf;
  spf.result = result;
  spf.identity = core::SpfIdentity::kMailFrom;
  spf.comment = "mx.moat.test: checked";
  spf.receiver = "mx.moat.test";
  spf.client_ip = "192.0.2.1";
  spf.envelope_from = sender;
  spf.helo = "mail.bank.example";
  return core::FormatReceivedSpf(spf) +
         "Received: from mail.bank.example (mail.bank.example [192.0.2.1])\r\n"
         "\tby mx.moat.test (Moat) with ESMTP id 4XyZ1 for <r@moat.test>;\r\n"
         "\tTue, 14 Nov 2023 22:13:20 +0000\r\n";
}

std::string Message(const std::string& from, const std::string& id) {
  return "From: " + from + "\r\nTo: r@moat.test\r\nSubject: wire transfer " + id +
         "\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <" + id +
         "@bank.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
         "Please transfer the amount today.\r\n";
}

std::string Unfolded(const std::string& message) {
  return std::regex_replace(message, std::regex("\r?\n[ \t]+"), " ");
}

class FilterdDmarcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A DKIM key for bank.example, made by openssl; its public half goes into DNS.
    std::string key = dir_.Path("bank.pem");
    auto genrsa = RunCommand({"openssl", "genrsa", "-out", key, "2048"});
    ASSERT_EQ(genrsa.exit_code, 0) << genrsa.err;
    auto pub =
        RunCommand({"sh", "-c",
                    "openssl rsa -in '" + key + "' -pubout -outform DER 2>/dev/null | base64 -w0"});
    ASSERT_EQ(pub.exit_code, 0) << pub.err;
    key_ = key;
    dns_ = moat::testing::DnsmasqServer::Start(
        {"bank.example", "elsewhere.example"},
        {moat::testing::DnsmasqTxtRecord("_dmarc.bank.example",
                                         "v=DMARC1; p=reject; rua=mailto:dmarc@bank.example"),
         moat::testing::DnsmasqTxtRecord("s1._domainkey.bank.example",
                                         "v=DKIM1; k=rsa; p=" + pub.out)});
    ASSERT_TRUE(dns_);
  }

  void StartFilterd(std::vector<std::string> overrides = {}) {
    filterd_ = std::make_unique<FilterdProcess>(
        dir_, relay_.port(), "dns_servers = " + dns_->address() + "\nauthserv_id = filter.test\n");
    ASSERT_TRUE(filterd_->Start(std::move(overrides))) << filterd_->Log();
  }

  std::string DkimSigned(const std::string& message) {
    std::string path = dir_.WriteFile("unsigned.eml", message);
    auto signed_message =
        RunCommand({moat::testing::kSystemPython,
                    moat::testing::SourcePath("tests/support/dkim/dkimpy_offline.py"), "sign", path,
                    "s1", "bank.example", key_});
    EXPECT_EQ(signed_message.exit_code, 0) << signed_message.err;
    return signed_message.out;
  }

  TempDir dir_;
  FakeRelay relay_;
  std::string key_;
  std::unique_ptr<moat::testing::DnsmasqServer> dns_;
  std::unique_ptr<FilterdProcess> filterd_;
};

TEST_F(FilterdDmarcTest, RejectPolicyFailureIsQuarantinedAndAlignedMailPasses) {
  StartFilterd();

  // A spoof: From the bank, sent from a host the bank's SPF does not know, unsigned.
  std::string reply = SendWithSmtplib(
      filterd_->inbound_port(), MtaFields(core::SpfResult::kSoftFail, "bounces@elsewhere.example") +
                                    Message("Bank <ceo@bank.example>", "spoof-1"));
  EXPECT_EQ(reply.substr(0, 3), "250") << reply << filterd_->Log();
  EXPECT_TRUE(filterd_->WaitForLog("Blocked CLEAN (DMARC p=reject bank.example"))
      << filterd_->Log();
  EXPECT_TRUE(filterd_->WaitForLog("{DiscardedInbound,Quarantined}")) << filterd_->Log();
  auto list =
      RunCommand({moat::testing::BinaryPath("moat"), "-c", dir_.path(), "quarantine", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("wire transfer spoof-1"), std::string::npos) << list.out;

  // Signed by the bank (dkimpy): DKIM-aligned, so DMARC passes although SPF does not.
  std::string signed_message = DkimSigned(Message("Bank <ceo@bank.example>", "signed-1"));
  ASSERT_NE(signed_message.find("DKIM-Signature:"), std::string::npos) << signed_message;
  reply = SendWithSmtplib(
      filterd_->inbound_port(),
      MtaFields(core::SpfResult::kSoftFail, "bounces@elsewhere.example") + signed_message);
  EXPECT_EQ(reply.substr(0, 3), "250") << reply << filterd_->Log();

  // Sent from the bank's own server: SPF pass for an aligned MAIL FROM domain.
  reply = SendWithSmtplib(filterd_->inbound_port(),
                          MtaFields(core::SpfResult::kPass, "bounces@mail.bank.example") +
                              Message("ceo@bank.example", "spf-1"));
  EXPECT_EQ(reply.substr(0, 3), "250") << reply << filterd_->Log();

  ASSERT_TRUE(moat::testing::WaitUntil([&] { return relay_.Messages().size() == 2; }))
      << filterd_->Log();
  std::string dkim_passed, spf_passed;
  for (const auto& m : relay_.Messages()) {
    EXPECT_EQ(m.message.find("spoof-1"), std::string::npos);  // never delivered
    (m.message.find("signed-1") != std::string::npos ? dkim_passed : spf_passed) =
        Unfolded(m.message);
  }
  EXPECT_NE(dkim_passed.find("Authentication-Results: filter.test; dkim=pass (2048-bit rsa key) "
                             "header.d=bank.example header.i=@bank.example header.s=s1"),
            std::string::npos)
      << dkim_passed;
  EXPECT_NE(dkim_passed.find("; spf=softfail smtp.mailfrom=elsewhere.example; dmarc=pass "
                             "(p=reject dis=none) header.from=bank.example"),
            std::string::npos)
      << dkim_passed;
  EXPECT_NE(spf_passed.find("Authentication-Results: filter.test; dkim=none; spf=pass "
                            "smtp.mailfrom=mail.bank.example; dmarc=pass (p=reject dis=none) "
                            "header.from=bank.example"),
            std::string::npos)
      << spf_passed;
}

TEST_F(FilterdDmarcTest, RejectDestinyAnswers550AndDnsTroubleDefers) {
  StartFilterd({"dmarc_reject_destiny=reject", "dmarc_temperror_destiny=defer"});

  std::string reply = SendWithSmtplib(
      filterd_->inbound_port(), MtaFields(core::SpfResult::kFail, "bounces@elsewhere.example") +
                                    Message("ceo@bank.example", "spoof-2"));
  EXPECT_TRUE(reply.starts_with("550 5.7.1 Rejected by DMARC policy for bank.example, id="))
      << reply << filterd_->Log();

  // unreachable.example is outside what the DNS server serves: it refuses the query, so DMARC
  // cannot be evaluated, and the message is deferred, not passed unchecked and not lost.
  reply = SendWithSmtplib(filterd_->inbound_port(),
                          MtaFields(core::SpfResult::kNone, "a@unreachable.example") +
                              Message("a@unreachable.example", "temp-1"));
  EXPECT_EQ(reply.substr(0, 3), "451") << reply << filterd_->Log();
  EXPECT_NE(reply.find("dmarc"), std::string::npos) << reply;

  // Both passed through the pipeline and neither reached the relay.
  EXPECT_TRUE(filterd_->WaitForLog("Deferred")) << filterd_->Log();
  EXPECT_TRUE(relay_.Messages().empty());
}

TEST_F(FilterdDmarcTest, MoatScanShowsSpfAndDmarc) {
  std::string path = dir_.WriteFile(
      "spoof.eml", MtaFields(core::SpfResult::kSoftFail, "bounces@elsewhere.example") +
                       Message("ceo@bank.example", "scan-1"));
  std::vector<std::string> argv = {moat::testing::BinaryPath("moat"),
                                   "-c",
                                   moat::testing::SourcePath("conf"),
                                   "-o",
                                   "bypass_virus_checks=yes",
                                   "-o",
                                   "data_directory=" + dir_.Path("data"),
                                   "-o",
                                   "dns_servers=" + dns_->address(),
                                   "-o",
                                   "authserv_id=mx.moat.test",
                                   "scan",
                                   "--client",
                                   "198.51.100.7"};
  argv.push_back("--json");
  argv.push_back(path);
  auto json_run = RunCommand(argv);
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  nlohmann::json report = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(report["dmarc"]["result"], "fail");
  EXPECT_EQ(report["dmarc"]["policy"], "reject");
  EXPECT_EQ(report["dmarc"]["domain"], "bank.example");
  EXPECT_EQ(report["dmarc"]["org_domain"], "bank.example");
  EXPECT_EQ(report["dmarc"]["spf_aligned"], false);
  EXPECT_EQ(report["dmarc"]["dkim_aligned"], false);
  EXPECT_EQ(report["dmarc"]["rule"], "DMARC_REJECT");
  EXPECT_EQ(report["dmarc"]["action"], "quarantine");
  EXPECT_EQ(report["spf"]["mail_from"]["result"], "softfail");
  EXPECT_EQ(report["spf"]["mail_from"]["domain"], "elsewhere.example");
  EXPECT_EQ(report["destiny"], "DISCARD");  // dmarc_reject_destiny = quarantine
  EXPECT_EQ(report["quarantine"], true);

  argv.erase(argv.end() - 2);  // the text report
  auto text_run = RunCommand(argv);
  ASSERT_EQ(text_run.exit_code, 0) << text_run.err;
  EXPECT_NE(text_run.out.find("mailfrom softfail for elsewhere.example, client 192.0.2.1"),
            std::string::npos)
      << text_run.out;
  EXPECT_NE(text_run.out.find("DMARC: fail for bank.example"), std::string::npos) << text_run.out;
  EXPECT_NE(text_run.out.find("dmarc_reject_destiny = quarantine"), std::string::npos)
      << text_run.out;
}

}  // namespace
}  // namespace moat::filterd
