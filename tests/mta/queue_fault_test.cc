// queue_fault_test.cc - the queue under failing disks and power cuts: a commit that fails leaves
// nothing behind, and after a crash at any point every acknowledged message is there, complete,
// and nothing half-written stays in incoming/.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "mta/queue_store.h"
#include "tests/mta/queue_test_util.h"
#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

using moat::testing::FaultInjector;
using moat::testing::FaultRule;
using testing::CrashingFileSystem;
using testing::FilesIn;
using testing::SampleContent;
using testing::SampleEnvelope;

class QueueFaultTest : public ::testing::Test {
 protected:
  void Open(const std::string& name, size_t spare_files = 0) {
    directory_ = dir_.Path(name);
    faults_ = std::make_shared<FaultInjector>();
    fs_ = std::make_shared<CrashingFileSystem>(faults_);
    QueueStoreOptions options = testing::StoreOptions(directory_, fs_);
    options.spare_files = spare_files;
    auto store = QueueStore::Open(std::move(options));
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = *store;
  }

  // After the power cut: a fresh store on the real file system runs start-up recovery.
  std::shared_ptr<QueueStore> Restart() {
    auto store = QueueStore::Open(testing::StoreOptions(directory_));
    EXPECT_TRUE(store) << store.error().ToString();
    auto report = (*store)->Recover();
    EXPECT_TRUE(report) << report.error().ToString();
    if (report && !report->corrupt.empty()) ADD_FAILURE() << report->corrupt.front();
    return *store;
  }

  std::vector<std::string> Incoming() { return FilesIn(directory_ + "/incoming"); }

  moat::testing::TempDir dir_;
  std::string directory_;
  std::shared_ptr<FaultInjector> faults_;
  std::shared_ptr<CrashingFileSystem> fs_;
  std::shared_ptr<QueueStore> store_;
};

TEST_F(QueueFaultTest, EveryFailingStepLeavesNothingBehind) {
  struct Case {
    const char* operation;
    int error;
    size_t partial_bytes;
  };
  const Case cases[] = {
      {"create", ENOSPC, 0}, {"write", ENOSPC, 1000}, {"write", EIO, 0},
      {"sync", EIO, 0},      {"close", EIO, 0},       {"rename", EIO, 0},
      {"fsync_dir", EIO, 0},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.operation);
    Open(fmt::format("queue{}", n++));
    faults_->Add(FaultRule{c.operation, "", 0, 1, {c.error, c.partial_bytes}});
    auto s = store_->Commit(store_->NewId(), SampleEnvelope(), SampleContent());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), core::ErrorCode::kIo);
    EXPECT_TRUE(s.error().temporary()) << "a queue failure must become a 4xx";
    if (c.error == ENOSPC) {
      EXPECT_NE(s.error().message().find("No space left"), std::string::npos)
          << s.error().message();
    }
    EXPECT_EQ(faults_->injected(), 1);
    EXPECT_EQ(Incoming(), std::vector<std::string>{}) << "nothing half-written in incoming/";
    // The next commit works: the failure left no state behind.
    std::string id = store_->NewId();
    ASSERT_TRUE(store_->Commit(id, SampleEnvelope(), SampleContent()));
    EXPECT_EQ(Incoming(), std::vector<std::string>{id});
  }
}

