// mta_process.h - the real build/bin/moat-mta for integration tests: main.cf and master.cf in a
// temp dir (queue under it, one smtpd listener on a free loopback port, the usual delivery
// transports), started as a child process and stopped with SIGTERM. Its stderr is the log.
// Also: reading the queue it left behind (with the queue store itself, while it is stopped) and
// Postfix's smtp-sink as a next hop.
#pragma once

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mta/queue_store.h"
#include "tests/support/test_support.h"

namespace moat::mta::testing {

// The transports a configuration needs (master.cf lines), as conf/master.cf has them.
inline constexpr const char* kTransportLines =
    "smtp      unix  -       -       n       -       -       smtp\n"
    "relay     unix  -       -       n       -       -       smtp\n"
    "error     unix  -       -       n       -       -       error\n"
    "retry     unix  -       -       n       -       -       error\n"
    "discard   unix  -       -       n       -       -       discard\n"
    "lmtp      unix  -       -       n       -       -       lmtp\n";

class MtaProcess {
 public:
  // Writes DIR/main.cf (a relay for example.test, queue in DIR/queue, plus `main_extra`) and
  // DIR/master.cf (smtpd on a free port, the transports, plus `master_extra`).
  MtaProcess(const moat::testing::TempDir& dir, const std::string& main_extra,
             const std::string& master_extra = "")
      : dir_(dir), smtp_port_(moat::testing::FreeTcpPort()) {
    queue_directory_ = dir.Path("queue");
    std::string main_cf = fmt::format(
        "myhostname = mx.example.test\n"
        "mydomain = example.test\n"
        "mydestination =\n"
        "inet_interfaces = loopback-only\n"
        "inet_protocols = ipv4\n"
        "mynetworks = 127.0.0.0/8\n"
        "relay_domains = example.test\n"
        "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
        "queue_directory = {}\n"
        "data_directory = {}\n"
        "log_target = stderr\n"
        "minimal_backoff_time = 1s\n"
        "maximal_backoff_time = 2s\n"
        "queue_run_delay = 1s\n"
        "mail_owner = root\n"
        // MX and other lookups go to a loopback port where nothing answers, never to the
        // machine's resolver; tests that need DNS start dnsmasq and set dns_servers.
        "dns_servers = 127.0.0.1:{}\n",
        queue_directory_, dir.Path("data"), moat::testing::FreeTcpPort());
    dir.WriteFile("main.cf", MergeMainCf(main_cf, main_extra));
    dir.WriteFile("master.cf",
                  fmt::format("127.0.0.1:{} inet n - n - - smtpd\n", smtp_port_) +
                      kTransportLines + master_extra);
  }
  ~MtaProcess() { Stop(); }
  MtaProcess(const MtaProcess&) = delete;
  MtaProcess& operator=(const MtaProcess&) = delete;

  // Starts moat-mta and waits until its smtpd listener accepts. Each start logs to its own
  // files (DIR/run-N/).
  bool Start() {
    std::string logs = dir_.Path(fmt::format("run-{}", ++runs_));
    std::filesystem::create_directories(logs);
    process_ = std::make_unique<moat::testing::Subprocess>(
        std::vector<std::string>{moat::testing::BinaryPath("moat-mta"), "-c", dir_.path()}, logs);
    return moat::testing::WaitForTcpPort(smtp_port_, std::chrono::seconds(20));
  }
  // SIGTERM and wait; the exit status as from waitpid (nullopt when it had to be killed).
  std::optional<int> Stop(std::chrono::milliseconds grace = std::chrono::seconds(40)) {
    if (!process_) return std::nullopt;
    process_->Signal(SIGTERM);
    auto status = process_->Wait(grace);
    if (!status) process_->Stop(std::chrono::milliseconds(100));
    log_ += process_->Stderr();
    process_.reset();
    return status;
  }
  // kill -9: no chance to finish anything.
  void Kill() {
    if (!process_) return;
    process_->Signal(SIGKILL);
    process_->Wait(std::chrono::seconds(10));
    log_ += process_->Stderr();
    process_.reset();
  }
  bool Running() { return process_ && process_->Running(); }
  // Everything logged by every run so far.
  std::string Log() const { return log_ + (process_ ? process_->Stderr() : std::string()); }
  bool WaitForLog(const std::string& text,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    return moat::testing::WaitUntil([&] { return Log().find(text) != std::string::npos; },
                                    timeout);
  }

  // `base` with each parameter that `extra` sets replaced by extra's line.
  static std::string MergeMainCf(const std::string& base, const std::string& extra) {
    auto name_of = [](const std::string& line) { return line.substr(0, line.find(" =")); };
    std::set<std::string> overridden;
    std::istringstream extra_lines(extra);
    for (std::string line; std::getline(extra_lines, line);) {
      if (line.find(" =") != std::string::npos && line[0] != ' ') overridden.insert(name_of(line));
    }
    std::string merged;
    std::istringstream base_lines(base);
    for (std::string line; std::getline(base_lines, line);) {
      if (!overridden.count(name_of(line))) merged += line + "\n";
    }
    return merged + extra;
  }

