// metrics_text.cc - a strict reader of exposition sample lines.
#include "core/metrics_text.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "core/metrics.h"

namespace moat::core {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

std::optional<double> ParseValue(std::string_view text) {
  if (text == "+Inf" || text == "Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return std::nan("");
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || errno == ERANGE) return std::nullopt;
  // strtod also reads "inf", "nan" and hex floats; the format allows only the spellings above.
  for (char c : copy) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return std::nullopt;
    }
  }
  return value;
}

// Reads `{a="x",b="y"}` from `line` at `pos` (just after the opening brace).
bool ParseLabels(std::string_view line, std::size_t& pos,
                 std::map<std::string, std::string>& labels) {
  while (true) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    if (pos < line.size() && line[pos] == '}') {
      ++pos;
      return true;
    }
    std::size_t start = pos;
    while (pos < line.size() && IsNameChar(line[pos])) ++pos;
    std::string name(line.substr(start, pos - start));
    if (!ValidLabelName(name) && !name.starts_with("__")) return false;
    while (pos < line.size() && line[pos] == ' ') ++pos;
    if (pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') return false;
    pos += 2;
    std::string value;
    bool closed = false;
    while (pos < line.size()) {
      char c = line[pos++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\') {
        if (pos >= line.size()) return false;
        char e = line[pos++];
        value += e == 'n' ? '\n' : e;  // \\ and \" stand for themselves
      } else {
        value += c;
      }
    }
    if (!closed) return false;
    labels[std::move(name)] = std::move(value);
    while (pos < line.size() && line[pos] == ' ') ++pos;
    if (pos < line.size() && line[pos] == ',') ++pos;
  }
}

}  // namespace

Result<std::vector<MetricSample>> ParseMetricsText(std::string_view text,
                                                   MetricsTextLimits limits) {
  if (text.size() > limits.max_bytes) {
    return Fail(ErrorCode::kInvalid, "metrics text of {} bytes (limit {})", text.size(),
                limits.max_bytes);
  }
  std::vector<MetricSample> samples;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    std::size_t pos = 0;
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    if (pos == line.size() || line[pos] == '#') continue;
    if (samples.size() >= limits.max_samples) {
      return Fail(ErrorCode::kInvalid, "more than {} samples", limits.max_samples);
    }
    MetricSample sample;
    std::size_t start = pos;
    while (pos < line.size() && IsNameChar(line[pos])) ++pos;
    sample.name = std::string(line.substr(start, pos - start));
    if (!ValidMetricName(sample.name)) {
      return Fail(ErrorCode::kInvalid, "line {}: not a metric name", number);
    }
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      if (!ParseLabels(line, pos, sample.labels)) {
        return Fail(ErrorCode::kInvalid, "line {}: bad label set", number);
      }
    }
    if (pos >= line.size() || (line[pos] != ' ' && line[pos] != '\t')) {
      return Fail(ErrorCode::kInvalid, "line {}: no value", number);
    }
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    std::size_t value_end = line.find_first_of(" \t", pos);
    auto value = ParseValue(line.substr(pos, value_end - pos));
    if (!value) return Fail(ErrorCode::kInvalid, "line {}: bad value", number);
    sample.value = *value;
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::optional<double> SumSamples(const std::vector<MetricSample>& samples, std::string_view name,
                                 const std::map<std::string, std::string>& match) {
  std::optional<double> sum;
  for (const MetricSample& sample : samples) {
    if (sample.name != name) continue;
    bool matches = true;
    for (const auto& [key, value] : match) {
      auto it = sample.labels.find(key);
      if (it == sample.labels.end() || it->second != value) {
        matches = false;
        break;
      }
    }
    if (matches) sum = sum.value_or(0) + sample.value;
  }
  return sum;
}

}  // namespace moat::core
