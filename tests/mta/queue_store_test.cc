// queue_store_test.cc - the queue store on a real directory: commit, read back, list, marks that
// survive reopening, schedules, moves, logs, deletes, concurrent writers, recovery rules.
#include "mta/queue_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "tests/mta/queue_test_util.h"
#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

using testing::FilesIn;
using testing::SampleContent;
using testing::SampleEnvelope;

class QueueStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = QueueStore::Open(testing::StoreOptions(dir_.Path("queue")));
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = *store;
  }

  std::string CommitSample(QueueName target = QueueName::kIncoming, int recipients = 2) {
    std::string id = store_->NewId();
    auto s = store_->Commit(id, SampleEnvelope(recipients), SampleContent(), target);
    EXPECT_TRUE(s) << s.error().ToString();
    return id;
  }

  moat::testing::TempDir dir_;
  std::shared_ptr<QueueStore> store_;
};

TEST_F(QueueStoreTest, OpenCreatesThePostfixQueues) {
  for (const char* name :
       {"incoming", "active", "deferred", "hold", "corrupt", "defer", "bounce", "trace"}) {
    EXPECT_TRUE(std::filesystem::is_directory(dir_.Path("queue/") + name)) << name;
  }
  auto again = QueueStore::Open(testing::StoreOptions(dir_.Path("queue"), nullptr, false));
  EXPECT_TRUE(again);
  auto missing = QueueStore::Open(testing::StoreOptions(dir_.Path("nope"), nullptr, false));
  EXPECT_FALSE(missing);
}

TEST_F(QueueStoreTest, CommitThenReadBackEverything) {
  QueueEnvelope envelope = SampleEnvelope(3);
  std::string content = SampleContent();
  std::string id = store_->NewId();
  ASSERT_TRUE(store_->Commit(id, envelope, content));
  EXPECT_EQ(FilesIn(store_->QueuePath(QueueName::kIncoming)), std::vector<std::string>{id})
      << "no temporary file stays behind";

  auto message = store_->Read(QueueName::kIncoming, id, /*with_content=*/true);
  ASSERT_TRUE(message) << message.error().ToString();
  EXPECT_EQ(message->id, id);
  EXPECT_EQ(message->queue, QueueName::kIncoming);
  EXPECT_EQ(message->content, content);
  EXPECT_EQ(message->envelope.sender, envelope.sender);
  EXPECT_EQ(message->envelope.attributes, envelope.attributes);
  ASSERT_EQ(message->envelope.recipients.size(), 3u);
  EXPECT_EQ(message->pending_recipients(), 3u);
  EXPECT_EQ(message->file_size, std::filesystem::file_size(store_->FilePath(QueueName::kIncoming,
                                                                            id)));
  // Without content the envelope is the same and the content is not loaded.
  auto light = store_->Read(QueueName::kIncoming, id);
  ASSERT_TRUE(light);
  EXPECT_TRUE(light->content.empty());
  EXPECT_EQ(light->envelope.recipients, message->envelope.recipients);

  auto where = store_->Locate(id);
  ASSERT_TRUE(where && *where);
  EXPECT_EQ(**where, QueueName::kIncoming);
}

TEST_F(QueueStoreTest, LargeMessagesAreReadInPieces) {
  std::string content = SampleContent(300 * 1024);
  std::string id = store_->NewId();
  ASSERT_TRUE(store_->Commit(id, SampleEnvelope(1), content));
  auto light = store_->Read(QueueName::kIncoming, id);
  ASSERT_TRUE(light) << light.error().ToString();
  EXPECT_EQ(light->content_length, content.size());
  auto file = store_->OpenFile(QueueName::kIncoming, id, false);
  ASSERT_TRUE(file);
  auto read = file->ReadContent();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, content);
}

TEST_F(QueueStoreTest, CommitToHoldAndDuplicateIdsRefused) {
  std::string id = CommitSample(QueueName::kHold);
  EXPECT_EQ(FilesIn(store_->QueuePath(QueueName::kHold)), std::vector<std::string>{id});
  auto again = store_->Commit(id, SampleEnvelope(), "x", QueueName::kHold);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), core::ErrorCode::kTempFail);
  auto read = store_->Read(QueueName::kHold, id, true);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->content, SampleContent()) << "the first message was not overwritten";
  auto active = store_->Commit(store_->NewId(), SampleEnvelope(), "x", QueueName::kActive);
  EXPECT_FALSE(active);
}

