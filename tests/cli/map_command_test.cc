// map_command_test.cc - `moat map query` run in process through CLI11, as cli/main.cc runs it:
// the seed tables, Postfix search order, exit codes and one-line errors.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

struct MapRun {
  int status = -1;
  std::string out;
  std::string err;
};

// Parses `args` (after the program name) with only the map command registered.
MapRun RunMap(const std::vector<std::string>& args, const std::string& config_directory,
              const std::string& stdin_text = "") {
  CLI::App app("moat");
  GlobalOptions global;
  global.config_directory = config_directory;
  RegisterMapCommand(app, global);
  std::vector<std::string> argv = {"moat"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<const char*> c_argv;
  for (const auto& a : argv) c_argv.push_back(a.c_str());

  std::ostringstream out, err;
  std::istringstream in(stdin_text);
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  auto* old_in = std::cin.rdbuf(in.rdbuf());
  MapRun run;
  try {
    app.parse(static_cast<int>(c_argv.size()), c_argv.data());
    run.status = 0;
  } catch (const CommandExit& e) {
    run.status = e.status;
  } catch (const CLI::ParseError& e) {
    run.status = 100 + e.get_exit_code();
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  std::cin.rdbuf(old_in);
  run.out = out.str();
  run.err = err.str();
  return run;
}

const std::string kCorpus = testing::SourcePath("testdata/corpus/tables");

TEST(MapCommandTest, PlainQueriesLikePostmap) {
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string out;
  };
  const Case cases[] = {
      {{"map", "query", "texthash:transport", "example.com"}, 0, "smtp:[192.168.23.56]:20025\n"},
      {{"map", "query", "hash:transport", "KDENT@ora.com"},
       0,
       "error:no mail accepted for kdent\n"},
      {{"map", "query", "hash:transport", "mail.example.com"}, 1, ""},
      {{"map", "query", "pcre:virtual.pcre", "first.last@nabsd.cs.nctu.edu.tw"},
       0,
       "first@nabsd.cs.nctu.edu.tw\n"},
      {{"map", "query", "cidr:mynetworks.cidr", "192.168.23.56"}, 0, "internal mail servers\n"},
      {{"map", "query", "cidr:mynetworks.cidr", "::ffff:127.0.0.1"}, 0, "loopback\n"},
      {{"map", "query", "cidr:mynetworks.cidr", "203.0.113.9"}, 1, ""},
      {{"map", "query", "inline:{ a=1, b=2 }, static:other", "b", "c", "a"},
       0,
       "b\t2\nc\tother\na\t1\n"},
      {{"map", "query", "hash:transport", "example.com", "nowhere"},
       1,
       "example.com\tsmtp:[192.168.23.56]:20025\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(c.args, " ")));
    MapRun run = RunMap(c.args, kCorpus);
    EXPECT_EQ(run.status, c.status) << run.err;
    EXPECT_EQ(run.out, c.out);
    EXPECT_EQ(run.err, "");
  }
}

TEST(MapCommandTest, KeysFromStdin) {
  MapRun run = RunMap({"map", "query", "texthash:transport", "-"}, kCorpus,
                      "example.com\nmissing\nkdent@ora.com\n");
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.out,
            "example.com\tsmtp:[192.168.23.56]:20025\n"
            "kdent@ora.com\terror:no mail accepted for kdent\n");
}

TEST(MapCommandTest, AddressSearchShowsWhichKeyMatched) {
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string out;
  };
  const std::vector<std::string> transport = {
      "map",       "query",       "--address", "--style",
      "transport", "--delimiter", "+",         "texthash:transport"};
  auto with = [&](std::vector<std::string> tail) {
    std::vector<std::string> args = transport;
    args.insert(args.end(), tail.begin(), tail.end());
    return args;
  };
  const Case cases[] = {
      {with({"joe@example.com"}), 0,
       "joe@example.com -> smtp:[192.168.23.56]:20025 (key \"example.com\" in "
       "texthash:transport)\n"},
      {with({"joe@mail.example.com"}), 0,
       "joe@mail.example.com -> smtp:bar.example:2025 (key \".example.com\" in "
       "texthash:transport)\n"},
      {with({"kdent+news@ora.com"}), 0,
       "kdent+news@ora.com -> error:no mail accepted for kdent (key \"kdent@ora.com\" in "
       "texthash:transport, extension \"+news\")\n"},
      {with({"tim@ora.com"}), 0,
       "tim@ora.com -> smtp:[10.0.0.5] (key \"ora.com\" in "
       "texthash:transport)\n"},
      {with({"joe@example.org"}), 1,
       "joe@example.org: not found (tried joe@example.org, example.org, .org, *)\n"},
      {{"map", "query", "--domain", "texthash:transport", "a.b.example.com"},
       0,
       "a.b.example.com -> smtp:bar.example:2025 (key \".example.com\" in texthash:transport)\n"},
      {{"map", "query", "--domain", "--parent-matches-subdomains", "texthash:transport",
        "a.b.example.com"},
       0,
       "a.b.example.com -> smtp:[192.168.23.56]:20025 (key \"example.com\" in "
       "texthash:transport)\n"},
      {{"map", "query", "--address", "--delimiter", "+", "--local-domain", "example.com",
        "inline:{ joe=local, @example.com=catch-all }", "joe+x@example.com", "ann@example.com"},
       0,
       "joe+x@example.com -> local (key \"joe\" in inline:{ joe=local, @example.com=catch-all }, "
       "extension \"+x\")\n"
       "ann@example.com -> catch-all (key \"@example.com\" in inline:{ joe=local, "
       "@example.com=catch-all })\n"},
      {{"map", "query", "--address", "--local-domain", "example.net", "--local-domain",
        "Example.COM", "inline:{ joe=local }", "joe@example.com"},
       0,
       "joe@example.com -> local (key \"joe\" in inline:{ joe=local })\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(c.args, " ")));
    MapRun run = RunMap(c.args, kCorpus);
    EXPECT_EQ(run.status, c.status) << run.err;
    EXPECT_EQ(run.out, c.out);
  }
}

TEST(MapCommandTest, JsonOutput) {
  MapRun run = RunMap({"map", "query", "--address", "--style", "transport", "--json",
                       "texthash:transport", "kdent@ora.com", "x@example.net"},
                      kCorpus);
  EXPECT_EQ(run.status, 1);
  auto json = nlohmann::json::parse(run.out);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["value"], "error:no mail accepted for kdent");
  EXPECT_EQ(json[0]["key"], "kdent@ora.com");
  EXPECT_EQ(json[0]["table"], "texthash:transport");
  EXPECT_EQ(json[1]["found"], false);
  EXPECT_EQ(json[1]["tried"], nlohmann::json({"x@example.net", "example.net", ".net", "*"}));
}

