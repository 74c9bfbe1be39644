// golden_corpus_test.cc - every message of testdata/corpus (and the generated ones) through the
// content pipeline, compared with its .expected.json (tests/filterd/golden.h).
//
// Configuration: the sample conf/ (banned_rules included), the shipped default rules, a ClamAV
// database built by sigtool from EICAR and clam.exe, and a dnsmasq serving the DKIM keys of
// testdata/corpus/content/dkim/dns-records.txt. On a mismatch the full report is written to
// build/golden/<case>.actual.json (never into testdata); UPDATE_GOLDEN=1 rewrites the expected
// files from what the pipeline says now - review the diff before committing it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/filterd/content_test_util.h"
#include "tests/filterd/golden.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::filterd {
namespace {

using moat::testing::TempDir;
using scanners::testing::ClamExe;
using scanners::testing::Eicar;
using scanners::testing::MessageWith;
using scanners::testing::ReadBinaryFile;
using scanners::testing::RunTool;
using scanners::testing::SharedCorpus;
using scanners::testing::WriteBinaryFile;
using testing::ContentEnv;

// The messages built at test time: name -> message (empty when a source is missing).
std::string Generated(const std::string& name) {
  TempDir work;
  WriteBinaryFile(work.Path("eicar.com"), Eicar());
  WriteBinaryFile(work.Path("clam.exe"), ClamExe());
  WriteBinaryFile(work.Path("notes.txt"), "quarterly figures\n");
  auto build = [&](const std::string& script, const std::string& file, const std::string& type) {
    RunTool({"/bin/sh", "-ec", script}, work.path());
    return MessageWith({{file, ReadBinaryFile(work.Path(file)), type}}, name);
  };
  if (name == "eicar-zip-zip-rfc822") {
    RunTool({"/bin/sh", "-ec", "zip -q -X inner.zip eicar.com && zip -q -X outer.zip inner.zip"},
            work.path());
    std::string inner =
        MessageWith({{"outer.zip", ReadBinaryFile(work.Path("outer.zip")), "application/zip"}});
    return "From: a@example.org\r\nTo: b@example.net\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
           "--xx\r\nContent-Type: text/plain\r\n\r\nforwarding\r\n"
           "--xx\r\nContent-Type: message/rfc822\r\n\r\n" +
           inner + "\r\n--xx--\r\n";
  }
  if (name == "clam-exe-7z") return build("7z a -bd -bso0 c.7z clam.exe", "c.7z", "application/x-7z-compressed");
  if (name == "clam-exe-tar-gz") return build("tar -czf c.tar.gz clam.exe", "c.tar.gz", "application/gzip");
  if (name == "clam-exe-cab") return build("gcab -c -z c.cab clam.exe", "c.cab", "application/vnd.ms-cab-compressed");
  if (name == "clam-exe-nested") {
    return build("zip -q -X n1.zip clam.exe && 7z a -bd -bso0 n2.7z n1.zip && tar -czf n3.tar.gz "
                 "n2.7z && zip -q -X nested.zip n3.tar.gz",
                 "nested.zip", "application/zip");
  }
  if (name == "clam-v3-rar") {
    auto root = SharedCorpus("av/clamav-upstream");
    if (!root) return "";
    return MessageWith({{"clam-v3.rar", ReadBinaryFile(*root + "/clam-v3.rar"), "application/x-rar"}},
                       name);
  }
  if (name == "encrypted-zip") {
    return build("zip -q -X -P infected secret.zip notes.txt", "secret.zip", "application/zip");
  }
  if (name == "encrypted-7z-headers") {
    return build("7z a -bd -bso0 -pinfected -mhe=on secret.7z notes.txt", "secret.7z",
                 "application/x-7z-compressed");
  }
  if (name == "zip-bomb-42") {
    return build(
        "head -c 16M /dev/zero > 0.bin && zip -q -X -9 L0.zip 0.bin && rm 0.bin && prev=L0.zip && "
        "for L in 1 2 3 4; do mkdir d$L; for c in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do cp $prev "
        "d$L/$c-$prev; done; (cd d$L && zip -q -X -9 ../L$L.zip *); rm -r d$L; prev=L$L.zip; done",
        "L4.zip", "application/zip");
  }
  ADD_FAILURE() << "unknown generated case " << name;
  return "";
}

const char* const kGenerated[] = {"eicar-zip-zip-rfc822", "clam-exe-7z",    "clam-exe-tar-gz",
                                  "clam-exe-cab",         "clam-exe-nested", "clam-v3-rar",
                                  "encrypted-zip",        "encrypted-7z-headers",
                                  "zip-bomb-42"};

std::vector<std::string> Cases() {
  std::vector<std::string> cases = golden::CorpusMessages();
  for (const char* g : kGenerated) cases.push_back(std::string("generated/") + g);
  return cases;
}

class GoldenCorpusTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    std::vector<std::string> records;
    std::ifstream in(moat::testing::SourcePath("testdata/corpus/content/dkim/dns-records.txt"));
    for (std::string line; std::getline(in, line);) {
      size_t space = line.find(' ');
      if (space == std::string::npos) continue;
      records.push_back(moat::testing::DnsmasqTxtRecord(line.substr(0, space),
                                                        line.substr(space + 1)));
    }
    dns_ = moat::testing::DnsmasqServer::Start({"football.example.com"}, records).release();
  }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
  }
  static moat::testing::DnsmasqServer* dns_;
};

