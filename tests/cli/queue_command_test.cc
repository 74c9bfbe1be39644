// queue_command_test.cc - `moat queue` through its real command-line parser, against a queue
// written by mta::QueueStore (as moat-mta writes it): the mailq listing and its JSON, postcat's
// view, delete/hold/release/requeue by ID and ALL, IDs from stdin, malformed IDs, corrupt
// files, and flush/wake-up against a real control socket (or none).
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "cli/command.h"
#include "mta/qmgr_control.h"
#include "mta/queue_store.h"
#include "tests/cli/command_run.h"
#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

using mta::QueueName;

using moat::testing::CommandRun;

CommandRun Moat(std::vector<std::string> args, const GlobalOptions& global,
                const std::string& input = "") {
  auto register_command = [&](CLI::App& app) { RegisterQueueCommand(app, global); };
  return moat::testing::RunMoat(register_command, args, input);
}

constexpr const char* kReason = "connect to 127.0.0.1[127.0.0.1]:2526: Connection refused";

mta::QueueEnvelope Envelope(std::string sender, std::vector<std::string> recipients) {
  mta::QueueEnvelope e;
  e.arrival_us = 1'700'000'000'123'456;
  e.sender = std::move(sender);
  e.attributes.service = "smtp";
  e.attributes.client_name = "client.example.org";
  e.attributes.client_address = "192.0.2.7";
  e.attributes.protocol = "ESMTP";
  for (std::string& address : recipients) {
    mta::QueueRecipient r;
    r.original = address;
    r.address = std::move(address);
    e.recipients.push_back(std::move(r));
  }
  return e;
}

std::string Content(const std::string& subject) {
  return "From: <sender@example.org>\r\nSubject: " + subject + "\r\n\r\nHello\r\n";
}

class QueueCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mta::QueueStoreOptions options;
    options.directory = dir_.Path("queue");
    auto store = mta::QueueStore::Open(options);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = *store;
    global_.config_directory = dir_.Path("etc");  // no main.cf: -o queue_directory= must work
    global_.overrides = {"queue_directory=" + dir_.Path("queue")};

    incoming_ = Commit(Envelope("sender@example.org", {"a@example.test", "b@example.test"}),
                       "incoming one", QueueName::kIncoming);
    // Deferred: b@ was delivered, a@ deferred with a reason in the defer log.
    deferred_ = Commit(Envelope("sender@example.org", {"a@example.test", "b@example.test"}),
                       "deferred one", QueueName::kIncoming);
    {
      ASSERT_TRUE(store_->Move(deferred_, QueueName::kIncoming, QueueName::kActive));
      auto file = store_->OpenFile(QueueName::kActive, deferred_, true);
      ASSERT_TRUE(file);
      const auto& recipients = file->message().envelope.recipients;
      uint64_t done = recipients[1].offset;
      ASSERT_TRUE(file->MarkRecipients({&done, 1}, mta::RecipientStatus::kDelivered));
      std::vector<mta::RecipientLogEntry> notes = {
          {100, recipients[0].offset, "a@example.test", "4.4.1", "delayed", "first try"},
          {200, recipients[0].offset, "a@example.test", "4.4.1", "delayed", kReason}};
      ASSERT_TRUE(store_->Defer(*file, QueueName::kActive, notes, 4'000'000'000));
    }
    held_ = Commit(Envelope("", {"c@example.test"}), "held one", QueueName::kHold);
    active_ = Commit(Envelope("other@example.org", {"d@example.test"}), "active one",
                     QueueName::kIncoming);
    ASSERT_TRUE(store_->Move(active_, QueueName::kIncoming, QueueName::kActive));
  }

  std::string Commit(const mta::QueueEnvelope& envelope, const std::string& subject,
                     QueueName queue) {
    std::string id = store_->NewId();
    auto committed = store_->Commit(id, envelope, Content(subject), queue);
    EXPECT_TRUE(committed) << committed.error().ToString();
    return id;
  }

  std::optional<QueueName> Where(const std::string& id) {
    auto where = store_->Locate(id);
    return where ? *where : std::nullopt;
  }

  CommandRun Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), "queue");
    return Moat(args, global_, input);
  }

  moat::testing::TempDir dir_;
  std::shared_ptr<mta::QueueStore> store_;
  GlobalOptions global_;
  std::string incoming_, deferred_, held_, active_;
};

