// config_checker.cc - `moat check-config`: main.cf, master.cf, filterd.cf, tables and files.
#include "cli/config_checker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "core/config.h"
#include "core/config_file.h"
#include "core/master_cf.h"
#include "filterd/filterd_parameters.h"
#include "mta/mta_parameters.h"

namespace moat::cli {
namespace {

using core::ConfigDiagnostic;
using core::ConfigDiagnostics;
using core::Severity;
using core::SourceLocation;

std::string JoinPath(const std::string& directory, std::string_view name) {
  if (directory.empty()) return std::string(name);
  return directory.back() == '/' ? directory + std::string(name)
                                 : fmt::format("{}/{}", directory, name);
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Parameters whose (expanded) values may name lookup tables.
bool MayNameTables(core::ParameterType type) {
  return type == core::ParameterType::kTableList || type == core::ParameterType::kRestrictionList ||
         type == core::ParameterType::kNetworkList || type == core::ParameterType::kList;
}

// The table specs in a list value. The argument of check_policy_service is a socket, not a table.
std::vector<std::string> TableSpecs(std::string_view value) {
  std::vector<std::string> specs;
  std::vector<std::string> items = core::SplitList(value);
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i] == "check_policy_service") {
      ++i;
      continue;
    }
    std::string_view item = items[i];
    if (item.starts_with('!')) item.remove_prefix(1);
    if (core::LooksLikeTableSpec(item)) specs.emplace_back(item);
  }
  return specs;
}

