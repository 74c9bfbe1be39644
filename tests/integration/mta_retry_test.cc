// mta_retry_test.cc - moat-mta's retry rules as Postfix documents them, with real peers (Python's
// smtplib in, Postfix's smtp-sink out):
//
//   defer_transports (postconf(5): "The names of message delivery transports that should not
//   deliver mail unless someone issues sendmail -q or equivalent"): mail for such a transport is
//   deferred at every queue run with "deferred transport" and never tried, although the next hop
//   is up; once the transport is no longer listed (restart: the queue manager's routing is read
//   at start-up), each message is delivered exactly once.
//
//   maximal_queue_lifetime ("Consider a message as undeliverable, when delivery fails with a
//   temporary error, and the time in the queue has reached the maximal_queue_lifetime limit"):
//   a message whose next hop stays down is retried with a growing backoff between
//   minimal_backoff_time and maximal_backoff_time, then returned to its sender as one RFC 3464
//   report (Action: failed, the last temporary reason), and never again.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

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

moat::testing::CommandResult Send(int port, const std::string& marker, int count) {
  return testing::SendWithSmtplib(port, marker, "user@example.test", count);
}

TEST(MtaRetryTest, DeferTransportsHoldMailUntilTheTransportIsNoLongerListed) {
  TempDir dir;
  SinkProcess sink(dir, "sink");
  ASSERT_TRUE(sink.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", sink.port()));
  const std::string routing = "transport_maps = hash:$config_directory/transport\n";
  {
    MtaProcess mta(dir, routing + "defer_transports = smtp\n");
    ASSERT_TRUE(mta.Start()) << mta.Log();
    ASSERT_EQ(Send(mta.smtp_port(), "held", 3).exit_code, 0);
    // Several queue runs (queue_run_delay = 1s here), each deferring all three.
    ASSERT_TRUE(WaitUntil([&] { return Count(mta.Log(), "(deferred transport)") >= 6; }, 20s))
        << mta.Log();
    EXPECT_EQ(Count(mta.Log(), "dsn=4.3.2, status=deferred (deferred transport)"),
              Count(mta.Log(), "(deferred transport)"));
    EXPECT_EQ(sink.Messages().size(), 0u);  // the next hop was up all along
    EXPECT_EQ(Count(mta.Log(), "status=sent"), 0u);
    ASSERT_EQ(mta.Stop(), 0) << mta.Log();
    EXPECT_EQ(mta.Ids(QueueName::kDeferred).size(), 3u);
    // Still pending, with the attempts counted.
    auto store = mta.OpenStore();
    ASSERT_NE(store, nullptr);
    for (const std::string& id : mta.Ids(QueueName::kDeferred)) {
      auto m = store->Read(QueueName::kDeferred, id);
      ASSERT_TRUE(m) << m.error().ToString();
      EXPECT_EQ(m->envelope.recipients[0].status, RecipientStatus::kPending);
      EXPECT_GE(m->envelope.schedule.attempts, 2u);
      auto log = store->ReadLog(RecipientLogKind::kDefer, id);
      ASSERT_TRUE(log && !log->empty());
      EXPECT_EQ(log->back().reason, "deferred transport");
    }
  }
  // The same queue without defer_transports: delivered, each once, nothing bounced.
  MtaProcess mta(dir, routing);
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 20s)) << mta.Log();
  EXPECT_EQ(sink.Messages().size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sink.CountWith(fmt::format("Subject: held-{}\n", i)), 1u);
  EXPECT_EQ(Count(mta.Log(), "notification"), 0u);
  EXPECT_EQ(mta.Stop(), 0);
}

// Seconds since midnight of a log line's "2026-11-21T14:00:09.150" stamp.
std::vector<double> AttemptTimes(const std::string& log, const std::string& recipient) {
  std::vector<double> times;
  std::regex stamp(R"(^\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d\.\d+) )");
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("to=<" + recipient + ">") == std::string::npos) continue;
    if (line.find("status=deferred") == std::string::npos) continue;
    std::smatch m;
    if (!std::regex_search(line, m, stamp)) continue;
    times.push_back(std::stoi(m[1]) * 3600.0 + std::stoi(m[2]) * 60.0 + std::stod(m[3]));
  }
  return times;
}

TEST(MtaRetryTest, MaximalQueueLifetimeReturnsOneReportAfterGrowingRetries) {
  TempDir dir;
  SinkProcess down(dir, "down");  // never started
  SinkProcess senders(dir, "senders");
  ASSERT_TRUE(senders.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n"
                                         "example.org smtp:[127.0.0.1]:{}\n",
                                         down.port(), senders.port()));
  MtaProcess mta(dir,
                 "transport_maps = hash:$config_directory/transport\n"
                 "minimal_backoff_time = 1s\n"
                 "maximal_backoff_time = 2s\n"
                 "maximal_queue_lifetime = 4s\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(Send(mta.smtp_port(), "expiring", 1).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return senders.Messages().size() == 1; }, 30s)) << mta.Log();
  auto returned_after = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; })) << mta.Log();
  // Not before its lifetime.
  EXPECT_GE(returned_after, 3s) << mta.Log();

  // Retried, never sooner than minimal_backoff_time (the schedule counts whole seconds, so a
  // little under it by the wall clock) nor later than maximal_backoff_time (+ a
  // queue run). That the waits grow in between is checked without a clock in
  // qmgr_policy_test.cc: wall-clock gaps here stretch on a loaded machine.
  std::vector<double> times = AttemptTimes(mta.Log(), "user@example.test");
  ASSERT_GE(times.size(), 3u) << mta.Log();
  for (std::size_t i = 1; i < times.size(); ++i) {
    double wait = times[i] - times[i - 1];
    EXPECT_GE(wait, 0.5) << "attempt " << i << "\n" << mta.Log();  // whole-second schedule
  }
  double last_wait = times.back() - times[times.size() - 2];
  EXPECT_LE(last_wait, 2.0 + 2.5) << mta.Log();

  std::string report = senders.Messages()[0];
  EXPECT_NE(report.find("Final-Recipient: rfc822; user@example.test"), std::string::npos) << report;
  EXPECT_NE(report.find("Action: failed"), std::string::npos);
  EXPECT_NE(report.find("Status: 4.4.1"), std::string::npos);
  EXPECT_NE(report.find("delivery expired: connect to 127.0.0.1"), std::string::npos);
  EXPECT_EQ(Count(mta.Log(), "status=expired, returned to sender"), 1u);
  // The message is gone from the queue, so no second report can follow.
  EXPECT_EQ(Count(mta.Log(), "sender non-delivery notification"), 1u);
  EXPECT_EQ(mta.Stop(), 0);
}

}  // namespace
}  // namespace moat::mta
