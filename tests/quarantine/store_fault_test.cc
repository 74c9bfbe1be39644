// store_fault_test.cc - failures while storing: every file-system step failing in turn, a full
// disk half-way through the write, the index refusing the row, and a real full tmpfs. After each:
// Store() returned a temporary error, no file and no row is left, and the store still works.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "quarantine/quarantine_store.h"
#include "tests/quarantine/quarantine_test_util.h"
#include "tests/support/fault_injection.h"
#include "tests/support/test_support.h"

namespace moat::quarantine {
namespace {

using core::ErrorCode;

class StoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    faults_ = std::make_shared<testing::FaultInjector>();
    StoreOptions options;
    options.directory = dir_.path();
    options.file_system = std::make_shared<test::FaultyFileSystem>(faults_);
    auto sqlite = SqliteIndex::Open(dir_.Path("index.sqlite"));
    ASSERT_TRUE(sqlite);
    auto index = std::make_unique<test::FailingIndex>(std::move(*sqlite));
    index_ = index.get();
    auto store = QuarantineStore::Open(options, std::move(index));
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
  }

  // Nothing half-stored: no message file, no temporary file, no row.
  void ExpectNoHalfEntry(const std::string& context) {
    EXPECT_EQ(test::FilesUnder(dir_.path()), std::vector<std::string>{}) << context;
    QuarantineQuery all;
    all.states = {};
    auto page = store_->List(all);
    ASSERT_TRUE(page) << context;
    EXPECT_EQ(page->total, 0u) << context;
  }

  void ExpectStoreStillWorks() {
    faults_->Clear();
    index_->fail_inserts = false;
    auto id = store_->Store(test::SampleMessage(9), test::SampleMetadata());
    ASSERT_TRUE(id) << id.error().ToString();
    EXPECT_EQ(*store_->ReadMessage(*id), test::SampleMessage(9));
  }

  testing::TempDir dir_;
  std::shared_ptr<testing::FaultInjector> faults_;
  test::FailingIndex* index_ = nullptr;
  std::unique_ptr<QuarantineStore> store_;
};

TEST_F(StoreFaultTest, EachFileSystemStepFailingLeavesNoHalfEntry) {
  struct Case {
    std::string operation;
    testing::Fault fault;
  };
  for (const Case& c : std::vector<Case>{{"create", {ENOSPC, 0}},
                                         {"write", {ENOSPC, 0}},
                                         {"write", {ENOSPC, 100}},  // full disk mid-file
                                         {"write", {EIO, 0}},
                                         {"fsync", {EIO, 0}},
                                         {"close", {EIO, 0}},
                                         {"rename", {ENOSPC, 0}},
                                         {"fsync_dir", {EIO, 0}}}) {
    std::string context = c.operation + " " + std::to_string(c.fault.partial_bytes);
    faults_->Clear();
    faults_->Add({c.operation, "/messages/", 0, 1, c.fault});
    int injected_before = faults_->injected();
    auto stored = store_->Store(test::SampleMessage(1), test::SampleMetadata());
    ASSERT_FALSE(stored) << context;
    EXPECT_EQ(stored.error().code(), ErrorCode::kIo) << context;
    EXPECT_TRUE(stored.error().temporary()) << context;
    EXPECT_NE(stored.error().message().find(std::strerror(c.fault.error)), std::string::npos)
        << context << ": " << stored.error().message();
    EXPECT_EQ(faults_->injected(), injected_before + 1) << context;
    ExpectNoHalfEntry(context);
  }
  ExpectStoreStillWorks();
}

TEST_F(StoreFaultTest, IndexInsertFailingRemovesTheFile) {
  index_->fail_inserts = true;
  auto stored = store_->Store(test::SampleMessage(1), test::SampleMetadata());
  ASSERT_FALSE(stored);
  EXPECT_TRUE(stored.error().temporary());
  EXPECT_NE(stored.error().message().find("disk is full"), std::string::npos);
  EXPECT_GE(faults_->calls("remove"), 1);
  ExpectNoHalfEntry("index insert");
  ExpectStoreStillWorks();
}

