// sqlite_index_test.cc - the SQLite index: round trip, every list filter against a reference
// filter written here, pagination, history, expiry, migrations, and concurrent connections.
#include "quarantine/sqlite_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "tests/support/test_support.h"

namespace moat::quarantine {
namespace {

using core::ErrorCode;

QuarantineEntry MakeEntry(int n, ContentClass c, int64_t seconds, std::string sender,
                          std::vector<std::string> recipients, std::string subject,
                          std::optional<double> score) {
  QuarantineEntry e;
  e.time = FromUnixMicros((1'795'000'000 + seconds) * 1'000'000 + n);
  e.id = NewQuarantineId(e.time);
  e.size = 1000 + n;
  e.metadata.content_class = c;
  e.metadata.envelope_sender = std::move(sender);
  e.metadata.recipients = std::move(recipients);
  e.metadata.subject = std::move(subject);
  e.metadata.header_from = "From " + std::to_string(n) + " <" + e.metadata.envelope_sender + ">";
  e.metadata.score = score;
  e.metadata.reason = "reason " + std::to_string(n);
  e.metadata.policy_bank = "inbound";
  return e;
}

// 60 entries over 60 hours with a spread of classes, senders, recipients, subjects and scores.
std::vector<QuarantineEntry> Corpus() {
  std::vector<QuarantineEntry> entries;
  const ContentClass classes[] = {ContentClass::kSpam,      ContentClass::kVirus,
                                  ContentClass::kBanned,    ContentClass::kSpammy,
                                  ContentClass::kBadHeader, ContentClass::kUnchecked};
  for (int n = 0; n < 60; ++n) {
    ContentClass c = classes[n % 6];
    std::optional<double> score;
    if (c == ContentClass::kSpam || c == ContentClass::kSpammy) score = (n * 7 % 40) - 5 + 0.5;
    std::string sender = n % 10 == 0 ? "" : fmt::format("user{}@Domain{}.example", n % 7, n % 3);
    std::vector<std::string> rcpts = {fmt::format("rcpt{}@corp.example", n % 5)};
    if (n % 4 == 0) rcpts.push_back("boss@corp.example");
    std::string subject = n % 9 == 0 ? "50% off_today [offer]" : fmt::format("Invoice {}", n);
    entries.push_back(MakeEntry(n, c, n * 3600, sender, rcpts, subject, score));
  }
  return entries;
}

bool ContainsFolded(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  return needle.empty() || it != haystack.end();
}

// What the query means, written the slow and obvious way.
std::vector<std::string> Reference(const std::vector<QuarantineEntry>& all,
                                   const QuarantineQuery& q, uint64_t* total) {
  std::vector<const QuarantineEntry*> hits;
  for (const QuarantineEntry& e : all) {
    const EntryMetadata& m = e.metadata;
    if (!q.classes.empty() &&
        std::find(q.classes.begin(), q.classes.end(), m.content_class) == q.classes.end()) {
      continue;
    }
    if (!q.states.empty() &&
        std::find(q.states.begin(), q.states.end(), e.state) == q.states.end()) {
      continue;
    }
    if (q.since && e.time < *q.since) continue;
    if (q.until && e.time >= *q.until) continue;
    if (!ContainsFolded(m.envelope_sender, q.sender)) continue;
    bool rcpt = q.recipient.empty();
    for (const std::string& r : m.recipients) rcpt = rcpt || ContainsFolded(r, q.recipient);
    if (!rcpt) continue;
    if (!ContainsFolded(m.subject, q.subject) || !ContainsFolded(m.header_from, q.from)) continue;
    if (q.min_score && (!m.score || *m.score < *q.min_score)) continue;
    if (q.max_score && (!m.score || *m.score > *q.max_score)) continue;
    hits.push_back(&e);
  }
  auto key = [&](const QuarantineEntry* e) {
    // SQLite orders NULL below every number.
    double score = e->metadata.score.value_or(-1e300);
    return q.sort == SortField::kScore ? std::pair(score, e->id) : std::pair(0.0, e->id);
  };
  std::sort(hits.begin(), hits.end(),
            [&](auto* a, auto* b) { return q.descending ? key(a) > key(b) : key(a) < key(b); });
  *total = hits.size();
  std::vector<std::string> ids;
  for (size_t i = q.offset; i < hits.size() && ids.size() < q.limit; ++i)
    ids.push_back(hits[i]->id);
  return ids;
}

class SqliteIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteIndex::Open(dir_.Path("index.sqlite"));
    ASSERT_TRUE(opened) << opened.error().ToString();
    index_ = std::move(*opened);
  }
  testing::TempDir dir_;
  std::unique_ptr<SqliteIndex> index_;
};

TEST_F(SqliteIndexTest, InsertThenGetRoundTripsEveryField) {
  QuarantineEntry e = MakeEntry(1, ContentClass::kUnchecked, 0, "s@example.net",
                                {"a@example.com", "b@example.com"}, "Subj", std::nullopt);
  e.metadata.subclass = "encrypted";
  e.metadata.trace_json = R"({"verdict":"UNCHECKED","parts":[{"path":"1/2","encrypted":true}]})";
  e.metadata.message_id = "<m@example.net>";
  e.metadata.client_address = "2001:db8::1";
  ASSERT_TRUE(index_->Insert(e));
  auto got = index_->Get(e.id);
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->id, e.id);
  EXPECT_EQ(got->time, e.time);
  EXPECT_EQ(got->size, e.size);
  EXPECT_EQ(got->state, EntryState::kHeld);
  EXPECT_EQ(got->damage, "");
  EXPECT_TRUE(got->history.empty());
  const EntryMetadata& m = got->metadata;
  EXPECT_EQ(m.content_class, ContentClass::kUnchecked);
  EXPECT_EQ(m.subclass, "encrypted");
  EXPECT_EQ(m.reason, e.metadata.reason);
  EXPECT_EQ(m.trace_json, e.metadata.trace_json);
  EXPECT_EQ(m.envelope_sender, "s@example.net");
  EXPECT_EQ(m.recipients, e.metadata.recipients);
  EXPECT_EQ(m.header_from, e.metadata.header_from);
  EXPECT_EQ(m.subject, "Subj");
  EXPECT_EQ(m.message_id, "<m@example.net>");
  EXPECT_EQ(m.client_address, "2001:db8::1");
  EXPECT_EQ(m.policy_bank, "inbound");
  EXPECT_FALSE(m.score);

