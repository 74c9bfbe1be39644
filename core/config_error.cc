// config_error.cc - formatting of configuration locations and problems.
#include "core/config_error.h"

#include <algorithm>

#include <fmt/format.h>

namespace moat::core {

std::string SourceLocation::ToString() const {
  if (file == kCommandLine) return fmt::format("-o #{}", line);
  if (line <= 0) return file;
  return fmt::format("{}:{}", file, line);
}

std::string ConfigDiagnostic::ToString() const {
  return fmt::format("{}: {}: {}", location.ToString(),
                     severity == Severity::kError ? "error" : "warning", message);
}

bool HasErrors(const ConfigDiagnostics& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const ConfigDiagnostic& d) { return d.severity == Severity::kError; });
}

ConfigError::ConfigError(SourceLocation location, const std::string& message)
    : std::runtime_error(fmt::format("{}: {}", location.ToString(), message)),
      location_(std::move(location)),
      message_(message) {}

}  // namespace moat::core
