// mta_bounce_test.cc - moat-mta's notices with real peers (Python's smtplib in, Postfix's
// smtp-sink out, each domain routed to its own sink with transport_maps): the delay warning sent
// once while a next hop is down (and its postmaster copy with notify_classes = delay), postmaster
// copies of bounces, a bounce that cannot be delivered expiring after bounce_queue_lifetime and
// going whole to 2bounce_notice_recipient, that double bounce failing in turn and being dropped
// (no loop, never to <>), relocated_maps' "User has moved" bounce, and a software problem
// reported to error_notice_recipient once.
//
// smtp-sink -d writes the envelope as X-Mail-Args / X-Rcpt-Args headers, so the tests read the
// notices' envelope senders and recipients from the dumps.
#include <gtest/gtest.h>

#include "tests/integration/mta_process.h"

namespace moat::mta {
namespace {

using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::Count;
using testing::MtaProcess;
using testing::SinkProcess;
using namespace std::chrono_literals;

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// The dumped messages of a sink addressed to `recipient`.
std::vector<std::string> To(const SinkProcess& sink, const std::string& recipient) {
  std::vector<std::string> out;
  for (const std::string& m : sink.Messages()) {
    if (Has(m, "X-Rcpt-Args: <" + recipient + ">")) out.push_back(m);
  }
  return out;
}

TEST(MtaBounceTest, DelayWarningOnceWhileRetryingThenDelivered) {
  TempDir dir;
  SinkProcess next_hop(dir, "next-hop");  // down until the end
  SinkProcess senders(dir, "senders");
  SinkProcess admin(dir, "admin");
  ASSERT_TRUE(senders.Start() && admin.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n"
                                         "example.org smtp:[127.0.0.1]:{}\n"
                                         "admin.test smtp:[127.0.0.1]:{}\n",
                                         next_hop.port(), senders.port(), admin.port()));
  MtaProcess mta(dir,
                 "transport_maps = hash:$config_directory/transport\n"
                 "maximal_backoff_time = 1s\n"
                 "delay_warning_time = 2s\n"
                 "notify_classes = delay\n"
                 "delay_notice_recipient = delay-admin@admin.test\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  auto sent = testing::SendWithSmtplib(mta.smtp_port(), "slow", "user@example.test");
  ASSERT_EQ(sent.exit_code, 0) << sent.out;

  ASSERT_TRUE(WaitUntil([&] { return senders.Messages().size() == 1; }, 20s)) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return admin.Messages().size() == 1; }, 20s)) << mta.Log();
  // More retries after the warning, and still only the one warning.
  std::size_t attempts = Count(mta.Log(), "to=<user@example.test>");
  ASSERT_TRUE(
      WaitUntil([&] { return Count(mta.Log(), "to=<user@example.test>") >= attempts + 2; }, 20s))
      << mta.Log();
  EXPECT_EQ(senders.Messages().size(), 1u);
  EXPECT_EQ(admin.Messages().size(), 1u);
  EXPECT_EQ(Count(mta.Log(), "sender delay notification"), 1u) << mta.Log();

  std::string warning = senders.Messages()[0];
  EXPECT_TRUE(Has(warning, "X-Mail-Args: <>")) << warning;  // from the null sender
  EXPECT_TRUE(Has(warning, "X-Rcpt-Args: <sender@example.org>"));
  EXPECT_TRUE(Has(warning, "Subject: Delayed Mail (still being retried)"));
  EXPECT_TRUE(Has(warning, "report-type=delivery-status"));
  EXPECT_TRUE(Has(warning, "Final-Recipient: rfc822; user@example.test"));
  EXPECT_TRUE(Has(warning, "Action: delayed"));
  EXPECT_TRUE(Has(warning, "Status: 4.4.1"));
  EXPECT_TRUE(Has(warning, "Will-Retry-Until: "));
  EXPECT_TRUE(Has(warning, "text/rfc822-headers"));
  EXPECT_TRUE(Has(warning, "Subject: slow-0"));
  EXPECT_FALSE(Has(warning, "Body of slow-0"));  // headers only
  std::string copy = admin.Messages()[0];
  EXPECT_TRUE(Has(copy, "X-Mail-Args: <double-bounce@mx.example.test>")) << copy;
  EXPECT_TRUE(Has(copy, "X-Rcpt-Args: <delay-admin@admin.test>"));
  EXPECT_TRUE(Has(copy, "Subject: Postmaster Warning: Delayed Mail"));

  // The next hop comes back: delivered once, and no further notice of any kind.
  ASSERT_TRUE(next_hop.Start());
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 20s)) << mta.Log();
  EXPECT_EQ(next_hop.Messages().size(), 1u);
  EXPECT_EQ(senders.Messages().size(), 1u);
  EXPECT_EQ(admin.Messages().size(), 1u);
  EXPECT_EQ(mta.Stop(), 0);
}