  auto duplicate = index_->Insert(e);
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code(), ErrorCode::kInvalid);
  auto missing = index_->Get("20261121-080757.123456-9f3ac2e17b4d");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(SqliteIndexTest, EveryFilterAgreesWithTheReference) {
  std::vector<QuarantineEntry> all = Corpus();
  ASSERT_TRUE(index_->InsertMany(all));
  TimePoint base = all.front().time;
  std::vector<std::pair<std::string, QuarantineQuery>> queries;
  auto add = [&](std::string name, auto edit) {
    QuarantineQuery q;
    q.limit = 1000;
    edit(q);
    queries.emplace_back(std::move(name), q);
  };
  add("everything", [](QuarantineQuery&) {});
  add("class SPAM", [](QuarantineQuery& q) { q.classes = {ContentClass::kSpam}; });
  add("classes VIRUS+BANNED", [](QuarantineQuery& q) {
    q.classes = {ContentClass::kVirus, ContentClass::kBanned};
  });
  add("class CLEAN (none)", [](QuarantineQuery& q) { q.classes = {ContentClass::kClean}; });
  add("since 20h", [&](QuarantineQuery& q) { q.since = base + std::chrono::hours(20); });
  add("since 20h30m", [&](QuarantineQuery& q) { q.since = base + std::chrono::minutes(1230); });
  add("until 10h", [&](QuarantineQuery& q) { q.until = base + std::chrono::hours(10); });
  add("window", [&](QuarantineQuery& q) {
    q.since = base + std::chrono::hours(5);
    q.until = base + std::chrono::hours(25);
  });
  add("sender substring, other case", [](QuarantineQuery& q) { q.sender = "USER3@domain"; });
  add("sender domain", [](QuarantineQuery& q) { q.sender = "domain2.example"; });
  add("recipient exact", [](QuarantineQuery& q) { q.recipient = "rcpt2@corp.example"; });
  add("recipient second of two", [](QuarantineQuery& q) { q.recipient = "boss@"; });
  add("subject", [](QuarantineQuery& q) { q.subject = "invoice 1"; });
  add("subject with % and _ literally", [](QuarantineQuery& q) { q.subject = "50% off_"; });
  add("percent alone", [](QuarantineQuery& q) { q.subject = "%"; });
  add("underscore is not a wildcard", [](QuarantineQuery& q) { q.subject = "Invoice_1"; });
  add("from", [](QuarantineQuery& q) { q.from = "From 1"; });
  add("score range", [](QuarantineQuery& q) {
    q.min_score = 5;
    q.max_score = 20;
  });
  add("min score only", [](QuarantineQuery& q) { q.min_score = 10; });
  add("combined", [&](QuarantineQuery& q) {
    q.classes = {ContentClass::kSpam, ContentClass::kSpammy};
    q.since = base + std::chrono::hours(3);
    q.sender = "@domain1";
    q.min_score = 0;
  });
  add("sort by score desc", [](QuarantineQuery& q) { q.sort = SortField::kScore; });
  add("sort by score asc, spam", [](QuarantineQuery& q) {
    q.sort = SortField::kScore;
    q.descending = false;
    q.classes = {ContentClass::kSpam};
  });
  add("oldest first", [](QuarantineQuery& q) { q.descending = false; });
  add("page 2 of 7", [](QuarantineQuery& q) {
    q.offset = 7;
    q.limit = 7;
  });
  add("offset past the end", [](QuarantineQuery& q) { q.offset = 500; });
  for (const auto& [name, query] : queries) {
    uint64_t expected_total = 0;
    std::vector<std::string> expected = Reference(all, query, &expected_total);
    auto page = index_->Query(query);
    ASSERT_TRUE(page) << name << ": " << page.error().ToString();
    std::vector<std::string> got;
    for (const QuarantineEntry& e : page->entries) got.push_back(e.id);
    EXPECT_EQ(got, expected) << name;
    EXPECT_EQ(page->total, expected_total) << name;
  }
  // The queries above are not all trivial: some match a few, none match all but "everything".
  QuarantineQuery spam;
  spam.classes = {ContentClass::kSpam};
  EXPECT_EQ(index_->Query(spam)->total, 10u);
}

TEST_F(SqliteIndexTest, PagesCoverEveryEntryOnce) {
  std::vector<QuarantineEntry> all = Corpus();
  ASSERT_TRUE(index_->InsertMany(all));
  std::vector<std::string> seen;
  QuarantineQuery q;
  q.limit = 7;
  for (q.offset = 0;; q.offset += q.limit) {
    auto page = index_->Query(q);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->total, all.size());
    if (page->entries.empty()) break;
    for (const QuarantineEntry& e : page->entries) {
      EXPECT_TRUE(e.metadata.trace_json.empty());  // lists leave traces out
      seen.push_back(e.id);
    }
  }
  std::vector<std::string> expected;
  for (const QuarantineEntry& e : all) expected.push_back(e.id);
  std::reverse(expected.begin(), expected.end());  // newest first
  EXPECT_EQ(seen, expected);
}

