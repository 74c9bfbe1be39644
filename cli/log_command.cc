// log_command.cc - `moat log summary`: a pflogsumm-style report of moat-mta's and moat-filterd's
// logs (what it counts: cli/log_summary.h).
//
//   moat log summary [--top N] [FILE...]
//
// Reads the files in order (standard input when none is named; "-" names it too), e.g.
//   moat log summary var/log/moat-mta.log var/log/moat-filterd.log
//   journalctl -u moat-mta -u moat-filterd --since yesterday | moat log summary
//   zcat /var/log/mail.log.1.gz | moat log summary
// Lines of other programs are counted as lines and otherwise ignored.
// Exit status: 0 report printed, 1 a file could not be read, 2 usage.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/log_summary.h"

namespace moat::cli {
namespace {

struct SummaryArgs {
  std::vector<std::string> files;
  std::size_t top = 10;
};

void Feed(std::istream& in, LogSummary& summary) {
  std::string line;
  while (std::getline(in, line)) summary.AddLine(line);
}

void RunSummary(const SummaryArgs& args) {
  LogSummary summary(LogSummaryOptions{args.top});
  if (args.files.empty()) {
    Feed(std::cin, summary);
  }
  for (const std::string& file : args.files) {
    if (file == "-") {
      Feed(std::cin, summary);
      continue;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      fmt::print(stderr, "moat log summary: {}: {}\n", file, std::strerror(errno));
      throw CommandExit{1};
    }
    Feed(in, summary);
    if (in.bad()) {
      fmt::print(stderr, "moat log summary: {}: read error\n", file);
      throw CommandExit{1};
    }
  }
  fmt::print("{}", summary.Report());
  std::fflush(stdout);
}

}  // namespace

void RegisterLogCommand(CLI::App& app, const GlobalOptions& /*global*/) {
  CLI::App* log = app.add_subcommand("log", "Reports from the daemons' logs");
  log->require_subcommand(1);
  auto args = std::make_shared<SummaryArgs>();
  CLI::App* summary = log->add_subcommand(
      "summary", "pflogsumm-style traffic report from moat-mta and moat-filterd log lines");
  summary->add_option("FILE", args->files, "Log files (default: standard input)");
  summary->add_option("--top", args->top, "Entries in each top list (default 10)")
      ->check(CLI::Range(1, 100000));
  summary->callback([args] { RunSummary(*args); });
}

}  // namespace moat::cli
