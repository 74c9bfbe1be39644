// web_test_env.h - a quarantine review on loopback for the integration tests: a config directory
// (filterd.cf, main.cf, a users file), a quarantine holding a virus in a zip, a hostile message
// and spam, Postfix's smtp-sink standing in for the MTA's return listener, and `moat web`
// itself (the real binary from build/bin) on a free port.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/web_auth.h"
#include "quarantine/quarantine_store.h"
#include "tests/cli/web_test_messages.h"
#include "tests/support/test_support.h"

namespace moat::cli::webtest {

inline constexpr const char* kAdminPassword = "alice-secret";
inline constexpr const char* kReviewerPassword = "bob-secret";

// Postfix's smtp-sink writing each message it receives to a file.
class SmtpSinkProcess {
 public:
  explicit SmtpSinkProcess(const moat::testing::TempDir& dir) : dump_(dir.Path("sink")) {
    std::filesystem::create_directories(dump_);
    ::chmod(dump_.c_str(), 0777);  // smtp-sink runs as nobody
    port_ = moat::testing::FreeTcpPort();
    process_ = std::make_unique<moat::testing::Subprocess>(
        std::vector<std::string>{"smtp-sink", "-u", "nobody", "-d", dump_ + "/%M.",
                                 "127.0.0.1:" + std::to_string(port_), "32"},
        dir.path());
    ready_ = moat::testing::WaitForTcpPort(port_);
  }
  bool ready() const { return ready_; }
  int port() const { return port_; }
  const std::string& dump_directory() const { return dump_; }
  // Every message written completely so far (smtp-sink ends each dump with an empty line).
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dump_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      std::string text = moat::testing::ReadTextFile(it->path().string());
      if (text.size() >= 2 && text.ends_with("\n\n")) out.push_back(text);
    }
    return out;
  }

 private:
  std::string dump_;
  int port_ = 0;
  bool ready_ = false;
  std::unique_ptr<moat::testing::Subprocess> process_;
};

class WebReviewEnv {
 public:
  WebReviewEnv() : sink_(dir_) {
    ::chmod(dir_.path().c_str(), 0755);
    conf_ = dir_.Path("conf");
    std::filesystem::create_directories(conf_);
    std::string users = dir_.WriteFile(
        "conf/web_users", "# test users\nalice admin " + HashPassword(kAdminPassword, 1000) +
                              "\nbob reviewer " + HashPassword(kReviewerPassword, 1000) +
                              "\ncarol reviewer " + HashPassword("carol-secret", 1000) + "\n");
    ::chmod(users.c_str(), 0600);
    dir_.WriteFile("conf/filterd.cf",
                   "data_directory = " + dir_.Path("data") +
                       "\nquarantine_directory = " + dir_.Path("quarantine") +
                       "\nforward_to = 127.0.0.1:" + std::to_string(sink_.port()) +
                       "\nforward_helo_name = web-test.example"
                       "\nweb_users_file = web_users"
                       "\nclamav_database_directory = " +
                       dir_.Path("clamav") + "\n");
    dir_.WriteFile("conf/main.cf", "queue_directory = " + dir_.Path("queue") + "\n");
    dir_.WriteFile("clamav/daily.cld", "signatures");
    dir_.WriteFile("queue/deferred/1/ABCDEF", "queued");
    dir_.WriteFile("queue/active/BCDEFA", "queued");
    Populate();
  }

  // Starts `moat -c conf web --listen 127.0.0.1:PORT [extra...]`; false when it does not listen.
  bool StartWeb(std::vector<std::string> extra = {}) {
    port_ = moat::testing::FreeTcpPort();
    std::vector<std::string> argv = {
        moat::testing::BinaryPath("moat"),   "-c", conf_, "web", "--listen",
        "127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    web_ = std::make_unique<moat::testing::Subprocess>(argv, dir_.path());
    return moat::testing::WaitForTcpPort(port_);
  }
  void StopWeb() {
    if (web_) web_->Stop();
  }

  const moat::testing::TempDir& dir() const { return dir_; }
  const std::string& conf() const { return conf_; }
  int port() const { return port_; }
  SmtpSinkProcess& sink() { return sink_; }
  moat::testing::Subprocess& web() { return *web_; }
  const std::string& virus_id() const { return virus_; }
  const std::string& hostile_id() const { return hostile_; }
  const std::vector<std::string>& spam_ids() const { return spam_; }

 private:
  void Populate() {
    namespace q = moat::quarantine;
    q::StoreOptions options;
    options.directory = dir_.Path("quarantine");
    q::TimePoint now = q::Clock::now();
    q::TimePoint clock = now - std::chrono::hours(30);
    options.clock = [&clock] { return clock; };
    auto store = q::QuarantineStore::Open(options);
    if (!store) return;
    for (int n = 0; n < 12; ++n) {
      if (auto id = (*store)->Store(SpamMessage(n), SpamMetadata(n))) spam_.push_back(*id);
      clock += std::chrono::hours(2);
    }
    clock = now - std::chrono::minutes(20);
    if (auto id = (*store)->Store(VirusMessage(), VirusMetadata())) virus_ = *id;
    clock = now - std::chrono::minutes(10);
    if (auto id = (*store)->Store(HostileMessage(), HostileMetadata())) hostile_ = *id;
  }

  moat::testing::TempDir dir_;
  SmtpSinkProcess sink_;
  std::string conf_;
  int port_ = 0;
  std::unique_ptr<moat::testing::Subprocess> web_;
  std::vector<std::string> spam_;
  std::string virus_, hostile_;
};

}  // namespace moat::cli::webtest