// The machine dies after K file-system calls, for every K over three commits: the commit that
// was running fails (not acknowledged), unsynced data is dropped, and recovery must find exactly
// the acknowledged messages.
TEST_F(QueueFaultTest, PowerCutAtEveryStep) {
  constexpr int kMessages = 3;
  int total_calls = 0;
  {
    Open("count");
    for (int i = 0; i < kMessages; ++i) {
      ASSERT_TRUE(store_->Commit(store_->NewId(), SampleEnvelope(), SampleContent()));
    }
    total_calls = faults_->calls("any");
  }
  ASSERT_GT(total_calls, kMessages * 5);
  for (int k = 0; k <= total_calls; ++k) {
    SCOPED_TRACE(fmt::format("power cut after {} calls", k));
    Open(fmt::format("cut{}", k));
    faults_->Add(FaultRule{"any", "", k, 0, {EIO, 0}});
    std::set<std::string> acknowledged;
    for (int i = 0; i < kMessages; ++i) {
      std::string id = store_->NewId();
      if (store_->Commit(id, SampleEnvelope(), SampleContent())) acknowledged.insert(id);
    }
    fs_->SimulateCrash();
    faults_->Clear();
    auto store = Restart();
    std::vector<std::string> found = Incoming();
    EXPECT_EQ(std::set<std::string>(found.begin(), found.end()), acknowledged);
    for (const std::string& id : acknowledged) {
      auto message = store->Read(QueueName::kIncoming, id, true);
      ASSERT_TRUE(message) << message.error().ToString();
      EXPECT_EQ(message->content, SampleContent());
    }
  }
}

// Delivered files are kept in spare/ and overwritten by new mail (QueueStore::Recycle). Three
// messages are delivered, then three new ones of other sizes are committed over the spares; the
// machine dies after K calls of that, for every K. Every acknowledged message must come back
// whole with its own content (none of a spare's old bytes), every file in incoming/ must read
// cleanly, and recovery empties spare/.
TEST_F(QueueFaultTest, PowerCutAtEveryStepWithReusedFiles) {
  constexpr int kMessages = 3;
  auto old_content = [](int i) { return SampleContent(9000 + 1000 * i); };
  auto new_content = [](int i) { return SampleContent(i == 1 ? 14000 : 2000 + 500 * i); };
  auto deliver_first_round = [&] {
    std::vector<std::string> ids;
    for (int i = 0; i < kMessages; ++i) {
      ids.push_back(store_->NewId());
      ASSERT_TRUE(store_->Commit(ids.back(), SampleEnvelope(), old_content(i)));
    }
    for (const std::string& id : ids) {
      auto file = store_->OpenFile(QueueName::kIncoming, id, true);
      ASSERT_TRUE(file) << file.error().ToString();
      ASSERT_TRUE(store_->Recycle(*file, QueueName::kIncoming));
    }
    ASSERT_EQ(store_->spare_files(), static_cast<size_t>(kMessages));
  };
  int total_calls = 0;
  {
    Open("reuse-count", 8);
    deliver_first_round();
    int before = faults_->calls("any");
    for (int i = 0; i < kMessages; ++i) {
      ASSERT_TRUE(store_->Commit(store_->NewId(), SampleEnvelope(), new_content(i)));
    }
    EXPECT_EQ(store_->spare_files(), 0u) << "every commit reused a spare";
    EXPECT_EQ(FilesIn(directory_ + "/spare"), std::vector<std::string>{});
    total_calls = faults_->calls("any") - before;
  }
  ASSERT_GT(total_calls, kMessages * 5);
  for (int k = 0; k <= total_calls; ++k) {
    SCOPED_TRACE(fmt::format("power cut after {} calls", k));
    Open(fmt::format("reuse-cut{}", k), 8);
    deliver_first_round();
    faults_->Add(FaultRule{"any", "", k, 0, {EIO, 0}});
    std::map<std::string, std::string> acknowledged;
    for (int i = 0; i < kMessages; ++i) {
      std::string id = store_->NewId();
      if (store_->Commit(id, SampleEnvelope(), new_content(i))) acknowledged[id] = new_content(i);
    }
    fs_->SimulateCrash();
    faults_->Clear();
    auto store = Restart();
    EXPECT_EQ(FilesIn(directory_ + "/spare"), std::vector<std::string>{});
    std::vector<std::string> found = Incoming();
    std::set<std::string> present(found.begin(), found.end());
    for (const auto& [id, content] : acknowledged) {
      ASSERT_TRUE(present.count(id)) << id << " was acknowledged and is lost";
      auto message = store->Read(QueueName::kIncoming, id, true);
      ASSERT_TRUE(message) << message.error().ToString();
      EXPECT_EQ(message->content, content);
    }
    for (const std::string& id : found) {
      auto message = store->Read(QueueName::kIncoming, id, true);
      EXPECT_TRUE(message) << id << ": " << message.error().ToString();
    }
  }
}

