// web_bench.cc - how fast the review page's own query answers with 100,000 held messages:
// QuarantineApi::List() as GET /api/quarantine runs it (parameters parsed, one page of 50 and the
// total count from the index, the page's entries checked on disk, the JSON written), and the
// dashboard's two per-hour series. No HTTP: cpp-httplib adds a constant per request.
//
//   ninja -C build web_bench && ./build/bench/web_bench
//
// The index is generated once (100,000 entries over 30 days, class shares and text as
// tests/bench/quarantine_bench.cc makes them, each with a 1.5 KB decision trace).
#include <benchmark/benchmark.h>

#include <random>

#include "cli/web_api.h"
#include "cli/web_dashboard.h"
#include "quarantine/quarantine_store.h"
#include "quarantine/sqlite_index.h"
#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

namespace q = moat::quarantine;

constexpr int kEntries = 100'000;
const q::TimePoint kNow = q::FromUnixMicros(1'795'248'000'000'000);  // 2026-11-21 08:00 UTC

class NoSender : public q::MessageSender {
 public:
  core::Result<q::SendOutcome> Send(std::string_view, std::span<const std::string>,
                                    std::string_view) override {
    return core::Fail(core::ErrorCode::kTempFail, "benchmarks do not send");
  }
};

struct Fixture {
  moat::testing::TempDir dir;
  std::unique_ptr<q::QuarantineStore> store;
  NoSender sender;
  std::unique_ptr<QuarantineApi> api;

  Fixture() {
    auto index = q::SqliteIndex::Open(dir.Path("index.sqlite"));
    if (!index) throw std::runtime_error(index.error().ToString());
    std::mt19937 random(2026);
    const std::pair<q::ContentClass, int> shares[] = {
        {q::ContentClass::kSpam, 50},      {q::ContentClass::kSpammy, 20},
        {q::ContentClass::kBadHeader, 10}, {q::ContentClass::kVirus, 5},
        {q::ContentClass::kBanned, 5},     {q::ContentClass::kUnchecked, 5},
        {q::ContentClass::kClean, 5}};
    const char* words[] = {"invoice", "payment",  "urgent", "meeting", "offer",  "delivery",
                           "account", "security", "update", "report",  "winner", "package"};
    std::string trace = R"({"verdict":"SPAM","score":9.1,"policy_bank":"inbound","findings":[)";
    for (int i = 0; i < 12; ++i) {
      trace += fmt::format(
          R"({}{{"stage":"rules","name":"RULE_{}","class":"SPAM","score":1.5,"part":"1/{}",)"
          R"("detail":"matched body text"}})",
          i ? "," : "", i * 37, i % 3);
    }
    trace += "]}";
    std::vector<q::QuarantineEntry> batch;
    for (int n = 0; n < kEntries; ++n) {
      q::QuarantineEntry e;
      e.time = kNow - std::chrono::hours(24 * 30) +
               std::chrono::microseconds(int64_t{30} * 86400 * 1'000'000 / kEntries * n);
      e.id = q::NewQuarantineId(e.time);
      int pick = static_cast<int>(random() % 100);
      for (auto [c, share] : shares) {
        if (pick < share) {
          e.metadata.content_class = c;
          break;
        }
        pick -= share;
      }
      q::EntryMetadata& m = e.metadata;
      if (m.content_class == q::ContentClass::kSpam ||
          m.content_class == q::ContentClass::kSpammy) {
        m.score = (random() % 300) / 10.0;
      }
      m.envelope_sender = fmt::format("user{}@sender{}.example", random() % 20000, random() % 3000);
      m.recipients = {fmt::format("staff{}@corp{}.example", random() % 2000, random() % 50)};
      m.subject = fmt::format("{} {} {} #{}", words[random() % 12], words[random() % 12],
                              words[random() % 12], n);
      m.header_from = "\"Someone\" <" + m.envelope_sender + ">";
      m.message_id = fmt::format("<{}@sender.example>", n);
      m.reason = "score 9.1 hits: BAYES_99,URIBL_BLACK,HTML_MESSAGE";
      m.trace_json = trace;
      m.client_address = "192.0.2.7";
      m.policy_bank = "inbound";
      e.size = 4000 + random() % 60000;
      batch.push_back(std::move(e));
      if (batch.size() == 10'000) {
        if (auto s = (*index)->InsertMany(batch); !s)
          throw std::runtime_error(s.error().ToString());
        batch.clear();
      }
    }
    q::StoreOptions options;
    options.directory = dir.path();
    options.role = q::StoreRole::kReviewer;
    options.recover_at_open = false;  // the messages' files are not generated, only their rows
    auto opened = q::QuarantineStore::Open(options, std::move(*index));
    if (!opened) throw std::runtime_error(opened.error().ToString());
    store = std::move(*opened);
    api = std::make_unique<QuarantineApi>(*store, sender, [] { return kNow; });
  }
};

Fixture& Shared() {
  static Fixture fixture;
  return fixture;
}

void RunList(benchmark::State& state, QueryParams params) {
  Fixture& f = Shared();
  size_t bytes = 0;
  uint64_t total = 0;
  for (auto _ : state) {
    ApiReply reply = f.api->List(params);
    if (reply.status != 200) {
      state.SkipWithError(reply.body.dump().c_str());
      return;
    }
    std::string body = reply.body.dump();  // what the server writes
    bytes = body.size();
    total = reply.body["total"];
    benchmark::DoNotOptimize(body);
  }
  state.counters["total"] = static_cast<double>(total);
  state.counters["json_bytes"] = static_cast<double>(bytes);
}

void BM_WebListFirstPage(benchmark::State& state) { RunList(state, {}); }
void BM_WebListClassVirus(benchmark::State& state) { RunList(state, {{"class", "VIRUS"}}); }
void BM_WebListLastDay(benchmark::State& state) { RunList(state, {{"since", "24h"}}); }
void BM_WebListDateRangeAndClasses(benchmark::State& state) {
  RunList(state, {{"class", "SPAM,SPAMMY"}, {"since", "2026-11-10"}, {"until", "2026-11-12"}});
}
void BM_WebListSubjectContains(benchmark::State& state) {
  RunList(state, {{"subject", "winner package"}});
}
void BM_WebListSenderContains(benchmark::State& state) {
  RunList(state, {{"sender", "user1234@"}});
}
void BM_WebListRecipientContains(benchmark::State& state) {
  RunList(state, {{"rcpt", "staff77@corp3"}});
}
void BM_WebListScoreRangeByScore(benchmark::State& state) {
  RunList(state, {{"min_score", "20"}, {"max_score", "25"}, {"sort", "score"}});
}
void BM_WebListLastPage(benchmark::State& state) {
  RunList(state, {{"offset", std::to_string(kEntries - 50)}});
}
void BM_WebListEverythingAtOnce(benchmark::State& state) {
  RunList(state, {{"class", "SPAM"},
                  {"since", "7d"},
                  {"subject", "offer"},
                  {"min_score", "5"},
                  {"rcpt", "corp1"},
                  {"limit", "100"}});
}

void BM_WebDashboard(benchmark::State& state) {
  Fixture& f = Shared();
  for (auto _ : state) {
    auto dashboard = BuildDashboard(f.store->index(), {"", ""}, kNow);
    if (!dashboard) {
      state.SkipWithError(dashboard.error().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(dashboard->dump());
  }
}

BENCHMARK(BM_WebListFirstPage)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebListClassVirus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebListLastDay)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebListDateRangeAndClasses)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebListSubjectContains)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebListSenderContains)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebListRecipientContains)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebListScoreRangeByScore)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebListLastPage)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebListEverythingAtOnce)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WebDashboard)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace moat::cli

BENCHMARK_MAIN();
