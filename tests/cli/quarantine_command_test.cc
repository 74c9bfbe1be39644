// quarantine_command_test.cc - `moat quarantine` through its real command-line parser, against a
// quarantine written by the store: output, filters, JSON, exit statuses, and bad input.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "quarantine/quarantine_store.h"
#include "tests/cli/command_run.h"
#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

namespace q = moat::quarantine;

using moat::testing::CommandRun;

CommandRun Moat(std::vector<std::string> args, const GlobalOptions& global = {}) {
  auto register_command = [&](CLI::App& app) { RegisterQuarantineCommand(app, global); };
  return moat::testing::RunMoat(register_command, args);
}

std::string Message(int n) {
  return "From: Sender <s" + std::to_string(n) + "@example.net>\r\nSubject: Offer " +
         std::to_string(n) + "\x1b[31m red\r\nMessage-ID: <" + std::to_string(n) +
         "@example.net>\r\n\r\nBody " + std::to_string(n) + "\r\n";
}

class QuarantineCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    q::StoreOptions options;
    options.directory = dir_.path();
    options.clock = [this] { return now_; };
    auto store = q::QuarantineStore::Open(options);
    ASSERT_TRUE(store);
    for (int n = 0; n < 6; ++n) {
      now_ = q::Clock::now() - std::chrono::hours(24 * (10 - n));  // 10..5 days ago
      q::EntryMetadata m;
      m.content_class = n % 2 == 0 ? q::ContentClass::kSpam : q::ContentClass::kVirus;
      if (m.content_class == q::ContentClass::kSpam) m.score = 10 + n;
      m.reason = n % 2 == 0 ? "score high" : "Eicar-Signature";
      m.trace_json = R"({"verdict":"X","findings":[]})";
      m.envelope_sender = "s" + std::to_string(n) + "@example.net";
      m.recipients = {"rcpt" + std::to_string(n % 3) + "@example.com"};
      auto id = (*store)->Store(Message(n), m);
      ASSERT_TRUE(id);
      ids_.push_back(*id);
    }
  }
  std::vector<std::string> Args(std::vector<std::string> rest) {
    std::vector<std::string> args = {"quarantine", "--directory", dir_.path()};
    args.insert(args.end(), rest.begin(), rest.end());
    return args;
  }

  testing::TempDir dir_;
  q::TimePoint now_;
  std::vector<std::string> ids_;
};

TEST_F(QuarantineCommandTest, ListsNewestFirstWithAFooter) {
  CommandRun run = Moat(Args({"list"}));
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_LT(run.out.find(ids_[5]), run.out.find(ids_[0]));
  EXPECT_NE(run.out.find("1-6 of 6 entries"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("VIRUS"), std::string::npos);
  EXPECT_EQ(run.out.find('\x1b'), std::string::npos);  // the subject's escape sequence is defused
}

TEST_F(QuarantineCommandTest, FiltersAsJson) {
  CommandRun run = Moat(Args({"list", "--class", "virus", "--rcpt", "rcpt1@", "--json"}));
  ASSERT_EQ(run.status, 0) << run.err;
  nlohmann::json result = nlohmann::json::parse(run.out);
  EXPECT_EQ(result["total"], 1);  // virus: n=1,3,5; rcpt1: n=1,4
  ASSERT_EQ(result["entries"].size(), 1u);
  EXPECT_EQ(result["entries"][0]["id"], ids_[1]);
  EXPECT_EQ(result["entries"][0]["class"], "VIRUS");
  EXPECT_EQ(result["entries"][0]["trace"], nullptr);  // lists leave traces to `show`

  CommandRun since = Moat(Args({"list", "--since", "7d", "--json"}));
  ASSERT_EQ(since.status, 0) << since.err;
  EXPECT_EQ(nlohmann::json::parse(since.out)["total"], 2);  // 6 and 5 days ago... and 7 is out

  CommandRun sender = Moat(Args({"list", "--sender", "S4@EXAMPLE", "--json"}));
  EXPECT_EQ(nlohmann::json::parse(sender.out)["entries"][0]["id"], ids_[4]);

  CommandRun score = Moat(Args({"list", "--sort", "score", "--min-score", "11", "--json"}));
  nlohmann::json scored = nlohmann::json::parse(score.out);
  ASSERT_EQ(scored["total"], 2);
  EXPECT_EQ(scored["entries"][0]["score"], 14.0);

  CommandRun paged = Moat(Args({"list", "--limit", "2", "--offset", "4"}));
  EXPECT_NE(paged.out.find("5-6 of 6 entries"), std::string::npos) << paged.out;
}

TEST_F(QuarantineCommandTest, ShowPrintsEntryRawAndHeaders) {
  CommandRun show = Moat(Args({"show", ids_[1]}));
  ASSERT_EQ(show.status, 0) << show.err;
  EXPECT_NE(show.out.find("Eicar-Signature"), std::string::npos);
  EXPECT_NE(show.out.find("Decision trace:"), std::string::npos);
  EXPECT_NE(show.out.find("rcpt1@example.com"), std::string::npos);

  CommandRun raw = Moat(Args({"show", ids_[1], "--raw"}));
  ASSERT_EQ(raw.status, 0);
  EXPECT_EQ(raw.out, Message(1));
  CommandRun headers = Moat(Args({"show", ids_[1], "--headers"}));
  EXPECT_EQ(headers.out, Message(1).substr(0, Message(1).find("\r\n\r\n") + 4));
  CommandRun json = Moat(Args({"show", ids_[1], "--json"}));
  EXPECT_EQ(nlohmann::json::parse(json.out)["trace"]["verdict"], "X");
}

TEST_F(QuarantineCommandTest, DamagedFileIsAnErrorInShowAndFlaggedInList) {
  std::string path = dir_.path() + "/" + "messages/" + ids_[2].substr(34, 1) + "/" +
                     ids_[2].substr(33, 1) + "/" + ids_[2] + ".eml.gz";
  { std::ofstream(path, std::ios::trunc) << "garbage"; }
  CommandRun show = Moat(Args({"show", ids_[2]}));
  EXPECT_EQ(show.status, 1);
  EXPECT_NE(show.err.find("damaged"), std::string::npos) << show.err;
  EXPECT_NE(show.out.find("Damage:"), std::string::npos) << show.out;
  CommandRun list = Moat(Args({"list"}));
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.err.find("damaged: " + ids_[2]), std::string::npos) << list.err;
  CommandRun release = Moat(Args({"release", ids_[2]}));
  EXPECT_EQ(release.status, 1);
  EXPECT_NE(release.err.find("damaged"), std::string::npos) << release.err;
}

