// table_file.h - reading the source file of a lookup table: bytes, identity, logical lines.
//
// Every file-backed table type (hash/btree/texthash, pcre/regexp, cidr) reads its file through
// here, so they share one notion of a logical line (Postfix readlline(3)):
//   - a logical line starts with non-whitespace text; a following line that starts with
//     whitespace continues it, appended as is (the newline dropped, its leading blanks kept);
//   - blank lines and lines whose first non-whitespace character is `#` are ignored, also
//     between continuation lines; `#` anywhere else is text;
//   - text that starts with whitespace but continues nothing is an error.
// A logical line is reported with the number of its first physical line.
//
// Errors name the file: "path: cannot open table: No such file or directory" (kNotFound),
// other open/read failures kIo, a file over the size limit kInvalid; and "path:line: ..." from
// ForEachLogicalLine (kInvalid) or from the caller's callback, which it passes through.
//
// Plain functions; no shared state.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::core {

// What identifies one version of a file: a changed inode (replaced by rename), size or mtime
// means the file must be read again.
struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

struct TableFile {
  std::string text;
  FileStamp stamp;  // taken on the open descriptor before reading
};

Result<TableFile> ReadTableFile(const std::string& path, size_t max_bytes);
Result<FileStamp> StatTableFile(const std::string& path);

// Called for each logical line with its text (trailing whitespace removed) and first line number.
using LogicalLineFn = std::function<Status(std::string_view text, int line_number)>;

// Walks `content` (the text of `path`, used in messages) one logical line at a time; stops at and
// returns the first error of `fn`.
Status ForEachLogicalLine(std::string_view content, std::string_view path, const LogicalLineFn& fn);

// `text` with control characters written as \n, \t, \r or \xNN, so that a message quoting
// hostile or mangled input stays one printable line.
std::string Printable(std::string_view text);

// The same error with its message made Printable(): applied where table errors leave core.
Error OneLine(const Error& error);

// Text helpers shared by the table parsers (ASCII, as Postfix's ISSPACE/ISALNUM).
inline bool IsTableSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
inline bool IsTableAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
inline std::string_view SkipTableSpace(std::string_view s) {
  while (!s.empty() && IsTableSpace(s.front())) s.remove_prefix(1);
  return s;
}
// True when `line` starts with the keyword `word` (lower case given; any case matched) followed
// by a non-alphanumeric character or the end: "if", "endif".
inline bool StartsWithKeyword(std::string_view line, std::string_view word) {
  if (line.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != word[i]) return false;
  }
  return line.size() == word.size() || !IsTableAlnum(line[word.size()]);
}

// "path:line: message" with the code kInvalid: the form every table syntax error takes.
Error TableSyntaxError(std::string_view path, int line_number, std::string_view message);

}  // namespace moat::core
