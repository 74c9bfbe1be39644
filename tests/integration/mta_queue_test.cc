// mta_queue_test.cc - moat-mta's promise behind every 250: the real daemon on a free loopback
// port with a temp queue_directory, fed by swaks, Python's smtplib and Postfix's smtp-source.
// A 250 means a complete queue file; kill -9 in the middle of a few thousand messages loses none
// that were acknowledged and leaves nothing half-written after the restart's recovery.
//
// The relay transport is in defer_transports here, so the queue manager parks every message in
// deferred/ without trying to deliver it: the test sees every message in the queue.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/mta_process.h"

namespace moat::mta {
namespace {

using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::MtaProcess;
using namespace std::chrono_literals;

constexpr const char* kParkedMainCf = "defer_transports = relay\n";

std::string SendScript() { return moat::testing::SourcePath("tests/integration/mta_send.py"); }

// "QUEUED <id> <tag>" lines of mta_send.py.
std::map<std::string, std::string> QueuedIds(const std::string& output) {
  std::map<std::string, std::string> ids;
  std::istringstream lines(output);
  std::string word, id, tag;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    if (fields >> word >> id >> tag && word == "QUEUED") ids[id] = tag;
  }
  return ids;
}

TEST(MtaQueueTest, SwaksAndSmtplibGet250OnlyForQueuedFiles) {
  TempDir dir;
  // The client (127.0.0.1) is not in mynetworks here: relaying is for example.test only.
  MtaProcess mta(dir, std::string(kParkedMainCf) + "mynetworks = 192.0.2.0/24\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();

  auto swaks = RunCommand({"swaks", "--server", "127.0.0.1", "--port",
                           std::to_string(mta.smtp_port()), "--from", "sender@example.org",
                           "--to", "user@example.test", "--helo", "client.example.org",
                           "--header", "Subject: swaks-marker"});
  ASSERT_EQ(swaks.exit_code, 0) << swaks.out << swaks.err;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(swaks.out, match, std::regex("250 2\\.0\\.0 Ok: queued as (\\w+)")))
      << swaks.out;
  std::string swaks_id = match[1];

  auto python = RunCommand({moat::testing::kSystemPython, SendScript(),
                            std::to_string(mta.smtp_port()), "3", "smtplib-marker",
                            "a@example.test", "b@example.test"});
  ASSERT_EQ(python.exit_code, 0) << python.out << python.err;
  auto ids = QueuedIds(python.out);
  ASSERT_EQ(ids.size(), 3u) << python.out;

  // A relay test for a domain that is not ours: refused at RCPT, never queued.
  auto refused = RunCommand({"swaks", "--server", "127.0.0.1", "--port",
                             std::to_string(mta.smtp_port()), "--from", "sender@example.org",
                             "--to", "user@elsewhere.example", "--quit-after", "RCPT"});
  EXPECT_NE(refused.out.find("<** 554"), std::string::npos) << refused.out;

  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 4; })) << mta.Log();
  ASSERT_EQ(mta.Stop(), 0) << mta.Log();

  auto store = mta.OpenStore();
  ASSERT_NE(store, nullptr);
  auto where = store->Locate(swaks_id);
  ASSERT_TRUE(where && *where) << swaks_id;
  auto message = store->Read(**where, swaks_id, true);
  ASSERT_TRUE(message) << message.error().ToString();
  EXPECT_EQ(message->envelope.sender, "sender@example.org");
  ASSERT_EQ(message->envelope.recipients.size(), 1u);
  EXPECT_EQ(message->envelope.recipients[0].address, "user@example.test");
  EXPECT_NE(message->content.find("Subject: swaks-marker"), std::string::npos);
  EXPECT_NE(message->content.find("Received: from client.example.org"), std::string::npos)
      << message->content;
  for (const auto& [id, tag] : ids) {
    auto in = store->Locate(id);
    ASSERT_TRUE(in && *in) << id;
    auto m = store->Read(**in, id, true);
    ASSERT_TRUE(m) << m.error().ToString();
    EXPECT_EQ(m->envelope.recipients.size(), 2u);
    EXPECT_NE(m->content.find("Subject: " + tag), std::string::npos);
    EXPECT_EQ(m->envelope.attributes.service, fmt::format("127.0.0.1:{}", mta.smtp_port()));
  }
}

// Postfix's smtp-source with many sessions plus a smtplib client that records each queue ID it
// was given; kill -9 in the middle; restart. Every acknowledged message must be there, complete.
TEST(MtaQueueTest, KillNineLosesNothingAcknowledged) {
  TempDir dir;
  MtaProcess mta(dir, kParkedMainCf);
  ASSERT_TRUE(mta.Start()) << mta.Log();

  std::string target = fmt::format("127.0.0.1:{}", mta.smtp_port());
  moat::testing::Subprocess source(
      {"smtp-source", "-v", "-c", "-s", "8", "-m", "4000", "-l", "2000", "-f",
       "source@example.org", "-t", "sink@example.test", "-M", "client.example.org", target},
      dir.Path("run-1"));
  std::filesystem::create_directories(dir.Path("python"));
  moat::testing::Subprocess python({moat::testing::kSystemPython, SendScript(),
                                    std::to_string(mta.smtp_port()), "4000", "py"},
                                   dir.Path("python"));

  // Let a good number be acknowledged, then kill without warning.
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() >= 600; }, 120s)) << mta.Queued();
  mta.Kill();
  source.Wait(30s);
  python.Wait(30s);
  std::string source_log = source.Stdout() + source.Stderr();
  std::size_t source_acked = 0;
  for (std::size_t p = 0; (p = source_log.find("queued as", p)) != std::string::npos; ++p) {
    ++source_acked;
  }
  auto python_ids = QueuedIds(python.Stdout());
  ASSERT_GT(source_acked, 100u) << source_log.substr(0, 2000);
  ASSERT_GT(python_ids.size(), 5u) << python.Stdout();

  // Restart: recovery runs before anything is accepted or delivered.
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(mta.WaitForLog("recovered")) << mta.Log();
  ASSERT_EQ(mta.Stop(), 0) << mta.Log();

  for (QueueName queue : {QueueName::kIncoming, QueueName::kActive, QueueName::kDeferred}) {
    EXPECT_TRUE(mta.OtherNames(queue).empty()) << QueueNameText(queue);
  }
  auto store = mta.OpenStore();
  ASSERT_NE(store, nullptr);
  std::size_t from_source = 0;
  std::set<std::string> present;
  for (QueueName queue : {QueueName::kIncoming, QueueName::kActive, QueueName::kDeferred}) {
    for (const std::string& id : mta.Ids(queue)) {
      auto m = store->Read(queue, id, false);
      ASSERT_TRUE(m) << id << ": " << m.error().ToString();
      present.insert(id);
      if (m->envelope.sender == "source@example.org") ++from_source;
    }
  }
  EXPECT_TRUE(mta.Ids(QueueName::kCorrupt).empty());
  // Every 250 smtp-source saw is a queue file (a commit whose 250 was lost in the kill may be
  // there too: the sender retries it, a duplicate at worst, never a loss).
  EXPECT_GE(from_source, source_acked);
  for (const auto& [id, tag] : python_ids) EXPECT_TRUE(present.count(id)) << id << " " << tag;
}

}  // namespace
}  // namespace moat::mta
