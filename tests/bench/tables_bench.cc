// tables_bench.cc - lookup tables: load time and lookups per second.
//
//   build/bench/tables_bench [--benchmark_filter=...]
//
// At start it writes, into a temporary directory, a 1,000,000-entry texthash table
// ("userN@domainM.example smtp:[10.x.y.z]:25", like a big relay_recipient or transport table) and
// a 1,000-line pcre table (a mix of anchored address rules with captures, domain rules and
// unanchored content rules, like a large virtual or header_checks table). Lookups go through
// OpenTable(), i.e. with the reload check every real lookup pays. Hits pick entries uniformly,
// so a pcre hit scans half the rules on average; a miss scans all of them.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/lookup_table.h"
#include "core/reloading_table.h"
#include "tests/support/test_support.h"

namespace {

constexpr int kTexthashEntries = 1'000'000;
constexpr int kPcreRules = 1'000;
constexpr int kSampleKeys = 65'536;

struct Fixture {
  moat::testing::TempDir dir;
  std::string texthash_spec;
  std::string pcre_spec;
  std::vector<std::string> texthash_hits, texthash_misses, pcre_hits, pcre_misses;

  Fixture() {
    std::string text;
    text.reserve(static_cast<size_t>(kTexthashEntries) * 48);
    for (int i = 0; i < kTexthashEntries; ++i) {
      text += fmt::format("user{}@domain{}.example\tsmtp:[10.{}.{}.{}]:25\n", i, i % 5000,
                          (i >> 16) & 255, (i >> 8) & 255, i & 255);
    }
    texthash_spec = "texthash:" + dir.WriteFile("recipients", text);

    std::string rules;
    for (int i = 0; i < kPcreRules; ++i) {
      switch (i % 3) {
        case 0:
          rules += fmt::format(
              "/^(\\S+)\\.(\\S+)@dept{}\\.example\\.com$/\t$1@dept{}.example.com\n", i, i);
          break;
        case 1:
          rules += fmt::format("/@(mail|smtp)\\.host{}\\.example\\.(org|net)$/\tsmtp:[host{}]:25\n",
                               i, i);
          break;
        default:
          rules += fmt::format("/^Subject:.*\\b(offer|deal){}\\b/\tREJECT rule {}\n", i, i);
      }
    }
    pcre_spec = "pcre:" + dir.WriteFile("virtual.pcre", rules);

    std::mt19937 random(42);
    std::uniform_int_distribution<int> entry(0, kTexthashEntries - 1);
    std::uniform_int_distribution<int> rule(0, kPcreRules - 1);
    for (int i = 0; i < kSampleKeys; ++i) {
      int e = entry(random);
      texthash_hits.push_back(fmt::format("User{}@Domain{}.example", e, e % 5000));
      texthash_misses.push_back(fmt::format("user{}@domain{}.example", e, (e + 1) % 5000));
      int r = rule(random);
      switch (r % 3) {
        case 0:
          pcre_hits.push_back(fmt::format("first.last@dept{}.example.com", r));
          break;
        case 1:
          pcre_hits.push_back(fmt::format("joe@smtp.host{}.example.net", r));
          break;
        default:
          pcre_hits.push_back(fmt::format("Subject: the best deal{} today", r));
      }
      pcre_misses.push_back(fmt::format("nobody{}@nowhere.example", i));
    }
  }
};

Fixture& TheFixture() {
  static Fixture fixture;
  return fixture;
}

std::shared_ptr<const moat::core::LookupTable> MustOpen(const std::string& spec) {
  auto table = moat::core::OpenTable(spec);
  if (!table) {
    fmt::print(stderr, "{}\n", table.error().message());
    std::abort();
  }
  return *table;
}

void BM_TexthashLoad1M(benchmark::State& state) {
  const std::string& spec = TheFixture().texthash_spec;
  for (auto _ : state) benchmark::DoNotOptimize(MustOpen(spec));
  state.SetItemsProcessed(state.iterations() * kTexthashEntries);
}
BENCHMARK(BM_TexthashLoad1M)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

void BM_PcreLoad1000(benchmark::State& state) {
  const std::string& spec = TheFixture().pcre_spec;
  for (auto _ : state) benchmark::DoNotOptimize(MustOpen(spec));
  state.SetItemsProcessed(state.iterations() * kPcreRules);
}
BENCHMARK(BM_PcreLoad1000)->Unit(benchmark::kMillisecond)->UseRealTime();

// One open table of each kind, shared by all benchmark threads (as daemon workers share a
// configuration snapshot).
const moat::core::LookupTable& Texthash() {
  static auto table = MustOpen(TheFixture().texthash_spec);
  return *table;
}
const moat::core::LookupTable& Pcre() {
  static auto table = MustOpen(TheFixture().pcre_spec);
  return *table;
}

void Lookups(benchmark::State& state, const moat::core::LookupTable& table,
             const std::vector<std::string>& keys, bool expect_found) {
  std::string value;
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto found = table.LookupInto(keys[i++ % keys.size()], value);
    if (!found || *found != expect_found) {
      state.SkipWithError("unexpected lookup result");
      break;
    }
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_TexthashLookupHit(benchmark::State& state) {
  Lookups(state, Texthash(), TheFixture().texthash_hits, true);
}
void BM_TexthashLookupMiss(benchmark::State& state) {
  Lookups(state, Texthash(), TheFixture().texthash_misses, false);
}
void BM_PcreLookupHit(benchmark::State& state) {
  Lookups(state, Pcre(), TheFixture().pcre_hits, true);
}
void BM_PcreLookupMiss(benchmark::State& state) {
  Lookups(state, Pcre(), TheFixture().pcre_misses, false);
}
BENCHMARK(BM_TexthashLookupHit)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_TexthashLookupMiss)->Threads(1)->UseRealTime();
BENCHMARK(BM_PcreLookupHit)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_PcreLookupMiss)->Threads(1)->UseRealTime();

// The compiled hash table without the reloading wrapper: what the reload check costs.
void BM_TexthashLookupHitNoReloadCheck(benchmark::State& state) {
  auto contents = dynamic_cast<const moat::core::ReloadingTable&>(Texthash()).contents();
  Lookups(state, *contents, TheFixture().texthash_hits, true);
}
BENCHMARK(BM_TexthashLookupHitNoReloadCheck)->Threads(1)->Threads(2)->UseRealTime();

// Lookup() (a new std::string per hit) against LookupInto() above.
void BM_TexthashLookupReturningString(benchmark::State& state) {
  const auto& table = Texthash();
  const auto& keys = TheFixture().texthash_hits;
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(table.Lookup(keys[i++ % keys.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TexthashLookupReturningString);

}  // namespace

BENCHMARK_MAIN();
