// mta_mx_routing_test.cc - moat-mta's SMTP client routing by DNS against a real DNS server
// (dnsmasq, started by the test on a free loopback port; main.cf's dns_servers points at it)
// and Postfix's smtp-sink, with no transport_maps for the MX domains: smtp_tcp_port sends every
// MX host's connection to the sink's port.
//
//   mx.test       MX 10 mx1.mx.test (127.0.0.2, nobody listens), MX 20 mx2.mx.test (127.0.0.1):
//                 the better one refuses, the mail goes to the other in the same attempt.
//   a.test        no MX, an A record: the domain's own address (RFC 5321 5.1).
//   bracket.test  an MX to 127.0.0.2 and an A record 127.0.0.1; transport_maps routes it
//                 smtp:[bracket.test]: the brackets skip the MX lookup.
//   nowhere.test  NXDOMAIN: bounced (5.4.4) to the sender, not retried.
#include <gtest/gtest.h>

#include "tests/integration/mta_process.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::mta {
namespace {

using moat::testing::DnsmasqServer;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::MtaProcess;
using testing::SinkProcess;
using namespace std::chrono_literals;

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(MtaMxRoutingTest, MxPreferenceFallbackBracketsAndAddressFallback) {
  TempDir dir;
  SinkProcess sink(dir, "sink");
  ASSERT_TRUE(sink.Start());
  auto dns = DnsmasqServer::Start(
      {"mx.test", "a.test", "bracket.test", "nowhere.test", "example.org"},
      {"--mx-host=mx.test,mx1.mx.test,10", "--mx-host=mx.test,mx2.mx.test,20",
       "--host-record=mx1.mx.test,127.0.0.2", "--host-record=mx2.mx.test,127.0.0.1",
       "--host-record=a.test,127.0.0.1", "--mx-host=bracket.test,mx.elsewhere.bracket.test,10",
       "--host-record=mx.elsewhere.bracket.test,127.0.0.2", "--host-record=bracket.test,127.0.0.1",
       // The sender's domain, for the bounce of nowhere.test.
       "--host-record=example.org,127.0.0.1"});
  ASSERT_NE(dns, nullptr);
  dir.WriteFile("transport", "bracket.test smtp:[bracket.test]\n");
  MtaProcess mta(dir, fmt::format("dns_servers = {}\n"
                                  "smtp_tcp_port = {}\n"
                                  "transport_maps = hash:$config_directory/transport\n",
                                  dns->address(), sink.port()));
  ASSERT_TRUE(mta.Start()) << mta.Log();

  auto sent = RunCommand({moat::testing::kSystemPython,
                          moat::testing::SourcePath("tests/integration/mta_send.py"),
                          std::to_string(mta.smtp_port()), "1", "routed", "u@mx.test", "u@a.test",
                          "u@bracket.test", "u@nowhere.test"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  // Three deliveries and the bounce for nowhere.test, all to the one sink.
  ASSERT_TRUE(WaitUntil([&] { return sink.Messages().size() == 4; }, 20s))
      << sink.Messages().size() << "\n"
      << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 20s)) << mta.Log();
  std::string log = mta.Log();
  std::string port = std::to_string(sink.port());
  // The better MX refused; the second one took it, in the first attempt (no deferral).
  EXPECT_TRUE(Has(log, "to=<u@mx.test>, relay=mx2.mx.test[127.0.0.1]:" + port)) << log;
  EXPECT_TRUE(Has(log, "connect to mx1.mx.test[127.0.0.2]:" + port +
                           ": Connection refused (trying the next server)"))
      << log;
  EXPECT_FALSE(Has(log, "to=<u@mx.test>, relay=none")) << log;
  // No MX: the domain's A record.
  EXPECT_TRUE(Has(log, "to=<u@a.test>, relay=a.test[127.0.0.1]:" + port)) << log;
  // [bracket.test]: its address, never its MX host.
  EXPECT_TRUE(Has(log, "to=<u@bracket.test>, relay=bracket.test[127.0.0.1]:" + port)) << log;
  EXPECT_FALSE(Has(log, "mx.elsewhere.bracket.test")) << log;
  // NXDOMAIN: a permanent failure, reported to the sender.
  EXPECT_TRUE(Has(log, "to=<u@nowhere.test>")) << log;
  EXPECT_TRUE(Has(log, "dsn=5.4.4, status=bounced")) << log;
  std::size_t delivered = 0, bounces = 0;
  for (const std::string& m : sink.Messages()) {
    if (Has(m, "X-Mail-Args: <>")) {
      ++bounces;
      EXPECT_TRUE(Has(m, "Final-Recipient: rfc822; u@nowhere.test")) << m;
    } else {
      ++delivered;
      EXPECT_TRUE(Has(m, "Subject: routed-0"));
    }
  }
  EXPECT_EQ(delivered, 3u);
  EXPECT_EQ(bounces, 1u);
  EXPECT_EQ(mta.Stop(), 0);
}

}  // namespace
}  // namespace moat::mta