  int smtp_port() const { return smtp_port_; }
  const std::string& queue_directory() const { return queue_directory_; }

  // Message IDs in one queue (from the directory listing; works while moat-mta runs).
  std::vector<std::string> Ids(QueueName queue) const {
    std::vector<std::string> ids;
    std::string path = queue_directory_ + "/" + std::string(QueueNameText(queue));
    if (!std::filesystem::exists(path)) return ids;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      std::string name = entry.path().filename().string();
      if (IsValidQueueId(name)) ids.push_back(name);
    }
    return ids;
  }
  // Messages waiting in incoming, active and deferred.
  std::size_t Queued() const {
    return Ids(QueueName::kIncoming).size() + Ids(QueueName::kActive).size() +
           Ids(QueueName::kDeferred).size();
  }
  // Names in a queue directory that are not queue IDs (temporary files).
  std::vector<std::string> OtherNames(QueueName queue) const {
    std::vector<std::string> names;
    std::string path = queue_directory_ + "/" + std::string(QueueNameText(queue));
    if (!std::filesystem::exists(path)) return names;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      std::string name = entry.path().filename().string();
      if (!IsValidQueueId(name)) names.push_back(name);
    }
    return names;
  }
  // The queue store on the same directory (use it while moat-mta is stopped).
  std::shared_ptr<QueueStore> OpenStore() const {
    QueueStoreOptions options;
    options.directory = queue_directory_;
    options.create_directories = false;
    auto store = QueueStore::Open(options);
    return store ? *store : nullptr;
  }

 private:
  const moat::testing::TempDir& dir_;
  int smtp_port_;
  std::string queue_directory_;
  int runs_ = 0;
  std::unique_ptr<moat::testing::Subprocess> process_;
  std::string log_;
};

// Postfix's smtp-sink as a next hop: -d dumps each message into its own file.
class SinkProcess {
 public:
  SinkProcess(const moat::testing::TempDir& dir, const std::string& name,
              std::vector<std::string> flags = {})
      : dir_(dir.Path(name)), port_(moat::testing::FreeTcpPort()) {
    std::filesystem::create_directories(dir_ + "/dump");
    ::chmod(dir.path().c_str(), 0755);
    ::chmod(dir_.c_str(), 0777);
    ::chmod((dir_ + "/dump").c_str(), 0777);
    flags_ = std::move(flags);
  }
  ~SinkProcess() { Stop(); }
  bool Start() {
    std::vector<std::string> argv = {"smtp-sink", "-u", "nobody", "-d", dir_ + "/dump/%M."};
    argv.insert(argv.end(), flags_.begin(), flags_.end());
    argv.push_back(fmt::format("127.0.0.1:{}", port_));
    argv.push_back("64");
    process_ = std::make_unique<moat::testing::Subprocess>(argv, dir_);
    return moat::testing::WaitForTcpPort(port_);
  }
  void Stop() {
    if (process_) process_->Stop(std::chrono::milliseconds(2000));
    process_.reset();
  }
  int port() const { return port_; }
  // The complete dumped messages (smtp-sink ends each with an empty line).
  std::vector<std::string> Messages() const {
    std::vector<std::string> messages;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ + "/dump")) {
      if (!entry.is_regular_file()) continue;
      std::string text = moat::testing::ReadTextFile(entry.path().string());
      if (text.size() >= 2 && text.ends_with("\n\n")) messages.push_back(text);
    }
    return messages;
  }
  std::size_t CountWith(const std::string& marker) const {
    std::size_t n = 0;
    for (const std::string& m : Messages()) n += m.find(marker) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  std::string dir_;
  int port_;
  std::vector<std::string> flags_;
  std::unique_ptr<moat::testing::Subprocess> process_;
};

// How often `needle` occurs in `text` (a log, a dumped message).
inline std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = 0; (p = text.find(needle, p)) != std::string::npos; p += needle.size()) ++n;
  return n;
}

// Sends `count` messages tagged `marker` to `recipient` with Python's smtplib
// (tests/integration/mta_send.py); its output has a "QUEUED <id> <tag>" line per message.
inline moat::testing::CommandResult SendWithSmtplib(int port, const std::string& marker,
                                                    const std::string& recipient, int count = 1) {
  return moat::testing::RunCommand({moat::testing::kSystemPython,
                                    moat::testing::SourcePath("tests/integration/mta_send.py"),
                                    std::to_string(port), std::to_string(count), marker,
                                    recipient});
}

}  // namespace moat::mta::testing
