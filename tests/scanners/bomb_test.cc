// Decompression bombs end within their limits, with peak memory measured in a child process.
//
// Each bomb is built at test time (never stored): 1 GiB of zeros as one zstd stream and as a
// gzip of 1024 concatenated members, and a 42.zip-style recursive zip (16 MiB of zeros, 16
// copies per level, 4 levels: 16^4 zips holding 1 TiB). The parent test writes the message to
// a file and re-runs this test binary on BombChild.DecomposeAndScan, which decodes and scans it
// like a worker would and prints its limit events and VmHWM (peak resident set) from
// /proc/self/status; the parent checks both.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "scanners/decomposer.h"
#include "scanners/virus_scan.h"
#include "tests/scanners/fixtures.h"

namespace moat::scanners {
namespace {

using moat::testing::TempDir;
using testing::MessageWith;
using testing::ReadBinaryFile;
using testing::RunTool;
using testing::WriteBinaryFile;

constexpr long kPeakRssLimitKb = 256 * 1024;

long PeakRssKb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// Runs only when the parent test starts this binary with MOAT_BOMB_MESSAGE set.
TEST(BombChild, DecomposeAndScan) {
  const char* message = std::getenv("MOAT_BOMB_MESSAGE");
  const char* database = std::getenv("MOAT_BOMB_DATABASE");
  if (message == nullptr || database == nullptr) GTEST_SKIP() << "child of the bomb tests only";
  std::string raw = ReadBinaryFile(message);
  ClamavOptions options;
  options.database_directory = database;
  auto engine = ClamavEngine::Load(options);
  ASSERT_TRUE(engine.has_value());
  auto decomposer = Decomposer::Create();
  ASSERT_TRUE(decomposer.has_value());
  auto tree = decomposer->Decompose(raw);
  ASSERT_TRUE(tree.has_value());
  VirusScanReport report = ScanContentTree(**engine, *tree, raw);
  nlohmann::json out = {
      {"limit_events", nlohmann::json::parse(ContentLimitEventsJson(*tree))},
      {"nodes", tree->nodes.size()},
      {"unpacked_bytes", tree->unpacked_bytes},
      {"scan", nlohmann::json::parse(VirusScanReportJson(report))},
      {"peak_rss_kb", PeakRssKb()},
  };
  std::cout << "BOMB-RESULT " << out.dump() << "\n";
}

std::string SelfPath() {
  char buffer[4096];
  ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  return n > 0 ? std::string(buffer, n) : "";
}

nlohmann::json RunChild(const TempDir& dir, const std::string& message) {
  WriteBinaryFile(dir.Path("bomb.eml"), message);
  std::string db = testing::BuildTestDatabase(dir);
  moat::testing::CommandOptions options;
  options.env = {{"MOAT_BOMB_MESSAGE", dir.Path("bomb.eml")}, {"MOAT_BOMB_DATABASE", db}};
  options.timeout = std::chrono::milliseconds(300'000);
  moat::testing::CommandResult result =
      moat::testing::RunCommand({SelfPath(), "--gtest_filter=BombChild.DecomposeAndScan"}, options);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  size_t at = result.out.find("BOMB-RESULT ");
  if (at == std::string::npos) {
    ADD_FAILURE() << "child printed no result:\n" << result.out << result.err;
    return {};
  }
  size_t end = result.out.find('\n', at);
  return nlohmann::json::parse(result.out.substr(at + 12, end - at - 12));
}

bool HasLimit(const nlohmann::json& result, const std::string& limit) {
  for (const auto& e : result["limit_events"]) {
    if (e["limit"] == limit) return true;
  }
  return false;
}

void ExpectBoundedMemory(const nlohmann::json& result) {
  std::cout << "peak RSS " << result["peak_rss_kb"] << " kB, unpacked " << result["unpacked_bytes"]
            << " bytes, limits " << result["limit_events"].size() << "\n";
  ::testing::Test::RecordProperty("peak_rss_kb", std::to_string(result["peak_rss_kb"].get<long>()));
#if defined(__SANITIZE_ADDRESS__)
  // ASan's shadow memory and quarantine make RSS meaningless; the run itself is the check.
  (void)result;
#else
  EXPECT_GT(result["peak_rss_kb"].get<long>(), 0);
  EXPECT_LT(result["peak_rss_kb"].get<long>(), kPeakRssLimitKb) << result.dump();
#endif
}

TEST(BombTest, OneGibibyteOfZerosAsOneZstdStream) {
  TempDir dir;
  RunTool({"/bin/sh", "-ec", "head -c 1073741824 /dev/zero | zstd -q -1 -c > zeros.zst"},
          dir.path());
  std::string bomb = ReadBinaryFile(dir.Path("zeros.zst"));
  ASSERT_LT(bomb.size(), 100'000u);
  nlohmann::json result = RunChild(dir, MessageWith({{"zeros.zst", bomb}}));
  ASSERT_FALSE(result.is_null());
  EXPECT_TRUE(HasLimit(result, "compression-ratio") || HasLimit(result, "member-bytes"))
      << result.dump();
  EXPECT_LE(result["unpacked_bytes"].get<uint64_t>(), DecodeLimits{}.max_member_bytes);
  ExpectBoundedMemory(result);
}

TEST(BombTest, OneGibibyteOfZerosAsGzip) {
  TempDir dir;
  // 1024 gzip members of 1 MiB of zeros each: one gzip stream of 1 GiB, built in a moment.
  RunTool({"/bin/sh", "-ec", "head -c 1048576 /dev/zero | gzip -9 -n > one.gz"}, dir.path());
  std::string member = ReadBinaryFile(dir.Path("one.gz"));
  std::string bomb;
  for (int i = 0; i < 1024; ++i) bomb += member;
  nlohmann::json result = RunChild(dir, MessageWith({{"zeros.bin.gz", bomb}}));
  ASSERT_FALSE(result.is_null());
  EXPECT_TRUE(HasLimit(result, "compression-ratio") || HasLimit(result, "member-bytes"))
      << result.dump();
  ExpectBoundedMemory(result);
}

TEST(BombTest, RecursiveZipSixteenToTheFourth) {
  TempDir dir;
  RunTool({"/bin/sh", "-ec",
           "head -c 16777216 /dev/zero > 0.bin && zip -q -X -9 L0.zip 0.bin && rm 0.bin && "
           "prev=L0.zip; for L in 1 2 3 4; do mkdir d$L; "
           "for c in $(seq -w 0 15); do cp $prev d$L/$c-$prev; done; "
           "(cd d$L && zip -q -X -9 ../L$L.zip *); rm -r d$L; prev=L$L.zip; done"},
          dir.path());
  std::string bomb = ReadBinaryFile(dir.Path("L4.zip"));
  ASSERT_LT(bomb.size(), 100'000u);
  nlohmann::json result = RunChild(dir, MessageWith({{"42.zip", bomb}}));
  ASSERT_FALSE(result.is_null());
  EXPECT_TRUE(HasLimit(result, "total-bytes")) << result.dump();
  EXPECT_LE(result["unpacked_bytes"].get<uint64_t>(), DecodeLimits{}.max_total_bytes);
  ExpectBoundedMemory(result);
}

TEST(BombTest, MessageWithTenThousandPartsAndDeepNestingInOneChild) {
  TempDir dir;
  std::string raw = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 10'000; ++i) raw += "--b\nContent-Type: application/octet-stream\n\nx\n";
  raw += "--b--\n";
  nlohmann::json result = RunChild(dir, raw);
  ASSERT_FALSE(result.is_null());
  EXPECT_TRUE(HasLimit(result, "mime-parts")) << result.dump();
  ExpectBoundedMemory(result);
}

}  // namespace
}  // namespace moat::scanners
