// quarantine_store_test.cc - the store end to end on a real directory: store, read, list, damage,
// unknown IDs, delete, expiry, recovery at open, several threads and several processes at once.
#include "quarantine/quarantine_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "quarantine/message_file.h"
#include "tests/quarantine/quarantine_test_util.h"
#include "tests/support/test_support.h"

namespace moat::quarantine {
namespace {

using core::ErrorCode;
using test::SampleMessage;
using test::SampleMetadata;

constexpr const char* kUnknownId = "20261121-080757.123456-9f3ac2e17b4d";

class QuarantineStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<QuarantineStore> OpenStore(StoreRole role = StoreRole::kWriter) {
    StoreOptions options;
    options.directory = dir_.path();
    options.role = role;
    options.clock = clock_.Function();
    auto store = QuarantineStore::Open(options);
    EXPECT_TRUE(store) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }
  std::string StoreSample(QuarantineStore& store, int n, ContentClass c = ContentClass::kSpam) {
    auto id = store.Store(SampleMessage(n), SampleMetadata(c));
    EXPECT_TRUE(id) << id.error().ToString();
    return id.value_or("");
  }

  testing::TempDir dir_;
  test::FakeClock clock_;
};

TEST_F(QuarantineStoreTest, StoresDurablyAndReadsBack) {
  auto store = OpenStore();
  std::string message = SampleMessage(1);
  auto id = store->Store(message, SampleMetadata());
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_TRUE(IsValidQuarantineId(*id));
  EXPECT_EQ(*QuarantineIdTime(*id), clock_.now);

  std::string path = store->MessagePath(*id);
  EXPECT_EQ(path, dir_.path() + "/" + MessageFileRelativePath(*id));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(test::FilesUnder(dir_.path()), std::vector<std::string>{path});  // no leftovers
  auto zcat = testing::RunCommand({"gzip", "-dc", path});
  EXPECT_EQ(zcat.out, message);

  auto read = store->ReadMessage(*id);
  ASSERT_TRUE(read) << read.error().ToString();
  EXPECT_EQ(*read, message);
  auto entry = store->GetEntry(*id);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->size, message.size());
  EXPECT_EQ(entry->metadata.trace_json, SampleMetadata().trace_json);
  // Taken from the message because the filter left them empty:
  EXPECT_EQ(entry->metadata.header_from, "\"Sender 1\" <sender1@example.net>");
  EXPECT_EQ(entry->metadata.subject, "Invoice 1 folded part");
  EXPECT_EQ(entry->metadata.message_id, "<msg1@example.net>");
}

TEST_F(QuarantineStoreTest, KeepsFilterSuppliedHeadersAndRepairsUtf8) {
  auto store = OpenStore();
  EntryMetadata m = SampleMetadata();
  m.subject = "R\xE9sum\xE9 decoded by the filter";  // Latin-1 bytes slipped through
  m.header_from = "Decoded Name <a@example.net>";
  auto id = store->Store(SampleMessage(2), m);
  ASSERT_TRUE(id);
  auto entry = store->GetEntry(*id);
  EXPECT_EQ(entry->metadata.subject, "R\xEF\xBF\xBDsum\xEF\xBF\xBD decoded by the filter");
  EXPECT_EQ(entry->metadata.header_from, "Decoded Name <a@example.net>");
}

TEST_F(QuarantineStoreTest, ListsWithFiltersAndPages) {
  auto store = OpenStore();
  std::vector<std::string> ids;
  for (int n = 0; n < 12; ++n) {
    clock_.now += std::chrono::minutes(10);
    ids.push_back(StoreSample(*store, n, n % 3 == 0 ? ContentClass::kVirus : ContentClass::kSpam));
  }
  QuarantineQuery q;
  q.classes = {ContentClass::kVirus};
  auto virus = store->List(q);
  ASSERT_TRUE(virus);
  EXPECT_EQ(virus->total, 4u);
  ASSERT_EQ(virus->entries.size(), 4u);
  EXPECT_EQ(virus->entries[0].id, ids[9]);  // newest first

  QuarantineQuery page;
  page.limit = 5;
  page.offset = 10;
  auto last = store->List(page);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->total, 12u);
  ASSERT_EQ(last->entries.size(), 2u);
  EXPECT_EQ(last->entries[1].id, ids[0]);

  QuarantineQuery subject;
  subject.subject = "invoice 11";
  EXPECT_EQ(store->List(subject)->total, 1u);
  QuarantineQuery since;
  since.since = clock_.now - std::chrono::minutes(25);
  EXPECT_EQ(store->List(since)->total, 3u);
}