TEST_F(SqliteIndexTest, CountsByClassPerInterval) {
  std::vector<QuarantineEntry> all = Corpus();  // one an hour, classes cycling through six
  ASSERT_TRUE(index_->InsertMany(all));
  TimePoint since = all[12].time - std::chrono::microseconds(12);  // hour 12, exactly
  auto counts = index_->CountByClass(since, since + std::chrono::hours(24), std::chrono::hours(6));
  ASSERT_TRUE(counts) << counts.error().ToString();
  // Four 6-hour buckets, each holding one entry of each of the six classes.
  ASSERT_EQ(counts->size(), 24u);
  for (size_t i = 0; i < counts->size(); ++i) {
    EXPECT_EQ((*counts)[i].bucket, since + std::chrono::hours(6 * (i / 6))) << i;
    EXPECT_EQ((*counts)[i].count, 1u) << i;
  }
  auto spam = std::count_if(counts->begin(), counts->end(), [](const ClassCount& c) {
    return c.content_class == ContentClass::kSpam;
  });
  EXPECT_EQ(spam, 4);
  auto day = index_->CountByClass(all[0].time, all[59].time + std::chrono::seconds(1),
                                  std::chrono::hours(24 * 7));
  ASSERT_TRUE(day);
  uint64_t total = 0;
  for (const ClassCount& c : *day) total += c.count;
  EXPECT_EQ(total, 60u);
  EXPECT_FALSE(index_->CountByClass(since, since, std::chrono::hours(1)));
  EXPECT_FALSE(index_->CountByClass(since, since + std::chrono::hours(1), std::chrono::hours(0)));
}

