// Tests for scanners/clamav_engine and clamav_service: loading, scanning from memory, errors,
// background reload without a gap, the database watcher.
#include "scanners/clamav_engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "scanners/clamav_service.h"
#include "tests/scanners/fixtures.h"

namespace moat::scanners {
namespace {

using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::BuildTestDatabase;
using testing::ClamExe;
using testing::Eicar;
using testing::WriteBinaryFile;

ClamavOptions OptionsFor(const std::string& db) {
  ClamavOptions options;
  options.database_directory = db;
  return options;
}

TEST(ClamavEngineTest, LoadsASignatureDirectoryAndReportsIt) {
  TempDir dir;
  auto engine = ClamavEngine::Load(OptionsFor(BuildTestDatabase(dir)));
  ASSERT_TRUE(engine.has_value()) << engine.error().ToString();
  const ClamavDatabaseInfo& info = (*engine)->info();
  EXPECT_EQ(info.signature_count, 6u);
  EXPECT_EQ(info.version, 0u);
  EXPECT_EQ(info.files, (std::vector<std::string>{"test.hdb", "test.hsb", "test.ndb"}));
  EXPECT_EQ(info.Describe(), "local: test.hdb test.hsb test.ndb, 6 signatures");
  EXPECT_FALSE(ClamavEngine::LibraryVersion().empty());
}

TEST(ClamavEngineTest, ScansBuffersFromMemory) {
  TempDir dir;
  auto engine = ClamavEngine::Load(OptionsFor(BuildTestDatabase(dir)));
  ASSERT_TRUE(engine.has_value());
  auto eicar = (*engine)->Scan(Eicar(), "eicar.com", ClamavScanMode::kLeaf);
  ASSERT_TRUE(eicar.has_value());
  EXPECT_EQ(eicar->kind, ClamavScanOutcome::Kind::kInfected);
  EXPECT_EQ(eicar->signature.rfind("Eicar-Test-Signature", 0), 0u) << eicar->signature;

  auto clam = (*engine)->Scan(ClamExe(), "", ClamavScanMode::kLeaf);
  ASSERT_TRUE(clam.has_value());
  EXPECT_EQ(clam->kind, ClamavScanOutcome::Kind::kInfected);
  EXPECT_EQ(clam->signature.rfind("ClamAV-Test-File", 0), 0u) << clam->signature;

  auto clean = (*engine)->Scan("just some harmless text\n", "a.txt", ClamavScanMode::kLeaf);
  ASSERT_TRUE(clean.has_value());
  EXPECT_EQ(clean->kind, ClamavScanOutcome::Kind::kClean);

  auto empty = (*engine)->Scan("", "", ClamavScanMode::kLeaf);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->kind, ClamavScanOutcome::Kind::kClean);

  // Raw mode still matches body signatures in the bytes as given.
  auto raw = (*engine)->Scan("header: x\r\n\r\n" + Eicar(), "", ClamavScanMode::kRawMessage);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->kind, ClamavScanOutcome::Kind::kInfected);
}

TEST(ClamavEngineTest, ArchiveParsingCanBeTurnedOff) {
  TempDir dir;
  std::string db = BuildTestDatabase(dir);
  std::string zip = testing::ReadBinaryFile(std::string(testing::kClamTestFiles) + "/clam.zip");
  auto on = ClamavEngine::Load(OptionsFor(db));
  ClamavOptions off_options = OptionsFor(db);
  off_options.archive_parsing = false;
  auto off = ClamavEngine::Load(off_options);
  ASSERT_TRUE(on && off);
  EXPECT_EQ((*on)->Scan(zip, "", ClamavScanMode::kLeaf)->kind, ClamavScanOutcome::Kind::kInfected);
  EXPECT_EQ((*off)->Scan(zip, "", ClamavScanMode::kLeaf)->kind, ClamavScanOutcome::Kind::kClean);
}

TEST(ClamavEngineTest, ScansConcurrentlyWithOneEngine) {
  TempDir dir;
  auto engine = ClamavEngine::Load(OptionsFor(BuildTestDatabase(dir)));
  ASSERT_TRUE(engine.has_value());
  std::shared_ptr<const ClamavEngine> shared = *engine;
  std::string eicar = Eicar();
  std::string clam = ClamExe();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string& data = (i + t) % 2 == 0 ? eicar : clam;
        auto outcome = shared->Scan(data, "", ClamavScanMode::kLeaf);
        if (!outcome || outcome->kind != ClamavScanOutcome::Kind::kInfected) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ClamavEngineTest, LoadErrorsAreErrors) {
  TempDir dir;
  auto missing = ClamavEngine::Load(OptionsFor(dir.Path("no-such-dir")));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), core::ErrorCode::kIo);

  std::filesystem::create_directories(dir.Path("empty"));
  auto empty = ClamavEngine::Load(OptionsFor(dir.Path("empty")));
  ASSERT_FALSE(empty.has_value());

  dir.WriteFile("bad/broken.ndb", "this is not a signature\n");
  auto bad = ClamavEngine::Load(OptionsFor(dir.Path("bad")));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), core::ErrorCode::kCorrupt) << bad.error().ToString();
}

