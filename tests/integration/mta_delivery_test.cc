// mta_delivery_test.cc - moat-mta's queue manager with real peers: messages from Postfix's
// smtp-source and Python's smtplib go through moat-mta to Postfix's smtp-sink (routed with
// transport_maps smtp:[127.0.0.1]:PORT), survive a next hop that is down (deferred, then
// delivered exactly once when it is back), keep only the recipients that failed temporarily,
// bounce permanent failures to the sender as an RFC 3464 report, and pass through moat-filterd
// when a content_filter is set (moat-mta -> LMTP -> moat-filterd -> moat-mta's return listener
// -> smtp-sink).
//
// main.cf here retries every second (minimal_backoff_time = 1s, queue_run_delay = 1s) so a
// test sees several retries within its deadlines.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "tests/integration/filterd_process.h"
#include "tests/integration/mta_process.h"

namespace moat::mta {
namespace {

using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::MtaProcess;
using testing::SinkProcess;
using namespace std::chrono_literals;

std::string SendScript() { return moat::testing::SourcePath("tests/integration/mta_send.py"); }

moat::testing::CommandResult SendPython(int port, int count, const std::string& marker,
                                        std::vector<std::string> recipients) {
  std::vector<std::string> argv = {moat::testing::kSystemPython, SendScript(),
                                   std::to_string(port), std::to_string(count), marker};
  argv.insert(argv.end(), recipients.begin(), recipients.end());
  return RunCommand(argv);
}

std::size_t CountLines(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = 0; (p = text.find(needle, p)) != std::string::npos; p += needle.size()) ++n;
  return n;
}

TEST(MtaDeliveryTest, SmtpSourceToSmtpSinkThroughTransportMaps) {
  TempDir dir;
  SinkProcess sink(dir, "sink");
  ASSERT_TRUE(sink.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", sink.port()));
  MtaProcess mta(dir, "transport_maps = hash:$config_directory/transport\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();

  auto source = RunCommand({"smtp-source", "-c", "-s", "4", "-m", "40", "-l", "1000", "-f",
                            "source@example.org", "-t", "user@example.test", "-M",
                            "client.example.org", fmt::format("127.0.0.1:{}", mta.smtp_port())});
  ASSERT_EQ(source.exit_code, 0) << source.out << source.err;
  ASSERT_TRUE(WaitUntil([&] { return sink.Messages().size() >= 40; }, 60s))
      << sink.Messages().size() << "\n" << mta.Log().substr(0, 4000);
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; })) << mta.Log();
  EXPECT_EQ(sink.Messages().size(), 40u);
  EXPECT_EQ(CountLines(mta.Log(), "status=sent (250"), 40u);
  // The queue manager's Received trail: moat-mta's own header is in what the sink got.
  EXPECT_NE(sink.Messages()[0].find("by mx.example.test"), std::string::npos)
      << sink.Messages()[0];
  EXPECT_EQ(mta.Stop(), 0);
}

TEST(MtaDeliveryTest, NexthopDownDefersThenDeliversOnce) {
  TempDir dir;
  SinkProcess sink(dir, "sink");  // not started yet: connection refused
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", sink.port()));
  MtaProcess mta(dir, "transport_maps = hash:$config_directory/transport\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();

  auto sent = SendPython(mta.smtp_port(), 5, "down", {"user@example.test"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  // Deferred (connection refused), retried at least twice, still all queued.
  ASSERT_TRUE(WaitUntil([&] { return CountLines(mta.Log(), "Connection refused") >= 10; }, 30s))
      << mta.Log();
  EXPECT_EQ(mta.Ids(QueueName::kDeferred).size() + mta.Ids(QueueName::kActive).size(), 5u);
  EXPECT_NE(mta.Log().find("dsn=4.4.1, status=deferred"), std::string::npos);

  ASSERT_TRUE(sink.Start());
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 30s)) << mta.Log();
  EXPECT_EQ(sink.Messages().size(), 5u);
  // One more message through the now working route: by the time it arrives, queue runs have
  // passed, and still every message arrived exactly once.
  auto more = SendPython(mta.smtp_port(), 1, "late", {"user@example.test"});
  ASSERT_EQ(more.exit_code, 0) << more.out;
  ASSERT_TRUE(WaitUntil([&] { return sink.Messages().size() == 6; }, 30s));
  // The sink has the message before moat-mta logs its 250 and removes the queue file.
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; })) << mta.Log();
  std::set<std::string> subjects;
  for (const std::string& m : sink.Messages()) {
    std::size_t at = m.find("Subject: ");
    ASSERT_NE(at, std::string::npos);
    subjects.insert(m.substr(at, m.find('\n', at) - at));
  }
  EXPECT_EQ(subjects.size(), 6u);  // each message exactly once
  EXPECT_EQ(CountLines(mta.Log(), "status=sent"), 6u);
  EXPECT_EQ(mta.Stop(), 0);
}

