// test_support.h - what every Moat test needs and no test should write twice.
//
//   TempDir          a private directory, removed with everything in it when the object dies
//                    (kept when MOAT_KEEP_TEMP=1, for post-mortems).
//   FreeTcpPort      a loopback port nobody listens on right now (bind to port 0, read it back).
//   Subprocess       a child process (the real daemons, swaks, Postfix, smtp-sink ...) with its
//                    output in files; killed with SIGKILL if still running when destroyed.
//   RunCommand       run to completion with a deadline and capture stdout/stderr.
//   WaitUntil        poll a condition until it holds or a deadline passes; no bare sleeps.
//   SourcePath / BinaryPath / ToolPath   files of the source tree, the build tree, and system tools.
//
// Nothing here is thread-safe unless said; each test owns its objects.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace moat::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Path(const std::string& name) const;
  // Writes a file below the directory (creating parent folders); returns its full path.
  std::string WriteFile(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeTcpPort();

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

struct CommandOptions {
  std::string stdin_data;
  std::chrono::milliseconds timeout{60'000};
  std::map<std::string, std::string> env;  // added to the current environment
  std::string cwd;
};

// CommandOptions with only a deadline (and a working directory), for the common case.
inline CommandOptions WithTimeout(std::chrono::milliseconds timeout, std::string cwd = "") {
  CommandOptions options;
  options.timeout = timeout;
  options.cwd = std::move(cwd);
  return options;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const CommandOptions& options = {});

class Subprocess {
 public:
  // Starts argv[0] (searched in PATH when it has no slash). Output goes to files in log_dir.
  Subprocess(std::vector<std::string> argv, const std::string& log_dir,
             std::map<std::string, std::string> env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int signal);
  // Waits for exit up to `timeout`; returns the exit status (as from waitpid), or nullopt.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10'000));
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  std::vector<std::string> argv_;
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Polls `condition` every few milliseconds until true or until `timeout`; returns the last value.
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));

// True once something accepts TCP connections on 127.0.0.1:port.
bool WaitForTcpPort(int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));

std::string SourcePath(const std::string& relative);  // under the source tree
std::string BinaryPath(const std::string& name);      // build/bin/<name>
// Debian's own Python (with python3-dkim etc.), not the first python3 on PATH.
inline constexpr const char* kSystemPython = "/usr/bin/python3";
// True when an executable exists (absolute path or found in PATH).
bool HaveTool(const std::string& name);
std::string ReadTextFile(const std::string& path);

}  // namespace moat::testing
