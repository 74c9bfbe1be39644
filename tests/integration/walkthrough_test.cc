// walkthrough_test.cc - the README's walk-through, followed as written, against the appliance
// ./run starts.
//
// ./run runs with its test knobs: this build's binaries (MOAT_RUN_BUILD_DIR), free ports
// (MOAT_RUN_*_PORT), its state in a temp dir (MOAT_RUN_VAR), the small ClamAV database. The
// README's ```sh walkthrough NAME blocks are extracted and run in order by bash in a sandbox
// laid out like the checkout (conf/ copied, build/ linked to this build, var/ = ./run's state),
// with only the port numbers substituted; after each block the test checks what the README
// says the reader sees, waiting (with a deadline) where the README says "a moment later".
// Every block of the README must have its checks here, and every check its block.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace moat::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

struct Block {
  std::string name;
  std::string script;
};

// The README's ```sh walkthrough NAME blocks, in order.
std::vector<Block> WalkthroughBlocks(const std::string& readme) {
  std::vector<Block> blocks;
  std::istringstream in(readme);
  std::optional<Block> open;
  for (std::string line; std::getline(in, line);) {
    if (open) {
      if (line == "```") {
        blocks.push_back(std::move(*open));
        open.reset();
      } else {
        open->script += line + "\n";
      }
    } else if (line.starts_with("```sh walkthrough ")) {
      open = Block{line.substr(18), ""};
    }
  }
  return blocks;
}

// Every "127.0.0.1:PORT" / "[127.0.0.1]:PORT" whose PORT is a default of ./run, moved.
std::string MovePorts(const std::string& text, const std::map<int, int>& ports) {
  static const std::regex kAddress(R"((127\.0\.0\.1\]?:)(\d+))");
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), kAddress);
  std::size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    out += text.substr(last, m.position(0) - last);
    int port = std::stoi(m[2].str());
    auto moved = ports.find(port);
    out += m[1].str() + std::to_string(moved == ports.end() ? port : moved->second);
    last = m.position(0) + m.length(0);
  }
  return out + text.substr(last);
}

// Files under `dir` (recursively) whose content holds `text`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& text) {
  std::vector<std::string> found;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file() &&
        ReadTextFile(entry.path().string()).find(text) != std::string::npos) {
      found.push_back(entry.path().string());
    }
  }
  return found;
}

bool Listening(int port) {
  std::string hex = "0000";
  static const char* kDigits = "0123456789ABCDEF";
  for (int i = 3, p = port; i >= 0; --i, p >>= 4) hex[i] = kDigits[p & 15];
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream lines(ReadTextFile(table));
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (state == "0A" && local.size() > 5 && local.substr(local.size() - 4) == hex) return true;
    }
  }
  return false;
}

class WalkthroughTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"swaks", "zip", "curl", "sigtool", "/usr/sbin/smtp-sink"}) {
      if (!HaveTool(tool)) GTEST_SKIP() << tool << " is not installed (./test installs it)";
    }
    if (RunCommand({kSystemPython, "-c", "import dkim"}).exit_code != 0) {
      GTEST_SKIP() << "python3-dkim is not installed (./test installs it)";
    }
    // The sandbox: laid out like the checkout, so the README's relative paths work as written.
    fs::copy(SourcePath("conf"), sandbox_.Path("conf"), fs::copy_options::recursive);
    for (const char* file : {"conf/main.cf", "conf/filterd.cf"}) {
      sandbox_.WriteFile(file, MovePorts(ReadTextFile(sandbox_.Path(file)), Ports()));
    }
    fs::create_directory_symlink(MOAT_BINARY_DIR, sandbox_.Path("build"));
    fs::create_directories(sandbox_.Path("var"));
    fs::create_directories(sandbox_.Path("run-logs"));
  }

  void TearDown() override {
    if (run_ && run_->Running()) {
      run_->Signal(SIGTERM);
      run_->Wait(seconds(30));
    }
    // Had ./run died without stopping them, its daemons would still hold our sandbox.
    for (pid_t pid : daemon_pids_) {
      std::string cmdline = ReadTextFile("/proc/" + std::to_string(pid) + "/cmdline");
      if (cmdline.find(sandbox_.path()) != std::string::npos) ::kill(pid, SIGTERM);
    }
  }

  const std::map<int, int>& Ports() {
    if (ports_.empty()) {
      for (int port : {2525, 2526, 2587, 10024, 10025, 10026, 8025, 9024, 9025}) {
        ports_[port] = FreeTcpPort();
      }
    }
    return ports_;
  }

  // Starts ./run; true once it printed where everything is.
  bool StartRun() {
    const auto& p = Ports();
    run_ = std::make_unique<Subprocess>(
        std::vector<std::string>{SourcePath("run")}, sandbox_.Path("run-logs"),
        std::map<std::string, std::string>{
            {"MOAT_RUN_BUILD_DIR", MOAT_BINARY_DIR},
            {"MOAT_RUN_VAR", sandbox_.Path("var")},
            {"MOAT_RUN_SMTP_PORT", std::to_string(p.at(2525))},
            {"MOAT_RUN_SINK_PORT", std::to_string(p.at(2526))},
            {"MOAT_RUN_SUBMISSION_PORT", std::to_string(p.at(2587))},
            {"MOAT_RUN_INBOUND_PORT", std::to_string(p.at(10024))},
            {"MOAT_RUN_RETURN_PORT", std::to_string(p.at(10025))},
            {"MOAT_RUN_ORIGINATING_PORT", std::to_string(p.at(10026))},
            {"MOAT_RUN_WEB_PORT", std::to_string(p.at(8025))},
            {"MOAT_RUN_FILTERD_METRICS_PORT", std::to_string(p.at(9024))},
            {"MOAT_RUN_MTA_METRICS_PORT", std::to_string(p.at(9025))},
            // DKIM and DMARC lookups go to a loopback port where nothing answers, never to
            // the machine's resolver.
            {"MOAT_RUN_DNS", "127.0.0.1:" + std::to_string(FreeTcpPort())},
            {"MOAT_RUN_CLAMAV_DB", "demo"},
        });
    bool up = WaitUntil(
        [&] {
          return run_->Stdout().find("Ctrl-C stops everything.") != std::string::npos ||
                 !run_->Running();
        },
        seconds(60));
    std::smatch m;
    std::string out = run_->Stdout();
    static const std::regex kPid(R"(pid (\d+))");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), kPid); it != std::sregex_iterator();
         ++it) {
      daemon_pids_.push_back(std::stoi((*it)[1].str()));
    }
    return up && run_->Running();
  }

  CommandResult RunBlock(const std::string& script) {
    CommandOptions options = WithTimeout(seconds(30), sandbox_.path());
    return RunCommand({"/bin/bash", "-e", "-o", "pipefail", "-c", MovePorts(script, Ports())},
                      options);
  }

  std::string Var(const std::string& name) const { return sandbox_.Path("var/" + name); }
  std::string Log(const std::string& daemon) const {
    return ReadTextFile(Var("log/" + daemon + ".log"));
  }
  bool WaitForLog(const std::string& daemon, const std::string& text) const {
    return WaitUntil([&] { return Log(daemon).find(text) != std::string::npos; }, seconds(20));
  }
  bool WaitForSink(const std::string& subject) const {
    return WaitUntil([&] { return !FilesContaining(Var("sink"), "Subject: " + subject).empty(); },
                     seconds(20));
  }

  TempDir sandbox_;
  std::map<int, int> ports_;
  std::unique_ptr<Subprocess> run_;
  std::vector<pid_t> daemon_pids_;
};

#define EXPECT_HAS(haystack, needle)                                                       \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "missing: " << (needle) << "\n" \
                                                        << (haystack)

