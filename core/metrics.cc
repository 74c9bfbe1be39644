// metrics.cc - the registry and the Prometheus text exposition.
#include "core/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace moat::core {
namespace {

constexpr std::string_view kOverflowValue = "_overflow_";
constexpr std::span<const std::string> kNoLabels;

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void CheckBounds(std::span<const double> bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
}

// `{a="x",b="y"` without the closing brace, so a histogram can append le.
std::string LabelText(const std::vector<std::string>& names,
                      const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += i == 0 ? "{" : ",";
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  return out;
}

void Sample(std::string& out, std::string_view name, std::string_view suffix,
            const std::string& labels, double value) {
  out += name;
  out += suffix;
  if (!labels.empty()) {
    out += labels;
    out += '}';
  }
  out += ' ';
  out += FormatMetricValue(value);
  out += '\n';
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

bool ValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsNameStart(c) || IsDigit(c) || c == ':'; });
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameStart(c) || IsDigit(c); });
}

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  CheckBounds(bounds);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative.resize(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = total;
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

MetricFamilyBase::MetricFamilyBase(std::string name, std::string help, MetricType type,
                                   std::vector<std::string> label_names, std::size_t max_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      max_series_(std::max<std::size_t>(1, max_series)) {
  if (!ValidMetricName(name_)) throw std::invalid_argument("bad metric name: " + name_);
  for (std::size_t i = 0; i < label_names_.size(); ++i) {
    const std::string& label = label_names_[i];
    if (!ValidLabelName(label) || (type_ == MetricType::kHistogram && label == "le")) {
      throw std::invalid_argument(fmt::format("metric {}: bad label name '{}'", name_, label));
    }
    if (std::find(label_names_.begin(), label_names_.begin() + static_cast<long>(i), label) !=
        label_names_.begin() + static_cast<long>(i)) {
      throw std::invalid_argument(fmt::format("metric {}: label '{}' twice", name_, label));
    }
  }
}

void* MetricFamilyBase::FindOrCreate(std::span<const std::string> values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument(fmt::format("metric {}: {} label values for {} labels", name_,
                                            values.size(), label_names_.size()));
  }
  std::vector<std::string> key(values.begin(), values.end());
  {
    std::shared_lock lock(mutex_);
    auto it = series_.find(key);
    if (it != series_.end()) return it->second.get();
  }
  std::unique_lock lock(mutex_);
  auto it = series_.find(key);
  if (it != series_.end()) return it->second.get();
  if (series_.size() >= max_series_) {
    key.assign(label_names_.size(), std::string(kOverflowValue));
    it = series_.find(key);
    if (it != series_.end()) return it->second.get();
  }
  auto inserted = series_.emplace(std::move(key), NewSeries());
  return inserted.first->second.get();
}

void MetricFamilyBase::Render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += EscapeHelp(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += MetricTypeName(type_);
  out += '\n';
  std::shared_lock lock(mutex_);
  for (const auto& [values, series] : series_) {
    RenderSeries(out, LabelText(label_names_, values), series.get());
  }
}

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::size_t max_series, std::vector<double> bounds)
    : MetricFamilyBase(std::move(name), std::move(help),
                       std::is_same_v<T, Counter> ? MetricType::kCounter
                       : std::is_same_v<T, Gauge> ? MetricType::kGauge
                                                  : MetricType::kHistogram,
                       std::move(label_names), max_series),
      bounds_(std::move(bounds)) {
  if constexpr (std::is_same_v<T, Histogram>) CheckBounds(bounds_);
}

template <typename T>
std::shared_ptr<void> Family<T>::NewSeries() const {
  if constexpr (std::is_same_v<T, Histogram>) {
    return std::make_shared<Histogram>(bounds_);
  } else {
    return std::make_shared<T>();
  }
}

template <typename T>
void Family<T>::RenderSeries(std::string& out, const std::string& labels,
                             const void* series) const {
  const T& metric = *static_cast<const T*>(series);
  if constexpr (std::is_same_v<T, Histogram>) {
    Histogram::Snapshot snapshot = metric.Read();
    std::string prefix = labels.empty() ? std::string("{") : labels + ",";
    for (std::size_t i = 0; i <= snapshot.bounds.size(); ++i) {
      std::string le = i < snapshot.bounds.size() ? FormatMetricValue(snapshot.bounds[i]) : "+Inf";
      Sample(out, name(), "_bucket", prefix + "le=\"" + le + "\"",
             static_cast<double>(snapshot.cumulative[i]));
    }
    Sample(out, name(), "_sum", labels, snapshot.sum);
    Sample(out, name(), "_count", labels, static_cast<double>(snapshot.count()));
  } else {
    Sample(out, name(), "", labels, metric.value());
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename F>
F& MetricsRegistry::Register(std::unique_ptr<F> family) {
  std::lock_guard lock(mutex_);
  for (const auto& existing : families_) {
    if (existing->name() == family->name()) {
      throw std::invalid_argument("metric registered twice: " + family->name());
    }
  }
  F& ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

CounterFamily& MetricsRegistry::AddCounterFamily(std::string name, std::string help,
                                                 std::vector<std::string> labels,
                                                 FamilyOptions options) {
  return Register(std::make_unique<CounterFamily>(std::move(name), std::move(help),
                                                  std::move(labels), options.max_series));
}

GaugeFamily& MetricsRegistry::AddGaugeFamily(std::string name, std::string help,
                                             std::vector<std::string> labels,
                                             FamilyOptions options) {
  return Register(std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(labels),
                                                options.max_series));
}

HistogramFamily& MetricsRegistry::AddHistogramFamily(std::string name, std::string help,
                                                     std::vector<std::string> labels,
                                                     std::span<const double> bounds,
                                                     FamilyOptions options) {
  return Register(std::make_unique<HistogramFamily>(
      std::move(name), std::move(help), std::move(labels), options.max_series,
      std::vector<double>(bounds.begin(), bounds.end())));
}

Counter& MetricsRegistry::AddCounter(std::string name, std::string help) {
  return AddCounterFamily(std::move(name), std::move(help), {}).WithLabels(kNoLabels);
}

Gauge& MetricsRegistry::AddGauge(std::string name, std::string help) {
  return AddGaugeFamily(std::move(name), std::move(help), {}).WithLabels(kNoLabels);
}

Histogram& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                         std::span<const double> bounds) {
  return AddHistogramFamily(std::move(name), std::move(help), {}, bounds).WithLabels(kNoLabels);
}

void MetricsRegistry::AddCollectHook(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  hooks_.push_back(std::move(hook));
}

std::string MetricsRegistry::Render() const {
  std::lock_guard render(render_mutex_);
  std::vector<std::function<void()>> hooks;
  std::vector<const MetricFamilyBase*> families;
  {
    std::lock_guard lock(mutex_);
    hooks = hooks_;
    for (const auto& family : families_) families.push_back(family.get());
  }
  for (const auto& hook : hooks) hook();
  std::string out;
  for (const MetricFamilyBase* family : families) family->Render(out);
  return out;
}

}  // namespace moat::core
