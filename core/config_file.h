// config_file.h - the Postfix main.cf syntax, read into entries that know their file and line.
//
// Syntax (postconf(5)), used by main.cf and filterd.cf; master.cf shares the logical lines:
//   - Empty lines, whitespace-only lines and lines whose first non-whitespace character is `#`
//     are ignored. They do not end a logical line.
//   - A logical line starts with non-whitespace text; a line that starts with whitespace continues
//     it. Lines are joined without their newline; the continuation's whitespace is kept
//     ("a,\n   b" reads as "a,   b"), exactly as Postfix does.
//   - `name = value`: whitespace around `=` and at both ends of the value is removed. `#` after a
//     value is part of the value (Postfix has no trailing comments).
//   - A later setting of the same name wins; every setting is kept in the entry list so that
//     `moat check-config` can point at both.
//
// Values are stored raw: `$name` expansion happens later (config_expand.h), lazily, when the
// complete configuration is known.
//
// Parsing never throws: problems become ConfigDiagnostics with file:line, so a checker sees
// them all. Plain data; safe to copy and share read-only between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config_error.h"
#include "core/error.h"

namespace moat::core {

struct LogicalLine {
  std::string text;  // physical lines joined, newline characters removed
  int line = 0;      // where the logical line starts
  // Where each joined physical line begins in `text`: (offset, line number).
  std::vector<std::pair<size_t, int>> segments;

  // The physical line holding byte `offset` of `text`.
  int LineAt(size_t offset) const;
};

// Splits `text` into logical lines. A first line that starts with whitespace is a warning and is
// read as a logical line of its own, as Postfix does.
std::vector<LogicalLine> SplitLogicalLines(std::string_view text, const std::string& file,
                                           ConfigDiagnostics& diagnostics);

struct ConfigEntry {
  std::string name;
  std::string value;  // raw, unexpanded
  SourceLocation location;
};

struct ConfigFileContents {
  std::vector<ConfigEntry> entries;  // in file order; duplicates kept (the last one wins)
  ConfigDiagnostics diagnostics;
};

// Parses main.cf-syntax text; `file` is the name used in locations.
ConfigFileContents ParseConfigText(std::string_view text, const std::string& file);

// Reads `path` and parses it. An unreadable file is one error diagnostic at `path` (line 0).
ConfigFileContents ReadConfigFile(const std::string& path);

// Reads a whole file (configuration files are small; larger than `max_bytes` is an error).
// Errors: kNotFound when absent, kIo otherwise, kInvalid when too large.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes = 16u << 20);

// "cannot open: No such file or directory" for an error of ReadSmallFile(path), whose location
// already names the file.
std::string UnreadableFileMessage(const std::string& path, const Error& error);

// Parses one `-o name=value` override; `ordinal` (1-based) becomes its location. Whitespace
// around the name and value is removed. A missing `=` or name is kInvalid.
Result<ConfigEntry> ParseOverride(std::string_view text, int ordinal);

// True for names Postfix accepts in `$name`: letters, digits and `_`.
bool IsParameterNameChar(char c);

}  // namespace moat::core