TEST(ClamavEngineTest, OfficialDatabaseWhenInstalled) {
  if (!std::filesystem::exists("/var/lib/clamav/main.cvd") &&
      !std::filesystem::exists("/var/lib/clamav/daily.cvd") &&
      !std::filesystem::exists("/var/lib/clamav/daily.cld")) {
    GTEST_SKIP() << "no official ClamAV database in /var/lib/clamav (cannot be downloaded here)";
  }
  auto engine = ClamavEngine::Load(OptionsFor("/var/lib/clamav"));
  ASSERT_TRUE(engine.has_value()) << engine.error().ToString();
  EXPECT_GT((*engine)->info().version, 0u);
  EXPECT_GT((*engine)->info().signature_count, 1000u);
  auto eicar = (*engine)->Scan(Eicar(), "", ClamavScanMode::kLeaf);
  ASSERT_TRUE(eicar.has_value());
  EXPECT_EQ(eicar->kind, ClamavScanOutcome::Kind::kInfected);
}

// ---- ClamavService ------------------------------------------------------------------------

TEST(ClamavServiceTest, StartFailsWithoutADatabase) {
  TempDir dir;
  ClamavServiceOptions options;
  options.engine = OptionsFor(dir.Path("nothing-here"));
  EXPECT_FALSE(ClamavService::Start(options).has_value());
}

TEST(ClamavServiceTest, ReloadSwapsEnginesWhileScansNeverGoUnanswered) {
  TempDir dir;
  ClamavServiceOptions options;
  options.engine = OptionsFor(BuildTestDatabase(dir));
  options.watch_interval = std::chrono::milliseconds(0);
  auto service = ClamavService::Start(options);
  ASSERT_TRUE(service.has_value()) << service.error().ToString();
  EXPECT_EQ((*service)->generation(), 1u);

  std::atomic<bool> done{false};
  std::atomic<int> scans{0};
  std::atomic<int> wrong{0};
  std::string eicar = Eicar();
  std::thread scanner([&] {
    while (!done.load()) {
      std::shared_ptr<const ClamavEngine> engine = (*service)->engine();
      auto outcome =
          engine ? engine->Scan(eicar, "", ClamavScanMode::kLeaf)
                 : core::Result<ClamavScanOutcome>(core::Fail(core::ErrorCode::kTempFail, "none"));
      if (!outcome || outcome->kind != ClamavScanOutcome::Kind::kInfected) ++wrong;
      ++scans;
    }
  });
  for (uint64_t want = 2; want <= 4; ++want) {
    (*service)->RequestReload();
    EXPECT_TRUE(WaitUntil([&] { return (*service)->generation() >= want; }));
  }
  int before = scans.load();
  EXPECT_TRUE(WaitUntil([&] { return scans.load() > before + 10; }));
  done = true;
  scanner.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(scans.load(), 10);
}

TEST(ClamavServiceTest, WatcherReloadsWhenTheDatabaseChanges) {
  TempDir dir;
  std::string db = BuildTestDatabase(dir);
  ClamavServiceOptions options;
  options.engine = OptionsFor(db);
  options.watch_interval = std::chrono::milliseconds(50);
  auto service = ClamavService::Start(options);
  ASSERT_TRUE(service.has_value());
  const std::string marker = "MOAT-RELOAD-MARKER-4d1f";
  auto marker_found = [&] {
    auto outcome = (*service)->engine()->Scan("xx " + marker + " yy", "", ClamavScanMode::kLeaf);
    return outcome && outcome->kind == ClamavScanOutcome::Kind::kInfected;
  };
  EXPECT_FALSE(marker_found());
  std::string hex;
  for (unsigned char c : marker) hex += fmt::format("{:02x}", c);
  WriteBinaryFile(db + "/marker.ndb", "Moat-Reload-Marker:0:*:" + hex + "\n");
  EXPECT_TRUE(WaitUntil(marker_found));
  EXPECT_EQ((*service)->engine()->info().signature_count, 7u);

  // A broken update is refused; the working engine stays and the error is kept.
  uint64_t generation = (*service)->generation();
  WriteBinaryFile(db + "/broken.ndb", "not a signature\n");
  EXPECT_TRUE(WaitUntil([&] { return (*service)->last_reload_error().has_value(); }));
  EXPECT_EQ((*service)->generation(), generation);
  EXPECT_TRUE(marker_found());
  std::filesystem::remove(db + "/broken.ndb");
  EXPECT_TRUE(WaitUntil([&] { return !(*service)->last_reload_error().has_value(); }));
  EXPECT_GT((*service)->generation(), generation);
}

TEST(ClamavServiceTest, ReloadNowReportsErrorsAndKeepsTheEngine) {
  TempDir dir;
  std::string db = BuildTestDatabase(dir);
  ClamavServiceOptions options;
  options.engine = OptionsFor(db);
  options.watch_interval = std::chrono::milliseconds(0);
  auto service = ClamavService::Start(options);
  ASSERT_TRUE(service.has_value());
  std::shared_ptr<const ClamavEngine> first = (*service)->engine();
  WriteBinaryFile(db + "/broken.hdb", "zz:yy\n");
  EXPECT_FALSE((*service)->ReloadNow().has_value());
  EXPECT_EQ((*service)->engine(), first);
  std::filesystem::remove(db + "/broken.hdb");
  EXPECT_TRUE((*service)->ReloadNow().has_value());
  EXPECT_NE((*service)->engine(), first);
}

}  // namespace
}  // namespace moat::scanners
