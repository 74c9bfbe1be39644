// config_error.h - where a configuration problem is, and how it is reported.
//
// Every value the configuration modules read (main.cf, filterd.cf, master.cf, a -o override)
// remembers its SourceLocation, so every problem can be printed the way administrators grep for
// it: "conf/main.cf:12: error: unknown parameter ...".
//
//   ConfigDiagnostic  one problem, warning or error, with its location. Collected in a list by the
//                     parsers and by Config::Build(), so `moat check-config` can show them all.
//   ConfigError       the exception thrown while loading a configuration (Config::Load(), typed
//                     getters). Exceptions are used only while loading (see STYLE.md); main()
//                     catches ConfigError and prints what() — already "file:line: message" — and
//                     exits non-zero.
//
// Plain value types; safe to copy between threads.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace moat::core {

struct SourceLocation {
  // The file as the administrator named it ("conf/main.cf"), or one of the pseudo-files below.
  std::string file;
  int line = 0;  // 1-based; 0 when the problem concerns the file as a whole

  // Pseudo-files for values that do not come from a file.
  static constexpr const char* kCommandLine = "-o";       // line = the override's ordinal
  static constexpr const char* kDefault = "(default)";    // a registry default

  // "conf/main.cf:12", "conf/main.cf", "-o #2", "(default)".
  std::string ToString() const;
};

enum class Severity { kWarning, kError };

struct ConfigDiagnostic {
  Severity severity = Severity::kError;
  SourceLocation location;
  std::string message;

  // "conf/main.cf:12: error: message"
  std::string ToString() const;
};

using ConfigDiagnostics = std::vector<ConfigDiagnostic>;

bool HasErrors(const ConfigDiagnostics& diagnostics);

class ConfigError : public std::runtime_error {
 public:
  ConfigError(SourceLocation location, const std::string& message);
  explicit ConfigError(const ConfigDiagnostic& diagnostic)
      : ConfigError(diagnostic.location, diagnostic.message) {}

  const SourceLocation& location() const { return location_; }
  // The message without the location.
  const std::string& message() const { return message_; }

 private:
  SourceLocation location_;
  std::string message_;
};

}  // namespace moat::core
