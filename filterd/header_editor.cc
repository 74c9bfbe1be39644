// header_editor.cc - prepend / append / remove header fields without touching anything else.
#include "filterd/header_editor.h"

#include <vector>

namespace moat::filterd {
namespace {

constexpr std::size_t kFoldColumn = 78;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool NameMatches(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return name.size() >= pattern.size() && EqualsIgnoreCase(name.substr(0, pattern.size()), pattern);
  }
  return EqualsIgnoreCase(pattern, name);
}

std::string_view DetectLineEnding(std::string_view message) {
  std::size_t nl = message.find('\n');
  if (nl == std::string_view::npos || (nl > 0 && message[nl - 1] == '\r')) return "\r\n";
  return "\n";
}

// A span of the original header: [begin, end) including its line endings.
struct Span {
  std::size_t begin;
  std::size_t end;
};

struct HeaderLayout {
  std::size_t header_end = 0;  // where the blank line starts (or the end of the message)
  bool has_blank_line = false;
  std::vector<Span> removed;   // original fields to drop, in order, non-overlapping
};

HeaderLayout Scan(std::string_view message, std::span<const HeaderEdit> first,
                  std::span<const HeaderEdit> second) {
  std::vector<std::string_view> patterns;
  for (auto edits : {first, second}) {
    for (const HeaderEdit& edit : edits) {
      if (edit.kind == HeaderEdit::Kind::kRemoveAll && !edit.name.empty()) {
        patterns.push_back(edit.name);
      }
    }
  }
  HeaderLayout layout;
  std::size_t pos = 0;
  bool removing = false;  // the current field (and its continuations) goes
  while (pos < message.size()) {
    std::size_t nl = message.find('\n', pos);
    std::size_t line_end = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, line_end - pos);
    std::string_view content = line;
    if (!content.empty() && content.back() == '\n') content.remove_suffix(1);
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    if (content.empty()) {
      layout.header_end = pos;
      layout.has_blank_line = true;
      return layout;
    }
    bool continuation = content.front() == ' ' || content.front() == '\t';
    if (!continuation) {
      removing = false;
      std::size_t colon = content.find(':');
      if (colon != std::string_view::npos && !patterns.empty()) {
        std::string_view name = content.substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        for (std::string_view pattern : patterns) {
          if (NameMatches(pattern, name)) {
            removing = true;
            break;
          }
        }
      }
    }
    if (removing) {
      if (!layout.removed.empty() && layout.removed.back().end == pos) {
        layout.removed.back().end = line_end;
      } else {
        layout.removed.push_back({pos, line_end});
      }
    }
    pos = line_end;
  }
  layout.header_end = message.size();
  return layout;
}

std::string Sanitized(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return out;
}

}  // namespace

bool IsValidFieldName(std::string_view name) {
  if (name.empty() || name.size() > 76) return false;
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 33 || byte > 126 || c == ':') return false;
  }
  return true;
}

std::string FormatHeaderField(std::string_view name, std::string_view value,
                              std::string_view line_ending) {
  if (!IsValidFieldName(name)) return "";
  std::string clean = Sanitized(value);
  std::string out;
  out.reserve(name.size() + clean.size() + 16);
  out.append(name);
  out.push_back(':');
  if (clean.empty()) {
    out.append(line_ending);
    return out;
  }
  out.push_back(' ');
  std::size_t line_start = 0;
  std::size_t i = 0;
  bool line_has_text = false;
  while (i < clean.size()) {
    // One token: a run of whitespace and the word after it.
    std::size_t j = i;
    while (j < clean.size() && (clean[j] == ' ' || clean[j] == '\t')) ++j;
    while (j < clean.size() && clean[j] != ' ' && clean[j] != '\t') ++j;
    std::string_view token(clean.data() + i, j - i);
    bool starts_with_space = token.front() == ' ' || token.front() == '\t';
    if (line_has_text && starts_with_space && out.size() - line_start + token.size() > kFoldColumn) {
      out.append(line_ending);
      line_start = out.size();
    }
    out.append(token);
    line_has_text = true;
    i = j;
  }
  out.append(line_ending);
  return out;
}

std::string ApplyHeaderEdits(std::string_view message, std::span<const HeaderEdit> first,
                             std::span<const HeaderEdit> second) {
  std::string_view eol = DetectLineEnding(message);
  std::string prepend;
  std::string append;
  for (auto edits : {first, second}) {
    for (const HeaderEdit& edit : edits) {
      if (edit.kind == HeaderEdit::Kind::kPrepend) {
        prepend += FormatHeaderField(edit.name, edit.value, eol);
      } else if (edit.kind == HeaderEdit::Kind::kAppend) {
        append += FormatHeaderField(edit.name, edit.value, eol);
      }
    }
  }
  HeaderLayout layout = Scan(message, first, second);
  bool needs_eol = !append.empty() && !layout.has_blank_line && !message.empty() &&
                   message.back() != '\n';

  std::string out;
  out.reserve(message.size() + prepend.size() + append.size() + 2);
  out.append(prepend);
  std::size_t pos = 0;
  for (const Span& span : layout.removed) {
    out.append(message.substr(pos, span.begin - pos));
    pos = span.end;
  }
  out.append(message.substr(pos, layout.header_end - pos));
  if (needs_eol) out.append(eol);
  out.append(append);
  out.append(message.substr(layout.header_end));
  return out;
}

}  // namespace moat::filterd