// Many writers at once; the disk starts failing part-way; then the power goes.
TEST_F(QueueFaultTest, ConcurrentWritersThenPowerCut) {
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(round);
    Open(fmt::format("concurrent{}", round));
    faults_->Add(FaultRule{"any", "", 40 + round * 37, 0, {EIO, 0}});
    std::mutex mutex;
    std::set<std::string> acknowledged;
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 8; ++i) {
          std::string id = store_->NewId();
          if (store_->Commit(id, SampleEnvelope(), SampleContent())) {
            std::lock_guard lock(mutex);
            acknowledged.insert(id);
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    fs_->SimulateCrash();
    faults_->Clear();
    auto store = Restart();
    std::vector<std::string> found = Incoming();
    std::set<std::string> present(found.begin(), found.end());
    for (const std::string& id : acknowledged) {
      EXPECT_TRUE(present.count(id)) << id << " was acknowledged and is lost";
    }
    for (const std::string& id : found) {
      auto message = store->Read(QueueName::kIncoming, id, true);
      ASSERT_TRUE(message) << message.error().ToString();
    }
  }
}

TEST_F(QueueFaultTest, UnsyncedRecipientMarksMayBeLostButNeverCorrupt) {
  Open("marks");
  std::string id = store_->NewId();
  ASSERT_TRUE(store_->Commit(id, SampleEnvelope(3), SampleContent()));
  {
    auto file = store_->OpenFile(QueueName::kIncoming, id, true);
    ASSERT_TRUE(file);
    const uint64_t first[] = {file->message().envelope.recipients[0].offset};
    ASSERT_TRUE(file->MarkRecipients(first, RecipientStatus::kDelivered));
    ASSERT_TRUE(file->Sync());
    const uint64_t second[] = {file->message().envelope.recipients[1].offset};
    ASSERT_TRUE(file->MarkRecipients(second, RecipientStatus::kDelivered));
  }
  fs_->SimulateCrash();
  auto store = Restart();
  auto message = store->Read(QueueName::kIncoming, id);
  ASSERT_TRUE(message) << message.error().ToString();
  EXPECT_EQ(message->envelope.recipients[0].status, RecipientStatus::kDelivered) << "synced";
  EXPECT_EQ(message->envelope.recipients[1].status, RecipientStatus::kPending)
      << "not synced: delivered again after the crash (a duplicate, never a loss)";
}

TEST_F(QueueFaultTest, ARealFullDisk) {
  moat::testing::ScopedTmpfs tmpfs(256 * 1024);
  if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.error();
  auto store = QueueStore::Open(testing::StoreOptions(tmpfs.path() + "/queue"));
  ASSERT_TRUE(store);
  std::vector<std::string> acknowledged;
  core::Error last{core::ErrorCode::kIo, ""};
  for (int i = 0; i < 1000; ++i) {
    std::string id = (*store)->NewId();
    auto s = (*store)->Commit(id, SampleEnvelope(), SampleContent(20000));
    if (!s) {
      last = s.error();
      break;
    }
    acknowledged.push_back(id);
  }
  ASSERT_FALSE(acknowledged.empty());
  ASSERT_LT(acknowledged.size(), 1000u) << "the disk never filled up";
  EXPECT_EQ(last.code(), core::ErrorCode::kIo);
  EXPECT_NE(last.message().find("No space left"), std::string::npos) << last.message();
  std::vector<std::string> found = FilesIn(tmpfs.path() + "/queue/incoming");
  EXPECT_EQ(found, acknowledged) << "no temporary or partial file stays behind";
  for (const std::string& id : acknowledged) {
    EXPECT_TRUE((*store)->Read(QueueName::kIncoming, id, true)) << id;
  }
}

}  // namespace
}  // namespace moat::mta
