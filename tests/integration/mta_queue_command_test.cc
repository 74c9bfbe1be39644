// mta_queue_command_test.cc - `moat queue` against the real moat-mta: mail deferred because its
// next hop (Postfix's smtp-sink) is down shows up in `moat queue list --json` with the reason;
// once the sinks are up, `moat queue flush --site` delivers only that domain's mail and `moat
// queue flush` the rest (also mail of a defer_transports transport, as postqueue -f does), long
// before the one-hour backoff would; a held message stays put across a flush and goes once
// released; delete removes a message and its logs; the control socket goes away with moat-mta.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/integration/mta_process.h"

namespace moat::mta {
namespace {

using moat::testing::BinaryPath;
using moat::testing::CommandResult;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::MtaProcess;
using testing::SinkProcess;
using namespace std::chrono_literals;

// Sends one message with Python's smtplib; returns its queue ID ("" on failure).
std::string Send(int port, const std::string& marker, const std::string& recipient) {
  CommandResult sent = RunCommand({moat::testing::kSystemPython,
                                   moat::testing::SourcePath("tests/integration/mta_send.py"),
                                   std::to_string(port), "1", marker, recipient});
  std::istringstream lines(sent.out);
  std::string word, id;
  lines >> word >> id;
  return sent.exit_code == 0 && word == "QUEUED" ? id : "";
}

class MtaQueueCommandTest : public ::testing::Test {
 protected:
  CommandResult Queue(std::vector<std::string> args) {
    args.insert(args.begin(), {BinaryPath("moat"), "-c", dir_.path(), "queue"});
    return RunCommand(args, moat::testing::WithTimeout(30s));
  }
  // `moat queue list --json`, by queue ID.
  std::map<std::string, nlohmann::json> List() {
    CommandResult listed = Queue({"list", "--json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    std::map<std::string, nlohmann::json> by_id;
    std::istringstream lines(listed.out);
    for (std::string line; std::getline(lines, line);) {
      nlohmann::json item = nlohmann::json::parse(line);
      by_id[item["id"]] = item;
    }
    return by_id;
  }

  TempDir dir_;
};

TEST_F(MtaQueueCommandTest, ListFlushHoldReleaseDelete) {
  SinkProcess sink(dir_, "sink");    // example.test: down until flushed
  SinkProcess other(dir_, "other");  // other.test: down until flushed
  SinkProcess later(dir_, "later");  // later.test: up, but its transport is in defer_transports
  SinkProcess never(dir_, "never");  // never.test: never up
  ASSERT_TRUE(later.Start());
  dir_.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n"
                                          "other.test smtp:[127.0.0.1]:{}\n"
                                          "later.test slow:[127.0.0.1]:{}\n"
                                          "never.test smtp:[127.0.0.1]:{}\n",
                                          sink.port(), other.port(), later.port(), never.port()));
  MtaProcess mta(dir_,
                 "transport_maps = hash:$config_directory/transport\n"
                 "relay_domains = example.test other.test later.test never.test\n"
                 "defer_transports = slow\n"
                 "minimal_backoff_time = 3600s\n"
                 "maximal_backoff_time = 7200s\n"
                 "queue_run_delay = 3600s\n",
                 "slow      unix  -       -       n       -       -       smtp\n");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  std::string socket = mta.queue_directory() + "/public/qmgr";
  struct stat st {};
  ASSERT_EQ(::stat(socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  std::string held = Send(mta.smtp_port(), "held", "user@example.test");
  std::string plain = Send(mta.smtp_port(), "plain", "user@example.test");
  std::string site = Send(mta.smtp_port(), "site", "user@other.test");
  std::string slow = Send(mta.smtp_port(), "slow", "user@later.test");
  std::string doomed = Send(mta.smtp_port(), "doomed", "user@never.test");
  for (const std::string& id : {held, plain, site, slow, doomed}) ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitUntil([&] { return mta.Ids(QueueName::kDeferred).size() == 5; }, 15s))
      << mta.Log();

  // mailq's view: each message with its recipient and why it waits.
  auto listed = List();
  ASSERT_EQ(listed.size(), 5u);
  nlohmann::json entry = listed[plain];
  EXPECT_EQ(entry["queue"], "deferred");
  EXPECT_EQ(entry["sender"], "sender@example.org");
  ASSERT_EQ(entry["recipients"].size(), 1u);
  EXPECT_EQ(entry["recipients"][0]["address"], "user@example.test");
  EXPECT_NE(entry["recipients"][0]["reason"].get<std::string>().find("Connection refused"),
            std::string::npos)
      << entry.dump();
  EXPECT_EQ(listed[slow]["recipients"][0]["reason"], "deferred transport");
  CommandResult text = Queue({"list"});
  EXPECT_NE(text.out.find(" Kbytes in 5 Requests.\n"), std::string::npos) << text.out;
  // The next attempt is an hour away.
  CommandResult shown = Queue({"show", "--json", "-e", plain});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  auto schedule = nlohmann::json::parse(shown.out)["schedule"];
  EXPECT_GT(schedule["next_attempt"].get<int64_t>() - schedule["last_attempt"].get<int64_t>(),
            3000);

  ASSERT_TRUE(sink.Start());
  ASSERT_TRUE(other.Start());

  // postqueue -s: only other.test's message goes.
  CommandResult flushed_site = Queue({"flush", "--site", "other.test"});
  ASSERT_EQ(flushed_site.exit_code, 0) << flushed_site.err;
  EXPECT_EQ(flushed_site.out, "1 message scheduled for delivery to other.test\n");
  ASSERT_TRUE(WaitUntil([&] { return other.CountWith("Subject: site-0") == 1; }, 10s))
      << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return !List().count(site); }, 10s)) << mta.Log();
  EXPECT_EQ(sink.Messages().size(), 0u);
  EXPECT_EQ(later.Messages().size(), 0u);
  CommandResult not_eligible = Queue({"flush", "--site", "example.org"});
  EXPECT_EQ(not_eligible.exit_code, 1);
  EXPECT_NE(not_eligible.err.find("not eligible"), std::string::npos) << not_eligible.err;