// The double fault: the row fails and so does removing the file. The file is a complete orphan
// and the next recovery indexes it (held twice at worst, since the sender retries; never lost).
TEST_F(StoreFaultTest, OrphanFromADoubleFaultIsRecoveredAtNextOpen) {
  index_->fail_inserts = true;
  faults_->Add({"remove", "/messages/", 0, 1, {EIO, 0}});
  auto stored = store_->Store(test::SampleMessage(1), test::SampleMetadata(ContentClass::kVirus));
  ASSERT_FALSE(stored);
  ASSERT_EQ(test::FilesUnder(dir_.path()).size(), 1u);
  store_.reset();
  StoreOptions options;
  options.directory = dir_.path();
  auto reopened = QuarantineStore::Open(options);
  ASSERT_TRUE(reopened);
  EXPECT_EQ((*reopened)->recovery_at_open().orphans_reindexed, 1u);
  auto page = (*reopened)->List(QuarantineQuery{});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->total, 1u);
  EXPECT_EQ(page->entries[0].metadata.content_class, ContentClass::kVirus);
  EXPECT_EQ(*(*reopened)->ReadMessage(page->entries[0].id), test::SampleMessage(1));
}

TEST_F(StoreFaultTest, ReadErrorIsTemporaryNotDamage) {
  auto id = store_->Store(test::SampleMessage(1), test::SampleMetadata());
  ASSERT_TRUE(id);
  faults_->Add({"read", "/messages/", 0, 1, {EIO, 0}});
  auto read = store_->ReadMessage(*id);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code(), ErrorCode::kIo);
  EXPECT_EQ(store_->GetEntry(*id)->damage, "");  // an I/O error may pass; the file is not damaged
  EXPECT_TRUE(store_->ReadMessage(*id));
}

// A genuinely full file system, not a simulation: a small tmpfs filled to the last byte.
TEST(StoreFullDiskTest, FullTmpfsFailsCleanlyAndRecoversWhenSpaceReturns) {
  testing::ScopedTmpfs tmpfs(4u << 20);
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << tmpfs.error();
  StoreOptions options;
  options.directory = tmpfs.path() + "/quarantine";
  auto store = QuarantineStore::Open(options);
  ASSERT_TRUE(store) << store.error().ToString();
  ASSERT_TRUE((*store)->Store(test::SampleMessage(1), test::SampleMetadata()));

  // Fill what is left with a file, byte by byte at the end.
  std::string filler = tmpfs.path() + "/filler";
  int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  std::string chunk(65536, 'f');
  while (::write(fd, chunk.data(), chunk.size()) > 0) {
  }
  while (::write(fd, "f", 1) > 0) {
  }
  ASSERT_EQ(errno, ENOSPC);
  ::close(fd);

  // Incompressible, so the gzip file needs real space.
  std::mt19937 random(7);
  std::string big = test::SampleMessage(2);
  for (int i = 0; i < 200'000; ++i) big.push_back(static_cast<char>('A' + random() % 60));
  auto stored = (*store)->Store(big, test::SampleMetadata());
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code(), ErrorCode::kIo);
  EXPECT_NE(stored.error().message().find("No space left on device"), std::string::npos)
      << stored.error().message();
  EXPECT_EQ(test::FilesUnder(options.directory).size(), 1u);  // only the first message
  EXPECT_EQ((*store)->List(QuarantineQuery{})->total, 1u);

  ASSERT_EQ(::unlink(filler.c_str()), 0);
  auto retried = (*store)->Store(big, test::SampleMetadata());
  ASSERT_TRUE(retried) << retried.error().ToString();
  EXPECT_EQ(*(*store)->ReadMessage(*retried), big);
  EXPECT_EQ((*store)->List(QuarantineQuery{})->total, 2u);
}

}  // namespace
}  // namespace moat::quarantine
