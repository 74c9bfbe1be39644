// mta_seed_configs_test.cc - the configurations a Postfix + amavisd-new site brings along
// (testdata/corpus/mta/seeds/: an inbound smarthost main.cf, amavisd-new's README.postfix
// master.cf blocks, an outbound gateway main.cf), run unchanged by the real moat-mta - only
// ports, paths and mynetworks are filled in - and probed with Python's smtplib from two
// loopback source addresses: 127.0.0.1 (inside mynetworks) and 127.0.0.2 (outside).
//
// What must hold, as the administrator expects from Postfix:
//   - the smarthost relays only to known users of its relay_domains (unknown ones refused at
//     RCPT: no backscatter) and relays anywhere only for mynetworks;
//   - the return listener (the 127.0.0.1:10025 block) takes mail only from its mynetworks;
//   - the outbound gateway relays for mynetworks and authenticated users only, and offers AUTH
//     only after STARTTLS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/password_hash.h"
#include "tests/support/test_support.h"

namespace moat::testing {
namespace {

using ::testing::HasSubstr;

std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    std::string placeholder = "@" + name + "@";
    for (size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

std::string Seed(const std::string& name) {
  return ReadTextFile(SourcePath("testdata/corpus/mta/seeds/" + name));
}

// The conversation's lines (smtp_probe.py), e.g. "RCPT a@b 250 2.1.5 Ok".
std::string Probe(int port, const std::string& source, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kSystemPython, SourcePath("tests/integration/smtp_probe.py"),
                                   std::to_string(port), source};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv, WithTimeout(std::chrono::seconds(60)));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

class SeedConfigsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    values_ = {{"QUEUE", dir_.Path("queue")},
               {"DATA", dir_.Path("data")},
               {"DNS", fmt::format("127.0.0.1:{}", FreeTcpPort())},
               {"FILTER_PORT", std::to_string(FreeTcpPort())},
               {"INSIDE_PORT", std::to_string(FreeTcpPort())},
               {"MYNETWORKS", "127.0.0.1/32"},
               {"TLS_DIR", SourcePath("conf/tls")}};
  }
  void TearDown() override {
    if (mta_) mta_->Stop(std::chrono::seconds(20));
  }
  void Start(const std::string& main_cf, const std::string& master_cf, int port) {
    dir_.WriteFile("main.cf", main_cf);
    dir_.WriteFile("master.cf", master_cf);
    // mail_owner=root: the test runs as root on machines without a moat user (the daemon
    // refuses to stay root unless told so).
    mta_ = std::make_unique<Subprocess>(
        std::vector<std::string>{BinaryPath("moat-mta"), "-c", dir_.path(), "-o",
                                 "mail_owner=root"},
        dir_.path());
    ASSERT_TRUE(WaitForTcpPort(port, std::chrono::seconds(20))) << mta_->Stderr();
  }
  std::string Log() const { return mta_ ? mta_->Stderr() : ""; }

  TempDir dir_;
  std::map<std::string, std::string> values_;
  std::unique_ptr<Subprocess> mta_;
};

TEST_F(SeedConfigsTest, SmarthostRelaysOnlyToKnownUsersOfItsDomains) {
  int smtp = FreeTcpPort(), ret = FreeTcpPort();
  values_["SMTP_LISTEN"] = fmt::format("127.0.0.1:{}", smtp);
  values_["RETURN_LISTEN"] = fmt::format("127.0.0.1:{}", ret);
  dir_.WriteFile("relay_recipients", Seed("relay_recipients"));
  dir_.WriteFile("transport", Fill(Seed("transport"), values_));
  Start(Fill(Seed("smarthost-main.cf"), values_), Fill(Seed("amavis-master.cf"), values_), smtp);

  std::string outside = Probe(smtp, "127.0.0.2",
                              {"sender@example.org", "alice@example.test", "nobody@example.test",
                               "someone@elsewhere.example", "bob@example.test"});
  EXPECT_THAT(outside, HasSubstr("RCPT alice@example.test 250")) << Log();
  EXPECT_THAT(outside, HasSubstr("RCPT bob@example.test 250"));
  EXPECT_THAT(outside, HasSubstr("RCPT nobody@example.test 550 5.1.1"));
  EXPECT_THAT(outside, HasSubstr("RCPT someone@elsewhere.example 554 5.7.1"));
  EXPECT_THAT(outside, HasSubstr("Relay access denied"));

  // The inside network may relay anywhere; unknown users of the relayed domain stay refused.
  std::string inside = Probe(smtp, "127.0.0.1",
                             {"it@example.test", "someone@elsewhere.example",
                              "nobody@example.test"});
  EXPECT_THAT(inside, HasSubstr("RCPT someone@elsewhere.example 250"));
  EXPECT_THAT(inside, HasSubstr("RCPT nobody@example.test 550 5.1.1"));
}

