// parameter_registry.cc - parameter definitions, suggestions and type checks.
#include "core/parameter_registry.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/config_file.h"
#include "core/config_value.h"

namespace moat::core {
namespace {

std::vector<std::string> SplitChoices(std::string_view choices) {
  std::vector<std::string> out;
  if (choices.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t bar = choices.find('|', start);
    out.emplace_back(choices.substr(start, bar == std::string_view::npos ? bar : bar - start));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsChoice(const std::vector<std::string>& choices, std::string_view value) {
  return std::any_of(choices.begin(), choices.end(),
                     [&](const std::string& c) { return EqualsIgnoreCase(c, value); });
}

std::string ChoiceList(const std::vector<std::string>& choices) {
  std::string out;
  for (const std::string& c : choices) {
    if (c.empty()) continue;
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

void CheckTableSpec(std::string_view item, std::vector<ValueProblem>& problems) {
  if (item.find(':') == std::string_view::npos) {
    problems.push_back({Severity::kError,
                        fmt::format("\"{}\" is not a lookup table (expected type:name, such as "
                                    "hash:/etc/moat/transport)",
                                    item)});
  } else if (!LooksLikeTableSpec(item)) {
    problems.push_back({Severity::kError,
                        fmt::format("\"{}\": unknown lookup table type \"{}\"", item,
                                    item.substr(0, item.find(':')))});
  }
}

}  // namespace

std::string_view ParameterTypeName(ParameterType type) {
  switch (type) {
    case ParameterType::kString: return "string";
    case ParameterType::kInteger: return "integer";
    case ParameterType::kBool: return "boolean";
    case ParameterType::kTime: return "time";
    case ParameterType::kSize: return "size";
    case ParameterType::kNumber: return "number";
    case ParameterType::kList: return "list";
    case ParameterType::kTableList: return "table list";
    case ParameterType::kEnum: return "choice";
    case ParameterType::kEnumList: return "choice list";
    case ParameterType::kHostPort: return "host:port";
    case ParameterType::kHostPortList: return "host:port list";
    case ParameterType::kNetworkList: return "network list";
    case ParameterType::kPath: return "path";
    case ParameterType::kRestrictionList: return "restriction list";
    case ParameterType::kParameterNames: return "parameter name list";
  }
  return "string";
}

std::string ParameterDefinition::TypeDescription() const {
  switch (type) {
    case ParameterType::kTime:
      return fmt::format("time, default unit {}", time_unit);
    case ParameterType::kEnum:
      return fmt::format("one of: {}", ChoiceList(choices));
    case ParameterType::kEnumList:
      return fmt::format("list of: {}", ChoiceList(choices));
    case ParameterType::kInteger:
      if (max == std::numeric_limits<int32_t>::max()) {
        return min == 0 ? "integer >= 0" : fmt::format("integer >= {}", min);
      }
      return fmt::format("integer {}..{}", min, max);
    default:
      return std::string(ParameterTypeName(type));
  }
}

void ParameterRegistry::Add(const ParameterSpec& spec, Support support) {
  ParameterDefinition d;
  d.name = spec.name;
  d.type = spec.type;
  d.default_value = spec.default_value;
  d.doc = spec.doc;
  d.support = support;
  d.time_unit = spec.time_unit;
  d.choices = SplitChoices(spec.choices);
  d.min = spec.min;
  d.max = spec.max;
  d.checker = spec.checker;
  d.compute_default = spec.compute_default;
  d.raw = spec.raw;
  Add(std::move(d));
}

void ParameterRegistry::Add(ParameterDefinition definition) {
  std::string name = definition.name;
  definitions_.insert_or_assign(std::move(name), std::move(definition));
}

void ParameterRegistry::AddRecognised(std::string_view name, std::string_view postfix_default) {
  if (definitions_.contains(name)) return;
  ParameterDefinition d;
  d.name = name;
  d.default_value = postfix_default;
  d.doc = fmt::format("Postfix parameter, not supported by {}", program_);
  d.support = Support::kRecognised;
  Add(std::move(d));
}

void ParameterRegistry::AddTemplate(const ParameterTemplate& parameter_template) {
  templates_.push_back(parameter_template);
}

void ParameterRegistry::InstantiateTemplates(std::string_view prefix) {
  for (const ParameterTemplate& t : templates_) {
    std::string name = fmt::format("{}_{}", prefix, t.suffix);
    if (const ParameterDefinition* existing = Find(name);
        existing != nullptr && (existing->supported() || t.support == Support::kRecognised)) {
      continue;
    }
    ParameterDefinition d;
    d.name = std::move(name);
    d.type = t.type;
    d.default_value = t.default_value;
    d.doc = fmt::format("{} (transport {})", t.doc, prefix);
    d.support = t.support;
    d.time_unit = t.time_unit;
    d.min = t.min;
    d.max = t.max;
    Add(std::move(d));
  }
}

const ParameterDefinition* ParameterRegistry::Find(std::string_view name) const {
  auto it = definitions_.find(name);
  return it == definitions_.end() ? nullptr : &it->second;
}

std::optional<std::string> ParameterRegistry::Suggest(std::string_view unknown) const {
  const std::string* best = nullptr;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const auto& [name, definition] : definitions_) {
    size_t distance = EditDistance(unknown, name);
    // Prefer supported names when a recognised one is just as close.
    if (distance < best_distance ||
        (distance == best_distance && best != nullptr && definition.supported() &&
         !Find(*best)->supported())) {
      best = &name;
      best_distance = distance;
    }
  }
  if (best == nullptr) return std::nullopt;
  size_t allowed = std::max<size_t>(2, unknown.size() / 4);
  if (best_distance > allowed) return std::nullopt;
  return *best;
}

std::vector<const ParameterDefinition*> ParameterRegistry::Definitions() const {
  std::vector<const ParameterDefinition*> out;
  out.reserve(definitions_.size());
  for (const auto& [name, definition] : definitions_) out.push_back(&definition);
  return out;
}

void CheckParameterValue(const ParameterDefinition& definition, std::string_view value,
                         const ParameterContext& context, std::vector<ValueProblem>& problems) {
  std::string_view v = Trim(value);
  auto fail = [&](const Error& error) { problems.push_back({Severity::kError, error.message()}); };
  switch (definition.type) {
    case ParameterType::kString:
    case ParameterType::kPath:
      break;
    case ParameterType::kInteger: {
      auto n = ParseInteger(v);
      if (!n) {
        fail(n.error());
      } else if (*n < definition.min || *n > definition.max) {
        problems.push_back({Severity::kError, fmt::format("value {} out of range ({})", *n,
                                                          definition.TypeDescription())});
      }
      break;
    }
    case ParameterType::kBool:
      if (auto b = ParseBool(v); !b) fail(b.error());
      break;
    case ParameterType::kTime:
      if (auto t = ParseTime(v, definition.time_unit); !t) fail(t.error());
      break;
    case ParameterType::kSize:
      if (auto s = ParseSize(v); !s) fail(s.error());
      break;
    case ParameterType::kNumber:
      if (auto n = ParseNumber(v); !n) fail(n.error());
      break;
    case ParameterType::kList:
    case ParameterType::kRestrictionList:
      break;
    case ParameterType::kParameterNames:
      for (const std::string& item : SplitList(v)) {
        bool ok = !item.empty();
        for (char c : item) ok = ok && IsParameterNameChar(c);
        if (!ok) {
          problems.push_back({Severity::kError,
                              fmt::format("\"{}\" is not a parameter name", item)});
        }
      }
      break;
    case ParameterType::kTableList:
      for (const std::string& item : SplitList(v)) CheckTableSpec(item, problems);
      break;
    case ParameterType::kEnum:
      if (!IsChoice(definition.choices, v)) {
        problems.push_back({Severity::kError, fmt::format("bad value \"{}\" (expected one of: {})",
                                                          v, ChoiceList(definition.choices))});
      }
      break;
    case ParameterType::kEnumList:
      for (const std::string& item : SplitList(v)) {
        if (!IsChoice(definition.choices, item)) {
          problems.push_back({Severity::kError,
                              fmt::format("bad list element \"{}\" (expected some of: {})", item,
                                          ChoiceList(definition.choices))});
        }
      }
      break;
    case ParameterType::kHostPort:
      if (!v.empty()) {
        if (auto hp = ParseHostPort(v); !hp) fail(hp.error());
      }
      break;
    case ParameterType::kHostPortList:
      for (const std::string& item : SplitList(v)) {
        if (auto hp = ParseHostPort(item); !hp) fail(hp.error());
      }
      break;
    case ParameterType::kNetworkList:
      for (const std::string& item : SplitList(v)) {
        std::string_view element = item;
        if (element.starts_with('!')) element.remove_prefix(1);
        if (element.starts_with('/')) continue;  // a file of patterns, read by the daemon
        if (element.find(':') != std::string_view::npos && !element.starts_with('[') &&
            LooksLikeTableSpec(element)) {
          continue;  // a lookup table, opened by the daemon (and by moat check-config)
        }
        if (auto s = ValidateNetwork(item); !s) fail(s.error());
      }
      break;
  }
  // A parameter-name list's checker is for the values of the parameters it names (Config).
  if (definition.checker != nullptr && definition.type != ParameterType::kParameterNames) {
    definition.checker(v, context, problems);
  }
}

}  // namespace moat::core
