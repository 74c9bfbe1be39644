// queue_recipient_log.cc - encoding of the per-recipient logs (format in the header).
#include "mta/queue_recipient_log.h"

#include <charconv>

#include <fmt/format.h>

namespace moat::mta {
namespace {

void AppendEscaped(std::string& out, std::string_view field) {
  for (char c : field) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
}

std::string Unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out.push_back(field[i]);
      continue;
    }
    char next = field[++i];
    out.push_back(next == 't' ? '\t' : next == 'r' ? '\r' : next == 'n' ? '\n' : next);
  }
  return out;
}

template <typename T>
bool ParseNumber(std::string_view text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string_view RecipientLogDirectory(RecipientLogKind kind) {
  switch (kind) {
    case RecipientLogKind::kDefer:
      return "defer";
    case RecipientLogKind::kBounce:
      return "bounce";
    case RecipientLogKind::kTrace:
      return "trace";
  }
  return "defer";
}

std::string EncodeRecipientLogEntry(const RecipientLogEntry& entry) {
  std::string line = fmt::format("{}\t{}\t", entry.time, entry.offset);
  AppendEscaped(line, entry.address);
  line.push_back('\t');
  AppendEscaped(line, entry.status);
  line.push_back('\t');
  AppendEscaped(line, entry.action);
  line.push_back('\t');
  AppendEscaped(line, entry.reason);
  line.push_back('\n');
  return line;
}

core::Result<std::vector<RecipientLogEntry>> DecodeRecipientLog(std::string_view text) {
  std::vector<RecipientLogEntry> entries;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    if (newline == std::string_view::npos) break;  // torn last line
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline + 1);
    ++line_number;
    std::string_view fields[6];
    size_t count = 0;
    while (count < 5) {
      size_t tab = line.find('\t');
      if (tab == std::string_view::npos) break;
      fields[count++] = line.substr(0, tab);
      line.remove_prefix(tab + 1);
    }
    fields[count++] = line;
    RecipientLogEntry entry;
    if (count != 6 || !ParseNumber(fields[0], entry.time) ||
        !ParseNumber(fields[1], entry.offset)) {
      return core::Fail(core::ErrorCode::kCorrupt, "line {}: malformed log entry", line_number);
    }
    entry.address = Unescape(fields[2]);
    entry.status = Unescape(fields[3]);
    entry.action = Unescape(fields[4]);
    entry.reason = Unescape(fields[5]);
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace moat::mta