TEST(MtaDeliveryTest, PartialFailureKeepsOnlyDeferredRecipientsAndBouncesHardFailures) {
  TempDir dir;
  SinkProcess ok(dir, "ok");
  SinkProcess soft(dir, "soft", {"-r", "RCPT"});  // 4xx to every RCPT
  SinkProcess hard(dir, "hard", {"-f", "RCPT"});  // 5xx to every RCPT
  SinkProcess senders(dir, "senders");             // the sender's domain: gets the bounce
  ASSERT_TRUE(ok.Start() && soft.Start() && hard.Start() && senders.Start());
  dir.WriteFile("transport",
                fmt::format("ok.example.test smtp:[127.0.0.1]:{}\n"
                            "soft.example.test smtp:[127.0.0.1]:{}\n"
                            "hard.example.test smtp:[127.0.0.1]:{}\n"
                            "example.org smtp:[127.0.0.1]:{}\n",
                            ok.port(), soft.port(), hard.port(), senders.port()));
  MtaProcess mta(dir,
                 "transport_maps = hash:$config_directory/transport\n"
                 "relay_domains = example.test ok.example.test soft.example.test "
                 "hard.example.test\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();

  auto sent = SendPython(mta.smtp_port(), 1, "partial",
                         {"a@ok.example.test", "b@soft.example.test", "c@hard.example.test"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  ASSERT_TRUE(WaitUntil([&] { return senders.Messages().size() == 1; }, 30s)) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return ok.Messages().size() == 1; }, 30s)) << mta.Log();
  // Retried at least once more for the soft failure; the others are not sent again.
  ASSERT_TRUE(WaitUntil([&] { return CountLines(mta.Log(), "to=<b@soft.example.test>") >= 3; },
                        30s))
      << mta.Log();
  EXPECT_EQ(ok.Messages().size(), 1u);
  EXPECT_EQ(CountLines(mta.Log(), "to=<a@ok.example.test>"), 1u);
  EXPECT_EQ(CountLines(mta.Log(), "to=<c@hard.example.test>"), 1u);

  // The bounce: an RFC 3464 report from <> to the sender, for c@ only.
  std::string bounce = senders.Messages()[0];
  EXPECT_NE(bounce.find("multipart/report; report-type=delivery-status"), std::string::npos)
      << bounce;
  EXPECT_NE(bounce.find("Final-Recipient: rfc822; c@hard.example.test"), std::string::npos);
  EXPECT_NE(bounce.find("Action: failed"), std::string::npos);
  EXPECT_NE(bounce.find("Status: 5."), std::string::npos);
  EXPECT_EQ(bounce.find("Final-Recipient: rfc822; b@soft.example.test"), std::string::npos);
  EXPECT_NE(bounce.find("Subject: partial-0"), std::string::npos);  // the original comes back

  // Only b@ is still pending in the queue file.
  ASSERT_EQ(mta.Stop(), 0) << mta.Log();
  auto store = mta.OpenStore();
  ASSERT_NE(store, nullptr);
  auto deferred = mta.Ids(QueueName::kDeferred);
  ASSERT_EQ(deferred.size(), 1u);
  auto message = store->Read(QueueName::kDeferred, deferred[0]);
  ASSERT_TRUE(message) << message.error().ToString();
  std::map<std::string, RecipientStatus> status;
  for (const QueueRecipient& r : message->envelope.recipients) status[r.address] = r.status;
  EXPECT_EQ(status["a@ok.example.test"], RecipientStatus::kDelivered);
  EXPECT_EQ(status["b@soft.example.test"], RecipientStatus::kPending);
  EXPECT_EQ(status["c@hard.example.test"], RecipientStatus::kFailed);
  EXPECT_GE(message->envelope.schedule.attempts, 2u);

  // The soft failure clears: after a restart b@ is delivered, once, and the message is gone.
  soft.Stop();
  SinkProcess soft_again(dir, "soft2");
  dir.WriteFile("transport",
                fmt::format("ok.example.test smtp:[127.0.0.1]:{}\n"
                            "soft.example.test smtp:[127.0.0.1]:{}\n"
                            "hard.example.test smtp:[127.0.0.1]:{}\n"
                            "example.org smtp:[127.0.0.1]:{}\n",
                            ok.port(), soft_again.port(), hard.port(), senders.port()));
  ASSERT_TRUE(soft_again.Start());
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 30s)) << mta.Log();
  EXPECT_EQ(soft_again.Messages().size(), 1u);
  EXPECT_EQ(ok.Messages().size(), 1u);
  EXPECT_EQ(senders.Messages().size(), 1u);
  EXPECT_EQ(mta.Stop(), 0);
}