TEST_F(QueueStoreTest, RecipientMarksSurviveReopen) {
  std::string id = CommitSample(QueueName::kIncoming, 4);
  ASSERT_TRUE(store_->Move(id, QueueName::kIncoming, QueueName::kActive));
  std::vector<uint64_t> offsets;
  {
    auto file = store_->OpenFile(QueueName::kActive, id, /*writable=*/true);
    ASSERT_TRUE(file) << file.error().ToString();
    const auto& r = file->message().envelope.recipients;
    const uint64_t delivered[] = {r[0].offset, r[2].offset};
    const uint64_t failed[] = {r[3].offset};
    ASSERT_TRUE(file->MarkRecipients(delivered, RecipientStatus::kDelivered));
    ASSERT_TRUE(file->MarkRecipients(failed, RecipientStatus::kFailed));
    ASSERT_TRUE(file->Sync());
    EXPECT_EQ(file->message().pending_recipients(), 1u);
    const uint64_t bogus[] = {r[0].offset + 1};
    auto refused = file->MarkRecipients(bogus, RecipientStatus::kDelivered);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), core::ErrorCode::kInvalid);
  }
  auto reread = store_->Read(QueueName::kActive, id);
  ASSERT_TRUE(reread) << reread.error().ToString();
  const auto& r = reread->envelope.recipients;
  EXPECT_EQ(r[0].status, RecipientStatus::kDelivered);
  EXPECT_EQ(r[1].status, RecipientStatus::kPending);
  EXPECT_EQ(r[2].status, RecipientStatus::kDelivered);
  EXPECT_EQ(r[3].status, RecipientStatus::kFailed);
  EXPECT_EQ(reread->pending_recipients(), 1u);

  auto read_only = store_->OpenFile(QueueName::kActive, id, false);
  ASSERT_TRUE(read_only);
  const uint64_t one[] = {r[1].offset};
  EXPECT_FALSE(read_only->MarkRecipients(one, RecipientStatus::kDelivered));
}

// `moat queue` (another process) takes a message the queue manager is delivering: held, the
// deferral's reasons stay with it; deleted, the deferral leaves no log behind.
TEST_F(QueueStoreTest, DeferralOfAMessageTakenByAnotherProcess) {
  for (bool deleted : {false, true}) {
    std::string id = CommitSample(QueueName::kIncoming, 1);
    ASSERT_TRUE(store_->Move(id, QueueName::kIncoming, QueueName::kActive));
    auto file = store_->OpenFile(QueueName::kActive, id, true);
    ASSERT_TRUE(file);
    const auto& r = file->message().envelope.recipients;
    std::vector<RecipientLogEntry> notes = {
        {1700000000, r[0].offset, r[0].address, "4.4.1", "delayed", "refused"}};
    if (deleted) {
      ASSERT_TRUE(store_->Delete(QueueName::kActive, id));
    } else {
      ASSERT_TRUE(store_->Move(id, QueueName::kActive, QueueName::kHold));
    }
    auto deferred = store_->Defer(*file, QueueName::kActive, notes, 1700000600);
    ASSERT_FALSE(deferred);
    EXPECT_EQ(deferred.error().code(), core::ErrorCode::kNotFound);
    EXPECT_NE(deferred.error().message().find("moved or deleted by another process"),
              std::string::npos);
    EXPECT_EQ(std::filesystem::exists(dir_.Path("queue/defer/") + id), !deleted);
    if (!deleted) {
      auto head = store_->ReadHead(QueueName::kHold, id);
      ASSERT_TRUE(head);
      EXPECT_EQ(head->schedule.attempts, 1u);
    }
  }
}

TEST_F(QueueStoreTest, DeferralLogsReasonsUpdatesScheduleAndMoves) {
  std::string id = CommitSample(QueueName::kIncoming, 2);
  ASSERT_TRUE(store_->Move(id, QueueName::kIncoming, QueueName::kActive));
  auto file = store_->OpenFile(QueueName::kActive, id, true);
  ASSERT_TRUE(file);
  const auto& r = file->message().envelope.recipients;
  std::vector<RecipientLogEntry> notes = {
      {1700000000, r[0].offset, r[0].address, "4.4.1", "delayed",
       "connect to mx.example.com[192.0.2.1]:25: Connection refused"},
      {1700000000, r[1].offset, r[1].address, "4.2.2", "delayed",
       "host said: 452 4.2.2 Mailbox full\ttab\nnewline"},
  };
  ASSERT_TRUE(store_->Defer(*file, QueueName::kActive, notes, 1700000600));
  EXPECT_EQ(file->message().queue, QueueName::kDeferred);
  EXPECT_FALSE(std::filesystem::exists(store_->FilePath(QueueName::kActive, id)));

  auto head = store_->ReadHead(QueueName::kDeferred, id);
  ASSERT_TRUE(head) << head.error().ToString();
  EXPECT_EQ(head->schedule.next_attempt, 1700000600);
  EXPECT_EQ(head->schedule.attempts, 1u);
  EXPECT_GT(head->schedule.last_attempt, 0);
  auto log = store_->ReadLog(RecipientLogKind::kDefer, id);
  ASSERT_TRUE(log);
  EXPECT_EQ(*log, notes) << "TAB and newline inside a reason survive the log";

  // A torn last line (crash during an append) is ignored.
  {
    std::ofstream torn(dir_.Path("queue/defer/") + id, std::ios::app);
    torn << "1700000001\t" << r[0].offset << "\tuser0@exa";
  }
  auto again = store_->ReadLog(RecipientLogKind::kDefer, id);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 2u);

  // Second deferral from deferred/ (a flush that failed again) counts the attempt.
  ASSERT_TRUE(store_->Move(id, QueueName::kDeferred, QueueName::kActive));
  ASSERT_TRUE(store_->Defer(*file, QueueName::kActive, {}, 1700001800));
  head = store_->ReadHead(QueueName::kDeferred, id);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->schedule.attempts, 2u);

  ASSERT_TRUE(store_->Delete(QueueName::kDeferred, id));
  EXPECT_FALSE(std::filesystem::exists(dir_.Path("queue/defer/") + id));
  auto gone = store_->Delete(QueueName::kDeferred, id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), core::ErrorCode::kNotFound);
}

