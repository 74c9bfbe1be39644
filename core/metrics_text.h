// metrics_text.h - reads the samples of a Prometheus text exposition (version 0.0.4), as
// MetricsRegistry::Render() writes it, for the review UI's dashboard, which shows the daemons'
// numbers, and for tests.
//
// Each sample line `name{label="value",...} value [timestamp]` becomes a MetricSample; `#` lines
// (HELP, TYPE, comments) and blank lines are skipped. Label values are unescaped (\\, \", \n).
// Values: decimal or exponent floats, +Inf, -Inf, NaN. The timestamp is ignored.
//
// Errors: kInvalid naming the line number for a line that is not a sample (bad name, unclosed
// label set or quote, a value that is not a float), and for input beyond the bounds below (the
// text comes from another process over HTTP, so it is not trusted to be small).
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::core {

struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct MetricsTextLimits {
  std::size_t max_bytes = 16u << 20;
  std::size_t max_samples = 100'000;
};

Result<std::vector<MetricSample>> ParseMetricsText(std::string_view text,
                                                   MetricsTextLimits limits = {});

// Sum of the values of the samples named `name` whose labels include every pair of `match`
// (nullopt when no sample matches).
std::optional<double> SumSamples(const std::vector<MetricSample>& samples, std::string_view name,
                                 const std::map<std::string, std::string>& match = {});

}  // namespace moat::core
