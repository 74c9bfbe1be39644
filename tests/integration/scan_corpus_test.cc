// scan_corpus_test.cc - `moat scan --json` (the real binary) on every message file of
// testdata/corpus, compared with the expected verdict kept beside it (.expected.json, the same
// files tests/filterd/golden_corpus_test.cc checks in-process).
//
// As an administrator runs it: the sample conf/ with its banned_rules, a small ClamAV database
// built by sigtool, and a dnsmasq that serves the DKIM keys of the DKIM fixtures
// (testdata/corpus/content/dkim/dns-records.txt). Only the files of the corpus are checked here;
// the generated cases exist in the in-process test alone.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/filterd/golden.h"
#include "tests/scanners/fixtures.h"
#include "tests/support/dnsmasq_server.h"
#include "tests/support/test_support.h"

namespace moat::filterd {
namespace {

using moat::testing::SourcePath;
using moat::testing::TempDir;

TEST(ScanCorpusTest, MoatScanJsonMatchesTheExpectedVerdictOfEveryCorpusMessage) {
  if (!moat::testing::HaveTool("sigtool")) GTEST_SKIP() << "sigtool (package clamav) missing";
  TempDir dir;
  std::string database = scanners::testing::BuildTestDatabase(dir);

  std::vector<std::string> records;
  std::ifstream in(SourcePath("testdata/corpus/content/dkim/dns-records.txt"));
  for (std::string line; std::getline(in, line);) {
    size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    records.push_back(moat::testing::DnsmasqTxtRecord(line.substr(0, space), line.substr(space + 1)));
  }
  auto dns = moat::testing::DnsmasqServer::Start({"football.example.com"}, records);
  ASSERT_NE(dns, nullptr);

  int checked = 0;
  for (const std::string& name : golden::CorpusMessages()) {
    std::string expected_path = golden::ExpectedPath(name);
    if (!std::filesystem::exists(expected_path)) {
      ADD_FAILURE() << name << ": no " << expected_path;
      continue;
    }
    nlohmann::json expected =
        nlohmann::json::parse(moat::testing::ReadTextFile(expected_path));
    std::vector<std::string> argv = {moat::testing::BinaryPath("moat"),
                                     "-c", SourcePath("conf"),
                                     "-o", "clamav_database_directory=" + database,
                                     "-o", "clamav_reload_check_interval=0",
                                     "-o", "data_directory=" + dir.Path("data"),
                                     "-o", "dns_servers=" + dns->address(),
                                     "-o", "myhostname=mx.moat.test",
                                     "-o", "authserv_id=mx.moat.test",
                                     "scan", "--json",
                                     "--bank", expected.value("policy_bank", "inbound"),
                                     SourcePath("testdata/corpus/" + name)};
    auto run = moat::testing::RunCommand(argv);
    ASSERT_NE(run.out, "") << name << ": " << run.err;
    nlohmann::json report = nlohmann::json::parse(run.out, nullptr, false);
    ASSERT_FALSE(report.is_discarded()) << name << ": not JSON: " << run.out;
    std::vector<std::string> problems = golden::Compare(expected, report);
    std::string all;
    for (const std::string& p : problems) all += "\n  " + p;
    EXPECT_TRUE(problems.empty()) << name << all;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

}  // namespace
}  // namespace moat::filterd