TEST_F(QuarantineCommandTest, UnknownIdIsAClearError) {
  std::string unknown = "20261121-080757.123456-9f3ac2e17b4d";
  for (std::string verb : {"show", "release", "delete"}) {
    CommandRun run = Moat(Args({verb, unknown}));
    EXPECT_EQ(run.status, 1) << verb;
    EXPECT_NE(run.err.find("no quarantine entry " + unknown), std::string::npos) << run.err;
  }
  CommandRun malformed = Moat(Args({"show", "../../etc/passwd"}));
  EXPECT_EQ(malformed.status, 1);
  EXPECT_NE(malformed.err.find("not a quarantine ID"), std::string::npos);
}

TEST_F(QuarantineCommandTest, ReleaseThatCannotConnectRecordsNothing) {
  GlobalOptions global;
  global.config_directory = dir_.path();  // no filterd.cf there: forward_to from -o
  const int port = testing::FreeTcpPort();
  global.overrides = {"forward_to=127.0.0.1:" + std::to_string(port)};
  CommandRun run = Moat(Args({"release", ids_[0], "--to", "admin@example.com"}), global);
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("connect to 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << run.err;
  CommandRun show = Moat(Args({"show", ids_[0], "--json"}));
  nlohmann::json entry = nlohmann::json::parse(show.out);
  EXPECT_EQ(entry["state"], "held");
  EXPECT_TRUE(entry["history"].empty());
}

// Released through Postfix's smtp-sink standing in for the return listener; the settings come
// from filterd.cf (quarantine_directory, forward_to) as the daemon reads them.
TEST_F(QuarantineCommandTest, ReleaseArrivesAtTheReturnListener) {
  if (!testing::HaveTool("smtp-sink")) GTEST_SKIP() << "Postfix's smtp-sink is missing";
  testing::TempDir sink_dir;
  ::chmod(sink_dir.path().c_str(), 0777);
  const int port = testing::FreeTcpPort();
  testing::Subprocess sink({"smtp-sink", "-u", "nobody", "-d", sink_dir.path() + "/%M.",
                            "127.0.0.1:" + std::to_string(port), "8"},
                           sink_dir.path());
  ASSERT_TRUE(testing::WaitForTcpPort(port));
  testing::TempDir conf;
  conf.WriteFile("filterd.cf", "quarantine_directory = " + dir_.path() +
                                   "\nforward_to = 127.0.0.1:" + std::to_string(port) + "\n");
  GlobalOptions global;
  global.config_directory = conf.path();
  CommandRun run = Moat({"quarantine", "release", ids_[1], "--to", "admin@example.com"}, global);
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "released " + ids_[1] + " to admin@example.com\n");
  std::string dump;
  ASSERT_TRUE(testing::WaitUntil([&] {
    for (const auto& file : std::filesystem::recursive_directory_iterator(sink_dir.path())) {
      if (!file.is_regular_file() || file.path().filename().string().find('.') == 0) continue;
      dump = testing::ReadTextFile(file.path());
      if (dump.ends_with("\n\n") && dump.find("Body 1") != std::string::npos) return true;
    }
    return false;
  }));
  EXPECT_NE(dump.find("X-Quarantine-Released: id " + ids_[1]), std::string::npos) << dump;
  EXPECT_NE(dump.find("by cli:"), std::string::npos) << dump;
  CommandRun show = Moat({"quarantine", "show", ids_[1], "--json"}, global);
  ASSERT_EQ(show.status, 0) << show.err;
  nlohmann::json entry = nlohmann::json::parse(show.out);
  EXPECT_EQ(entry["state"], "released");
  EXPECT_EQ(entry["history"][0]["recipients"], nlohmann::json({"admin@example.com"}));
}

