// quarantine_options.cc - settings and time arguments of `moat quarantine` and `moat web`.
#include "cli/quarantine_options.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <tuple>
#include <utility>

#include "cli/config_checker.h"
#include "core/config.h"
#include "core/config_file.h"
#include "filterd/filterd_parameters.h"
#include "mta/mta_parameters.h"

namespace moat::cli {
namespace {

using core::ErrorCode;

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string InDirectory(const std::string& directory, std::string_view file) {
  return directory.empty() ? std::string(file) : directory + "/" + std::string(file);
}

// Parsed -o overrides for one file; a malformed one is a diagnostic.
std::vector<core::ConfigEntry> ParseOverrides(const std::vector<std::pair<int, std::string>>& texts,
                                              core::ConfigDiagnostics& diagnostics) {
  std::vector<core::ConfigEntry> entries;
  for (const auto& [ordinal, text] : texts) {
    auto entry = core::ParseOverride(text, ordinal);
    if (!entry) {
      diagnostics.push_back({core::Severity::kError,
                             {core::SourceLocation::kCommandLine, ordinal},
                             entry.error().message()});
      continue;
    }
    entries.push_back(std::move(*entry));
  }
  return entries;
}

core::Error FirstError(const core::ConfigDiagnostics& diagnostics) {
  for (const core::ConfigDiagnostic& d : diagnostics) {
    if (d.severity == core::Severity::kError) return core::Error(ErrorCode::kInvalid, d.ToString());
  }
  return core::Error(ErrorCode::kInvalid, "configuration error");
}

// main.cf's queue_directory and metrics_listen, for the dashboard only: any problem just leaves
// them unknown (the MTA's configuration is the MTA's business; `moat check-config` reports it).
std::pair<std::string, std::string> QueueDirectory(const GlobalOptions& global,
                                                   const SplitOverrides& split) {
  std::string main_cf = InDirectory(global.config_directory, "main.cf");
  if (!IsFile(main_cf)) return {};
  core::ConfigFileContents contents = core::ReadConfigFile(main_cf);
  core::ConfigDiagnostics diagnostics;
  std::vector<core::ConfigEntry> overrides = ParseOverrides(split.main, diagnostics);
  try {
    auto config = core::Config::Build(mta::MtaParameterRegistry(), global.config_directory,
                                      contents.entries, overrides, {}, diagnostics);
    return {config->GetPath("queue_directory"), config->GetString("metrics_listen")};
  } catch (const core::ConfigError&) {
    return {};
  }
}

}  // namespace

core::Result<QuarantineSettings> LoadQuarantineSettings(const GlobalOptions& global,
                                                        std::string_view directory_option) {
  SplitOverrides split = SplitOverridesByFile(global.overrides);
  core::ConfigDiagnostics diagnostics;
  std::vector<core::ConfigEntry> overrides = ParseOverrides(split.filterd, diagnostics);
  std::string filterd_cf = InDirectory(global.config_directory, "filterd.cf");
  QuarantineSettings settings;
  settings.from_filterd_cf = IsFile(filterd_cf);
  std::vector<core::ConfigEntry> file_entries;
  if (settings.from_filterd_cf) {
    core::ConfigFileContents contents = core::ReadConfigFile(filterd_cf);
    diagnostics.insert(diagnostics.end(), contents.diagnostics.begin(), contents.diagnostics.end());
    file_entries = std::move(contents.entries);
  }
  if (core::HasErrors(diagnostics)) return core::Fail(FirstError(diagnostics));
  try {
    auto config = core::Config::Build(filterd::FilterdParameterRegistry(), global.config_directory,
                                      file_entries, overrides, {}, diagnostics);
    if (core::HasErrors(diagnostics)) return core::Fail(FirstError(diagnostics));
    if (!directory_option.empty()) {
      settings.quarantine_directory = std::string(directory_option);
    } else if (settings.from_filterd_cf || config->IsSet("quarantine_directory")) {
      settings.quarantine_directory = config->GetPath("quarantine_directory");
    } else {
      return core::Fail(ErrorCode::kNotFound,
                        "no quarantine directory: no filterd.cf in '{}'; pass --directory DIR or "
                        "-o quarantine_directory=DIR",
                        global.config_directory);
    }
    settings.forward_to = config->GetHostPort("forward_to").ToString();
    settings.forward_helo_name = config->GetString("forward_helo_name");
    settings.web_listen = config->GetString("web_listen");
    settings.web_users_file = config->GetPath("web_users_file");
    settings.web_allow_remote = config->GetBool("web_allow_remote");
    settings.web_tls_cert_file = config->GetPath("web_tls_cert_file");
    settings.web_tls_key_file = config->GetPath("web_tls_key_file");
    settings.web_session_timeout = config->GetTime("web_session_timeout");
    settings.clamav_database_directory = config->GetPath("clamav_database_directory");
    settings.filterd_metrics_listen = config->GetString("metrics_listen");
  } catch (const core::ConfigError& e) {
    return core::Fail(ErrorCode::kInvalid, "{}", e.what());
  }
  std::tie(settings.queue_directory, settings.mta_metrics_listen) = QueueDirectory(global, split);
  return settings;
}

std::optional<quarantine::Clock::duration> ParseAge(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  char unit = text.back();
  std::string number(text.substr(0, text.size() - 1));
  if (number.find_first_not_of("0123456789") != std::string::npos || number.size() > 9) {
    return std::nullopt;
  }
  int64_t value = std::stoll(number);
  switch (unit) {
    case 's':
      return std::chrono::seconds(value);
    case 'm':
      return std::chrono::minutes(value);
    case 'h':
      return std::chrono::hours(value);
    case 'd':
      return std::chrono::hours(24 * value);
    case 'w':
      return std::chrono::hours(24 * 7 * value);
    default:
      return std::nullopt;
  }
}

std::optional<quarantine::TimePoint> ParseTime(std::string_view text, quarantine::TimePoint now) {
  if (auto ago = ParseAge(text)) return now - *ago;
  if (text.size() > 40) return std::nullopt;
  std::string s(text);
  if (!s.empty() && s.back() == 'Z') s.pop_back();
  std::replace(s.begin(), s.end(), 'T', ' ');
  for (const char* format : {"%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    struct tm tm {};
    const char* end = ::strptime(s.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') return quarantine::Clock::from_time_t(::timegm(&tm));
  }
  return std::nullopt;
}

}  // namespace moat::cli
