// content_header_edits.cc - the header editor (see content_header_edits.h).
#include "filterd/content_header_edits.h"

#include <vector>

#include "filterd/dkim_auth_results.h"

namespace moat::filterd {
namespace {

constexpr size_t kFoldColumn = 78;

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 'a' - 'A';
    if (y >= 'A' && y <= 'Z') y += 'a' - 'A';
    if (x != y) return false;
  }
  return true;
}

bool NameMatches(std::string_view pattern, std::string_view name) {
  if (pattern.ends_with('*')) {
    pattern.remove_suffix(1);
    return name.size() >= pattern.size() &&
           EqualsIgnoringCase(name.substr(0, pattern.size()), pattern);
  }
  return EqualsIgnoringCase(pattern, name);
}

struct Field {
  std::string text;  // all its lines, with their line endings
  std::string_view Name() const {
    std::string_view t = text;
    size_t colon = t.find(':');
    std::string_view name = t.substr(0, colon == std::string_view::npos ? t.size() : colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    return name;
  }
  std::string_view Value() const {
    std::string_view t = text;
    size_t colon = t.find(':');
    return colon == std::string_view::npos ? std::string_view() : t.substr(colon + 1);
  }
};

}  // namespace

std::string FoldHeaderField(std::string_view name, std::string_view value,
                            std::string_view line_ending) {
  std::string out(name);
  out += ": ";
  size_t line_start = 0;
  size_t pos = 0;
  while (pos < value.size()) {
    size_t space = value.find(' ', pos + 1);
    size_t word_end = space == std::string_view::npos ? value.size() : space;
    size_t column = out.size() - line_start;
    if (column + (word_end - pos) > kFoldColumn && column > name.size() + 2 && value[pos] == ' ') {
      out += line_ending;
      line_start = out.size();
      out += '\t';
      out.append(value.substr(pos + 1, word_end - pos - 1));
    } else {
      out.append(value.substr(pos, word_end - pos));
    }
    pos = word_end;
  }
  out += line_ending;
  return out;
}

std::string ApplyHeaderEdits(std::string_view message, std::span<const HeaderEdit> edits) {
  // Split the header section into fields.
  std::vector<Field> fields;
  size_t pos = 0;
  size_t body = message.size();
  bool crlf = true;
  bool first_line = true;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t end = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, end - pos);
    if (first_line) {
      crlf = !(line.ends_with("\n") && !line.ends_with("\r\n"));
      first_line = false;
    }
    if (line == "\n" || line == "\r\n") {
      body = pos;
      break;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
      fields.back().text.append(line);
    } else {
      fields.push_back({std::string(line)});
    }
    pos = end;
  }
  if (pos >= message.size()) body = message.size();
  std::string_view line_ending = crlf ? "\r\n" : "\n";
  if (!fields.empty() && !fields.back().text.ends_with('\n')) fields.back().text += line_ending;

  size_t prepend_at = 0;
  bool previous_prepend = false;
  for (const HeaderEdit& edit : edits) {
    switch (edit.kind) {
      case HeaderEdit::Kind::kRemoveAll:
        std::erase_if(fields, [&](const Field& f) {
          if (!NameMatches(edit.name, f.Name())) return false;
          if (edit.authserv_id.empty()) return true;
          return EqualsIgnoringCase(AuthservIdOf(f.Value()), edit.authserv_id);
        });
        break;
      case HeaderEdit::Kind::kPrepend: {
        if (!previous_prepend) prepend_at = 0;
        Field f{FoldHeaderField(edit.name, edit.value, line_ending)};
        fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(prepend_at), std::move(f));
        ++prepend_at;
        break;
      }
      case HeaderEdit::Kind::kAppend:
        fields.push_back({FoldHeaderField(edit.name, edit.value, line_ending)});
        break;
    }
    previous_prepend = edit.kind == HeaderEdit::Kind::kPrepend;
  }

  std::string out;
  out.reserve(message.size() + 1024);
  for (const Field& f : fields) out += f.text;
  out.append(message.substr(body));
  return out;
}

}  // namespace moat::filterd