TEST_F(QuarantineCommandTest, BadFilterdCfIsAnErrorWithItsLine) {
  testing::TempDir conf;
  conf.WriteFile("filterd.cf", "quarantine_directory = " + dir_.path() + "\nforward_to = nowhere\n");
  GlobalOptions global;
  global.config_directory = conf.path();
  CommandRun run = Moat({"quarantine", "list"}, global);
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("filterd.cf:2"), std::string::npos) << run.err;
}

TEST_F(QuarantineCommandTest, DeleteAndExpire) {
  CommandRun deleted = Moat(Args({"delete", ids_[0], ids_[1]}));
  ASSERT_EQ(deleted.status, 0) << deleted.err;
  CommandRun show = Moat(Args({"show", ids_[0], "--json"}));
  ASSERT_EQ(show.status, 0) << show.err;  // a deleted entry still shows its history
  nlohmann::json entry = nlohmann::json::parse(show.out);
  EXPECT_EQ(entry["state"], "deleted");
  EXPECT_EQ(entry["history"][0]["kind"], "delete");
  EXPECT_TRUE(entry["history"][0]["actor"].get<std::string>().starts_with("cli:"));
  EXPECT_EQ(Moat(Args({"show", ids_[0], "--raw"})).status, 1);
  EXPECT_EQ(Moat(Args({"delete", ids_[0]})).status, 1);

  CommandRun expired = Moat(Args({"expire", "--older-than", "8d"}));
  ASSERT_EQ(expired.status, 0) << expired.err;
  EXPECT_NE(expired.out.find("expired 3 entries (1 files"), std::string::npos) << expired.out;
  CommandRun left = Moat(Args({"list", "--state", "all", "--json"}));
  EXPECT_EQ(nlohmann::json::parse(left.out)["total"], 3);
}

TEST_F(QuarantineCommandTest, BadUsageExitsTwo) {
  EXPECT_EQ(Moat(Args({"list", "--class", "SPAMMIER"})).status, 2);
  EXPECT_EQ(Moat(Args({"list", "--since", "yesterday"})).status, 2);
  EXPECT_EQ(Moat(Args({"expire", "--older-than", "30"})).status, 2);
  EXPECT_EQ(Moat(Args({"expire"})).status, 2);
  EXPECT_EQ(Moat(Args({"show"})).status, 2);
  EXPECT_EQ(Moat(Args({"show", ids_[0], "--raw", "--headers"})).status, 2);
  CommandRun no_directory = Moat({"quarantine", "list"});
  EXPECT_EQ(no_directory.status, 2);
  EXPECT_NE(no_directory.err.find("--directory"), std::string::npos);
}

TEST_F(QuarantineCommandTest, DirectoryFromOverrideRelativeToConfig) {
  GlobalOptions global;
  global.config_directory = dir_.path() + "/..";
  std::string base = dir_.path().substr(dir_.path().rfind('/') + 1);
  global.overrides = {"quarantine_directory=" + base};
  CommandRun run = Moat({"quarantine", "list", "--json"}, global);
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(nlohmann::json::parse(run.out)["total"], 6);
  CommandRun missing = Moat({"quarantine", "--directory", dir_.Path("nope"), "list"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("nope"), std::string::npos);
}

}  // namespace
}  // namespace moat::cli