moat::testing::DnsmasqServer* GoldenCorpusTest::dns_ = nullptr;

TEST_P(GoldenCorpusTest, MatchesExpected) {
  ASSERT_NE(dns_, nullptr);
  const std::string& name = GetParam();
  std::string message = name.starts_with("generated/")
                            ? Generated(name.substr(10))
                            : ReadBinaryFile(moat::testing::SourcePath("testdata/corpus/" + name));
  if (message.empty()) GTEST_SKIP() << name << ": source not available here";

  std::string expected_path = golden::ExpectedPath(name);
  nlohmann::json expected;
  if (std::filesystem::exists(expected_path)) {
    expected = nlohmann::json::parse(moat::testing::ReadTextFile(expected_path));
  }
  std::string bank = expected.contains("policy_bank") ? expected["policy_bank"].get<std::string>()
                                                      : "inbound";
  ScanResult result = ContentEnv::Get().Scan(
      message, {"dns_servers=" + dns_->address(), "authserv_id=mx.moat.test"}, bank);
  nlohmann::json report = nlohmann::json::parse(ScanReportJson(result));

  if (golden::UpdateGolden()) {
    std::filesystem::create_directories(std::filesystem::path(expected_path).parent_path());
    std::ofstream(expected_path) << golden::Projection(report).dump(2) << "\n";
    return;
  }
  ASSERT_FALSE(expected.is_null()) << "no " << expected_path << " (UPDATE_GOLDEN=1 writes it)";
  std::vector<std::string> problems = golden::Compare(expected, report);
  if (!problems.empty()) {
    std::string actual = std::string(MOAT_BINARY_DIR) + "/golden/" + name + ".actual.json";
    std::filesystem::create_directories(std::filesystem::path(actual).parent_path());
    std::ofstream(actual) << report.dump(2) << "\n";
    std::string all;
    for (const std::string& p : problems) all += "\n  " + p;
    ADD_FAILURE() << name << " differs from " << expected_path << ":" << all
                  << "\nfull report: " << actual;
  }
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string out;
  for (char c : info.param) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

INSTANTIATE_TEST_SUITE_P(Corpus, GoldenCorpusTest, ::testing::ValuesIn(Cases()), CaseName);

// Every expected file belongs to a message: none is left behind when a message goes.
TEST(GoldenCorpusFilesTest, NoOrphanExpectations) {
  std::set<std::string> wanted;
  for (const std::string& c : Cases()) wanted.insert(golden::ExpectedPath(c));
  std::string root = moat::testing::SourcePath("testdata/corpus/content");
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    std::string path = entry.path().string();
    if (!path.ends_with(".expected.json")) continue;
    EXPECT_TRUE(wanted.count(path)) << "orphan " << path;
  }
}

}  // namespace
}  // namespace moat::filterd