// Splits "path:12: message" as the table module writes its errors.
bool SplitLocatedMessage(const std::string& message, SourceLocation& location, std::string& rest) {
  for (size_t colon = message.find(':'); colon != std::string::npos;
       colon = message.find(':', colon + 1)) {
    size_t digits_end = colon + 1;
    while (digits_end < message.size() && std::isdigit(static_cast<unsigned char>(message[digits_end]))) {
      ++digits_end;
    }
    if (digits_end > colon + 1 && digits_end < message.size() && message[digits_end] == ':') {
      location = {message.substr(0, colon), std::stoi(message.substr(colon + 1, digits_end - colon - 1))};
      rest = message.substr(digits_end + 1);
      while (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
      return true;
    }
  }
  return false;
}

class Checker {
 public:
  explicit Checker(const ConfigCheckOptions& options) : options_(options) {}

  ConfigCheckResult Run();

 private:
  using Overrides = std::vector<std::pair<int, std::string>>;
  void CheckMta(const Overrides& overrides);
  void CheckFilterd(const Overrides& overrides);
  std::vector<core::ConfigEntry> ParseOverrides(const Overrides& overrides);
  void CheckTablesOf(const core::Config& config, const std::string& name, std::string_view value,
                     const SourceLocation& location);
  void CheckAllTables(const core::Config& config);
  void CheckReadable(const core::Config& config, const std::string& name,
                     const SourceLocation& location, std::string_view prefix_to_strip = {});
  SourceLocation Locate(const core::Config& config, const std::string& name,
                        std::string_view text) const;
  void Add(Severity severity, SourceLocation location, std::string message) {
    diagnostics_.push_back({severity, std::move(location), std::move(message)});
  }

  const ConfigCheckOptions& options_;
  ConfigDiagnostics diagnostics_;
  std::vector<std::string> files_;
  std::set<std::string> opened_tables_;
  std::set<std::string> checked_files_;
};

std::vector<core::ConfigEntry> Checker::ParseOverrides(const Overrides& overrides) {
  std::vector<core::ConfigEntry> entries;
  for (const auto& [ordinal, text] : overrides) {
    auto entry = core::ParseOverride(text, ordinal);
    if (!entry) {
      Add(Severity::kError, {SourceLocation::kCommandLine, ordinal}, entry.error().message());
      continue;
    }
    entries.push_back(std::move(*entry));
  }
  return entries;
}

SourceLocation Checker::Locate(const core::Config& config, const std::string& name,
                               std::string_view text) const {
  SourceLocation location = config.LocationOf(name);
  if (location.file != SourceLocation::kDefault) return location;
  // A default that picked the table up through $name: point at the setting that wrote it.
  for (const core::Setting* setting : config.ExplicitSettings()) {
    if (setting->raw.find(text) != std::string::npos) return setting->location;
  }
  return location;
}

void Checker::CheckTablesOf(const core::Config& config, const std::string& name,
                            std::string_view value, const SourceLocation& location) {
  for (const std::string& spec : TableSpecs(value)) {
    if (!opened_tables_.insert(spec).second) continue;
    core::Status status = options_.open_table(spec, config.absolute_directory());
    if (status) continue;
    SourceLocation where = location;
    if (where.file == SourceLocation::kDefault) where = Locate(config, name, spec);
    SourceLocation table_location;
    std::string rest;
    if (SplitLocatedMessage(status.error().message(), table_location, rest)) {
      Add(Severity::kError, table_location,
          fmt::format("{} (table {} of {}, {})", rest, spec, name, where.ToString()));
    } else {
      Add(Severity::kError, where, fmt::format("{}: {}: {}", name, spec, status.error().message()));
    }
  }
}

void Checker::CheckAllTables(const core::Config& config) {
  const core::ParameterRegistry& registry = config.registry();
  for (const core::ParameterDefinition* d : registry.Definitions()) {
    if (!d->supported() || !MayNameTables(d->type)) continue;
    std::optional<std::string> value;
    try {
      value = config.Find(d->name);
    } catch (const core::ConfigError&) {
      continue;  // already reported by the parameter checks
    }
    if (value) CheckTablesOf(config, d->name, *value, config.LocationOf(d->name));
  }
  for (const core::Setting* setting : config.ExplicitSettings()) {
    if (registry.Find(setting->name) != nullptr) continue;  // user-defined parameters only
    try {
      CheckTablesOf(config, setting->name, config.GetString(setting->name), setting->location);
    } catch (const core::ConfigError&) {
    }
  }
}

void Checker::CheckReadable(const core::Config& config, const std::string& name,
                            const SourceLocation& location, std::string_view prefix_to_strip) {
  std::string value;
  try {
    value = config.GetString(name);
  } catch (const core::ConfigError&) {
    return;
  }
  std::string_view path = value;
  while (!path.empty() && path.front() == ' ') path.remove_prefix(1);
  if (path.empty()) return;
  if (!prefix_to_strip.empty()) {
    for (std::string_view prefix : {std::string_view("refile:"), std::string_view("file:")}) {
      if (path.starts_with(prefix)) path.remove_prefix(prefix.size());
    }
  }
  std::string resolved = config.ResolvePath(path);
  if (!checked_files_.insert(resolved).second) return;
  int fd = ::open(resolved.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    Add(Severity::kError, location.file == SourceLocation::kDefault ? Locate(config, name, path)
                                                                   : location,
        fmt::format("{}: cannot open {}: {}", name, resolved, std::strerror(e)));
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    Add(Severity::kError, location, fmt::format("{}: {} is a directory", name, resolved));
  }
  ::close(fd);
}

void Checker::CheckMta(const Overrides& overrides) {
  std::string main_path = JoinPath(options_.directory, "main.cf");
  std::string master_path = JoinPath(options_.directory, "master.cf");
  files_.push_back(main_path);
  files_.push_back(master_path);

  core::MasterCf master = core::ReadMasterCf(master_path);
  diagnostics_.insert(diagnostics_.end(), master.diagnostics.begin(), master.diagnostics.end());
  core::ConfigFileContents main = core::ReadConfigFile(main_path);
  diagnostics_.insert(diagnostics_.end(), main.diagnostics.begin(), main.diagnostics.end());

  auto config = core::Config::Build(mta::MtaParameterRegistry(), options_.directory, main.entries,
                                    ParseOverrides(overrides), mta::MasterCfBuildOptions(master),
                                    diagnostics_);
  mta::CheckMasterCf(master, *config, diagnostics_);
  CheckAllTables(*config);

  static constexpr const char* kFiles[] = {
      "smtpd_tls_cert_file", "smtpd_tls_key_file", "smtpd_tls_CAfile", "smtp_tls_CAfile",
      "smtp_tls_cert_file",  "smtp_tls_key_file",  "lmtp_tls_CAfile"};
  for (const char* name : kFiles) CheckReadable(*config, name, config->LocationOf(name));

  // What a master.cf service's own -o overrides name.
  for (const core::MasterService& service : master.services) {
    if (service.overrides.empty()) continue;
    ConfigDiagnostics ignored;  // reported by CheckMasterCf
    auto service_config = config->WithOverrides(service.overrides, &ignored);
    for (const core::ConfigEntry& o : service.overrides) {
      const core::ParameterDefinition* d = config->registry().Find(o.name);
      if (d != nullptr && !d->supported()) continue;
      if (d != nullptr && d->type == core::ParameterType::kPath) {
        if (std::find(std::begin(kFiles), std::end(kFiles), o.name) != std::end(kFiles)) {
          CheckReadable(*service_config, o.name, o.location);
        }
        continue;
      }
      if (d != nullptr && !MayNameTables(d->type)) continue;
      try {
        CheckTablesOf(*service_config, o.name, service_config->GetString(o.name), o.location);
      } catch (const core::ConfigError&) {
      }
    }
  }
}

void Checker::CheckFilterd(const Overrides& overrides) {
  std::string path = JoinPath(options_.directory, "filterd.cf");
  files_.push_back(path);
  core::ConfigFileContents contents = core::ReadConfigFile(path);
  diagnostics_.insert(diagnostics_.end(), contents.diagnostics.begin(),
                      contents.diagnostics.end());
  auto config = core::Config::Build(filterd::FilterdParameterRegistry(), options_.directory,
                                    contents.entries, ParseOverrides(overrides), {}, diagnostics_);
  CheckReadable(*config, "banned_rules", config->LocationOf("banned_rules"));
  for (std::string_view bank : filterd::kPolicyBanks) {
    std::string name = fmt::format("{}_banned_rules", bank);
    CheckReadable(*config, name, config->LocationOf(name));
  }
  for (const char* name : {"dkim_key_table", "dkim_signing_table"}) {
    CheckReadable(*config, name, config->LocationOf(name), "file:");
  }
}

ConfigCheckResult Checker::Run() {
  std::string directory = options_.directory.empty() ? "." : options_.directory;
  bool have_main = Exists(JoinPath(directory, "main.cf"));
  bool have_master = Exists(JoinPath(directory, "master.cf"));
  bool have_filterd = Exists(JoinPath(directory, "filterd.cf"));
  SplitOverrides split = SplitOverridesByFile(options_.overrides);
  if (!have_main && !have_master && !have_filterd) {
    Add(Severity::kError, {directory, 0}, "no main.cf, master.cf or filterd.cf here");
  }
  if (have_main || have_master) CheckMta(split.main);
  if (have_filterd) CheckFilterd(split.filterd);

  std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                   [](const ConfigDiagnostic& a, const ConfigDiagnostic& b) {
                     return std::tie(a.location.file, a.location.line) <
                            std::tie(b.location.file, b.location.line);
                   });
  ConfigCheckResult result;
  result.files = files_;
  for (const ConfigDiagnostic& d : diagnostics_) {
    (d.severity == Severity::kError ? result.errors : result.warnings)++;
  }
  result.diagnostics = std::move(diagnostics_);
  return result;
}

}  // namespace

SplitOverrides SplitOverridesByFile(const std::vector<std::string>& overrides) {
  SplitOverrides split;
  int ordinal = 0;
  for (const std::string& text : overrides) {
    ++ordinal;
    std::string name = text.substr(0, text.find('='));
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    bool mta = mta::MtaParameterRegistry().Find(name) != nullptr;
    if (!mta) {
      for (const core::ParameterTemplate& t : mta::MtaParameterRegistry().templates()) {
        mta = mta || (name.size() > t.suffix.size() + 1 && name.ends_with(t.suffix) &&
                      name[name.size() - t.suffix.size() - 1] == '_');
      }
    }
    bool filterd = filterd::FilterdParameterRegistry().Find(name) != nullptr;
    if (filterd) split.filterd.emplace_back(ordinal, text);
    if (mta || !filterd) split.main.emplace_back(ordinal, text);
  }
  return split;
}

ConfigCheckResult CheckConfigDirectory(const ConfigCheckOptions& options) {
  return Checker(options).Run();
}

}  // namespace moat::cli
