// passwd_command.cc - `moat passwd`: print a password hash for smtpd_sasl_password_maps (and the
// web UI's user table).
//
//   moat passwd [--user NAME] [--iterations N]
//
// The password is never taken from the command line (it would show in `ps` and shell history):
// on a terminal it is read twice from /dev/tty without echo; otherwise the first line of stdin
// is the password (for scripts: `printf '%s\n' "$pw" | moat passwd`). The hash goes to stdout,
// alone, or as "NAME HASH" with --user, ready to append to a hash: table. Format and cost: see
// core/password_hash.h.
//
// Exit status: 0 printed, 1 the passwords differ / empty / no input, 2 usage.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "core/password_hash.h"

namespace moat::cli {
namespace {

struct PasswdOptions {
  std::string user;
  int iterations = core::kDefaultPbkdf2Iterations;
};

void StripLineEnd(std::string& line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
}

// Reads one line from the terminal with echo off; nullopt on EOF or error.
std::optional<std::string> ReadHidden(std::FILE* tty, const char* prompt) {
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  int fd = fileno(tty);
  termios saved{};
  bool restore = tcgetattr(fd, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  int c;
  bool got = false;
  while ((c = std::fgetc(tty)) != EOF) {
    got = true;
    if (c == '\n') break;
    line.push_back(static_cast<char>(c));
  }
  if (restore) tcsetattr(fd, TCSAFLUSH, &saved);
  if (!got) return std::nullopt;
  StripLineEnd(line);
  return line;
}

std::optional<std::string> ReadPassword() {
  if (isatty(STDIN_FILENO)) {
    std::FILE* tty = std::fopen("/dev/tty", "r+");
    if (tty == nullptr) tty = stdin;
    auto first = ReadHidden(tty, "Password: ");
    auto second = first ? ReadHidden(tty, "Again: ") : std::nullopt;
    if (tty != stdin) std::fclose(tty);
    if (!first || !second) return std::nullopt;
    if (*first != *second) {
      fmt::print(stderr, "moat passwd: the passwords differ\n");
      return std::nullopt;
    }
    return first;
  }
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  StripLineEnd(line);
  return line;
}

void Run(const PasswdOptions& options) {
  std::optional<std::string> password = ReadPassword();
  if (!password) {
    fmt::print(stderr, "moat passwd: no password read\n");
    throw CommandExit{1};
  }
  if (password->empty()) {
    fmt::print(stderr, "moat passwd: refusing an empty password\n");
    throw CommandExit{1};
  }
  auto hash = core::HashPassword(*password, {options.iterations});
  std::fill(password->begin(), password->end(), '\0');
  if (!hash) {
    fmt::print(stderr, "moat passwd: {}\n", hash.error().message());
    throw CommandExit{1};
  }
  if (options.user.empty()) {
    fmt::print("{}\n", *hash);
  } else {
    fmt::print("{} {}\n", options.user, *hash);
  }
}

}  // namespace

void RegisterPasswdCommand(CLI::App& app, const GlobalOptions& /*global*/) {
  auto options = std::make_shared<PasswdOptions>();
  CLI::App* passwd = app.add_subcommand(
      "passwd",
      "Print a password hash for smtpd_sasl_password_maps (password read from the terminal or "
      "stdin, never from the command line)");
  passwd->add_option("--user", options->user, "Print \"NAME HASH\", a line for a hash: table")
      ->type_name("NAME");
  passwd->add_option("--iterations", options->iterations, "PBKDF2-SHA256 iterations")
      ->check(CLI::Range(core::kMinPbkdf2Iterations, core::kMaxPbkdf2Iterations))
      ->capture_default_str();
  passwd->callback([options] { Run(*options); });
}

}  // namespace moat::cli