TEST_F(QueueCommandTest, ListLooksLikeMailq) {
  CommandRun run = Run({"list"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_TRUE(run.out.starts_with("-Queue ID-")) << run.out;
  EXPECT_NE(run.out.find(active_ + "*"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(held_ + "!"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(incoming_ + " "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("MAILER-DAEMON"), std::string::npos);  // the held bounce's <>
  // The deferred message: its latest reason, then the recipient still to do; not b@ (delivered).
  size_t at = run.out.find(deferred_);
  ASSERT_NE(at, std::string::npos);
  std::string block = run.out.substr(at, run.out.find("\n\n", at) - at);
  EXPECT_NE(block.find(std::string("\n(") + kReason + ")\n"), std::string::npos) << block;
  EXPECT_NE(block.find("   a@example.test"), std::string::npos) << block;
  EXPECT_EQ(block.find("b@example.test"), std::string::npos) << block;
  EXPECT_EQ(block.find("first try"), std::string::npos) << block;
  EXPECT_NE(run.out.find("-- 1 Kbytes in 4 Requests.\n"), std::string::npos) << run.out;
}

TEST_F(QueueCommandTest, ListJsonHasOneObjectPerMessage) {
  CommandRun run = Run({"list", "--json"});
  ASSERT_EQ(run.status, 0) << run.err;
  std::map<std::string, nlohmann::json> by_id;
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json item = nlohmann::json::parse(line);
    by_id[item["id"]] = item;
  }
  ASSERT_EQ(by_id.size(), 4u) << run.out;
  nlohmann::json deferred = by_id[deferred_];
  EXPECT_EQ(deferred["queue"], "deferred");
  EXPECT_EQ(deferred["sender"], "sender@example.org");
  EXPECT_EQ(deferred["arrival_time"], 1'700'000'000);
  EXPECT_EQ(deferred["size"], Content("deferred one").size());
  ASSERT_EQ(deferred["recipients"].size(), 1u);
  EXPECT_EQ(deferred["recipients"][0]["address"], "a@example.test");
  EXPECT_EQ(deferred["recipients"][0]["reason"], kReason);
  EXPECT_EQ(by_id[incoming_]["queue"], "incoming");
  EXPECT_EQ(by_id[incoming_]["recipients"].size(), 2u);
  EXPECT_TRUE(by_id[incoming_]["recipients"][0]["reason"].is_null());
  EXPECT_EQ(by_id[active_]["queue"], "active");
  EXPECT_EQ(by_id[held_]["queue"], "hold");
  EXPECT_EQ(by_id[held_]["sender"], "");
}

TEST_F(QueueCommandTest, EmptyQueueAndMainCfQueueDirectory) {
  ASSERT_EQ(Run({"delete", "ALL"}).status, 0);
  // main.cf's queue_directory, relative to the configuration directory as moat-mta reads it.
  dir_.WriteFile("etc/main.cf", "queue_directory = ../queue\n");
  global_.overrides.clear();
  CommandRun run = Run({"list"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "Mail queue is empty\n");
  EXPECT_EQ(Run({"list", "--json"}).out, "");

  global_.config_directory = dir_.Path("nowhere");
  CommandRun missing = Run({"list"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("-o queue_directory"), std::string::npos) << missing.err;
}

TEST_F(QueueCommandTest, ShowLooksLikePostcat) {
  CommandRun run = Run({"show", deferred_});
  ASSERT_EQ(run.status, 0) << run.err;
  std::string where = "deferred/" + deferred_;
  EXPECT_TRUE(run.out.starts_with("*** ENVELOPE RECORDS " + where + " ***\n")) << run.out;
  EXPECT_NE(run.out.find("\nsender: sender@example.org\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\nrecipient: a@example.test\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\ndone_recipient: b@example.test\n"), std::string::npos);
  EXPECT_NE(run.out.find("\nnamed_attribute: client_address=192.0.2.7\n"), std::string::npos);
  EXPECT_NE(run.out.find("attempts=1"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("*** MESSAGE CONTENTS " + where + " ***\nFrom: <sender@example.org>\n"
                         "Subject: deferred one\n\nHello\n*** MESSAGE FILE END " + where +
                         " ***\n"),
            std::string::npos)
      << run.out;
  // Pasted from `list` with its status mark.
  EXPECT_EQ(Run({"show", active_ + "*"}).status, 0);

  CommandRun envelope = Run({"show", "-e", held_});
  ASSERT_EQ(envelope.status, 0);
  EXPECT_NE(envelope.out.find("\nsender: <>\n"), std::string::npos) << envelope.out;
  EXPECT_EQ(envelope.out.find("MESSAGE CONTENTS"), std::string::npos);

  CommandRun json = Run({"show", "--json", deferred_});
  ASSERT_EQ(json.status, 0) << json.err;
  nlohmann::json shown = nlohmann::json::parse(json.out);
  EXPECT_EQ(shown["queue"], "deferred");
  EXPECT_EQ(shown["content"], Content("deferred one"));
  EXPECT_EQ(shown["attributes"]["service"], "smtp");
  EXPECT_EQ(shown["schedule"]["attempts"], 1);
  EXPECT_EQ(shown["schedule"]["next_attempt"], 4'000'000'000);
  ASSERT_EQ(shown["recipients"].size(), 2u);
  EXPECT_EQ(shown["recipients"][0]["status"], "pending");
  EXPECT_EQ(shown["recipients"][0]["reason"], kReason);
  EXPECT_EQ(shown["recipients"][1]["status"], "delivered");

  CommandRun absent = Run({"show", "000000000000000"});
  EXPECT_EQ(absent.status, 1);
  EXPECT_NE(absent.err.find("not in the queue"), std::string::npos) << absent.err;
  EXPECT_EQ(Run({"show", "../../etc/passwd"}).status, 2);
}

TEST_F(QueueCommandTest, DeleteRemovesTheFileAndItsLogs) {
  std::string log = dir_.Path("queue/defer/" + deferred_);
  ASSERT_TRUE(std::filesystem::exists(log));
  CommandRun run = Run({"delete", deferred_, "000000000000000"});
  ASSERT_EQ(run.status, 0) << run.err;  // not there: reported, not an error
  EXPECT_EQ(run.out, deferred_ + ": deleted\n");
  EXPECT_NE(run.err.find("000000000000000: not in the queue"), std::string::npos) << run.err;
  EXPECT_FALSE(Where(deferred_));
  EXPECT_FALSE(std::filesystem::exists(log));

  // A malformed ID stops the command before anything is touched.
  CommandRun bad = Run({"delete", incoming_, "not-an-id"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("not a queue ID: \"not-an-id\""), std::string::npos) << bad.err;
  EXPECT_EQ(Where(incoming_), QueueName::kIncoming);
  EXPECT_EQ(Run({"delete", "ALL", incoming_}).status, 2);
  EXPECT_EQ(Where(incoming_), QueueName::kIncoming);
}

TEST_F(QueueCommandTest, HoldAndRelease) {
  CommandRun hold = Run({"hold", incoming_, deferred_, active_, held_});
  ASSERT_EQ(hold.status, 0) << hold.err;
  EXPECT_NE(hold.err.find(held_ + ": already on hold"), std::string::npos) << hold.err;
  for (const std::string& id : {incoming_, deferred_, active_}) {
    EXPECT_EQ(Where(id), QueueName::kHold) << id;
  }
  EXPECT_NE(Run({"list"}).out.find(incoming_ + "!"), std::string::npos);

  CommandRun release = Run({"release", incoming_, deferred_});
  ASSERT_EQ(release.status, 0) << release.err;
  // Never tried: back to incoming; tried before: deferred, due now.
  EXPECT_EQ(release.out, incoming_ + ": released to incoming/\n" + deferred_ +
                             ": released to deferred/\n");
  EXPECT_EQ(Where(incoming_), QueueName::kIncoming);
  EXPECT_EQ(Where(deferred_), QueueName::kDeferred);
  auto head = store_->ReadHead(QueueName::kDeferred, deferred_);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->schedule.next_attempt, 0);
  EXPECT_EQ(head->schedule.attempts, 1u);
  // No moat-mta to wake up: said, but the release is done.
  EXPECT_NE(release.err.find("moat-mta is not running"), std::string::npos) << release.err;

  CommandRun again = Run({"release", incoming_});
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.err.find("not on hold (in incoming/)"), std::string::npos) << again.err;
}

TEST_F(QueueCommandTest, RequeueMakesAFreshCopyOfWhatIsLeftToDo) {
  CommandRun run = Run({"requeue", deferred_, active_});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.err.find(active_ + ": being delivered"), std::string::npos) << run.err;
  EXPECT_EQ(Where(active_), QueueName::kActive);
  ASSERT_TRUE(run.out.starts_with(deferred_ + ": requeued as ")) << run.out;
  std::string new_id = run.out.substr(run.out.size() - 1 - mta::kQueueIdLength,
                                      mta::kQueueIdLength);
  EXPECT_FALSE(Where(deferred_));
  EXPECT_FALSE(std::filesystem::exists(dir_.Path("queue/defer/" + deferred_)));
  EXPECT_EQ(Where(new_id), QueueName::kIncoming);
  auto copy = store_->Read(QueueName::kIncoming, new_id, true);
  ASSERT_TRUE(copy) << copy.error().ToString();
  ASSERT_EQ(copy->envelope.recipients.size(), 1u);  // b@ was delivered already
  EXPECT_EQ(copy->envelope.recipients[0].address, "a@example.test");
  EXPECT_EQ(copy->envelope.schedule, mta::QueueSchedule{});
  EXPECT_GT(copy->envelope.arrival_us, 1'700'000'000'123'456);
  EXPECT_EQ(copy->content, Content("deferred one"));
  EXPECT_EQ(copy->envelope.sender, "sender@example.org");
  EXPECT_EQ(copy->envelope.attributes.client_address, "192.0.2.7");

  // A held message is released by its requeue.
  CommandRun held = Run({"requeue", held_});
  ASSERT_EQ(held.status, 0) << held.err;
  EXPECT_FALSE(Where(held_));
  EXPECT_EQ(store_->List(QueueName::kIncoming)->size(), 3u);
}

TEST_F(QueueCommandTest, AllAndQueueSelection) {
  CommandRun hold = Run({"hold", "ALL"});
  ASSERT_EQ(hold.status, 0) << hold.err;
  EXPECT_EQ(hold.out, "hold: 3 messages\n");
  EXPECT_EQ(store_->List(QueueName::kHold)->size(), 4u);
  CommandRun release = Run({"release", "ALL"});
  ASSERT_EQ(release.status, 0) << release.err;
  EXPECT_EQ(release.out, "release: 4 messages\n");
  EXPECT_EQ(store_->List(QueueName::kHold)->size(), 0u);

  ASSERT_EQ(Run({"hold", incoming_}).status, 0);
  CommandRun held_only = Run({"delete", "ALL", "--queue", "hold"});
  ASSERT_EQ(held_only.status, 0) << held_only.err;
  EXPECT_EQ(held_only.out, "delete: 1 message\n");
  EXPECT_FALSE(Where(incoming_));
  EXPECT_EQ(Run({"delete", "ALL", "--queue", "nowhere"}).status, 2);

  CommandRun all = Run({"delete", "ALL"});
  ASSERT_EQ(all.status, 0) << all.err;
  EXPECT_EQ(all.out, "delete: 3 messages\n");
  EXPECT_EQ(Run({"list"}).out, "Mail queue is empty\n");
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Path("queue/defer")));
}

TEST_F(QueueCommandTest, IdsFromStandardInput) {
  CommandRun run = Run({"delete", "-"}, incoming_ + "\n\n  " + held_ + "!\n");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_FALSE(Where(incoming_));
  EXPECT_FALSE(Where(held_));
  EXPECT_EQ(Where(active_), QueueName::kActive);
}

TEST_F(QueueCommandTest, CorruptFilesAreReportedNotFatal) {
  std::string broken = store_->NewId();
  dir_.WriteFile("queue/deferred/" + broken, "this is not a queue file");
  std::string cut = Commit(Envelope("s@example.org", {"e@example.test"}), "cut",
                           QueueName::kIncoming);
  ASSERT_TRUE(store_->Move(cut, QueueName::kIncoming, QueueName::kDeferred));
  std::filesystem::resize_file(dir_.Path("queue/deferred/" + cut), 100);

  CommandRun list = Run({"list", "--json"});
  EXPECT_EQ(list.status, 1);
  EXPECT_NE(list.err.find("deferred/" + broken), std::string::npos) << list.err;
  EXPECT_NE(list.err.find("deferred/" + cut), std::string::npos) << list.err;
  size_t lines = 0;
  for (char c : list.out) lines += c == '\n';
  EXPECT_EQ(lines, 4u);  // the readable ones are all there

  CommandRun show = Run({"show", broken});
  EXPECT_EQ(show.status, 1);
  EXPECT_FALSE(show.err.empty());
  CommandRun requeue = Run({"requeue", cut});
  EXPECT_EQ(requeue.status, 1);
  EXPECT_NE(requeue.err.find(cut + ": error:"), std::string::npos) << requeue.err;
  EXPECT_EQ(Where(cut), QueueName::kDeferred);  // put back where it was
  CommandRun hold = Run({"hold", broken});  // a rename: needs no readable file
  EXPECT_EQ(hold.status, 0) << hold.err;
  CommandRun release = Run({"release", broken});
  EXPECT_EQ(release.status, 1);
  EXPECT_EQ(Where(broken), QueueName::kHold);
  CommandRun removed = Run({"delete", broken, cut});
  EXPECT_EQ(removed.status, 0) << removed.err;
  EXPECT_FALSE(Where(broken));
  EXPECT_FALSE(Where(cut));
  EXPECT_EQ(Run({"list"}).status, 0);
}

TEST_F(QueueCommandTest, FlushWithoutMoatMtaIsAnError) {
  CommandRun run = Run({"flush"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("moat-mta is not running: cannot connect to " +
                         dir_.Path("queue/public/qmgr")),
            std::string::npos)
      << run.err;
  EXPECT_EQ(Run({"flush", "--site", "bad domain"}).status, 2);
}

// A flush action for the control server: a plain coroutine function, no capturing lambda.
asio::awaitable<std::size_t> RecordFlush(std::vector<std::optional<std::string>>* flushes,
                                         std::optional<std::string> site) {
  flushes->push_back(site);
  co_return site ? 2 : 7;
}

// The command against a real control socket (the server moat-mta runs, with recorded actions).
TEST_F(QueueCommandTest, FlushAndWakeupReachTheControlSocket) {
  asio::io_context io;
  std::atomic<int> wakeups{0};
  std::vector<std::optional<std::string>> flushes;  // written on the io thread only
  mta::QueueControlActions actions;
  actions.wakeup = [&] { ++wakeups; };
  actions.flush = [&flushes](std::optional<std::string> site) {
    return RecordFlush(&flushes, std::move(site));
  };
  actions.site_allowed = [](std::string_view domain) -> core::Result<bool> {
    return domain == "example.test";
  };
  mta::QueueControlOptions options;
  options.socket_path = mta::QueueControlSocketPath(dir_.Path("queue"));
  auto server = mta::QueueControlServer::Start(io, options, actions);
  ASSERT_TRUE(server) << server.error().ToString();
  auto guard = asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });

  CommandRun all = Run({"flush"});
  EXPECT_EQ(all.status, 0) << all.err;
  EXPECT_EQ(all.out, "7 messages scheduled for delivery\n");
  CommandRun site = Run({"flush", "--site", "example.test"});
  EXPECT_EQ(site.status, 0) << site.err;
  EXPECT_EQ(site.out, "2 messages scheduled for delivery to example.test\n");
  CommandRun refused = Run({"flush", "--site", "other.test"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("not eligible"), std::string::npos) << refused.err;

  ASSERT_EQ(Run({"hold", incoming_}).status, 0);
  EXPECT_EQ(wakeups.load(), 0);  // hold needs no wake-up
  CommandRun release = Run({"release", incoming_});
  EXPECT_EQ(release.status, 0);
  EXPECT_EQ(release.err, "");
  EXPECT_EQ(wakeups.load(), 1);

  (*server)->Stop();
  guard.reset();
  io.stop();
  runner.join();
  ASSERT_EQ(flushes.size(), 2u);
  EXPECT_EQ(flushes[0], std::nullopt);
  EXPECT_EQ(flushes[1], "example.test");
}

}  // namespace
}  // namespace moat::cli
