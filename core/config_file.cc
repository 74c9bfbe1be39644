// config_file.cc - main.cf syntax: logical lines and `name = value` entries.
#include "core/config_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace moat::core {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsBlank(s.front()) || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// A physical line that Postfix skips: empty, whitespace only, or a comment.
bool IsIgnorable(std::string_view line) {
  std::string_view trimmed = Trim(line);
  return trimmed.empty() || trimmed.front() == '#';
}

}  // namespace

bool IsParameterNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int LogicalLine::LineAt(size_t offset) const {
  int found = line;
  for (const auto& [start, number] : segments) {
    if (start > offset) break;
    found = number;
  }
  return found;
}

std::vector<LogicalLine> SplitLogicalLines(std::string_view text, const std::string& file,
                                           ConfigDiagnostics& diagnostics) {
  std::vector<LogicalLine> lines;
  bool have_current = false;
  int number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view physical = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
    if (physical.find('\0') != std::string_view::npos) {
      diagnostics.push_back({Severity::kError, {file, number}, "line contains a NUL byte; ignored"});
      continue;
    }
    if (IsIgnorable(physical)) continue;
    if (IsBlank(physical.front())) {
      if (have_current) {
        lines.back().segments.emplace_back(lines.back().text.size(), number);
        lines.back().text.append(physical);
        continue;
      }
      diagnostics.push_back({Severity::kWarning,
                             {file, number},
                             "logical line must not start with whitespace"});
      physical = Trim(physical);
    }
    lines.push_back({std::string(physical), number, {{0, number}}});
    have_current = true;
  }
  return lines;
}

ConfigFileContents ParseConfigText(std::string_view text, const std::string& file) {
  ConfigFileContents contents;
  for (LogicalLine& logical : SplitLogicalLines(text, file, contents.diagnostics)) {
    SourceLocation location{file, logical.line};
    std::string_view line = Trim(logical.text);
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      contents.diagnostics.push_back(
          {Severity::kError, location, fmt::format("missing '=' after parameter name: \"{}\"",
                                                   line.substr(0, 60))});
      continue;
    }
    std::string_view name = Trim(line.substr(0, equals));
    std::string_view value = Trim(line.substr(equals + 1));
    if (name.empty()) {
      contents.diagnostics.push_back(
          {Severity::kError, location, fmt::format("missing parameter name: \"{}\"",
                                                   line.substr(0, 60))});
      continue;
    }
    bool name_ok = true;
    for (char c : name) name_ok = name_ok && !IsBlank(c);
    if (!name_ok) {
      contents.diagnostics.push_back(
          {Severity::kError, location, fmt::format("missing '=' after parameter name: \"{}\"",
                                                   line.substr(0, 60))});
      continue;
    }
    contents.entries.push_back({std::string(name), std::string(value), location});
  }
  return contents;
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return Fail(ErrnoError(e == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, "open " + path, e));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kIo, "open {}: is a directory", path);
  }
  std::string data;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Fail(ErrnoError(ErrorCode::kIo, "read " + path, e));
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > max_bytes) {
      ::close(fd);
      return Fail(ErrorCode::kInvalid, "{}: larger than {} bytes", path, max_bytes);
    }
  }
  ::close(fd);
  return data;
}

std::string UnreadableFileMessage(const std::string& path, const Error& error) {
  std::string message = error.message();
  for (std::string_view verb : {"open ", "read "}) {
    std::string prefix = fmt::format("{}{}: ", verb, path);
    if (message.starts_with(prefix)) {
      return fmt::format("cannot {}: {}", verb.substr(0, 4), message.substr(prefix.size()));
    }
  }
  return message;
}

ConfigFileContents ReadConfigFile(const std::string& path) {
  auto text = ReadSmallFile(path);
  if (!text) {
    ConfigFileContents contents;
    contents.diagnostics.push_back(
        {Severity::kError, {path, 0}, UnreadableFileMessage(path, text.error())});
    return contents;
  }
  return ParseConfigText(*text, path);
}

Result<ConfigEntry> ParseOverride(std::string_view text, int ordinal) {
  size_t equals = text.find('=');
  if (equals == std::string_view::npos) {
    return Fail(ErrorCode::kInvalid, "-o {}: expected name=value", text);
  }
  std::string_view name = Trim(text.substr(0, equals));
  if (name.empty()) return Fail(ErrorCode::kInvalid, "-o {}: missing parameter name", text);
  for (char c : name) {
    if (IsBlank(c)) return Fail(ErrorCode::kInvalid, "-o {}: bad parameter name", text);
  }
  return ConfigEntry{std::string(name), std::string(Trim(text.substr(equals + 1))),
                     SourceLocation{SourceLocation::kCommandLine, ordinal}};
}

}  // namespace moat::core