TEST_F(QuarantineStoreTest, UnknownAndMalformedIdsAreClearErrors) {
  auto store = OpenStore();
  ReleaseRequest release{{}, "cli:root", false};
  for (auto [id, code] :
       std::vector<std::pair<std::string, ErrorCode>>{{kUnknownId, ErrorCode::kNotFound},
                                                      {"../../etc/passwd", ErrorCode::kInvalid},
                                                      {"", ErrorCode::kInvalid}}) {
    auto entry = store->GetEntry(id);
    ASSERT_FALSE(entry);
    EXPECT_EQ(entry.error().code(), code) << id;
    EXPECT_EQ(store->ReadMessage(id).error().code(), code) << id;
    EXPECT_EQ(store->PrepareRelease(id, release).error().code(), code) << id;
    EXPECT_EQ(store->Delete(id, "cli:root").error().code(), code) << id;
  }
  EXPECT_NE(store->GetEntry(kUnknownId).error().message().find(kUnknownId), std::string::npos);
}

TEST_F(QuarantineStoreTest, CorruptFileIsDamagedInShowReleaseAndList) {
  auto store = OpenStore();
  std::string id = StoreSample(*store, 1);
  std::string other = StoreSample(*store, 2);
  std::string path = store->MessagePath(id);
  std::string bytes = testing::ReadTextFile(path);
  bytes[bytes.size() - 20] ^= 0x40;
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; }

  auto read = store->ReadMessage(id);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(read.error().message().find("damaged"), std::string::npos) << read.error().message();
  auto release = store->PrepareRelease(id, {{}, "cli:root", false});
  ASSERT_FALSE(release);
  EXPECT_EQ(release.error().code(), ErrorCode::kCorrupt);
  EXPECT_FALSE(store->GetEntry(id)->damage.empty());  // recorded in the index

  auto page = store->List(QuarantineQuery{});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->entries.size(), 2u);
  for (const QuarantineEntry& e : page->entries) {
    EXPECT_EQ(e.damage.empty(), e.id == other) << e.id << ": " << e.damage;
  }
  EXPECT_TRUE(store->ReadMessage(other));
}

TEST_F(QuarantineStoreTest, MissingFileIsDamagedInShowReleaseAndList) {
  auto store = OpenStore();
  std::string id = StoreSample(*store, 1);
  ASSERT_EQ(::unlink(store->MessagePath(id).c_str()), 0);

  auto page = store->List(QuarantineQuery{});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].damage, "message file missing");

  auto read = store->ReadMessage(id);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(read.error().message().find("missing"), std::string::npos);
  test::FakeSender sender;
  auto released = store->Release(id, {{}, "cli:root", false}, sender);
  ASSERT_FALSE(released);
  EXPECT_EQ(released.error().code(), ErrorCode::kCorrupt);
  EXPECT_TRUE(sender.calls.empty());
  EXPECT_EQ(store->GetEntry(id)->damage, "message file missing");
  EXPECT_EQ(store->GetEntry(id)->state, EntryState::kHeld);
}

TEST_F(QuarantineStoreTest, DeleteRecordsWhoAndRemovesTheFile) {
  auto store = OpenStore();
  std::string id = StoreSample(*store, 1);
  clock_.now += std::chrono::hours(1);
  ASSERT_TRUE(store->Delete(id, "web:alice\r\nX-Evil: 1"));
  EXPECT_FALSE(std::filesystem::exists(store->MessagePath(id)));
  auto entry = store->GetEntry(id);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->state, EntryState::kDeleted);
  ASSERT_EQ(entry->history.size(), 1u);
  EXPECT_EQ(entry->history[0].kind, EntryEvent::Kind::kDelete);
  EXPECT_EQ(entry->history[0].actor, "web:alice__X-Evil:_1");
  EXPECT_EQ(entry->history[0].time, clock_.now);

  EXPECT_EQ(store->Delete(id, "cli:root").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->ReadMessage(id).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->List(QuarantineQuery{})->total, 0u);
}