TEST_F(WalkthroughTest, ReadmeStepsGiveWhatTheReadmeSays) {
  std::vector<Block> blocks = WalkthroughBlocks(ReadTextFile(SourcePath("README.md")));

  // Each block: what the README says the reader sees. The order is the README's.
  struct Step {
    int exit_code;
    std::function<void(const CommandResult&)> check;
  };
  const std::map<std::string, Step> steps = {
      {"clean",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "<-  250 2.0.0 Ok: queued as ");
          EXPECT_HAS(r.out, "<-  221 2.0.0 Bye");
          EXPECT_TRUE(WaitForSink("clean demo")) << Log("moat-mta");
        }}},
      {"clean-delivered",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "var/sink/");
          EXPECT_HAS(r.out, "X-Virus-Scanned: Moat at example.test");
          // Both daemons' lines name each other's IDs (README, step 1).
          std::smatch m;
          std::string filterd = Log("moat-filterd");
          static const std::regex kPassed(
              R"((\w+) Passed CLEAN \{RelayedInbound\}, inbound )"
              R"(.*Queue-ID: (\w+),.*queued_as: (\w+),)");
          ASSERT_TRUE(std::regex_search(filterd, m, kPassed)) << filterd;
          std::string mta = Log("moat-mta");
          EXPECT_HAS(mta, m[2].str() + ": to=<postmaster@example.test>, relay=127.0.0.1");
          EXPECT_HAS(mta, "id=" + m[1].str() +
                              ", from MTA(127.0.0.1:" + std::to_string(ports_.at(10025)) +
                              "): 250 2.0.0 Ok: queued as " + m[3].str() + ")");
        }}},
      {"refused",
       {24,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out,
                     "<** 550 5.1.1 <nobody@example.test>: Recipient address rejected: User "
                     "unknown in relay recipient table");
        }}},
      {"gtube",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "<-  250 2.0.0 Ok: queued as ");
          EXPECT_TRUE(WaitForLog("moat-filterd",
                                 "Blocked SPAM (score=1000 tag2=6.2 kill=6.9) "
                                 "{DiscardedInbound,Quarantined}, inbound"))
              << Log("moat-filterd");
        }}},
      {"eicar",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "<-  250 2.0.0 Ok: queued as ");
          EXPECT_TRUE(WaitUntil(
              [&] {
                return std::regex_search(
                    Log("moat-filterd"),
                    std::regex(R"(Blocked VIRUS \(Eicar-Test-Signature[^)]*\) )"
                               R"(\{DiscardedInbound,Quarantined\})"));
              },
              seconds(20)))
              << Log("moat-filterd");
        }}},
      {"banned",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "<-  250 2.0.0 Ok: queued as ");
          EXPECT_TRUE(WaitForLog("moat-filterd",
                                 "Blocked BANNED (2/setup.zip/setup.exe setup.exe: block ext=exe,"))
              << Log("moat-filterd");
          EXPECT_HAS(Log("moat-filterd"), "conf/banned_rules:27)) {DiscardedInbound,Quarantined}");
          for (const char* subject : {"GTUBE demo", "EICAR demo", "banned demo"}) {
            EXPECT_TRUE(FilesContaining(Var("sink"), std::string("Subject: ") + subject).empty())
                << subject << " reached the sink";
          }
        }}},
      {"quarantine",
       {0,
        [&](const CommandResult& r) {
          std::vector<std::string> rows;
          std::istringstream lines(r.out);
          for (std::string line; std::getline(lines, line);) {
            if (line.find("demo") != std::string::npos) rows.push_back(line);
          }
          ASSERT_EQ(rows.size(), 3u) << r.out;
          EXPECT_HAS(rows[0], "BANNED");
          EXPECT_HAS(rows[0], "banned demo");
          EXPECT_HAS(rows[1], "VIRUS");
          EXPECT_HAS(rows[1], "EICAR demo");
          EXPECT_HAS(rows[2], "SPAM");
          EXPECT_HAS(rows[2], "1000.0");
          EXPECT_HAS(rows[2], "GTUBE demo");
          for (const std::string& row : rows) EXPECT_HAS(row, " H ");
        }}},
      {"quarantine-show",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "Class:       SPAM\n");
          EXPECT_HAS(r.out, "Score:       1000.00\n");
          EXPECT_HAS(r.out, "Policy bank: inbound\n");
          EXPECT_HAS(r.out, "\"name\": \"GTUBE\"");
        }}},
      {"dkim",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "STARTTLS");
          EXPECT_HAS(r.out, "<~  235 2.7.0 Authentication successful");
          EXPECT_HAS(r.out, "<~  250 2.0.0 Ok: queued as ");
          EXPECT_TRUE(WaitForSink("DKIM demo")) << Log("moat-mta");
        }}},
      {"dkim-verify",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out,
                     "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test;");
          EXPECT_HAS(r.out, "dkimpy: signature ok");
        }}},
      {"queue",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "<~  250 2.0.0 Ok: queued as ");
          EXPECT_TRUE(WaitForLog("moat-mta",
                                 "status=deferred (connect to 127.0.0.1[127.0.0.1]:1: Connection "
                                 "refused)"))
              << Log("moat-mta");
          EXPECT_HAS(Log("moat-mta"), "to=<someone@down.example.net>, relay=none");
        }}},
      {"queue-list",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "someone@down.example.net");
          EXPECT_HAS(r.out, "Connection refused");
        }}},
      {"web",
       {0,
        [&](const CommandResult& r) {
          EXPECT_HAS(r.out, "\"role\":\"admin\",\"user\":\"admin\"}");
          EXPECT_HAS(r.out, "\"csrf_token\":\"");
          EXPECT_HAS(r.out, "BANNED banned demo\nVIRUS EICAR demo\nSPAM GTUBE demo\n");
        }}},
      {"logs",
       {0,
        [&](const CommandResult& r) {
          for (const char* line :
               {"       6  received\n", "       2  delivered (recipients)\n",
                "       1  deferred (1 deferrals)\n", "       1  rejected (14%)\n",
                "       3  quarantined\n", "       6  messages scanned\n", "       3  passed\n",
                "       3  blocked\n", "       2  DKIM-signed\n",
                "Quarantined by class\n--------------------\n       1  BANNED\n       1  SPAM\n"
                "       1  VIRUS\n"}) {
            EXPECT_HAS(r.out, line);
          }
        }}},
  };
  std::vector<std::string> names;
  for (const Block& block : blocks) names.push_back(block.name);
  ASSERT_EQ(names,
            (std::vector<std::string>{"clean", "clean-delivered", "refused", "gtube", "eicar",
                                      "banned", "quarantine", "quarantine-show", "dkim",
                                      "dkim-verify", "queue", "queue-list", "web", "logs"}))
      << "README's walk-through blocks changed: give each its checks here";

  ASSERT_TRUE(StartRun()) << run_->Stdout() << run_->Stderr();
  std::string summary = run_->Stdout();
  EXPECT_HAS(summary, "http://127.0.0.1:" + std::to_string(ports_.at(8025)) + "/  user admin");
  EXPECT_HAS(summary, "demo@example.test, password demo-password");
  EXPECT_HAS(summary, "smtp 127.0.0.1:" + std::to_string(ports_.at(2525)));

  // `moat queue` comes from another branch; until it is merged that one step is skipped.
  bool have_queue_command =
      RunCommand({BinaryPath("moat"), "--help"}).out.find("\n  queue ") != std::string::npos;
  for (const Block& block : blocks) {
    SCOPED_TRACE("README walk-through block \"" + block.name + "\":\n" + block.script);
    if (block.name == "queue-list" && !have_queue_command) {
      std::cout << "[  SKIPPED ] walk-through step queue-list: this build's moat has no `queue` "
                   "command yet\n";
      continue;
    }
    CommandResult r = RunBlock(block.script);
    EXPECT_EQ(r.exit_code, steps.at(block.name).exit_code) << r.out << r.err;
    steps.at(block.name).check(r);
    if (block.name == "dkim-verify") {
      // The verifier can fail: the same block on a copy whose body changed after signing.
      std::string signed_copy = FilesContaining(Var("sink"), "Subject: DKIM demo").at(0);
      sandbox_.WriteFile("tampered.eml", ReadTextFile(signed_copy) + "one more line\r\n");
      std::string script = block.script;
      const std::string find = "msg=$(grep -rl 'Subject: DKIM demo' var/sink | head -1)";
      ASSERT_NE(script.find(find), std::string::npos);
      script.replace(script.find(find), find.size(), "msg=tampered.eml");
      CommandResult tampered = RunBlock(script);
      EXPECT_EQ(tampered.exit_code, 1) << tampered.out << tampered.err;
      EXPECT_HAS(tampered.out, "dkimpy: signature verification failed");
    }
  }

  // Ctrl-C (here SIGTERM) stops everything ./run started.
  run_->Signal(SIGTERM);
  auto status = run_->Wait(seconds(40));
  ASSERT_TRUE(status.has_value()) << "./run did not stop";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  for (const auto& [standard, port] : ports_) {
    EXPECT_FALSE(Listening(port)) << "still listening on " << port << " (" << standard << ")";
  }
  for (pid_t pid : daemon_pids_) {
    EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid) + "/cmdline") &&
                 ReadTextFile("/proc/" + std::to_string(pid) + "/cmdline").find(sandbox_.path()) !=
                     std::string::npos)
        << "pid " << pid << " outlived ./run";
  }
}

}  // namespace
}  // namespace moat::testing
