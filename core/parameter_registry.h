// parameter_registry.h - the typed list of parameters a program knows, with defaults and docs.
//
// Each daemon has one registry (mta/mta_parameters.h for main.cf, filterd/filterd_parameters.h
// for filterd.cf), written as data: arrays of ParameterSpec, one line of doc each. A parameter is
//
//   supported    Moat implements it: its value is type-checked and `moat config show` lists it;
//   recognised   Postfix knows it but Moat does not implement it: setting it is a warning
//                ("not supported by moat-mta"), never silently ignored and never "unknown".
//
// Anything else is unknown: an error, with the closest known name suggested.
//
// Templates cover names that depend on master.cf: Postfix's `<transport>_destination_
// concurrency_limit` and friends exist for every transport defined there. InstantiateTemplates()
// adds them for one transport name.
//
// Defaults are Postfix's text ("${stress?{10}:{300}}s") and are expanded like any value. A few
// defaults depend on the host (myhostname, mydomain, mynetworks): those have a ComputeDefault
// function, called with access to the other parameters' expanded values.
//
// Thread safety: a registry is built once, then only read; share it as const.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"

namespace moat::core {

enum class ParameterType {
  kString,
  kInteger,       // min..max below
  kBool,          // yes / no
  kTime,          // number + optional unit; `time_unit` is the default unit
  kSize,          // bytes (k, m, g suffixes accepted)
  kNumber,        // decimal (spam scores)
  kList,          // comma/whitespace separated words
  kTableList,     // lookup tables "type:name, type:name"
  kEnum,          // one of `choices`
  kEnumList,      // a list of `choices`
  kHostPort,      // host:port / [ipv6]:port
  kHostPortList,  // a list of host:port
  kNetworkList,   // mynetworks syntax: networks, !networks, tables, /file names
  kPath,          // a file or directory; relative paths resolve against the config directory
  kRestrictionList,  // smtpd_*_restrictions; checked by the registry's `checker`
  kParameterNames,   // names of user-defined parameters (smtpd_restriction_classes): setting
                     // a parameter named here is not an "unknown parameter"; the `checker`
                     // checks the values of the named parameters
};

std::string_view ParameterTypeName(ParameterType type);

enum class Support { kSupported, kRecognised };

struct ValueProblem {
  Severity severity = Severity::kError;
  std::string message;
};

// What a value checker or a computed default may ask about the rest of the configuration.
class ParameterContext {
 public:
  virtual ~ParameterContext() = default;
  // The expanded value of another parameter; nullopt when undefined or when it cannot be
  // expanded (the problem is reported where that parameter is set).
  virtual std::optional<std::string> Value(std::string_view name) const = 0;
  // The configuration directory (-c).
  virtual const std::string& directory() const = 0;
};

// Extra checks beyond the type (e.g. restriction names): append problems for `value`.
using ValueChecker = void (*)(std::string_view value, const ParameterContext& context,
                              std::vector<ValueProblem>& problems);
// A host-dependent default (myhostname): the raw value to use when the parameter is not set.
using DefaultComputer = std::string (*)(const ParameterContext& context);

// The data form, for constexpr arrays in the registries. Every field but name/type/doc is
// optional; `default_value` is Postfix's text.
struct ParameterSpec {
  std::string_view name;
  ParameterType type = ParameterType::kString;
  std::string_view default_value;
  std::string_view doc;
  char time_unit = 's';            // kTime: unit of a bare number
  std::string_view choices;        // kEnum, kEnumList: "host|subnet|class"
  int64_t min = 0;                 // kInteger
  int64_t max = std::numeric_limits<int32_t>::max();
  ValueChecker checker = nullptr;
  DefaultComputer compute_default = nullptr;
  // Not expanded when the configuration is loaded: its `$name`s are macros the daemon fills in
  // per event (default_rbl_reply's $rbl_code, ...), as Postfix's "raw" parameters.
  bool raw = false;
};

// Short constructors for the data arrays of the registries (designated initializers would
// trip -Wmissing-field-initializers on g++ 12):  spec::Time("smtpd_timeout", "300s", 's', "...").
namespace spec {
constexpr ParameterSpec Make(ParameterType type, std::string_view name,
                             std::string_view default_value, std::string_view doc) {
  ParameterSpec s;
  s.name = name;
  s.type = type;
  s.default_value = default_value;
  s.doc = doc;
  return s;
}
constexpr ParameterSpec String(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kString, n, d, doc);
}
// A "raw" string: its $names are runtime macros, not expanded at load time.
constexpr ParameterSpec Raw(std::string_view n, std::string_view d, std::string_view doc) {
  ParameterSpec s = Make(ParameterType::kString, n, d, doc);
  s.raw = true;
  return s;
}
constexpr ParameterSpec Integer(std::string_view n, std::string_view d, std::string_view doc,
                                int64_t min = 0,
                                int64_t max = std::numeric_limits<int32_t>::max()) {
  ParameterSpec s = Make(ParameterType::kInteger, n, d, doc);
  s.min = min;
  s.max = max;
  return s;
}
constexpr ParameterSpec Bool(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kBool, n, d, doc);
}
constexpr ParameterSpec Time(std::string_view n, std::string_view d, char unit,
                             std::string_view doc) {
  ParameterSpec s = Make(ParameterType::kTime, n, d, doc);
  s.time_unit = unit;
  return s;
}
constexpr ParameterSpec Size(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kSize, n, d, doc);
}
constexpr ParameterSpec Number(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kNumber, n, d, doc);
}
constexpr ParameterSpec List(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kList, n, d, doc);
}
constexpr ParameterSpec Tables(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kTableList, n, d, doc);
}
constexpr ParameterSpec Choice(std::string_view n, std::string_view d, std::string_view choices,
                               std::string_view doc) {
  ParameterSpec s = Make(ParameterType::kEnum, n, d, doc);
  s.choices = choices;
  return s;
}
constexpr ParameterSpec Choices(std::string_view n, std::string_view d, std::string_view choices,
                                std::string_view doc) {
  ParameterSpec s = Make(ParameterType::kEnumList, n, d, doc);
  s.choices = choices;
  return s;
}
constexpr ParameterSpec Address(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kHostPort, n, d, doc);
}
constexpr ParameterSpec Addresses(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kHostPortList, n, d, doc);
}
constexpr ParameterSpec Networks(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kNetworkList, n, d, doc);
}
constexpr ParameterSpec Path(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kPath, n, d, doc);
}
constexpr ParameterSpec Restrictions(std::string_view n, std::string_view d,
                                     std::string_view doc) {
  return Make(ParameterType::kRestrictionList, n, d, doc);
}
constexpr ParameterSpec Names(std::string_view n, std::string_view d, std::string_view doc) {
  return Make(ParameterType::kParameterNames, n, d, doc);
}
constexpr ParameterSpec Computed(ParameterSpec s, DefaultComputer compute) {
  s.compute_default = compute;
  return s;
}
constexpr ParameterSpec Checked(ParameterSpec s, ValueChecker checker) {
  s.checker = checker;
  return s;
}
}  // namespace spec

