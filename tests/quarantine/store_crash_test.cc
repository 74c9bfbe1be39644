// store_crash_test.cc - kill -9 right after Store() returned: the message must be in the store and
// in the index when the quarantine is opened again. The writer is a child process (this test
// binary re-run with a filter), so the kill is a real SIGKILL of a real process.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "quarantine/quarantine_store.h"
#include "tests/quarantine/quarantine_test_util.h"
#include "tests/support/test_support.h"

namespace moat::quarantine {
namespace {

constexpr const char* kDirectoryVariable = "MOAT_QUARANTINE_CRASH_DIR";
constexpr const char* kModeVariable = "MOAT_QUARANTINE_CRASH_MODE";

// Child: store messages, printing "stored <n> <id>" after each Store() returned. Mode "once"
// kills itself with SIGKILL the instant the first Store() returns; mode "loop" stores until the
// parent kills it.
TEST(QuarantineCrashChild, StoreThenDie) {
  const char* directory = std::getenv(kDirectoryVariable);
  if (directory == nullptr) GTEST_SKIP() << "runs only as a child of the crash tests";
  std::string mode = std::getenv(kModeVariable);
  StoreOptions options;
  options.directory = directory;
  auto store = QuarantineStore::Open(options);
  ASSERT_TRUE(store) << store.error().ToString();
  for (int n = 0;; ++n) {
    auto id = (*store)->Store(test::SampleMessage(n), test::SampleMetadata());
    if (!id) {
      std::fprintf(stderr, "store failed: %s\n", id.error().ToString().c_str());
      std::_Exit(3);
    }
    if (mode == "once") ::kill(::getpid(), SIGKILL);
    std::string line = fmt::format("stored {} {}\n", n, *id);
    (void)!::write(STDOUT_FILENO, line.data(), line.size());
  }
}

struct Stored {
  int n;
  std::string id;
};

std::vector<Stored> ParseStored(const std::string& out) {
  std::vector<Stored> stored;
  std::istringstream lines(out);
  std::string word, id;
  int n = 0;
  while (lines >> word) {
    if (word == "stored" && lines >> n >> id && IsValidQuarantineId(id)) stored.push_back({n, id});
  }
  return stored;
}

class StoreCrashTest : public ::testing::Test {
 protected:
  std::unique_ptr<testing::Subprocess> StartChild(const std::string& mode) {
    std::string self = std::filesystem::read_symlink("/proc/self/exe");
    return std::make_unique<testing::Subprocess>(
        std::vector<std::string>{self, "--gtest_filter=QuarantineCrashChild.StoreThenDie"},
        logs_.path(),
        std::map<std::string, std::string>{{kDirectoryVariable, dir_.path()},
                                           {kModeVariable, mode}});
  }
  std::unique_ptr<QuarantineStore> Reopen() {
    StoreOptions options;
    options.directory = dir_.path();
    auto store = QuarantineStore::Open(options);
    EXPECT_TRUE(store) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }
  testing::TempDir dir_;
  testing::TempDir logs_;
};

TEST_F(StoreCrashTest, KilledTheInstantStoreReturned) {
  auto child = StartChild("once");
  auto status = child->Wait(std::chrono::seconds(60));
  ASSERT_TRUE(status);
  ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << child->Stderr();

  auto store = Reopen();
  ASSERT_TRUE(store);
  auto page = store->List(QuarantineQuery{});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->total, 1u);
  const QuarantineEntry& entry = page->entries[0];
  EXPECT_EQ(entry.damage, "");
  EXPECT_EQ(*store->ReadMessage(entry.id), test::SampleMessage(0));
  EXPECT_EQ(store->GetEntry(entry.id)->metadata.trace_json, test::SampleMetadata().trace_json);
}

TEST_F(StoreCrashTest, KilledMidStreamLosesNothingAcknowledged) {
  auto child = StartChild("loop");
  ASSERT_TRUE(testing::WaitUntil([&] { return ParseStored(child->Stdout()).size() >= 25; },
                                 std::chrono::seconds(60)))
      << child->Stderr();
  child->Signal(SIGKILL);
  ASSERT_TRUE(child->Wait(std::chrono::seconds(10)));
  std::vector<Stored> acknowledged = ParseStored(child->Stdout());

  auto store = Reopen();
  ASSERT_TRUE(store);
  for (const Stored& s : acknowledged) {
    auto entry = store->GetEntry(s.id);
    ASSERT_TRUE(entry) << s.id << ": " << entry.error().ToString();
    auto message = store->ReadMessage(s.id);
    ASSERT_TRUE(message) << s.id << ": " << message.error().ToString();
    EXPECT_EQ(*message, test::SampleMessage(s.n));
  }
  // At most the one in flight beyond what was acknowledged, and nothing unfinished left over.
  QuarantineQuery all;
  all.limit = kMaxQueryLimit;
  auto page = store->List(all);
  ASSERT_TRUE(page);
  EXPECT_GE(page->total, acknowledged.size());
  EXPECT_LE(page->total, acknowledged.size() + 1);
  for (const QuarantineEntry& e : page->entries) EXPECT_EQ(e.damage, "") << e.id;
  for (const std::string& file : test::FilesUnder(dir_.path())) {
    EXPECT_FALSE(file.ends_with(".tmp")) << file;
  }
}

}  // namespace
}  // namespace moat::quarantine