  // A held message stays through a full flush, which delivers everything else that can go,
  // the defer_transports mail included.
  CommandResult hold = Queue({"hold", held});
  ASSERT_EQ(hold.exit_code, 0) << hold.err;
  CommandResult flushed = Queue({"flush"});
  ASSERT_EQ(flushed.exit_code, 0) << flushed.err;
  EXPECT_EQ(flushed.out, "3 messages scheduled for delivery\n");
  ASSERT_TRUE(WaitUntil([&] { return sink.CountWith("Subject: plain-0") == 1; }, 10s))
      << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return later.CountWith("Subject: slow-0") == 1; }, 10s))
      << mta.Log();
  // never.test's message was tried again and is deferred again: its next hop is still down.
  ASSERT_TRUE(WaitUntil(
      [&] {
        listed = List();
        return listed.size() == 2 && listed[doomed]["queue"] == "deferred";
      },
      10s))
      << mta.Log();
  EXPECT_EQ(listed[held]["queue"], "hold");
  EXPECT_EQ(sink.CountWith("Subject: held-0"), 0u);

  // Released: delivered now, not an hour later.
  CommandResult release = Queue({"release", held});
  ASSERT_EQ(release.exit_code, 0) << release.err;
  EXPECT_EQ(release.err, "");  // the running moat-mta was woken up
  ASSERT_TRUE(WaitUntil([&] { return sink.CountWith("Subject: held-0") == 1; }, 10s))
      << mta.Log();

  // Deleted: the file and its logs.
  ASSERT_TRUE(std::filesystem::exists(mta.queue_directory() + "/defer/" + doomed));
  CommandResult deleted = Queue({"delete", doomed});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, doomed + ": deleted\n");
  EXPECT_FALSE(std::filesystem::exists(mta.queue_directory() + "/defer/" + doomed));
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 10s)) << mta.Log();
  EXPECT_EQ(Queue({"list"}).out, "Mail queue is empty\n");
  EXPECT_EQ(sink.Messages().size(), 2u);  // each message once
  EXPECT_EQ(other.Messages().size(), 1u);
  EXPECT_EQ(later.Messages().size(), 1u);

  EXPECT_EQ(mta.Stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(socket));
  CommandResult down = Queue({"flush"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("moat-mta is not running: cannot connect to " + socket),
            std::string::npos)
      << down.err;
}

// The control socket marks the queue as taken: a second moat-mta on the same queue refuses to
// start; a socket left by a killed moat-mta is replaced.
TEST_F(MtaQueueCommandTest, OneMoatMtaPerQueue) {
  MtaProcess mta(dir_, "");
  ASSERT_TRUE(mta.Start()) << mta.Log();
  CommandResult second = RunCommand(
      {BinaryPath("moat-mta"), "-c", dir_.path(), "-o",
       fmt::format("queue_directory={}", mta.queue_directory())},
      moat::testing::WithTimeout(20s));
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another moat-mta is running on this queue"), std::string::npos)
      << second.err;
  mta.Kill();
  std::string socket = mta.queue_directory() + "/public/qmgr";
  ASSERT_TRUE(std::filesystem::exists(socket));  // left behind
  ASSERT_TRUE(mta.Start()) << mta.Log();
  EXPECT_NE(mta.Log().find("replaced a stale socket"), std::string::npos) << mta.Log();
  CommandResult flushed = Queue({"flush"});
  EXPECT_EQ(flushed.exit_code, 0) << flushed.err;
  EXPECT_EQ(mta.Stop(), 0);
}

}  // namespace
}  // namespace moat::mta
