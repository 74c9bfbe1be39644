// config.cc - building, checking and reading a configuration snapshot.
#include "core/config.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <tuple>

#include <fmt/format.h>

#include "core/config_expand.h"

namespace moat::core {
namespace {

std::string JoinPath(std::string_view directory, std::string_view name) {
  if (directory.empty()) return std::string(name);
  if (directory.back() == '/') return fmt::format("{}{}", directory, name);
  return fmt::format("{}/{}", directory, name);
}

std::string DidYouMean(const ParameterRegistry& registry, std::string_view name) {
  auto suggestion = registry.Suggest(name);
  return suggestion ? fmt::format(" (did you mean \"{}\"?)", *suggestion) : std::string();
}

}  // namespace

// Gives value checkers and computed defaults read access to the other parameters.
class Config::Context : public ParameterContext {
 public:
  Context(const Config& config, Expander& expander) : config_(config), expander_(expander) {}
  std::optional<std::string> Value(std::string_view name) const override {
    auto value = expander_.ExpandParameter(name);
    if (!value) return std::nullopt;
    return *value;
  }
  const std::string& directory() const override { return config_.absolute_directory_; }

 private:
  const Config& config_;
  Expander& expander_;
};

std::shared_ptr<const Config> Config::Load(const ParameterRegistry& registry,
                                           const ConfigSource& source,
                                           const ConfigBuildOptions& options,
                                           ConfigDiagnostics* warnings) {
  ConfigFileContents contents = ReadConfigFile(JoinPath(source.directory, source.file_name));
  ConfigDiagnostics diagnostics = std::move(contents.diagnostics);
  std::vector<ConfigEntry> overrides;
  int ordinal = 0;
  for (const std::string& text : source.overrides) {
    auto entry = ParseOverride(text, ++ordinal);
    if (!entry) {
      diagnostics.push_back({Severity::kError, {SourceLocation::kCommandLine, ordinal},
                             entry.error().message()});
      continue;
    }
    overrides.push_back(std::move(*entry));
  }
  auto config = Build(registry, source.directory, contents.entries, overrides, options,
                      diagnostics);
  for (const ConfigDiagnostic& d : diagnostics) {
    if (d.severity == Severity::kError) throw ConfigError(d);
  }
  if (warnings != nullptr) warnings->insert(warnings->end(), diagnostics.begin(), diagnostics.end());
  return config;
}

std::shared_ptr<const Config> Config::Build(const ParameterRegistry& registry,
                                            std::string directory,
                                            const std::vector<ConfigEntry>& file_entries,
                                            const std::vector<ConfigEntry>& overrides,
                                            const ConfigBuildOptions& options,
                                            ConfigDiagnostics& diagnostics) {
  std::shared_ptr<Config> config(new Config());
  auto instantiated = std::make_shared<ParameterRegistry>(registry);
  for (const std::string& prefix : options.template_prefixes) {
    instantiated->InstantiateTemplates(prefix);
  }
  config->registry_ = std::move(instantiated);
  config->directory_ = directory.empty() ? "." : std::move(directory);
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(config->directory_, ec);
  config->absolute_directory_ = (ec ? std::filesystem::path(config->directory_) : absolute)
                                    .lexically_normal()
                                    .string();
  if (config->absolute_directory_.size() > 1 && config->absolute_directory_.back() == '/') {
    config->absolute_directory_.pop_back();
  }
  config->file_entries_ = file_entries;
  config->overrides_ = overrides;
  config->options_ = options;
  for (const ConfigEntry& entry : file_entries) {
    auto it = config->settings_.find(entry.name);
    if (it != config->settings_.end()) {
      diagnostics.push_back(
          {Severity::kWarning, entry.location,
           fmt::format("{} is set again; the setting at {} is overridden", entry.name,
                       it->second.location.ToString())});
    }
    config->settings_[entry.name] = {entry.name, entry.value, entry.location, SettingOrigin::kFile};
  }
  for (const ConfigEntry& entry : overrides) {
    config->settings_[entry.name] = {entry.name, entry.value, entry.location,
                                     SettingOrigin::kCommandLine};
  }
  config->Resolve(options, /*report_all=*/true, diagnostics);
  return config;
}

std::shared_ptr<const Config> Config::WithOverrides(const std::vector<ConfigEntry>& overrides,
                                                    ConfigDiagnostics* diagnostics) const {
  std::shared_ptr<Config> config(new Config());
  config->registry_ = registry_;
  config->directory_ = directory_;
  config->absolute_directory_ = absolute_directory_;
  config->file_entries_ = file_entries_;
  config->overrides_ = overrides_;
  config->service_overrides_ = overrides;
  config->options_ = options_;
  config->settings_ = settings_;
  for (const ConfigEntry& entry : overrides) {
    config->settings_[entry.name] = {entry.name, entry.value, entry.location,
                                     SettingOrigin::kService};
  }
  ConfigDiagnostics local;
  config->Resolve(options_, /*report_all=*/false, diagnostics != nullptr ? *diagnostics : local);
  for (const ConfigDiagnostic& d : local) {
    if (d.severity == Severity::kError) throw ConfigError(d);
  }
  return config;
}

std::optional<std::string> Config::Unexpanded(std::string_view name) const {
  if (auto it = settings_.find(name); it != settings_.end()) return it->second.raw;
  if (auto it = computed_defaults_.find(name); it != computed_defaults_.end()) return it->second;
  if (const ParameterDefinition* d = registry_->Find(name)) return d->default_value;
  return std::nullopt;
}

std::optional<std::string> Config::RawLookup(std::string_view name) const {
  return EscapeIfRaw(registry_->Find(name), Unexpanded(name));
}

// A raw parameter's text is its value: escape its `$` so that expanding it (when another value
// refers to it) yields the text unchanged.
std::optional<std::string> Config::EscapeIfRaw(const ParameterDefinition* definition,
                                               std::optional<std::string> text) {
  if (!text || definition == nullptr || !definition->raw) return text;
  std::string escaped;
  for (char c : *text) {
    escaped.push_back(c);
    if (c == '$') escaped.push_back('$');
  }
  return escaped;
}

void Config::Resolve(const ConfigBuildOptions& options, bool report_all,
                     ConfigDiagnostics& diagnostics) {
  // Host-dependent defaults are computed on first use (they may read other parameters, e.g.
  // mydomain from myhostname) and kept, so the snapshot stays immutable afterwards.
  std::set<std::string> computing;
  std::function<std::optional<std::string>(std::string_view)> lookup;
  lookup = [&](std::string_view name) -> std::optional<std::string> {
    const ParameterDefinition* d = registry_->Find(name);
    if (d != nullptr && d->compute_default != nullptr && !settings_.contains(name) &&
        !computed_defaults_.contains(name) && !computing.contains(std::string(name))) {
      computing.emplace(name);
      Expander inner(lookup);
      Context context(*this, inner);
      std::string value = d->compute_default(context);
      computing.erase(std::string(name));
      computed_defaults_[std::string(name)] = std::move(value);
    }
    return EscapeIfRaw(d, Unexpanded(name));
  };
  for (const ParameterDefinition* d : registry_->Definitions()) {
    if (d->compute_default != nullptr) lookup(d->name);
  }

  Expander expander(lookup);
  Context context(*this, expander);
  std::set<std::set<std::string>> reported_loops;
  resolved_.clear();

  auto resolve = [&](const std::string& name) -> const Resolved& {
    auto [it, inserted] = resolved_.try_emplace(name);
    if (!inserted) return it->second;
    auto value = expander.ExpandParameter(name);
    if (!value) {
      it->second.error = value.error();
    } else {
      it->second.value = value->value_or("");
    }
    return it->second;
  };

  // Reports an expansion error once: a loop is reported at its first explicitly set member,
  // however many parameters lead into it.
  auto report_expansion_error = [&](const std::string& name, const Error& error,
                                    const SourceLocation& where) {
    if (error.message().starts_with("parameter loop:") && !expander.last_loop().empty()) {
      std::vector<std::string> loop = expander.last_loop();
      if (!reported_loops.insert(std::set<std::string>(loop.begin(), loop.end())).second) return;
      // Start the chain at the member set earliest in the file: that is where people look.
      size_t first = loop.size();
      for (size_t i = 0; i < loop.size(); ++i) {
        auto it = settings_.find(loop[i]);
        if (it == settings_.end()) continue;
        if (first == loop.size()) {
          first = i;
          continue;
        }
        const SourceLocation& a = it->second.location;
        const SourceLocation& b = settings_.find(loop[first])->second.location;
        if (std::tie(a.file, a.line) < std::tie(b.file, b.line)) first = i;
      }
      SourceLocation location = where;
      if (first == loop.size()) {
        first = 0;
      } else {
        location = settings_.find(loop[first])->second.location;
      }
      std::string chain;
      for (size_t i = 0; i < loop.size(); ++i) chain += loop[(first + i) % loop.size()] + " -> ";
      chain += loop[first];
      diagnostics.push_back({Severity::kError, location, "parameter loop: " + chain});
      return;
    }
    diagnostics.push_back({Severity::kError, where, fmt::format("{}: {}", name, error.message())});
  };

  // Names that a user may define for themselves: $references and parameter-name lists.
  std::set<std::string> user_defined = options.external_references;
  for (const auto& [name, setting] : settings_) {
    for (const std::string& referenced : ReferencedNames(setting.raw)) user_defined.insert(referenced);
  }
  // A main.cf value replaced by an -o override still names its user parameters: Postfix counts
  // a reference anywhere in main.cf or master.cf (`-o content_filter=` must not turn the
  // variable the file's content_filter used into an "unknown parameter").
  for (const ConfigEntry& entry : file_entries_) {
    for (const std::string& referenced : ReferencedNames(entry.value)) user_defined.insert(referenced);
  }
  std::map<std::string, const ParameterDefinition*> named_by;  // user parameter -> its list
  for (const ParameterDefinition* d : registry_->Definitions()) {
    if (d->type != ParameterType::kParameterNames) continue;
    const Resolved& r = resolve(d->name);
    if (!r.error) {
      for (const std::string& item : SplitList(r.value)) {
        user_defined.insert(item);
        named_by.emplace(item, d);
      }
    }
  }

  // Postfix's legacy names (virtual_maps, postscreen_dnsbl_ttl, ...) are recognised only, but a
  // supported parameter's default may still read them: then they are used, not ignored.
  std::set<std::string> used_by_defaults;
  for (const ParameterDefinition* d : registry_->Definitions()) {
    if (!d->supported() || settings_.contains(d->name)) continue;
    for (const std::string& referenced : ReferencedNames(d->default_value)) {
      used_by_defaults.insert(referenced);
    }
  }

  size_t first_diagnostic = diagnostics.size();
  for (const auto& [name, setting] : settings_) {
    bool in_scope = report_all || setting.origin == SettingOrigin::kService;
    const ParameterDefinition* d = registry_->Find(name);
    const Resolved& r = resolve(name);
    if (!in_scope) continue;
    if (d == nullptr) {
      if (!user_defined.contains(name)) {
        diagnostics.push_back({Severity::kError, setting.location,
                               fmt::format("unknown parameter \"{}\"{}", name,
                                           DidYouMean(*registry_, name))});
        continue;
      }
    } else if (!d->supported() && !used_by_defaults.contains(name)) {
      diagnostics.push_back({Severity::kWarning, setting.location,
                             fmt::format("{}: not supported by {} (a Postfix parameter; ignored)",
                                         name, registry_->program())});
    }
    if (d == nullptr || !d->raw) {
      for (const std::string& referenced : ReferencedNames(setting.raw)) {
        if (registry_->Find(referenced) == nullptr && !settings_.contains(referenced)) {
          diagnostics.push_back({Severity::kWarning, setting.location,
                                 fmt::format("{}: undefined parameter ${} expands to nothing{}",
                                             name, referenced,
                                             DidYouMean(*registry_, referenced))});
        }
      }
    }
    if (r.error) {
      report_expansion_error(name, *r.error, setting.location);
      continue;
    }
    std::vector<ValueProblem> problems;
    if (d != nullptr && d->supported()) {
      CheckParameterValue(*d, r.value, context, problems);
    } else if (auto it = named_by.find(name); d == nullptr && it != named_by.end() &&
                                              it->second->checker != nullptr) {
      it->second->checker(r.value, context, problems);  // e.g. a restriction class's list
    }
    for (const ValueProblem& p : problems) {
      diagnostics.push_back({p.severity, setting.location, fmt::format("{}: {}", name, p.message)});
    }
  }

  std::set<std::pair<std::string, int>> error_lines;
  for (size_t i = first_diagnostic; i < diagnostics.size(); ++i) {
    if (diagnostics[i].severity == Severity::kError) {
      error_lines.emplace(diagnostics[i].location.file, diagnostics[i].location.line);
    }
  }
  for (const ParameterDefinition* d : registry_->Definitions()) {
    if (!d->supported() || settings_.contains(d->name)) continue;
    const Resolved& r = resolve(d->name);
    if (!report_all) continue;
    SourceLocation where{SourceLocation::kDefault, 0};
    if (r.error) {
      report_expansion_error(d->name, *r.error, where);
      continue;
    }
    std::vector<ValueProblem> problems;
    CheckParameterValue(*d, r.value, context, problems);
    if (problems.empty()) continue;
    // A default that went wrong because of a setting it reads is that setting's problem:
    // report it there, once (not again when the setting has an error of its own already).
    std::set<std::string> visited;
    std::optional<std::string> touched = FirstTouchedSetting(d->name, visited);
    if (touched) {
      const SourceLocation& at = settings_.at(*touched).location;
      if (error_lines.contains({at.file, at.line})) continue;
      for (const ValueProblem& p : problems) {
        diagnostics.push_back({p.severity, at,
                               fmt::format("{} (default {}, from {}): {}", d->name,
                                           d->default_value, *touched, p.message)});
      }
      error_lines.emplace(at.file, at.line);
      continue;
    }
    for (const ValueProblem& p : problems) {
      diagnostics.push_back({p.severity, where,
                             fmt::format("{} = {}: {}", d->name, d->default_value, p.message)});
    }
  }
}

std::optional<std::string> Config::FirstTouchedSetting(std::string_view name,
                                                       std::set<std::string>& visited) const {
  if (!visited.emplace(name).second) return std::nullopt;
  if (settings_.contains(name)) return std::string(name);
  std::optional<std::string> raw = Unexpanded(name);
  if (!raw) return std::nullopt;
  for (const std::string& referenced : ReferencedNames(*raw)) {
    if (auto touched = FirstTouchedSetting(referenced, visited)) return touched;
  }
  return std::nullopt;
}

Config::Resolved Config::ExpandOnDemand(std::string_view name) const {
  Expander expander([this](std::string_view n) { return RawLookup(n); });
  Resolved r;
  auto value = expander.ExpandParameter(name);
  if (!value) {
    r.error = value.error();
  } else {
    r.value = value->value_or("");
  }
  return r;
}

Result<std::string> Config::ExpandText(std::string_view text) const {
  Expander expander([this](std::string_view n) { return RawLookup(n); });
  return expander.Expand(text);
}

const Config::Resolved& Config::Get(std::string_view name, Resolved& scratch) const {
  if (auto it = resolved_.find(name); it != resolved_.end()) {
    if (it->second.error) Throw(name, *it->second.error);
    return it->second;
  }
  if (registry_->Find(name) == nullptr && !settings_.contains(name)) {
    throw ConfigError(SourceLocation{SourceLocation::kDefault, 0},
                      fmt::format("unknown parameter \"{}\" requested", name));
  }
  scratch = ExpandOnDemand(name);
  if (scratch.error) Throw(name, *scratch.error);
  return scratch;
}

void Config::Throw(std::string_view name, const Error& error) const {
  throw ConfigError(LocationOf(name), fmt::format("{}: {}", name, error.message()));
}

std::optional<std::string> Config::Find(std::string_view name) const {
  if (registry_->Find(name) == nullptr && !settings_.contains(name)) return std::nullopt;
  Resolved scratch;
  return Get(name, scratch).value;
}

std::string Config::GetString(std::string_view name) const {
  Resolved scratch;
  return Get(name, scratch).value;
}

int64_t Config::GetInt(std::string_view name) const {
  Resolved scratch;
  auto value = ParseInteger(Get(name, scratch).value);
  if (!value) Throw(name, value.error());
  return *value;
}

bool Config::GetBool(std::string_view name) const {
  Resolved scratch;
  auto value = ParseBool(Get(name, scratch).value);
  if (!value) Throw(name, value.error());
  return *value;
}

std::chrono::seconds Config::GetTime(std::string_view name) const {
  Resolved scratch;
  const ParameterDefinition* d = registry_->Find(name);
  auto value = ParseTime(Get(name, scratch).value, d != nullptr ? d->time_unit : 's');
  if (!value) Throw(name, value.error());
  return *value;
}

uint64_t Config::GetSize(std::string_view name) const {
  Resolved scratch;
  auto value = ParseSize(Get(name, scratch).value);
  if (!value) Throw(name, value.error());
  return *value;
}

double Config::GetNumber(std::string_view name) const {
  Resolved scratch;
  auto value = ParseNumber(Get(name, scratch).value);
  if (!value) Throw(name, value.error());
  return *value;
}

std::vector<std::string> Config::GetList(std::string_view name) const {
  Resolved scratch;
  return SplitList(Get(name, scratch).value);
}

std::string Config::ResolvePath(std::string_view path) const {
  if (path.empty()) return std::string();
  std::filesystem::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (std::filesystem::path(absolute_directory_) / p).lexically_normal().string();
}

std::string Config::GetPath(std::string_view name) const {
  Resolved scratch;
  std::string_view value = Get(name, scratch).value;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return ResolvePath(value);
}

HostPort Config::GetHostPort(std::string_view name) const {
  Resolved scratch;
  auto value = ParseHostPort(Get(name, scratch).value);
  if (!value) Throw(name, value.error());
  return *value;
}

std::vector<HostPort> Config::GetHostPortList(std::string_view name) const {
  std::vector<HostPort> out;
  for (const std::string& item : GetList(name)) {
    auto value = ParseHostPort(item);
    if (!value) Throw(name, value.error());
    out.push_back(*value);
  }
  return out;
}

std::optional<std::string> Config::RawValue(std::string_view name) const {
  return Unexpanded(name);
}

SourceLocation Config::LocationOf(std::string_view name) const {
  if (auto it = settings_.find(name); it != settings_.end()) return it->second.location;
  return SourceLocation{SourceLocation::kDefault, 0};
}

std::vector<const Setting*> Config::ExplicitSettings() const {
  std::vector<const Setting*> out;
  for (const auto& [name, setting] : settings_) out.push_back(&setting);
  return out;
}

}  // namespace moat::core