TEST_F(SeedConfigsTest, ReturnListenerTakesMailOnlyFromItsNetworks) {
  int smtp = FreeTcpPort(), ret = FreeTcpPort();
  values_["SMTP_LISTEN"] = fmt::format("127.0.0.1:{}", smtp);
  values_["RETURN_LISTEN"] = fmt::format("127.0.0.1:{}", ret);
  dir_.WriteFile("relay_recipients", Seed("relay_recipients"));
  dir_.WriteFile("transport", Fill(Seed("transport"), values_));
  // README.postfix's block says mynetworks=127.0.0.0/8, which holds every loopback client;
  // narrowed to 127.0.0.1/32 here so that 127.0.0.2 is a client from outside.
  std::string master = Fill(Seed("amavis-master.cf"), values_);
  size_t at = master.find("-o mynetworks=127.0.0.0/8");
  ASSERT_NE(at, std::string::npos);
  master.replace(at, std::string("-o mynetworks=127.0.0.0/8").size(), "-o mynetworks=127.0.0.1/32");
  Start(Fill(Seed("smarthost-main.cf"), values_), master, smtp);
  ASSERT_TRUE(WaitForTcpPort(ret, std::chrono::seconds(20))) << Log();

  // The filter's reinjection: any recipient (relay_recipient_maps= and
  // no_unknown_recipient_checks), no relay check beyond permit_mynetworks.
  std::string filter = Probe(ret, "127.0.0.1",
                             {"sender@example.org", "nobody@example.test",
                              "someone@elsewhere.example"});
  EXPECT_THAT(filter, HasSubstr("CONNECT 220")) << Log();
  EXPECT_THAT(filter, HasSubstr("RCPT nobody@example.test 250"));
  EXPECT_THAT(filter, HasSubstr("RCPT someone@elsewhere.example 250"));

  // smtpd_delay_reject=no + smtpd_client_restrictions=permit_mynetworks,reject: refused before
  // any recipient, whatever the address.
  std::string stranger =
      Probe(ret, "127.0.0.2", {"sender@example.org", "alice@example.test"});
  EXPECT_THAT(stranger, ::testing::Not(HasSubstr(" 250"))) << stranger << Log();
  EXPECT_THAT(stranger, ::testing::AnyOf(HasSubstr("CONNECT 554"), HasSubstr("MAIL 554"),
                                         HasSubstr("RCPT alice@example.test 554")));
}

TEST_F(SeedConfigsTest, OutboundGatewayRelaysForItsNetworksAndAuthenticatedUsersOnly) {
  auto hash = core::HashPassword("correct horse", {.iterations = 1000});
  ASSERT_TRUE(hash.has_value());
  dir_.WriteFile("sasl_passwd", "carol@example.test " + *hash + "\n");
  int smtp = FreeTcpPort();
  std::string master = fmt::format("127.0.0.1:{} inet n - n - - smtpd\n", smtp) +
                       "smtp unix - - n - - smtp\nrelay unix - - n - - smtp\n"
                       "error unix - - n - - error\nretry unix - - n - - error\n";
  Start(Fill(Seed("outbound-main.cf"), values_), master, smtp);

  std::string stranger = Probe(smtp, "127.0.0.2", {"x@example.org", "someone@elsewhere.example"});
  EXPECT_THAT(stranger, HasSubstr("AUTH-OFFERED no")) << Log();  // not before STARTTLS
  EXPECT_THAT(stranger, HasSubstr("RCPT someone@elsewhere.example 554 5.7.1"));

  std::string wrong = Probe(smtp, "127.0.0.2",
                            {"--starttls", "--auth", "carol@example.test:wrong",
                             "carol@example.test", "someone@elsewhere.example"});
  EXPECT_THAT(wrong, HasSubstr("AUTH-OFFERED yes")) << Log();
  EXPECT_THAT(wrong, HasSubstr("AUTH 535"));
  EXPECT_THAT(wrong, HasSubstr("RCPT someone@elsewhere.example 554 5.7.1"));

  std::string user = Probe(smtp, "127.0.0.2",
                           {"--starttls", "--auth", "carol@example.test:correct horse",
                            "carol@example.test", "someone@elsewhere.example"});
  EXPECT_THAT(user, HasSubstr("AUTH 235")) << Log();
  EXPECT_THAT(user, HasSubstr("RCPT someone@elsewhere.example 250"));

  std::string inside = Probe(smtp, "127.0.0.1", {"it@example.test", "someone@elsewhere.example"});
  EXPECT_THAT(inside, HasSubstr("RCPT someone@elsewhere.example 250")) << Log();
}

}  // namespace
}  // namespace moat::testing
