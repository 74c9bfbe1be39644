// filterd_daemon_test.cc - moat-filterd's life cycle: SIGHUP reloads (a bad configuration keeps
// the running one), SIGTERM finishes the transaction in flight, a full worker pool answers
// 451 4.3.2, the quarantine survives kill -9 right after the 250, and expiry runs on schedule.
// Tests that need a policy of their own run the daemon in process (or in a forked child, for
// kill -9) with a ContentFactory from tests/filterd/filterd_test_helpers.h.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>

#include "filterd/filter_daemon.h"
#include "filterd/pass_policy.h"
#include "quarantine/quarantine_store.h"
#include "tests/integration/filterd_process.h"

namespace moat::filterd {
namespace {

using core::testing::ConnectTcp;
using core::testing::RawClient;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::FakeRelay;
using testing::FilterdProcess;
using namespace std::chrono_literals;

const std::string kMessage =
    "From: a@example.com\r\nTo: r@example.org\r\nSubject: life cycle\r\n"
    "Message-ID: <daemon-1@example.com>\r\n\r\nbody\r\n";

// One LMTP transaction over a raw socket; the replies (one per recipient), or {} on failure.
std::vector<std::string> SendLmtp(int port, std::vector<std::string> recipients,
                                  const std::string& message = kMessage) {
  RawClient client(ConnectTcp("127.0.0.1", port));
  std::vector<std::string> replies;
  if (client.ReadCode() != 220) return replies;
  client.Send("LHLO test.client\r\n");
  if (client.ReadCode() != 250) return replies;
  client.Send("MAIL FROM:<a@example.com>\r\n");
  if (client.ReadCode() != 250) return replies;
  for (const auto& r : recipients) {
    client.Send("RCPT TO:<" + r + ">\r\n");
    if (client.ReadCode() != 250) return replies;
  }
  client.Send("DATA\r\n");
  if (client.ReadCode() != 354) return replies;
  client.Send(message + ".\r\n");
  for (std::size_t i = 0; i < recipients.size(); ++i) replies.push_back(client.ReadReply(60s));
  client.Send("QUIT\r\n");
  return replies;
}

void AppendConf(const TempDir& dir, const std::string& line) {
  std::ofstream(dir.Path("filterd.cf"), std::ios::app) << line << "\n";
}

TEST(FilterdDaemonTest, SighupReloadsAndABadConfigurationKeepsTheRunningOne) {
  TempDir dir;
  FakeRelay relay;
  FilterdProcess filterd(dir, relay.port(), "authserv_id = first\n");
  ASSERT_TRUE(filterd.Start()) << filterd.Log();
  ASSERT_EQ(SendLmtp(filterd.inbound_port(), {"r@example.org"})[0].substr(0, 3), "250");

  AppendConf(dir, "authserv_id = second");
  filterd.Signal(SIGHUP);
  ASSERT_TRUE(filterd.WaitForLog("reloaded configuration: generation 2")) << filterd.Log();
  ASSERT_EQ(SendLmtp(filterd.inbound_port(), {"r@example.org"})[0].substr(0, 3), "250");

  AppendConf(dir, "authserv_idd = typo");  // unknown parameter: the reload must fail
  filterd.Signal(SIGHUP);
  ASSERT_TRUE(filterd.WaitForLog("reload failed, keeping configuration generation 2"))
      << filterd.Log();
  EXPECT_NE(filterd.Log().find("authserv_idd"), std::string::npos);
  ASSERT_EQ(SendLmtp(filterd.inbound_port(), {"r@example.org"})[0].substr(0, 3), "250");

  auto messages = relay.Messages();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_NE(messages[0].message.find("Authentication-Results: first;"), std::string::npos);
  EXPECT_NE(messages[1].message.find("Authentication-Results: second;"), std::string::npos);
  EXPECT_NE(messages[2].message.find("Authentication-Results: second;"), std::string::npos);
  auto status = filterd.Stop();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST(FilterdDaemonTest, SigtermFinishesTheTransactionInFlight) {
  TempDir dir;
  FakeRelay relay;
  relay.state().message_delay = 2s;  // the return listener is slow to answer the message
  FilterdProcess filterd(dir, relay.port());
  ASSERT_TRUE(filterd.Start()) << filterd.Log();
  auto replies = std::async(std::launch::async, [&] {
    return SendLmtp(filterd.inbound_port(), {"r1@example.org", "r2@example.org"});
  });
  ASSERT_TRUE(WaitUntil([&] {
    auto events = relay.state().Events();
    return std::find(events.begin(), events.end(), "rcpt:r2@example.org") != events.end();
  }));
  filterd.Signal(SIGTERM);  // while the reinjection waits for the relay's reply
  auto got = replies.get();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].substr(0, 3), "250") << got[0];
  EXPECT_EQ(got[1].substr(0, 3), "250") << got[1];
  EXPECT_EQ(relay.Messages().size(), 1u);
  auto status = filterd.Stop();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_NE(filterd.Log().find("stopped: 1 message(s), 1 passed"), std::string::npos)
      << filterd.Log();
}

TEST(FilterdDaemonTest, AFullWorkerPoolIs451AndNothingIsLost) {
  TempDir dir;
  FakeRelay relay;
  dir.WriteFile("filterd.cf", testing::TestFilterdConf(dir.path(), relay.port()));
  auto blocking = std::make_shared<testing::BlockingStage>();
  FilterDaemon daemon({{dir.path(), "filterd.cf", {"worker_threads=1", "worker_queue_limit=1"}},
                       testing::FactoryWith({blocking}, std::make_shared<PassAllPolicy>())});
  ASSERT_TRUE(daemon.Start().has_value());
  int port = daemon.ListenAddresses("inbound").at(0).port;
  auto first = std::async(std::launch::async, [&] { return SendLmtp(port, {"a@example.org"}); });
  ASSERT_TRUE(WaitUntil([&] { return blocking->running() == 1; }));
  auto second = std::async(std::launch::async, [&] { return SendLmtp(port, {"b@example.org"}); });
  ASSERT_TRUE(WaitUntil([&] { return daemon.queued_jobs() == 1; }));
  auto third = SendLmtp(port, {"c@example.org", "d@example.org"});
  ASSERT_EQ(third.size(), 2u);
  EXPECT_TRUE(third[0].starts_with("451 4.3.2")) << third[0];
  EXPECT_TRUE(third[1].starts_with("451 4.3.2")) << third[1];
  blocking->Release();
  EXPECT_EQ(first.get().at(0).substr(0, 3), "250");
  EXPECT_EQ(second.get().at(0).substr(0, 3), "250");
  EXPECT_EQ(relay.Messages().size(), 2u);
  EXPECT_EQ(daemon.counters().overloaded.load(), 1u);
  daemon.Stop();
}

// Runs the daemon with the quarantine-everything policy in a forked child; returns its pid.
pid_t ForkQuarantiningDaemon(const TempDir& dir) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int status = 1;
  try {
    FilterDaemon daemon({{dir.path(), "filterd.cf", {}},
                         testing::FactoryWith({}, std::make_shared<testing::QuarantineAllPolicy>())});
    status = daemon.Run();
  } catch (const std::exception& e) {
    fprintf(stderr, "child: %s\n", e.what());
  }
  ::_exit(status);
}