TEST_F(QuarantineStoreTest, ExpiryRemovesOldEntriesFilesAndRows) {
  auto store = OpenStore();
  TimePoint start = clock_.now;
  std::vector<std::string> ids;
  for (int day = 0; day < 40; ++day) {
    clock_.now = start + std::chrono::hours(24 * day);
    ids.push_back(StoreSample(*store, day));
  }
  ASSERT_TRUE(store->Delete(ids[2], "cli:root"));  // deleted rows expire too
  TimePoint now = start + std::chrono::hours(24 * 40);
  auto report = store->ExpireOlderThan(std::chrono::hours(24 * 30), now);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->entries_removed, 10u);  // days 0..9 are older than 30 days at day 40
  EXPECT_EQ(report->files_removed, 9u);     // one file was gone with its deletion
  EXPECT_GT(report->bytes_freed, 0u);
  EXPECT_EQ(report->failures, 0u);
  for (int day = 0; day < 40; ++day) {
    bool kept = day >= 10;
    EXPECT_EQ(std::filesystem::exists(store->MessagePath(ids[day])), kept) << day;
    EXPECT_EQ(static_cast<bool>(store->GetEntry(ids[day])), kept) << day;
  }
  EXPECT_EQ(test::FilesUnder(dir_.path()).size(), 30u);
  auto again = store->ExpireOlderThan(std::chrono::hours(24 * 30), now);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->entries_removed, 0u);
}

TEST_F(QuarantineStoreTest, ReviewerCannotStoreAndNeedsAnExistingDirectory) {
  { auto writer = OpenStore(); }
  auto reviewer = OpenStore(StoreRole::kReviewer);
  auto stored = reviewer->Store(SampleMessage(1), SampleMetadata());
  ASSERT_FALSE(stored);
  EXPECT_TRUE(stored.error().temporary());

  StoreOptions missing;
  missing.directory = dir_.Path("does-not-exist");
  missing.role = StoreRole::kReviewer;
  auto opened = QuarantineStore::Open(missing);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), ErrorCode::kNotFound);
}

TEST_F(QuarantineStoreTest, RecoveryReindexesOrphansAndCleansUp) {
  std::string orphan, deleted, lost, kept;
  {
    auto store = OpenStore();
    orphan = StoreSample(*store, 1, ContentClass::kBanned);
    deleted = StoreSample(*store, 2);
    lost = StoreSample(*store, 3);
    kept = StoreSample(*store, 4);
    // The crash windows, one by one: a row that never got committed (orphan file), a delete
    // recorded without its unlink, a file lost under a row, an unfinished write.
    std::vector<std::string> erase = {orphan};
    ASSERT_TRUE(store->index().Erase(erase));
    ASSERT_TRUE(store->index().RecordEvent(
        deleted, {EntryEvent::Kind::kDelete, clock_.now, "cli:root", {}, ""}));
    ASSERT_EQ(::unlink(store->MessagePath(lost).c_str()), 0);
  }
  std::string orphan_path = dir_.path() + "/" + MessageFileRelativePath(orphan);
  std::string temporary = dir_.path() + "/" + MessageDirectoryRelativePath(kept) +
                          "/.20261121-000000.000000-000000000000.tmp";
  dir_.WriteFile(temporary.substr(dir_.path().size() + 1), "half a message");
  std::string foreign = dir_.WriteFile("messages/0/0/notes.txt", "operator's notes");
  std::string broken_id = "20261121-000000.000001-0000000000f0";
  std::string broken = dir_.WriteFile(MessageFileRelativePath(broken_id), "not gzip at all");

  auto store = OpenStore();
  const RecoveryReport& report = store->recovery_at_open();
  EXPECT_TRUE(report.ran);
  EXPECT_EQ(report.orphans_reindexed, 1u);
  EXPECT_EQ(report.deleted_files_removed, 1u);
  EXPECT_EQ(report.missing_files_marked, 1u);
  EXPECT_EQ(report.temporary_files_removed, 1u);
  EXPECT_EQ(report.foreign, std::vector<std::string>{foreign});
  EXPECT_EQ(report.unreadable, std::vector<std::string>{broken});

  auto reindexed = store->GetEntry(orphan);
  ASSERT_TRUE(reindexed) << reindexed.error().ToString();
  EXPECT_EQ(reindexed->metadata.content_class, ContentClass::kBanned);
  EXPECT_EQ(reindexed->metadata.trace_json, SampleMetadata().trace_json);
  EXPECT_EQ(reindexed->metadata.subject, "Invoice 1 folded part");
  EXPECT_EQ(reindexed->time, *QuarantineIdTime(orphan));
  EXPECT_EQ(*store->ReadMessage(orphan), SampleMessage(1));
  EXPECT_FALSE(std::filesystem::exists(store->MessagePath(deleted)));
  EXPECT_EQ(store->GetEntry(lost)->damage, "message file missing");
  EXPECT_FALSE(std::filesystem::exists(temporary));
  EXPECT_TRUE(std::filesystem::exists(foreign));  // not ours: left alone
  EXPECT_TRUE(std::filesystem::exists(broken));
  EXPECT_TRUE(store->ReadMessage(kept));
}