// notify_classes = bounce: the sender's report plus a headers-only copy for the postmaster. The
// report itself cannot be delivered (the sender's domain is down); with bounce_queue_lifetime = 0
// it expires after its first attempt and goes, whole, to 2bounce_notice_recipient (bounce
// implies 2bounce) from the double-bounce address.
TEST(MtaBounceTest, PostmasterCopyAndDoubleBounceAfterBounceQueueLifetime) {
  TempDir dir;
  SinkProcess hard(dir, "hard", {"-f", "RCPT"});  // 5xx to every RCPT
  SinkProcess senders(dir, "senders");            // never started: the bounce cannot go
  SinkProcess admin(dir, "admin");
  ASSERT_TRUE(hard.Start() && admin.Start());
  dir.WriteFile("transport", fmt::format("hard.example.test smtp:[127.0.0.1]:{}\n"
                                         "example.org smtp:[127.0.0.1]:{}\n"
                                         "admin.test smtp:[127.0.0.1]:{}\n",
                                         hard.port(), senders.port(), admin.port()));
  MtaProcess mta(dir,
                 "transport_maps = hash:$config_directory/transport\n"
                 "notify_classes = bounce\n"
                 "bounce_notice_recipient = bounce-admin@admin.test\n"
                 "2bounce_notice_recipient = 2bounce-admin@admin.test\n"
                 "bounce_queue_lifetime = 0\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  auto sent = testing::SendWithSmtplib(mta.smtp_port(), "doomed", "c@hard.example.test");
  ASSERT_EQ(sent.exit_code, 0) << sent.out;

  ASSERT_TRUE(WaitUntil([&] { return admin.Messages().size() == 2; }, 20s)) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 20s)) << mta.Log();
  EXPECT_TRUE(Has(mta.Log(), "from=<>, status=expired, returned to sender")) << mta.Log();

  auto copies = To(admin, "bounce-admin@admin.test");
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_TRUE(Has(copies[0], "X-Mail-Args: <double-bounce@mx.example.test>")) << copies[0];
  EXPECT_TRUE(Has(copies[0], "Subject: Postmaster Copy: Undelivered Mail"));
  EXPECT_TRUE(Has(copies[0], "Final-Recipient: rfc822; c@hard.example.test"));
  EXPECT_TRUE(Has(copies[0], "Status: 5."));
  EXPECT_TRUE(Has(copies[0], "Subject: doomed-0"));
  EXPECT_FALSE(Has(copies[0], "Body of doomed-0"));  // the postmaster sees headers only

  auto doubles = To(admin, "2bounce-admin@admin.test");
  ASSERT_EQ(doubles.size(), 1u);
  const std::string& twice = doubles[0];
  EXPECT_TRUE(Has(twice, "X-Mail-Args: <double-bounce@mx.example.test>")) << twice;
  EXPECT_TRUE(Has(twice, "Subject: Postmaster Copy: Undelivered Mail"));
  // It reports the bounce's failed recipient (the original sender)...
  EXPECT_TRUE(Has(twice, "Final-Recipient: rfc822; sender@example.org"));
  EXPECT_TRUE(Has(twice, "delivery expired: connect to 127.0.0.1"));
  // ...and carries the whole bounce, which carries the whole original.
  EXPECT_TRUE(Has(twice, "Subject: Undelivered Mail Returned to Sender"));
  EXPECT_TRUE(Has(twice, "Body of doomed-0"));
  EXPECT_EQ(hard.Messages().size(), 0u);
  EXPECT_EQ(mta.Stop(), 0);
}

// The double bounce cannot be delivered either: it is dropped, once, and nothing more is sent
// (no triple bounce, nothing to <>).
TEST(MtaBounceTest, UndeliverableDoubleBounceIsDroppedWithoutALoop) {
  TempDir dir;
  SinkProcess hard(dir, "hard", {"-f", "RCPT"});
  ASSERT_TRUE(hard.Start());
  // The sender's domain and the postmaster's both reject everything.
  dir.WriteFile("transport", fmt::format("hard.example.test smtp:[127.0.0.1]:{0}\n"
                                         "example.org smtp:[127.0.0.1]:{0}\n"
                                         "admin.test smtp:[127.0.0.1]:{0}\n",
                                         hard.port()));
  MtaProcess mta(dir,
                 "transport_maps = hash:$config_directory/transport\n"
                 "notify_classes = 2bounce\n"
                 "2bounce_notice_recipient = 2bounce-admin@admin.test\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  auto sent = testing::SendWithSmtplib(mta.smtp_port(), "loop", "c@hard.example.test");
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  ASSERT_TRUE(mta.WaitForLog("undeliverable postmaster notification discarded")) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 20s)) << mta.Log();
  std::string log = mta.Log();
  // One message, one bounce, one double bounce: three rejections, then silence.
  EXPECT_EQ(Count(log, "to=<c@hard.example.test>"), 1u) << log;
  EXPECT_EQ(Count(log, "to=<sender@example.org>"), 1u) << log;
  EXPECT_EQ(Count(log, "to=<2bounce-admin@admin.test>"), 1u) << log;
  EXPECT_EQ(Count(log, "status=bounced"), 3u) << log;
  EXPECT_EQ(Count(log, "notification: "), 2u) << log;  // the bounce and the double bounce
  EXPECT_EQ(Count(log, "to=<>"), 0u) << log;
  EXPECT_EQ(hard.Messages().size(), 0u);
  EXPECT_EQ(mta.Stop(), 0);
}

