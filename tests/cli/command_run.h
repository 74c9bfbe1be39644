// command_run.h - runs one `moat` subcommand in-process for the CLI tests, the way cli/main.cc
// runs it: the test registers the command on a CLI11 App, stdout and stderr are captured, stdin
// is a given string. CommandExit carries the callback's status; a CLI11 parse error is usage
// (status 2, its text on err).
#pragma once

#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command.h"  // CommandExit

namespace moat::testing {

struct CommandRun {
  int status = 0;
  std::string out;
  std::string err;
};

inline CommandRun RunMoat(const std::function<void(CLI::App&)>& register_command,
                          const std::vector<std::string>& args, const std::string& input = "") {
  CLI::App app("moat");
  app.require_subcommand(1);
  register_command(app);
  std::ostringstream out, err;
  std::istringstream in(input);
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  auto* old_in = std::cin.rdbuf(in.rdbuf());
  CommandRun run;
  std::vector<const char*> argv = {"moat"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const cli::CommandExit& exit) {
    run.status = exit.status;
  } catch (const CLI::ParseError& e) {
    run.status = 2;
    err << e.what();
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  std::cin.rdbuf(old_in);
  run.out = out.str();
  run.err = err.str();
  return run;
}

}  // namespace moat::testing
