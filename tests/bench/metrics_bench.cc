// metrics_bench.cc - what recording a metric costs on the message path, alone and with every
// thread updating the same series, and what a scrape (Render) of a daemon-sized registry costs.
//
//   build/bench/metrics_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/metrics.h"

namespace moat::core {
namespace {

MetricsRegistry& Registry() {
  static MetricsRegistry* registry = [] {
    auto* r = new MetricsRegistry;
    r->AddCounterFamily("bench_messages_total", "", {"bank", "verdict"});
    r->AddHistogramFamily("bench_stage_seconds", "", {"stage"}, kLatencyBuckets);
    r->AddCounter("bench_plain_total", "");
    return r;
  }();
  return *registry;
}

CounterFamily& Messages() {
  static CounterFamily& family =
      Registry().AddCounterFamily("bench_hot_total", "", {"bank", "verdict"});
  return family;
}

// A cached series (what a hot path keeps): one relaxed atomic add.
void BM_CounterIncrement(benchmark::State& state) {
  static Counter& counter = Registry().AddCounter("bench_counter_total", "");
  for (auto _ : state) counter.Increment();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterIncrement)->ThreadRange(1, 8)->UseRealTime();

// Finding the series by label values first (reader lock + map lookup), as RecordMessage does.
void BM_LabelledIncrement(benchmark::State& state) {
  const std::string bank = "inbound", verdict = "CLEAN";
  for (auto _ : state) Messages().WithLabels({bank, verdict}).Increment();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LabelledIncrement)->ThreadRange(1, 8)->UseRealTime();

void BM_HistogramObserve(benchmark::State& state) {
  static Histogram& histogram =
      Registry().AddHistogram("bench_latency_seconds", "", kLatencyBuckets);
  double value = 0.0001;
  for (auto _ : state) {
    histogram.Observe(value);
    value = value > 30 ? 0.0001 : value * 1.7;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve)->ThreadRange(1, 8)->UseRealTime();

// A scrape of a registry the size of moat-filterd's: ~20 counter series, 10 stage histograms.
void BM_Render(benchmark::State& state) {
  MetricsRegistry registry;
  CounterFamily& messages = registry.AddCounterFamily("m_total", "Messages.", {"bank", "verdict"});
  for (const char* bank : {"inbound", "originating"}) {
    for (const char* verdict : {"CLEAN", "SPAMMY", "BAD-HEADER", "SPAM", "UNCHECKED", "BANNED",
                                "VIRUS", "TEMPFAIL"}) {
      messages.WithLabels({bank, verdict}).Increment(12345);
    }
  }
  HistogramFamily& stages =
      registry.AddHistogramFamily("s_seconds", "Stages.", {"stage"}, kLatencyBuckets);
  for (const char* stage : {"received", "decompose", "clamav", "banned", "header", "spam", "dkim",
                            "x-virus-scanned", "finish", "other"}) {
    stages.WithLabels({stage}).Observe(0.003);
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = registry.Render();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Render);

}  // namespace
}  // namespace moat::core

BENCHMARK_MAIN();