TEST_F(QuarantineStoreTest, RecoveryWaitsForLiveWriters) {
  auto writer = OpenStore();
  EXPECT_TRUE(writer->recovery_at_open().ran);
  std::string id = StoreSample(*writer, 1);
  std::vector<std::string> erase = {id};
  ASSERT_TRUE(writer->index().Erase(erase));  // looks like an orphan, but the writer lives
  auto reviewer = OpenStore(StoreRole::kReviewer);
  EXPECT_FALSE(reviewer->recovery_at_open().ran);
  EXPECT_FALSE(reviewer->Recover()->ran);
  EXPECT_EQ(reviewer->GetEntry(id).error().code(), ErrorCode::kNotFound);
  writer.reset();
  auto recovered = reviewer->Recover();
  ASSERT_TRUE(recovered);
  EXPECT_TRUE(recovered->ran);
  EXPECT_EQ(recovered->orphans_reindexed, 1u);
  EXPECT_TRUE(reviewer->GetEntry(id));
}

TEST_F(QuarantineStoreTest, ThreadsStoreAtOnce) {
  auto store = OpenStore();
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = store->Store(SampleMessage(t * 100 + i), SampleMetadata());
        if (id) ids[t].push_back(*id);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> all;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(ids[t].size(), static_cast<size_t>(kEach));
    for (int i = 0; i < kEach; ++i) {
      all.insert(ids[t][i]);
      EXPECT_EQ(*store->ReadMessage(ids[t][i]), SampleMessage(t * 100 + i));
    }
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(store->List(QuarantineQuery{})->total, all.size());
}

// Several writer processes (as after a restart overlap) and a reader process on one quarantine.
// The children are this test binary, re-run with a filter and an environment variable.
TEST(QuarantineChildProcess, StoreMany) {
  const char* directory = std::getenv("MOAT_QUARANTINE_CHILD_DIR");
  if (directory == nullptr) GTEST_SKIP() << "runs only as a child of ProcessesStoreAtOnce";
  int base = std::atoi(std::getenv("MOAT_QUARANTINE_CHILD_BASE"));
  StoreOptions options;
  options.directory = directory;
  auto store = QuarantineStore::Open(options);
  ASSERT_TRUE(store) << store.error().ToString();
  for (int i = 0; i < 30; ++i) {
    auto id = (*store)->Store(SampleMessage(base + i), SampleMetadata());
    ASSERT_TRUE(id) << id.error().ToString();
    QuarantineQuery q;
    q.limit = 5;
    ASSERT_TRUE((*store)->List(q));
  }
}

TEST_F(QuarantineStoreTest, ProcessesStoreAtOnce) {
  { auto created = OpenStore(); }
  std::string self = std::filesystem::read_symlink("/proc/self/exe");
  std::vector<std::unique_ptr<testing::Subprocess>> children;
  for (int c = 0; c < 3; ++c) {
    children.push_back(std::make_unique<testing::Subprocess>(
        std::vector<std::string>{self, "--gtest_filter=QuarantineChildProcess.StoreMany"},
        dir_.path(),
        std::map<std::string, std::string>{
            {"MOAT_QUARANTINE_CHILD_DIR", dir_.path()},
            {"MOAT_QUARANTINE_CHILD_BASE", std::to_string(c * 100)}}));
  }
  auto reviewer = OpenStore(StoreRole::kReviewer);
  for (auto& child : children) {
    auto status = child->Wait(std::chrono::seconds(120));
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << child->Stdout();
  }
  auto page = reviewer->List(QuarantineQuery{});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 90u);
}

}  // namespace
}  // namespace moat::quarantine
