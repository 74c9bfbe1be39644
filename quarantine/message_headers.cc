// message_headers.cc - lenient header access for held messages.
#include "quarantine/message_headers.h"

#include <strings.h>

namespace moat::quarantine {
namespace {

// The line starting at `pos` without its ending; *next is where the following line starts.
std::string_view LineAt(std::string_view text, size_t pos, size_t* next) {
  size_t end = text.find('\n', pos);
  if (end == std::string_view::npos) {
    *next = text.size();
    return text.substr(pos);
  }
  *next = end + 1;
  size_t length = end - pos;
  if (length > 0 && text[end - 1] == '\r') --length;
  return text.substr(pos, length);
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view HeaderSection(std::string_view message) {
  size_t pos = 0;
  while (pos < message.size()) {
    size_t next = 0;
    std::string_view line = LineAt(message, pos, &next);
    if (line.empty()) return message.substr(0, next);
    pos = next;
  }
  return message;
}

std::optional<std::string> FirstHeaderValue(std::string_view message, std::string_view name) {
  std::string_view headers = HeaderSection(message);
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t next = 0;
    std::string_view line = LineAt(headers, pos, &next);
    pos = next;
    if (line.size() <= name.size() || line[name.size()] != ':' ||
        ::strncasecmp(line.data(), name.data(), name.size()) != 0) {
      continue;
    }
    std::string value(Trim(line.substr(name.size() + 1)));
    // Continuation lines start with a blank; unfolding joins them with that blank kept.
    while (pos < headers.size() && IsBlank(headers[pos])) {
      std::string_view more = LineAt(headers, pos, &next);
      pos = next;
      std::string_view trimmed = Trim(more);
      if (trimmed.empty()) continue;
      if (!value.empty()) value.push_back(' ');
      value.append(trimmed);
      if (value.size() > kMaxHeaderValue) break;
    }
    if (value.size() > kMaxHeaderValue) value.resize(kMaxHeaderValue);
    return value;
  }
  return std::nullopt;
}

std::string_view LineEnding(std::string_view message) {
  size_t end = message.find('\n');
  if (end == std::string_view::npos || (end > 0 && message[end - 1] == '\r')) return "\r\n";
  return "\n";
}

}  // namespace moat::quarantine
