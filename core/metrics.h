// metrics.h - counters, gauges and histograms of a daemon, rendered in the Prometheus text
// exposition format (version 0.0.4) for its /metrics endpoint (metrics_http_server.h).
//
// Each daemon owns one MetricsRegistry and passes it (or the metric objects registered in it) to
// what records; there is no global registry. Metrics are registered at start-up; each has a name
// ([a-zA-Z_:][a-zA-Z0-9_:]*), a help text, and optionally label names ([a-zA-Z_][a-zA-Z0-9_]*,
// not "le", not starting with "__"). A labelled metric is a Family: WithLabels(values) finds or
// creates the series for those label values (in label-name order).
//
//   Counter    monotonic, Increment(n) / Add(seconds); rendered as `name value`
//   Gauge      Set() / Add(); rendered as `name value`
//   Histogram  fixed upper bounds given at registration (strictly increasing, finite);
//              Observe(v) counts v in the first bucket whose bound is >= v; rendered as
//              cumulative name_bucket{le="..."} series ending with le="+Inf", then name_sum and
//              name_count (name_count always equals the +Inf bucket)
//
// Rendering (Render()): runs the collect hooks (AddCollectHook: gauges that are read at scrape
// time, e.g. queue sizes or open sessions), then for each family in registration order a
// `# HELP` line (backslash and newline escaped), a `# TYPE` line and its series sorted by label
// values; label values are escaped as the format says (backslash, double quote, newline). Values
// print as the shortest decimal that reads back exactly, +Inf, -Inf or NaN.
//
// Cardinality: a family holds at most max_series series (default 200). Label values beyond that
// go to one overflow series whose every label value is "_overflow_", so a bug that feeds
// unbounded values (say, a client address) costs a bounded amount of memory.
//
// Ownership and lifetime: the registry owns every metric; references returned by Add*() and
// WithLabels() stay valid as long as the registry lives (series are never removed). Collect hooks
// must not outlive what they read: register them with the registry's owner.
//
// Thread safety: updates (Increment, Add, Set, Observe) are lock-free atomics and may run on any
// number of threads. WithLabels() takes the family's reader lock to find an existing series (a
// writer lock only the first time a series appears); hot paths may keep the reference.
// Registration, Render() and the hooks may run from any thread; Render() calls are serialized.
//
// Errors: registration with an invalid or duplicate name, bad label names or bad buckets is a
// programming error at start-up and throws std::invalid_argument. WithLabels() with the wrong
// number of values throws std::invalid_argument too (also a programming error, never input).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moat::core {

// Bounds for latencies in seconds: 1 ms .. 60 s.
inline constexpr double kLatencyBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,      2.5,   5,    10,    30,   60};
// Bounds for end-to-end mail delays in seconds: 10 ms .. 1 day.
inline constexpr double kDelayBuckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,    2.5,   5,
                                           10,   30,   60,  300,  900, 3600, 14400, 86400};

class Counter {
 public:
  void Increment(std::uint64_t n = 1) { Add(static_cast<double>(n)); }
  // Negative or NaN amounts are ignored (a counter never goes down).
  void Add(double amount) {
    if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
  }
  // For a counter that mirrors another monotonic count (a listener's atomics) in a collect hook.
  void SetFromSource(double total) { value_.store(total, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;             // upper bounds, without +Inf
    std::vector<std::uint64_t> cumulative;  // bounds.size() + 1 counts, the last one is +Inf
    double sum = 0;
    std::uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  Snapshot Read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };
std::string_view MetricTypeName(MetricType type);  // "counter", "gauge", "histogram"

class MetricFamilyBase {
 public:
  virtual ~MetricFamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends this family's HELP, TYPE and sample lines to `out`.
  void Render(std::string& out) const;

 protected:
  MetricFamilyBase(std::string name, std::string help, MetricType type,
                   std::vector<std::string> label_names, std::size_t max_series);
  // Finds or creates the series, applying the cardinality bound.
  void* FindOrCreate(std::span<const std::string> values);
  virtual std::shared_ptr<void> NewSeries() const = 0;
  virtual void RenderSeries(std::string& out, const std::string& labels,
                            const void* series) const = 0;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  std::size_t max_series_;
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::shared_ptr<void>> series_;
};

template <typename T>
class Family final : public MetricFamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::size_t max_series, std::vector<double> bounds = {});
  // The series for these label values (one per label name, in order).
  T& WithLabels(std::span<const std::string> values) {
    return *static_cast<T*>(FindOrCreate(values));
  }
  T& WithLabels(std::initializer_list<std::string> values) {
    return WithLabels(std::span<const std::string>(values.begin(), values.size()));
  }

 private:
  std::shared_ptr<void> NewSeries() const override;
  void RenderSeries(std::string& out, const std::string& labels, const void* series) const override;
  std::vector<double> bounds_;  // histograms only
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

struct FamilyOptions {
  std::size_t max_series = 200;
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& AddCounter(std::string name, std::string help);
  Gauge& AddGauge(std::string name, std::string help);
  Histogram& AddHistogram(std::string name, std::string help, std::span<const double> bounds);

  CounterFamily& AddCounterFamily(std::string name, std::string help,
                                  std::vector<std::string> labels, FamilyOptions options = {});
  GaugeFamily& AddGaugeFamily(std::string name, std::string help, std::vector<std::string> labels,
                              FamilyOptions options = {});
  HistogramFamily& AddHistogramFamily(std::string name, std::string help,
                                      std::vector<std::string> labels,
                                      std::span<const double> bounds, FamilyOptions options = {});

  // Called at the start of every Render(), in registration order, serialized.
  void AddCollectHook(std::function<void()> hook);

  // The whole exposition (Content-Type: text/plain; version=0.0.4; charset=utf-8).
  std::string Render() const;

 private:
  template <typename F>
  F& Register(std::unique_ptr<F> family);

  mutable std::mutex mutex_;         // guards families_ and hooks_
  mutable std::mutex render_mutex_;  // one Render() at a time (the hooks set gauges)
  std::vector<std::unique_ptr<MetricFamilyBase>> families_;
  std::vector<std::function<void()>> hooks_;
};

// Exposition helpers, exposed for tests and for other writers of the format.
std::string EscapeLabelValue(std::string_view value);  // \\, \", \n
std::string EscapeHelp(std::string_view help);         // \\, \n
std::string FormatMetricValue(double value);           // shortest exact; +Inf, -Inf, NaN
bool ValidMetricName(std::string_view name);
bool ValidLabelName(std::string_view name);

}  // namespace moat::core
