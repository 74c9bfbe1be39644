// quarantine_bench.cc - how fast the quarantine answers `moat quarantine list` and the web
// review's list with 100,000 entries, and how fast it holds messages.
//
// The index is generated once per run (100,000 entries over 30 days with realistic class shares,
// 20,000 senders, 2,000 recipients, subjects from a small vocabulary, a 1.5 KB decision trace
// each). Every list benchmark asks for one page of 50 and the total count, as the command and the
// web page do. Run:
//
//   ninja -C build quarantine_bench && ./build/bench/quarantine_bench
//
// TMPDIR chooses the disk (the store benchmarks fsync for real).
#include <benchmark/benchmark.h>

#include <random>

#include "quarantine/quarantine_store.h"
#include "quarantine/sqlite_index.h"
#include "tests/support/test_support.h"

namespace moat::quarantine {
namespace {

constexpr int kEntries = 100'000;
const TimePoint kNow = FromUnixMicros(1'795'248'000'000'000);  // 2026-11-21

std::string Trace(std::mt19937& random) {
  std::string findings;
  for (int i = 0; i < 12; ++i) {
    if (i > 0) findings += ",";
    findings += fmt::format(
        R"({{"stage":"rules","name":"RULE_{}","class":"SPAM","score":{:.1f},"part":"1/{}","detail":"matched body text"}})",
        random() % 500, (random() % 50) / 10.0, i % 3);
  }
  return fmt::format(R"({{"verdict":"SPAM","score":9.1,"policy_bank":"inbound","findings":[{}]}})",
                     findings);
}

// The shared 100,000-entry index, built on first use.
struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<SqliteIndex> index;
  std::vector<std::string> ids;

  Fixture() {
    index = std::move(*SqliteIndex::Open(dir.Path("index.sqlite")));
    std::mt19937 random(2026);
    const std::pair<ContentClass, int> shares[] = {
        {ContentClass::kSpam, 50}, {ContentClass::kSpammy, 20}, {ContentClass::kBadHeader, 10},
        {ContentClass::kVirus, 5}, {ContentClass::kBanned, 5},  {ContentClass::kUnchecked, 5},
        {ContentClass::kClean, 5}};
    const char* words[] = {"invoice", "payment",  "urgent", "meeting", "offer",  "delivery",
                           "account", "security", "update", "report",  "winner", "package"};
    std::vector<QuarantineEntry> batch;
    for (int n = 0; n < kEntries; ++n) {
      QuarantineEntry e;
      // Evenly over the last 30 days, oldest first.
      e.time = kNow - std::chrono::seconds(30 * 86400) +
               std::chrono::microseconds(int64_t{30} * 86400 * 1'000'000 / kEntries * n);
      e.id = NewQuarantineId(e.time);
      int pick = static_cast<int>(random() % 100);
      for (auto [c, share] : shares) {
        if (pick < share) {
          e.metadata.content_class = c;
          break;
        }
        pick -= share;
      }
      EntryMetadata& m = e.metadata;
      if (m.content_class == ContentClass::kSpam || m.content_class == ContentClass::kSpammy) {
        m.score = (random() % 300) / 10.0;
      }
      m.envelope_sender = fmt::format("user{}@sender{}.example", random() % 20000, random() % 3000);
      m.recipients = {fmt::format("staff{}@corp{}.example", random() % 2000, random() % 50)};
      if (n % 10 == 0) m.recipients.push_back("postmaster@corp1.example");
      m.subject = fmt::format("{} {} {} #{}", words[random() % 12], words[random() % 12],
                              words[random() % 12], n);
      m.header_from = "\"Someone\" <" + m.envelope_sender + ">";
      m.message_id = fmt::format("<{}.{}@sender.example>", n, random());
      m.reason = "score 9.1 hits: BAYES_99,URIBL_BLACK,HTML_MESSAGE,RDNS_NONE,MIME_HTML_ONLY";
      m.trace_json = Trace(random);
      m.client_address = "192.0.2.1";
      m.policy_bank = "inbound";
      e.size = 2000 + random() % 200000;
      ids.push_back(e.id);
      batch.push_back(std::move(e));
      if (batch.size() == 10'000) {
        if (!index->InsertMany(batch)) std::abort();
        batch.clear();
      }
    }
  }
};

Fixture& Shared() {
  static Fixture fixture;
  return fixture;
}

void RunQuery(benchmark::State& state, const QuarantineQuery& query) {
  SqliteIndex& index = *Shared().index;
  uint64_t total = 0;
  for (auto _ : state) {
    auto page = index.Query(query);
    if (!page) {
      state.SkipWithError(page.error().ToString().c_str());
      return;
    }
    total = page->total;
    benchmark::DoNotOptimize(page->entries.data());
  }
  state.counters["matches"] = static_cast<double>(total);
}

QuarantineQuery Page() { return QuarantineQuery{}; }

void BM_ListNewest(benchmark::State& state) { RunQuery(state, Page()); }
void BM_ListClassVirus(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.classes = {ContentClass::kVirus};
  RunQuery(state, q);
}
void BM_ListClassSpam(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.classes = {ContentClass::kSpam};
  RunQuery(state, q);
}
void BM_ListSinceOneDay(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.since = kNow - std::chrono::hours(24);
  RunQuery(state, q);
}
void BM_ListSenderSubstring(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.sender = "user1234@";
  RunQuery(state, q);
}
void BM_ListSenderDomain(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.sender = "@sender12.example";
  RunQuery(state, q);
}
void BM_ListSenderBroad(benchmark::State& state) {  // matches every entry
  QuarantineQuery q = Page();
  q.sender = ".example";
  RunQuery(state, q);
}
void BM_ListRecipient(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.recipient = "staff77@corp3.example";
  RunQuery(state, q);
}
void BM_ListSubject(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.subject = "urgent offer";
  RunQuery(state, q);
}
void BM_ListNoMatch(benchmark::State& state) {  // the worst case: every row looked at, twice
  QuarantineQuery q = Page();
  q.subject = "no such subject anywhere";
  RunQuery(state, q);
}
void BM_ListCombined(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.classes = {ContentClass::kSpam, ContentClass::kSpammy};
  q.since = kNow - std::chrono::hours(24 * 7);
  q.sender = ".example";
  q.min_score = 5;
  RunQuery(state, q);
}
void BM_ListByScore(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.sort = SortField::kScore;
  q.min_score = 20;
  RunQuery(state, q);
}
void BM_ListDeepPage(benchmark::State& state) {
  QuarantineQuery q = Page();
  q.offset = 99'000;
  RunQuery(state, q);
}

// The web dashboard's chart: held mail per class and hour over the last week.
void BM_CountByClassHourlyWeek(benchmark::State& state) {
  SqliteIndex& index = *Shared().index;
  for (auto _ : state) {
    auto counts =
        index.CountByClass(kNow - std::chrono::hours(24 * 7), kNow, std::chrono::hours(1));
    if (!counts) state.SkipWithError(counts.error().ToString().c_str());
    benchmark::DoNotOptimize(counts->data());
  }
}

void BM_GetWithTraceAndHistory(benchmark::State& state) {
  Fixture& f = Shared();
  size_t i = 0;
  for (auto _ : state) {
    auto entry = f.index->Get(f.ids[(i++ * 7919) % f.ids.size()]);
    if (!entry) state.SkipWithError(entry.error().ToString().c_str());
    benchmark::DoNotOptimize(entry->metadata.trace_json.data());
  }
}

// One index row committed with synchronous=FULL (one WAL fsync), on a 100,000-entry index.
void BM_IndexInsert(benchmark::State& state) {
  Fixture& f = Shared();
  std::mt19937 random(7);
  QuarantineEntry e;
  e.metadata.content_class = ContentClass::kSpam;
  e.metadata.envelope_sender = "bench@example.net";
  e.metadata.recipients = {"rcpt@example.com"};
  e.metadata.subject = "benchmark insert";
  e.metadata.trace_json = Trace(random);
  e.size = 5000;
  for (auto _ : state) {
    e.time = kNow + std::chrono::microseconds(random() % 1'000'000'000);
    e.id = NewQuarantineId(e.time);
    if (!f.index->Insert(e)) state.SkipWithError("insert failed");
  }
  state.SetItemsProcessed(state.iterations());
}

std::string BenchMessage(size_t size) {
  std::mt19937 random(9);
  std::string message =
      "From: bench@example.net\r\nTo: rcpt@example.com\r\nSubject: store benchmark\r\n\r\n";
  const char* words[] = {"lorem ", "ipsum ", "dolor ", "sit ", "amet ", "\r\n", "consectetur "};
  while (message.size() < size) message += words[random() % 7];
  return message;
}

EntryMetadata BenchMetadata() {
  std::mt19937 random(9);
  EntryMetadata m;
  m.content_class = ContentClass::kSpam;
  m.envelope_sender = "bench@example.net";
  m.recipients = {"rcpt@example.com"};
  m.trace_json = Trace(random);
  m.score = 9.1;
  return m;
}

// The whole Store(): gzip, write + fsync the file, rename, fsync the directory, insert the row
// (one WAL fsync). Real time: the fsyncs are the cost.
void BM_StoreMessage(benchmark::State& state) {
  testing::TempDir dir;
  StoreOptions options;
  options.directory = dir.path();
  options.compression_level = static_cast<int>(state.range(1));
  auto store = QuarantineStore::Open(options);
  if (!store) {
    state.SkipWithError(store.error().ToString().c_str());
    return;
  }
  std::string message = BenchMessage(static_cast<size_t>(state.range(0)));
  EntryMetadata m = BenchMetadata();
  for (auto _ : state) {
    if (!(*store)->Store(message, m)) state.SkipWithError("store failed");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(message.size()));
}

// Several filter workers storing at once into one store, as moat-filterd does.
void BM_StoreMessageParallel(benchmark::State& state) {
  static testing::TempDir dir;
  static std::unique_ptr<QuarantineStore> store = [] {
    StoreOptions options;
    options.directory = dir.path();
    return std::move(*QuarantineStore::Open(options));
  }();
  std::string message = BenchMessage(10'000);
  EntryMetadata m = BenchMetadata();
  for (auto _ : state) {
    if (!store->Store(message, m)) state.SkipWithError("store failed");
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ListNewest)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListClassVirus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListClassSpam)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListSinceOneDay)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListSenderSubstring)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListSenderDomain)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListSenderBroad)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListRecipient)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListSubject)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListNoMatch)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListCombined)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListByScore)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListDeepPage)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CountByClassHourlyWeek)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GetWithTraceAndHistory)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexInsert)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_StoreMessage)
    ->Args({10'000, 6})
    ->Args({100'000, 6})
    ->Args({100'000, 1})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_StoreMessageParallel)->Threads(4)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace moat::quarantine

BENCHMARK_MAIN();