TEST_F(QueueStoreTest, MovesBetweenQueues) {
  std::string id = CommitSample();
  ASSERT_TRUE(store_->Move(id, QueueName::kIncoming, QueueName::kHold));
  EXPECT_EQ(**store_->Locate(id), QueueName::kHold);
  auto missing = store_->Move(id, QueueName::kIncoming, QueueName::kHold);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), core::ErrorCode::kNotFound);
  EXPECT_FALSE(store_->Move(id, QueueName::kHold, QueueName::kHold));
  ASSERT_TRUE(store_->Move(id, QueueName::kHold, QueueName::kDeferred));
  EXPECT_EQ(**store_->Locate(id), QueueName::kDeferred);
}

TEST_F(QueueStoreTest, BadIdsNeverTouchTheFileSystem) {
  for (const char* id : {"", "../../etc/passwd", "abc", "0123456789ABCDE/", ".tmp.X",
                         "0123456789abcde", "0123456ZZZZ0000"}) {
    auto read = store_->Read(QueueName::kIncoming, id);
    ASSERT_FALSE(read) << id;
    EXPECT_EQ(read.error().code(), core::ErrorCode::kInvalid) << id;
    EXPECT_EQ(store_->Delete(QueueName::kIncoming, id).error().code(), core::ErrorCode::kInvalid);
  }
}

TEST_F(QueueStoreTest, IdsAreUniqueAndSortByTime) {
  std::set<std::string> ids;
  std::string previous;
  auto t = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  QueueIdGenerator generator;
  for (int i = 0; i < 10000; ++i) {
    std::string id = generator.Next(t + std::chrono::microseconds(i / 3));
    ASSERT_TRUE(IsValidQueueId(id)) << id;
    EXPECT_TRUE(ids.insert(id).second);
    if (i % 3 == 0) {
      EXPECT_LT(previous, id) << "a later microsecond sorts later";
    }
    previous = id;
  }
  auto when = QueueIdTime(previous);
  ASSERT_TRUE(when);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(*when - t).count(), 9999 / 3);
}

TEST_F(QueueStoreTest, ConcurrentWritersAllLand) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::set<std::string> committed;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = store_->NewId();
        QueueEnvelope envelope = SampleEnvelope(1);
        envelope.sender = fmt::format("t{}-{}@example.org", t, i);
        if (!store_->Commit(id, envelope, SampleContent(2000 + i))) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mutex);
        committed.insert(id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(committed.size(), static_cast<size_t>(kThreads * kPerThread));
  auto listed = store_->List(QueueName::kIncoming);
  ASSERT_TRUE(listed);
  std::set<std::string> on_disk;
  for (const QueueEntry& e : *listed) {
    on_disk.insert(e.id);
    auto message = store_->Read(QueueName::kIncoming, e.id, true);
    ASSERT_TRUE(message) << message.error().ToString();
  }
  EXPECT_EQ(on_disk, committed);
  EXPECT_TRUE(std::is_sorted(listed->begin(), listed->end(),
                             [](const QueueEntry& a, const QueueEntry& b) { return a.id < b.id; }));
  EXPECT_LE(store_->directory_syncs(), committed.size());
}

// Writes `bytes` as queue file `id` of `queue` behind the store's back.
void PlantFile(QueueStore& store, QueueName queue, const std::string& id,
               const std::string& bytes) {
  std::ofstream out(store.FilePath(queue, id), std::ios::binary);
  out << bytes;
}