TEST_F(SqliteIndexTest, RejectsBadQueries) {
  QuarantineQuery q;
  q.limit = kMaxQueryLimit + 1;
  auto too_many = index_->Query(q);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code(), ErrorCode::kInvalid);
  q.limit = 10;
  q.sender = "a\r\nb";
  auto line_break = index_->Query(q);
  ASSERT_FALSE(line_break);
  EXPECT_EQ(line_break.error().code(), ErrorCode::kInvalid);
}

TEST_F(SqliteIndexTest, EventsMoveTheStateAndBuildHistory) {
  QuarantineEntry e = MakeEntry(1, ContentClass::kSpam, 0, "s@x", {"r@y"}, "s", 9.0);
  ASSERT_TRUE(index_->Insert(e));
  EntryEvent release{EntryEvent::Kind::kRelease,
                     e.time + std::chrono::hours(1),
                     "cli:root",
                     {"r@y", "extra@y"},
                     "forced"};
  ASSERT_TRUE(index_->RecordEvent(e.id, release));
  auto got = index_->Get(e.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, EntryState::kReleased);
  ASSERT_EQ(got->history.size(), 1u);
  EXPECT_EQ(got->history[0].kind, EntryEvent::Kind::kRelease);
  EXPECT_EQ(got->history[0].time, release.time);
  EXPECT_EQ(got->history[0].actor, "cli:root");
  EXPECT_EQ(got->history[0].recipients, release.recipients);
  EXPECT_EQ(got->history[0].detail, "forced");

  EntryEvent deletion{
      EntryEvent::Kind::kDelete, e.time + std::chrono::hours(2), "web:alice", {}, ""};
  ASSERT_TRUE(index_->RecordEvent(e.id, deletion));
  got = index_->Get(e.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, EntryState::kDeleted);
  ASSERT_EQ(got->history.size(), 2u);
  EXPECT_EQ(got->history[1].kind, EntryEvent::Kind::kDelete);
  EXPECT_EQ(got->history[1].actor, "web:alice");

  QuarantineQuery visible;
  EXPECT_EQ(index_->Query(visible)->total, 0u);  // deleted entries are hidden by default
  visible.states = {};
  EXPECT_EQ(index_->Query(visible)->total, 1u);

  auto unknown = index_->RecordEvent("20261121-080757.123456-9f3ac2e17b4d", release);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_F(SqliteIndexTest, DamageIsRecordedAndCleared) {
  QuarantineEntry e = MakeEntry(1, ContentClass::kSpam, 0, "s@x", {"r@y"}, "s", 9.0);
  ASSERT_TRUE(index_->Insert(e));
  ASSERT_TRUE(index_->SetDamage(e.id, "message file missing"));
  EXPECT_EQ(index_->Get(e.id)->damage, "message file missing");
  auto ids = index_->AllIds();
  ASSERT_TRUE(ids);
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_TRUE((*ids)[0].damaged);
  ASSERT_TRUE(index_->SetDamage(e.id, ""));
  EXPECT_EQ(index_->Get(e.id)->damage, "");
  EXPECT_EQ(index_->SetDamage("20261121-080757.123456-9f3ac2e17b4d", "x").error().code(),
            ErrorCode::kNotFound);
}

TEST_F(SqliteIndexTest, ExpiryCandidatesAndEraseTakeHistoryAlong) {
  std::vector<QuarantineEntry> all = Corpus();
  ASSERT_TRUE(index_->InsertMany(all));
  ASSERT_TRUE(
      index_->RecordEvent(all[3].id, {EntryEvent::Kind::kRelease, all[3].time, "a", {"r@y"}, ""}));
  TimePoint cutoff = all[10].time;  // entries 0..9 are older
  std::vector<std::string> candidates;
  std::string after;
  for (;;) {
    auto batch = index_->ExpiryCandidates(cutoff, 3, after);
    ASSERT_TRUE(batch);
    if (batch->empty()) break;
    candidates.insert(candidates.end(), batch->begin(), batch->end());
    after = batch->back();
  }
  ASSERT_EQ(candidates.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(candidates[i], all[i].id);
  ASSERT_TRUE(index_->Erase(candidates));
  EXPECT_EQ(index_->Get(all[3].id).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(index_->AllIds()->size(), 50u);
  // History and trace went with the row: the ID can be inserted afresh.
  QuarantineEntry again = all[3];
  again.metadata.trace_json = "{}";
  ASSERT_TRUE(index_->Insert(again));
  EXPECT_TRUE(index_->Get(all[3].id)->history.empty());
}

// Separate connections on one file behave like separate processes: WAL lets readers run while
// writers insert, and the busy timeout queues the writers.
TEST_F(SqliteIndexTest, ConcurrentConnectionsLoseNothing) {
  constexpr int kWriters = 4, kPerWriter = 40;
  std::atomic<int> failures{0};
  std::atomic<bool> writing{true};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto index = SqliteIndex::Open(dir_.Path("index.sqlite"));
      if (!index) {
        ++failures;
        return;
      }
      for (int i = 0; i < kPerWriter; ++i) {
        QuarantineEntry e =
            MakeEntry(w * 1000 + i, ContentClass::kSpam, i, "s@x", {"r@y"}, "s", 1.0);
        if (!(*index)->Insert(e)) ++failures;
      }
    });
  }
  std::thread reader([&] {
    auto index = SqliteIndex::Open(dir_.Path("index.sqlite"));
    if (!index) {
      ++failures;
      return;
    }
    uint64_t last = 0;
    while (writing) {
      auto page = (*index)->Query(QuarantineQuery{});
      if (!page || page->total < last) ++failures;  // never goes back
      if (page) last = page->total;
    }
  });
  for (std::thread& t : threads) t.join();
  writing = false;
  reader.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(index_->Query(QuarantineQuery{})->total, static_cast<uint64_t>(kWriters * kPerWriter));
}

