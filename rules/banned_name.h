// banned_name.h - attachment names as a recipient's desktop would show and run them.
//
// A sender chooses an attachment's name, and hides what it is with tricks a human (or a naive
// extension check) falls for while Windows still runs the file:
//   - trailing dots and spaces: "invoice.exe." and "invoice.exe   " run as invoice.exe;
//   - bidirectional controls: "photo<U+202E>gnp.exe" is displayed "photoexe.png";
//   - invisible characters inside the extension: ".e<U+200B>xe";
//   - look-alike dots and full-width letters: "invoice<U+FF0E>ｅｘｅ";
//   - padding: "report.pdf<many spaces>.exe", so the real extension scrolls out of view;
//   - control characters and NUL bytes, and invalid UTF-8.
// NormalizeAttachmentName() undoes them (it never adds characters a user could not see) and
// records each trick it undid, so rules match the name the operating system would use and can
// ban the trick itself (banned_rules.h: `unicode-trick`).
//
// The normalised name is the base name (after the last '/' or '\') with: invalid UTF-8 bytes
// replaced by U+FFFD; control characters, bidirectional controls and invisible format characters
// removed; look-alike dots mapped to '.', full-width ASCII to ASCII, Unicode spaces to ' ';
// leading white space and trailing dots and white space removed; ASCII letters in lower case.
// Extensions are the non-empty dot-separated segments after the first one, each trimmed of white
// space ("a.tar.gz" -> {"tar", "gz"}; ".exe" -> {"exe"}, as Windows reads it).
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace moat::rules {

struct NormalizedName {
  std::string name;                     // as above; "" when the part has no name
  std::vector<std::string> extensions;  // lower case, outermost last
  // Each trick undone, for `moat scan` and the finding's detail: "U+202E RIGHT-TO-LEFT
  // OVERRIDE", "trailing dots or spaces", "invalid UTF-8", ...
  std::vector<std::string> tricks;
  // True when the name hid something with bidirectional controls, invisible characters, look-
  // alike dots, full-width letters, control characters or invalid UTF-8 (not for trailing dots
  // or spaces alone, which are common in honest names written by old mailers).
  bool unicode_trick = false;

  // The last extension, or "" when there is none.
  const std::string& last_extension() const;
  // True when the name has two or more extensions, the one before the last contains a letter
  // (so "v1.2.exe" is not one) and, when `outer` is not empty, the last is one of `outer`.
  bool DoubleExtension(const std::vector<std::string>& outer = {}) const;
};

NormalizedName NormalizeAttachmentName(std::string_view raw);

}  // namespace moat::rules