TEST(MapCommandTest, BadTablesAreOneLineErrorsWithStatus2) {
  struct Case {
    std::string table;
    std::string err;
  };
  const std::string bad = kCorpus + "/bad";
  const Case cases[] = {
      {"pcre:bad/invalid-regex.pcre",
       bad + "/invalid-regex.pcre:3: invalid regular expression at offset 8: missing closing "
             "parenthesis\n"},
      {"pcre:bad/unterminated-if.pcre",
       bad + "/unterminated-if.pcre:2: unterminated if (no matching endif)\n"},
      {"cidr:bad/bad-cidr.cidr", bad + "/bad-cidr.cidr:2: bad net/mask pattern: \"10.0.0.0/33\"\n"},
      {"hash:bad/missing", bad + "/missing: cannot open table: No such file or directory\n"},
      {"nosuchtype:x",
       "\"nosuchtype:x\": unknown table type \"nosuchtype\" (supported: hash, "
       "btree, texthash, lmdb, cdb, dbm, sdbm, pcre, regexp, cidr, static, "
       "inline, proxy)\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.table);
    MapRun run = RunMap({"map", "query", c.table, "key"}, kCorpus);
    EXPECT_EQ(run.status, 2);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, c.err);
  }
}

TEST(MapCommandTest, UsageErrors) {
  EXPECT_GE(RunMap({"map", "query", "hash:transport"}, kCorpus).status, 100);
  EXPECT_GE(
      RunMap({"map", "query", "--address", "--domain", "hash:transport", "x"}, kCorpus).status,
      100);
  EXPECT_GE(RunMap({"map", "query", "--style", "bogus", "hash:transport", "x"}, kCorpus).status,
            100);
  EXPECT_GE(RunMap({"map"}, kCorpus).status, 100);
}

}  // namespace
}  // namespace moat::cli