TEST(FilterdDaemonTest, QuarantinedMessageSurvivesKill9RightAfterThe250) {
  TempDir dir;
  FakeRelay relay;
  int port = moat::testing::FreeTcpPort();
  dir.WriteFile("filterd.cf", testing::TestFilterdConf(dir.path(), relay.port(), port));
  pid_t child = ForkQuarantiningDaemon(dir);
  ASSERT_GT(child, 0);
  ASSERT_TRUE(moat::testing::WaitForTcpPort(port));

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto replies = SendLmtp(port, {"r@example.org"});
    ASSERT_EQ(replies.size(), 1u);
    ASSERT_TRUE(replies[0].starts_with("250 2.7.0")) << replies[0];
    std::size_t at = replies[0].find("quarantined as ");
    ASSERT_NE(at, std::string::npos) << replies[0];
    std::string id = replies[0].substr(at + 15);
    while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
    ids.push_back(id);
  }
  ::kill(child, SIGKILL);  // right after the last 250
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  pid_t restarted = ForkQuarantiningDaemon(dir);  // recovery runs as it opens the store
  ASSERT_GT(restarted, 0);
  ASSERT_TRUE(moat::testing::WaitForTcpPort(port));
  quarantine::StoreOptions options;
  options.directory = dir.Path("quarantine");
  options.role = quarantine::StoreRole::kReviewer;
  auto store = quarantine::QuarantineStore::Open(options);
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  for (const std::string& id : ids) {
    auto entry = (*store)->GetEntry(id);
    ASSERT_TRUE(entry.has_value()) << id << ": " << entry.error().ToString();
    EXPECT_EQ(entry->metadata.content_class, quarantine::ContentClass::kVirus);
    EXPECT_EQ(entry->metadata.recipients, std::vector<std::string>{"r@example.org"});
    auto bytes = (*store)->ReadMessage(id);
    ASSERT_TRUE(bytes.has_value()) << bytes.error().ToString();
    EXPECT_EQ(*bytes, kMessage);
  }
  auto page = (*store)->List({});
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->total, ids.size());
  EXPECT_TRUE(relay.Messages().empty());
  ::kill(restarted, SIGTERM);
  ASSERT_EQ(::waitpid(restarted, &status, 0), restarted);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(FilterdDaemonTest, QuarantineExpiryRunsOnSchedule) {
  TempDir dir;
  FakeRelay relay;
  dir.WriteFile("filterd.cf", testing::TestFilterdConf(dir.path(), relay.port()));
  FilterDaemon daemon(
      {{dir.path(), "filterd.cf", {"quarantine_retention=2s", "quarantine_expiry_interval=1s"}},
       testing::FactoryWith({}, std::make_shared<testing::QuarantineAllPolicy>())});
  ASSERT_TRUE(daemon.Start().has_value());
  auto replies = SendLmtp(daemon.ListenAddresses("inbound").at(0).port, {"r@example.org"});
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_TRUE(replies[0].starts_with("250 2.7.0")) << replies[0];
  auto count = [&] {
    auto page = daemon.quarantine_store()->List({});
    return page ? page->total : 999;
  };
  EXPECT_EQ(count(), 1u);
  EXPECT_TRUE(WaitUntil([&] { return count() == 0; }, 15s));
  daemon.Stop();
}

}  // namespace
}  // namespace moat::filterd
