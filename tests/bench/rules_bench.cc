// rules_bench.cc - messages per second through the rule engine with SpamAssassin's stock rules.
//
// The corpus is every testdata/corpus/**/*.eml plus SpamAssassin's sample-*.txt. Each
// iteration checks one message (cycling through the corpus):
//   BM_CheckMessage      split (test-only splitter), build the view, evaluate all rules
//   BM_EvaluateOnly      evaluate a prebuilt view (the rule engine alone)
//   BM_BuildViewOnly     split and build the view (HTML rendering, URI extraction)
//   BM_LoadStockRules    read and compile the whole stock rule set
// items_per_second is messages/s. Set MOAT_BENCH_RULES_DIR to use other rules
// (default /usr/share/spamassassin, or Moat's rules/default when it is missing).
// tests/bench/rules_vs_spamassassin.sh runs this and `spamassassin -L` on the same messages.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "rules/message_view.h"
#include "rules/rule_evaluator.h"
#include "rules/rule_set.h"
#include "tests/rules/mime_splitter.h"
#include "tests/support/test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace moat::rules;

std::string RulesDir() {
  if (const char* dir = std::getenv("MOAT_BENCH_RULES_DIR")) return dir;
  if (fs::exists("/usr/share/spamassassin/50_scores.cf")) return "/usr/share/spamassassin";
  return moat::testing::SourcePath("rules/default");
}

const std::vector<std::string>& Corpus() {
  static const std::vector<std::string> kCorpus = [] {
    std::vector<std::string> files;
    for (const char* s : {"/usr/share/doc/spamassassin/examples/sample-nonspam.txt",
                          "/usr/share/doc/spamassassin/examples/sample-spam.txt"}) {
      if (fs::exists(s)) files.emplace_back(s);
    }
    for (const auto& e :
         fs::recursive_directory_iterator(moat::testing::SourcePath("testdata/corpus"))) {
      if (e.is_regular_file() && e.path().extension() == ".eml") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> messages;
    for (const auto& f : files) messages.push_back(moat::testing::ReadTextFile(f));
    return messages;
  }();
  return kCorpus;
}

const RuleSet& Rules() {
  static const std::shared_ptr<const RuleSet> kRules = [] {
    LoadOptions options;
    options.directories = {RulesDir()};
    return RuleSet::Load(options);
  }();
  return *kRules;
}

MessageView View(const std::string& raw) {
  ViewOptions options;
  options.uri_context = Rules().uri_context();
  return BuildMessageView(testing::SplitMessage(raw), options);
}

void BM_CheckMessage(benchmark::State& state) {
  const auto& corpus = Corpus();
  const RuleSet& rules = Rules();
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& raw = corpus[i++ % corpus.size()];
    Evaluation e = Evaluate(rules, View(raw));
    benchmark::DoNotOptimize(e.score);
    bytes += raw.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["messages"] = static_cast<double>(corpus.size());
  state.counters["rules"] = static_cast<double>(rules.report().total_loaded());
}
BENCHMARK(BM_CheckMessage)->Unit(benchmark::kMicrosecond);

void BM_EvaluateOnly(benchmark::State& state) {
  std::vector<MessageView> views;
  for (const auto& raw : Corpus()) views.push_back(View(raw));
  const RuleSet& rules = Rules();
  size_t i = 0, regex_runs = 0;
  for (auto _ : state) {
    Evaluation e = Evaluate(rules, views[i++ % views.size()]);
    regex_runs += e.regex_runs;
    benchmark::DoNotOptimize(e.score);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["regex_runs_per_msg"] =
      static_cast<double>(regex_runs) /
      static_cast<double>(std::max<int64_t>(1, state.iterations()));
}
BENCHMARK(BM_EvaluateOnly)->Unit(benchmark::kMicrosecond);

void BM_BuildViewOnly(benchmark::State& state) {
  const auto& corpus = Corpus();
  Rules();
  size_t i = 0;
  for (auto _ : state) {
    MessageView v = View(corpus[i++ % corpus.size()]);
    benchmark::DoNotOptimize(v.body.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BuildViewOnly)->Unit(benchmark::kMicrosecond);

void BM_LoadStockRules(benchmark::State& state) {
  LoadOptions options;
  options.directories = {RulesDir()};
  for (auto _ : state) {
    auto set = RuleSet::Load(options);
    benchmark::DoNotOptimize(set->rules().size());
  }
}
BENCHMARK(BM_LoadStockRules)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