std::string EncodedFile(const QueueEnvelope& envelope, const std::string& content) {
  return EncodeQueueEnvelope(envelope, content.size()) + content + std::string(kEndRecord);
}

TEST_F(QueueStoreTest, RecoveryAppliesTheStartUpRules) {
  std::string good = CommitSample();
  std::string in_hold = CommitSample(QueueName::kHold);
  // An incoming file cut short: never acknowledged, removed.
  std::string whole = EncodedFile(SampleEnvelope(), SampleContent());
  std::string cut_id = store_->NewId();
  PlantFile(*store_, QueueName::kIncoming, cut_id, whole.substr(0, whole.size() - 1));
  std::string no_end_id = store_->NewId();
  PlantFile(*store_, QueueName::kIncoming, no_end_id, whole.substr(0, whole.size() - 2));
  // An incoming file that is damaged (not cut): corrupt/.
  std::string damaged_id = store_->NewId();
  PlantFile(*store_, QueueName::kIncoming, damaged_id, "garbage that is no queue file at all");
  // A temporary file of an interrupted commit: removed.
  PlantFile(*store_, QueueName::kIncoming, ".tmp." + store_->NewId(), whole.substr(0, 100));
  // Active files go back: never tried -> incoming, tried -> deferred.
  std::string fresh = CommitSample();
  ASSERT_TRUE(store_->Move(fresh, QueueName::kIncoming, QueueName::kActive));
  std::string tried = CommitSample();
  ASSERT_TRUE(store_->Move(tried, QueueName::kIncoming, QueueName::kActive));
  {
    auto file = store_->OpenFile(QueueName::kActive, tried, true);
    ASSERT_TRUE(file);
    ASSERT_TRUE(file->SetSchedule({0, 1, 1700000000, 0}));
  }
  // A truncated active file is damaged (it was acknowledged once): corrupt/.
  std::string cut_active = store_->NewId();
  PlantFile(*store_, QueueName::kActive, cut_active, whole.substr(0, whole.size() - 5));
  // A log without a message: removed.
  std::string orphan = store_->NewId();
  RecipientLogEntry entry{1, 2, "a@b", "4.0.0", "delayed", "x"};
  ASSERT_TRUE(store_->AppendLog(RecipientLogKind::kDefer, orphan, {&entry, 1}));
  ASSERT_TRUE(store_->AppendLog(RecipientLogKind::kDefer, good, {&entry, 1}));

  auto report = store_->Recover();
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->temporary_removed, 1u);
  EXPECT_EQ(report->incomplete_removed, 2u);
  EXPECT_EQ(report->active_to_incoming, 1u);
  EXPECT_EQ(report->active_to_deferred, 1u);
  EXPECT_EQ(report->orphan_logs_removed, 1u);
  ASSERT_EQ(report->corrupt.size(), 2u);

  std::vector<std::string> incoming = {good, fresh};
  std::sort(incoming.begin(), incoming.end());
  EXPECT_EQ(FilesIn(store_->QueuePath(QueueName::kIncoming)), incoming);
  EXPECT_EQ(FilesIn(store_->QueuePath(QueueName::kActive)), std::vector<std::string>{});
  EXPECT_EQ(FilesIn(store_->QueuePath(QueueName::kDeferred)), std::vector<std::string>{tried});
  EXPECT_EQ(FilesIn(store_->QueuePath(QueueName::kHold)), std::vector<std::string>{in_hold});
  std::vector<std::string> corrupt = {damaged_id, cut_active};
  std::sort(corrupt.begin(), corrupt.end());
  EXPECT_EQ(FilesIn(store_->QueuePath(QueueName::kCorrupt)), corrupt);
  EXPECT_EQ(FilesIn(dir_.Path("queue/defer")), std::vector<std::string>{good});
}

TEST_F(QueueStoreTest, OpeningACorruptDeferredFileMovesIt) {
  std::string whole = EncodedFile(SampleEnvelope(), SampleContent());
  std::string id = store_->NewId();
  whole[kQueueFileHeadSize] = '#';
  PlantFile(*store_, QueueName::kDeferred, id, whole);
  auto read = store_->Read(QueueName::kDeferred, id);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code(), core::ErrorCode::kCorrupt);
  EXPECT_TRUE(std::filesystem::exists(store_->FilePath(QueueName::kDeferred, id)))
      << "reading does not move";
  auto opened = store_->OpenFile(QueueName::kDeferred, id, true, /*quarantine_corrupt=*/true);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), core::ErrorCode::kCorrupt);
  EXPECT_NE(opened.error().message().find("moved to corrupt/"), std::string::npos);
  EXPECT_EQ(FilesIn(store_->QueuePath(QueueName::kCorrupt)), std::vector<std::string>{id});
}

}  // namespace
}  // namespace moat::mta