Migration TestMigration2() {
  return {2, "entry tags",
          "ALTER TABLE entries ADD COLUMN tags TEXT NOT NULL DEFAULT '';"
          "CREATE INDEX entries_tags ON entries (tags);"};
}

TEST(SqliteMigrationTest, VersionOneDatabaseMigratesWhenVersionTwoIsAdded) {
  testing::TempDir dir;
  std::string path = dir.Path("index.sqlite");
  QuarantineEntry e = MakeEntry(1, ContentClass::kVirus, 0, "s@x", {"r@y"}, "old", std::nullopt);
  {
    auto v1 = SqliteIndex::Open(path);
    ASSERT_TRUE(v1);
    EXPECT_EQ(*(*v1)->schema_version(), 1);
    ASSERT_TRUE((*v1)->Insert(e));
  }
  SqliteIndexOptions options;
  options.migrations.push_back(TestMigration2());
  {
    auto v2 = SqliteIndex::Open(path, options);
    ASSERT_TRUE(v2) << v2.error().ToString();
    EXPECT_EQ(*(*v2)->schema_version(), 2);
    auto got = (*v2)->Get(e.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->metadata.subject, "old");
  }
  // The new column exists, with its default on the old row, and the ledger names both versions.
  auto raw = core::SqliteConnection::Open(path, std::chrono::milliseconds(1000));
  ASSERT_TRUE(raw);
  auto tags = (*raw)->QueryInt("SELECT count(*) FROM entries WHERE tags = ''");
  ASSERT_TRUE(tags) << tags.error().ToString();
  EXPECT_EQ(tags->value_or(-1), 1);
  EXPECT_EQ((*raw)->QueryInt("SELECT count(*) FROM schema_migrations")->value_or(-1), 2);
  EXPECT_EQ((*raw)->QueryInt("PRAGMA user_version")->value_or(-1), 2);
  // Opening again applies nothing twice.
  auto again = SqliteIndex::Open(path, options);
  ASSERT_TRUE(again);
  EXPECT_EQ((*raw)->QueryInt("SELECT count(*) FROM schema_migrations")->value_or(-1), 2);
}

