// filterd_process.h - the real build/bin/moat-filterd for integration tests: a filterd.cf in a
// temp dir (state under it, listeners on free loopback ports, forward_to given), started as a
// child process, stopped with SIGTERM at the end. Its stderr is the log (summary lines).
#pragma once

#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/filterd/filterd_test_helpers.h"
#include "tests/scanners/fixtures.h"
#include "tests/support/test_support.h"

namespace moat::filterd::testing {

// filterd.cf lines for a small ClamAV database (EICAR and ClamAV's test file, built with sigtool
// under `dir`): for tests that want the whole pipeline, X-Virus-Scanned included.
inline std::string TestClamavConf(const moat::testing::TempDir& dir) {
  return "clamav_database_directory = " + scanners::testing::BuildTestDatabase(dir) +
         "\nclamav_temp_directory =\n";
}

class FilterdProcess {
 public:
  // Writes DIR/filterd.cf (TestFilterdConf plus `extra` lines) without starting anything.
  // The daemon runs its real content pipeline. Unless `extra` names a ClamAV database, virus
  // checks are bypassed: the transport tests need none, and libclamav cannot start without
  // signatures (filterd_content_test.cc builds a small database and scans for real).
  FilterdProcess(const moat::testing::TempDir& dir, int forward_port, std::string extra = "")
      : dir_(dir) {
    inbound_port_ = moat::testing::FreeTcpPort();
    originating_port_ = moat::testing::FreeTcpPort();
    std::string content = extra.find("clamav_database_directory") == std::string::npos
                              ? "bypass_virus_checks = yes\n"
                              : "";
    std::string conf = TestFilterdConf(dir.path(), forward_port, inbound_port_, originating_port_) +
                       content + extra;
    dir.WriteFile("filterd.cf", conf);
  }
  ~FilterdProcess() { Stop(); }

  // Starts moat-filterd and waits until both listeners accept.
  bool Start(std::vector<std::string> overrides = {}) {
    std::vector<std::string> argv = {moat::testing::BinaryPath("moat-filterd"), "-c", dir_.path()};
    for (auto& o : overrides) {
      argv.push_back("-o");
      argv.push_back(o);
    }
    process_ = std::make_unique<moat::testing::Subprocess>(argv, dir_.path());
    return moat::testing::WaitForTcpPort(inbound_port_) &&
           moat::testing::WaitForTcpPort(originating_port_);
  }
  // SIGTERM and wait; the exit status as from waitpid (nullopt when it had to be killed).
  std::optional<int> Stop(std::chrono::milliseconds grace = std::chrono::seconds(20)) {
    if (!process_) return std::nullopt;
    process_->Signal(SIGTERM);
    auto status = process_->Wait(grace);
    if (!status) process_->Stop(std::chrono::milliseconds(100));
    log_ = process_->Stderr();
    process_.reset();
    return status;
  }
  bool Running() { return process_ && process_->Running(); }
  void Signal(int signal) { process_->Signal(signal); }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string Log() const { return process_ ? process_->Stderr() : log_; }
  // True once the log holds `text` (polled with a deadline).
  bool WaitForLog(const std::string& text,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    return moat::testing::WaitUntil([&] { return Log().find(text) != std::string::npos; },
                                    timeout);
  }

  int inbound_port() const { return inbound_port_; }
  int originating_port() const { return originating_port_; }

 private:
  const moat::testing::TempDir& dir_;
  int inbound_port_ = 0;
  int originating_port_ = 0;
  std::unique_ptr<moat::testing::Subprocess> process_;
  std::string log_;
};

}  // namespace moat::filterd::testing