// maximal_queue_lifetime = 0: a message is returned after its first failed attempt (Postfix's
// rule), here with the next hop down; the report says why it was deferred.
TEST(MtaDeliveryTest, ExpiredMessagesAreReturnedToTheSender) {
  TempDir dir;
  SinkProcess down(dir, "down");  // never started
  SinkProcess senders(dir, "senders");
  ASSERT_TRUE(senders.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n"
                                         "example.org smtp:[127.0.0.1]:{}\n",
                                         down.port(), senders.port()));
  MtaProcess mta(dir,
                 "transport_maps = hash:$config_directory/transport\n"
                 "maximal_queue_lifetime = 0\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  auto sent = SendPython(mta.smtp_port(), 1, "expiring", {"user@example.test"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  ASSERT_TRUE(WaitUntil([&] { return senders.Messages().size() == 1; }, 30s)) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; })) << mta.Log();
  std::string bounce = senders.Messages()[0];
  EXPECT_NE(bounce.find("Final-Recipient: rfc822; user@example.test"), std::string::npos)
      << bounce;
  EXPECT_NE(bounce.find("Action: failed"), std::string::npos);
  EXPECT_NE(bounce.find("Status: 4.4.1"), std::string::npos);
  EXPECT_NE(bounce.find("delivery expired: connect to 127.0.0.1"), std::string::npos);
  EXPECT_NE(mta.Log().find("status=expired, returned to sender"), std::string::npos);
  EXPECT_EQ(mta.Stop(), 0);
}

TEST(MtaDeliveryTest, NullSenderNeverGetsABounce) {
  TempDir dir;
  SinkProcess hard(dir, "hard", {"-f", "RCPT"});
  ASSERT_TRUE(hard.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", hard.port()));
  MtaProcess mta(dir, "transport_maps = hash:$config_directory/transport\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  auto swaks = RunCommand({"swaks", "--server", "127.0.0.1", "--port",
                           std::to_string(mta.smtp_port()), "--from", "<>", "--to",
                           "user@example.test"});
  ASSERT_EQ(swaks.exit_code, 0) << swaks.out;
  ASSERT_TRUE(WaitUntil([&] { return mta.Log().find("undeliverable notification from <>") !=
                                     std::string::npos; }))
      << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; })) << mta.Log();
  EXPECT_EQ(mta.Log().find("sender non-delivery notification"), std::string::npos);
  EXPECT_EQ(mta.Stop(), 0);
}

// content_filter: smtp-source -> moat-mta -> moat-filterd (LMTP) -> moat-mta's return listener
// (-o content_filter=) -> smtp-sink. The filter's header shows the message went through it,
// and it arrives once.
TEST(MtaDeliveryTest, ContentFilterThroughMoatFilterdAndBack) {
  TempDir dir;
  TempDir filter_dir;
  SinkProcess sink(dir, "sink");
  ASSERT_TRUE(sink.Start());
  int return_port = moat::testing::FreeTcpPort();
  moat::filterd::testing::FilterdProcess filterd(
      filter_dir, return_port,
      moat::filterd::testing::TestClamavConf(filter_dir) +
          "virus_scanned_header = moat-filterd-test\n");
  ASSERT_TRUE(filterd.Start()) << filterd.Log();
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", sink.port()));
  MtaProcess mta(
      dir,
      fmt::format("transport_maps = hash:$config_directory/transport\n"
                  "content_filter = moatfilter:[127.0.0.1]:{}\n",
                  filterd.inbound_port()),
      fmt::format("127.0.0.1:{} inet n - n - - smtpd\n"
                  "  -o content_filter=\n"
                  "  -o smtpd_recipient_restrictions=permit_mynetworks,reject\n"
                  "  -o smtpd_authorized_xforward_hosts=127.0.0.0/8\n"
                  "  -o receive_override_options=no_unknown_recipient_checks,"
                  "no_header_body_checks\n"
                  "moatfilter unix - - n - 2 lmtp\n"
                  "  -o lmtp_send_xforward_command=yes\n",
                  return_port));
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(moat::testing::WaitForTcpPort(return_port)) << mta.Log();

  auto source = RunCommand({"smtp-source", "-c", "-s", "2", "-m", "10", "-l", "800", "-f",
                            "source@example.org", "-t", "user@example.test", "-M",
                            "client.example.org", fmt::format("127.0.0.1:{}", mta.smtp_port())});
  ASSERT_EQ(source.exit_code, 0) << source.out << source.err;
  ASSERT_TRUE(WaitUntil([&] { return sink.Messages().size() >= 10; }, 60s))
      << mta.Log() << "\n---\n" << filterd.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; })) << mta.Log();
  EXPECT_EQ(sink.Messages().size(), 10u);
  for (const std::string& m : sink.Messages()) {
    EXPECT_NE(m.find("X-Virus-Scanned: moat-filterd-test"), std::string::npos) << m;
  }
  // Twice through moat-mta's queue: once to the filter, once from the return listener out.
  EXPECT_EQ(CountLines(mta.Log(), "relay=127.0.0.1[127.0.0.1]:" +
                                      std::to_string(filterd.inbound_port())),
            10u);
  EXPECT_EQ(CountLines(mta.Log(), "relay=127.0.0.1[127.0.0.1]:" + std::to_string(sink.port())),
            10u);
  EXPECT_EQ(mta.Stop(), 0);
}

}  // namespace
}  // namespace moat::mta