TEST(MtaBounceTest, RelocatedUserBouncesWithTheNewAddress) {
  TempDir dir;
  SinkProcess next_hop(dir, "next-hop");
  SinkProcess senders(dir, "senders");
  ASSERT_TRUE(next_hop.Start() && senders.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n"
                                         "example.org smtp:[127.0.0.1]:{}\n",
                                         next_hop.port(), senders.port()));
  dir.WriteFile("relocated", "old@example.test new@example.net\n");
  MtaProcess mta(dir,
                 "transport_maps = hash:$config_directory/transport\n"
                 "relocated_maps = hash:$config_directory/relocated\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_EQ(testing::SendWithSmtplib(mta.smtp_port(), "moved", "old@example.test").exit_code, 0);
  ASSERT_EQ(testing::SendWithSmtplib(mta.smtp_port(), "stayed", "new@example.test").exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return senders.Messages().size() == 1; }, 20s)) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 20s)) << mta.Log();
  std::string bounce = senders.Messages()[0];
  EXPECT_TRUE(Has(bounce, "X-Mail-Args: <>")) << bounce;
  EXPECT_TRUE(Has(bounce, "Final-Recipient: rfc822; old@example.test"));
  EXPECT_TRUE(Has(bounce, "Status: 5.1.6"));
  EXPECT_TRUE(Has(bounce, "User has moved to new@example.net"));
  EXPECT_TRUE(Has(bounce, "Subject: moved-0"));
  EXPECT_TRUE(Has(mta.Log(), "dsn=5.1.6, status=bounced (User has moved to new@example.net)"))
      << mta.Log();
  // Everyone else is delivered as usual.
  ASSERT_EQ(next_hop.Messages().size(), 1u);
  EXPECT_TRUE(Has(next_hop.Messages()[0], "Subject: stayed-0"));
  EXPECT_EQ(mta.Stop(), 0);
}

// A transport master.cf does not define: a software problem. The mail waits (4.3.0 "mail
// transport unavailable"); with notify_classes = software the postmaster hears of it once, not
// at every retry of every message.
TEST(MtaBounceTest, SoftwareProblemIsReportedToErrorNoticeRecipientOnce) {
  TempDir dir;
  SinkProcess admin(dir, "admin");
  ASSERT_TRUE(admin.Start());
  dir.WriteFile("transport", fmt::format("example.test nosuch:[127.0.0.1]:9\n"
                                         "admin.test smtp:[127.0.0.1]:{}\n",
                                         admin.port()));
  MtaProcess mta(dir,
                 "transport_maps = hash:$config_directory/transport\n"
                 "notify_classes = software\n"
                 "error_notice_recipient = error-admin@admin.test\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  auto sent = testing::SendWithSmtplib(mta.smtp_port(), "stuck", "user@example.test", 2);
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  ASSERT_TRUE(WaitUntil([&] { return admin.Messages().size() == 1; }, 20s)) << mta.Log();
  // Both messages retried a few times more; still one notice.
  ASSERT_TRUE(WaitUntil(
      [&] { return Count(mta.Log(), "postmaster software notification suppressed") >= 3; }, 20s))
      << mta.Log();
  EXPECT_EQ(admin.Messages().size(), 1u);
  EXPECT_EQ(mta.Ids(QueueName::kDeferred).size() + mta.Ids(QueueName::kActive).size(), 2u);
  std::string notice = admin.Messages()[0];
  EXPECT_TRUE(Has(notice, "X-Mail-Args: <double-bounce@mx.example.test>")) << notice;
  EXPECT_TRUE(Has(notice, "X-Rcpt-Args: <error-admin@admin.test>"));
  EXPECT_TRUE(Has(notice, "Subject: Postmaster Warning: Delivery Problem (software)"));
  EXPECT_TRUE(Has(notice, "Action: delayed"));
  EXPECT_TRUE(Has(notice, "Status: 4.3.0"));
  EXPECT_TRUE(Has(notice, "mail transport unavailable"));
  EXPECT_EQ(mta.Stop(), 0);
}

}  // namespace
}  // namespace moat::mta
