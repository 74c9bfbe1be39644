// config.h - one resolved, immutable configuration snapshot (main.cf or filterd.cf).
//
// A Config layers, lowest first:
//   1. the registry's defaults (Postfix's text, or a host-dependent computed value),
//   2. the entries of the file (main.cf / filterd.cf; the last setting of a name wins),
//   3. the -o overrides of the command line, in order,
//   4. for a master.cf service, that service's -o overrides (WithOverrides()).
// Values are expanded ($name, ${name?value}, ...; see config_expand.h) against the complete set of
// layers, so the order of settings in the file does not matter, as in Postfix.
//
// Building checks everything once: unknown parameters (an error, with the closest known name
// suggested, unless the name is referenced as $name somewhere - a user-defined parameter, as
// Postfix allows), parameters Postfix knows but this program does not implement (a warning),
// expansion errors ($name loops) and the type of every supported parameter (bad time units,
// non-numbers, unknown choices, ...). Each problem is a ConfigDiagnostic with file:line.
//
//   Config::Load()   for daemons: throws ConfigError at the first error (warnings are returned
//                    through the optional list).
//   Config::Build()  for `moat check-config`: never throws, collects every problem.
//
// Getters return expanded values. Typed getters throw ConfigError (with the file:line where the
// value was set) when the value does not parse; Load() has already ruled that out for every
// supported parameter, so in a daemon they only throw while it builds its own snapshot at load
// time. Asking for a name that is neither defined by the registry nor set is a ConfigError too.
//
// Thread safety: a Config is immutable once built; share it as std::shared_ptr<const Config> and
// read it from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_file.h"
#include "core/config_value.h"
#include "core/parameter_registry.h"

namespace moat::core {

enum class SettingOrigin { kDefault, kFile, kCommandLine, kService };

// One explicitly set parameter (file, -o, or service override).
struct Setting {
  std::string name;
  std::string raw;  // unexpanded
  SourceLocation location;
  SettingOrigin origin = SettingOrigin::kFile;
};

struct ConfigSource {
  std::string directory;               // -c DIR, as given (used in messages)
  std::string file_name = "main.cf";   // main.cf or filterd.cf
  std::vector<std::string> overrides;  // -o name=value, in command-line order
};

struct ConfigBuildOptions {
  // Prefixes for the registry's templates (master.cf transport names).
  std::vector<std::string> template_prefixes;
  // Parameter names referenced elsewhere (master.cf -o values): such names, when set but not
  // known to the registry, are user-defined parameters rather than misspellings.
  std::set<std::string> external_references;
};

class Config {
 public:
  // Reads source.directory/source.file_name, applies the overrides and checks everything.
  // Throws ConfigError for the first error; warnings go to `warnings` when given.
  static std::shared_ptr<const Config> Load(const ParameterRegistry& registry,
                                            const ConfigSource& source,
                                            const ConfigBuildOptions& options = {},
                                            ConfigDiagnostics* warnings = nullptr);

  // Builds from parsed entries and overrides without throwing; every problem is appended to
  // `diagnostics`. Parse problems of the file are the caller's (see ReadConfigFile()).
  static std::shared_ptr<const Config> Build(const ParameterRegistry& registry,
                                             std::string directory,
                                             const std::vector<ConfigEntry>& file_entries,
                                             const std::vector<ConfigEntry>& overrides,
                                             const ConfigBuildOptions& options,
                                             ConfigDiagnostics& diagnostics);

  // This configuration with a master.cf service's -o overrides on top. Problems of the overrides
  // themselves are appended to `diagnostics`; without a list, the first error is thrown.
  std::shared_ptr<const Config> WithOverrides(const std::vector<ConfigEntry>& overrides,
                                              ConfigDiagnostics* diagnostics = nullptr) const;

  // --- values (expanded) ---
  // nullopt when the parameter is neither defined by the registry nor set.
  std::optional<std::string> Find(std::string_view name) const;
  std::string GetString(std::string_view name) const;
  int64_t GetInt(std::string_view name) const;
  bool GetBool(std::string_view name) const;
  std::chrono::seconds GetTime(std::string_view name) const;
  uint64_t GetSize(std::string_view name) const;
  double GetNumber(std::string_view name) const;
  std::vector<std::string> GetList(std::string_view name) const;
  // Relative paths resolved against the config directory; "" stays "".
  std::string GetPath(std::string_view name) const;
  HostPort GetHostPort(std::string_view name) const;
  // Expands arbitrary text against this configuration (a master.cf field, a table spec).
  Result<std::string> ExpandText(std::string_view text) const;
  std::vector<HostPort> GetHostPortList(std::string_view name) const;

  // --- provenance ---
  // The unexpanded effective value (the setting, or the default text); nullopt when unknown.
  std::optional<std::string> RawValue(std::string_view name) const;
  // Where the effective value comes from; SourceLocation::kDefault for a default.
  SourceLocation LocationOf(std::string_view name) const;
  // The explicit settings (file, -o, service), effective ones only, ordered by name.
  std::vector<const Setting*> ExplicitSettings() const;
  bool IsSet(std::string_view name) const { return settings_.contains(name); }

  const ParameterRegistry& registry() const { return *registry_; }
  // The -c directory as given, and as an absolute path.
  const std::string& directory() const { return directory_; }
  const std::string& absolute_directory() const { return absolute_directory_; }
  // Resolves a path as GetPath() does.
  std::string ResolvePath(std::string_view path) const;

 private:
  struct Resolved {
    std::string value;            // expanded
    std::optional<Error> error;   // expansion failed
  };
  class Context;

  Config() = default;
  void Resolve(const ConfigBuildOptions& options, bool report_all, ConfigDiagnostics& diagnostics);
  std::optional<std::string> Unexpanded(std::string_view name) const;
  std::optional<std::string> RawLookup(std::string_view name) const;
  static std::optional<std::string> EscapeIfRaw(const ParameterDefinition* definition,
                                                std::optional<std::string> text);
  Resolved ExpandOnDemand(std::string_view name) const;
  const Resolved& Get(std::string_view name, Resolved& scratch) const;
  [[noreturn]] void Throw(std::string_view name, const Error& error) const;
  // The first explicitly set parameter that `name`'s value reads, directly or through others.
  std::optional<std::string> FirstTouchedSetting(std::string_view name,
                                                 std::set<std::string>& visited) const;

  std::shared_ptr<const ParameterRegistry> registry_;
  std::string directory_;
  std::string absolute_directory_;
  std::vector<ConfigEntry> file_entries_;
  std::vector<ConfigEntry> overrides_;
  std::vector<ConfigEntry> service_overrides_;
  ConfigBuildOptions options_;
  std::map<std::string, Setting, std::less<>> settings_;
  std::map<std::string, std::string, std::less<>> computed_defaults_;
  std::map<std::string, Resolved, std::less<>> resolved_;
};

}  // namespace moat::core