struct ParameterDefinition {
  std::string name;
  ParameterType type = ParameterType::kString;
  std::string default_value;
  std::string doc;
  Support support = Support::kSupported;
  char time_unit = 's';
  std::vector<std::string> choices;
  int64_t min = 0;
  int64_t max = std::numeric_limits<int32_t>::max();
  ValueChecker checker = nullptr;
  DefaultComputer compute_default = nullptr;
  bool raw = false;

  bool supported() const { return support == Support::kSupported; }
  // "time (default unit s)", "one of: host, subnet, class", ...
  std::string TypeDescription() const;
};

// `<prefix>_<suffix>` parameters created per master.cf transport.
struct ParameterTemplate {
  std::string_view suffix;          // "destination_concurrency_limit"
  ParameterType type = ParameterType::kString;
  std::string_view default_value;   // "$default_destination_concurrency_limit"
  std::string_view doc;
  Support support = Support::kSupported;
  char time_unit = 's';
  int64_t min = 0;
  int64_t max = std::numeric_limits<int32_t>::max();
};

namespace spec {
constexpr ParameterTemplate Template(ParameterType type, std::string_view suffix,
                                     std::string_view default_value, std::string_view doc,
                                     Support support = Support::kSupported, char time_unit = 's') {
  ParameterTemplate t;
  t.suffix = suffix;
  t.type = type;
  t.default_value = default_value;
  t.doc = doc;
  t.support = support;
  t.time_unit = time_unit;
  return t;
}
}  // namespace spec

class ParameterRegistry {
 public:
  // `program` names the daemon in messages: "not supported by moat-mta".
  explicit ParameterRegistry(std::string program) : program_(std::move(program)) {}

  const std::string& program() const { return program_; }

  // Adds or replaces (a supported definition replaces a recognised one of the same name).
  void Add(const ParameterSpec& spec, Support support = Support::kSupported);
  void Add(ParameterDefinition definition);
  // A Postfix parameter that Moat does not implement, with Postfix's default text.
  void AddRecognised(std::string_view name, std::string_view postfix_default);
  void AddTemplate(const ParameterTemplate& parameter_template);
  // Defines `<prefix>_<suffix>` for every template, keeping definitions that already exist.
  void InstantiateTemplates(std::string_view prefix);

  const ParameterDefinition* Find(std::string_view name) const;
  // The closest known name for a misspelt one, if any is close enough.
  std::optional<std::string> Suggest(std::string_view unknown) const;

  // All definitions, ordered by name.
  std::vector<const ParameterDefinition*> Definitions() const;
  const std::vector<ParameterTemplate>& templates() const { return templates_; }

 private:
  std::string program_;
  std::map<std::string, ParameterDefinition, std::less<>> definitions_;
  std::vector<ParameterTemplate> templates_;
};

// Type-checks an expanded value against its definition (type, range, choices, the checker) and
// appends what is wrong. An empty value is accepted for every type except kInteger, kTime,
// kSize, kNumber, kBool and kEnum (Postfix treats empty lists and strings as "none").
void CheckParameterValue(const ParameterDefinition& definition, std::string_view value,
                         const ParameterContext& context, std::vector<ValueProblem>& problems);

}  // namespace moat::core