TEST(SqliteMigrationTest, RefusesNewerUnknownOrMisnumberedSchemas) {
  testing::TempDir dir;
  std::string path = dir.Path("index.sqlite");
  SqliteIndexOptions v2;
  v2.migrations.push_back(TestMigration2());
  ASSERT_TRUE(SqliteIndex::Open(path, v2));

  auto older_binary = SqliteIndex::Open(path);  // knows only version 1
  ASSERT_FALSE(older_binary);
  EXPECT_EQ(older_binary.error().code(), ErrorCode::kInvalid);
  EXPECT_NE(older_binary.error().message().find("newer"), std::string::npos);

  SqliteIndexOptions other_branch;
  other_branch.migrations.push_back({2, "something else", "SELECT 1;"});
  auto mismatch = SqliteIndex::Open(path, other_branch);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code(), ErrorCode::kInvalid);

  SqliteIndexOptions gap;
  gap.migrations.push_back({3, "skips two", "SELECT 1;"});
  EXPECT_EQ(SqliteIndex::Open(dir.Path("other.sqlite"), gap).error().code(), ErrorCode::kInvalid);
}

TEST(SqliteMigrationTest, FailedMigrationLeavesThePreviousVersion) {
  testing::TempDir dir;
  std::string path = dir.Path("index.sqlite");
  QuarantineEntry e = MakeEntry(1, ContentClass::kVirus, 0, "s@x", {"r@y"}, "kept", std::nullopt);
  ASSERT_TRUE((*SqliteIndex::Open(path))->Insert(e));
  SqliteIndexOptions broken;
  broken.migrations.push_back(
      {2, "half broken", "ALTER TABLE entries ADD COLUMN tags TEXT; THIS IS NOT SQL;"});
  auto failed = SqliteIndex::Open(path, broken);
  ASSERT_FALSE(failed);
  auto v1 = SqliteIndex::Open(path);
  ASSERT_TRUE(v1) << v1.error().ToString();
  EXPECT_EQ(*(*v1)->schema_version(), 1);
  EXPECT_EQ((*v1)->Get(e.id)->metadata.subject, "kept");
  // The column of the failed migration was rolled back with it: version 2 applies cleanly now.
  SqliteIndexOptions fixed;
  fixed.migrations.push_back(TestMigration2());
  EXPECT_TRUE(SqliteIndex::Open(path, fixed));
}

TEST(SqliteIndexOpenTest, NotADatabaseIsCorrupt) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("index.sqlite", std::string(8192, 'x'));
  auto opened = SqliteIndex::Open(path);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), ErrorCode::kCorrupt) << opened.error().ToString();
}

}  // namespace
}  // namespace moat::quarantine
