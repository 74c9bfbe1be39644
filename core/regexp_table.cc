// regexp_table.cc - parsing and matching of pcre: and regexp: tables (after dict_pcre.c and
// dict_regexp.c), with PCRE2 through core/regex.h.
#include "core/regexp_table.h"

#include <algorithm>

#include "core/table_file.h"

namespace moat::core {
namespace {

bool IsNameChar(char c) { return IsTableAlnum(c) || c == '_'; }

// One "!/pattern/flags" as written, before compilation.
struct PatternText {
  std::string pattern;
  RegexOptions options;
  bool negated = false;
};

// Reads [!...]<delim>pattern<delim>flags from the front of `rest` and advances it past the flags.
Result<PatternText> ParsePattern(std::string_view& rest, RegexpDialect dialect,
                                 std::vector<std::string>& flag_warnings) {
  PatternText out;
  size_t p = 0;
  for (; p < rest.size(); ++p) {
    if (rest[p] == '!') {
      out.negated = !out.negated;
    } else if (!IsTableSpace(rest[p])) {
      break;
    }
  }
  if (p == rest.size()) return Fail(ErrorCode::kInvalid, "no regular expression");
  const char delimiter = rest[p++];
  const size_t begin = p;
  while (p < rest.size() && rest[p] != delimiter) {
    if (rest[p] == '\\' && p + 1 < rest.size()) ++p;
    ++p;
  }
  if (p >= rest.size()) {
    return Fail(ErrorCode::kInvalid, "no closing regular expression delimiter \"{}\"", delimiter);
  }
  std::string_view raw = rest.substr(begin, p - begin);
  ++p;

  RegexOptions& o = out.options;
  if (dialect == RegexpDialect::kPcre) {
    o.caseless = true;
    o.dotall = true;
    for (; p < rest.size() && !IsTableSpace(rest[p]); ++p) {
      switch (rest[p]) {
        case 'i':
          o.caseless = !o.caseless;
          break;
        case 'm':
          o.multiline = !o.multiline;
          break;
        case 's':
          o.dotall = !o.dotall;
          break;
        case 'x':
          o.extended = !o.extended;
          break;
        case 'A':
          o.anchored = !o.anchored;
          break;
        case 'E':
          o.dollar_endonly = !o.dollar_endonly;
          break;
        case 'U':
          o.ungreedy = !o.ungreedy;
          break;
        case 'X':
          flag_warnings.push_back("ignoring obsolete regular expression option \"X\"");
          break;
        default:
          return Fail(ErrorCode::kInvalid, "unknown regular expression option \"{}\"", rest[p]);
      }
    }
    out.pattern.assign(raw);
  } else {
    bool newline_sensitive = false;
    bool extended_syntax = true;
    o.caseless = true;
    for (; p < rest.size() && !IsTableSpace(rest[p]) && rest[p] != '!'; ++p) {
      switch (rest[p]) {
        case 'i':
          o.caseless = !o.caseless;
          break;
        case 'm':
          newline_sensitive = !newline_sensitive;
          break;
        case 'x':
          extended_syntax = !extended_syntax;
          break;
        default:
          return Fail(ErrorCode::kInvalid, "unknown regular expression option \"{}\"", rest[p]);
      }
    }
    if (!extended_syntax) {
      return Fail(ErrorCode::kInvalid,
                  "basic POSIX regular expressions (option \"x\") are not supported; write the "
                  "pattern in extended syntax");
    }
    // regcomp() without REG_NEWLINE: . matches newline, ^ $ only at the ends of the key.
    o.multiline = newline_sensitive;
    o.dotall = !newline_sensitive;
    o.dollar_endonly = !newline_sensitive;
    out.pattern = TranslatePosixRegex(raw);
  }
  rest.remove_prefix(p);
  return out;
}

// Parses a result as Postfix's mac_parse() sees it: $n, ${n}, $(n); $$ is one dollar.
Status ParseResult(std::string_view text, RegexpTable::Rule& rule) {
  rule.text.clear();
  rule.pieces.clear();
  rule.max_group = 0;
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    RegexpTable::Piece piece;
    piece.begin = static_cast<uint32_t>(rule.text.size());
    piece.length = static_cast<uint32_t>(literal.size());
    rule.text += literal;
    rule.pieces.push_back(piece);
    literal.clear();
  };
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '$') {
      literal += text[i++];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      literal += '$';
      i += 2;
      continue;
    }
    ++i;
    std::string_view name;
    if (i < text.size() && (text[i] == '{' || text[i] == '(')) {
      const char open = text[i];
      const char close = open == '{' ? '}' : ')';
      size_t depth = 0;
      size_t j = i;
      for (; j < text.size(); ++j) {
        if (text[j] == open) ++depth;
        if (text[j] == close && --depth == 0) break;
      }
      if (j >= text.size()) return Fail(ErrorCode::kInvalid, "missing '{}' in \"{}\"", close, text);
      name = text.substr(i + 1, j - i - 1);
      i = j + 1;
    } else {
      size_t j = i;
      while (j < text.size() && IsNameChar(text[j])) ++j;
      name = text.substr(i, j - i);
      i = j;
    }
    if (name.empty()) return Fail(ErrorCode::kInvalid, "empty $ reference in \"{}\"", text);
    if (!std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Fail(ErrorCode::kInvalid, "non-numeric replacement index \"{}\"", name);
    }
    uint32_t n = 0;
    for (char c : name) {
      n = n * 10 + static_cast<uint32_t>(c - '0');
      if (n > 65535) break;
    }
    if (n < 1 || n > 65535) {
      return Fail(ErrorCode::kInvalid, "out of range replacement index \"{}\"", name);
    }
    flush_literal();
    RegexpTable::Piece piece;
    piece.group = n;
    rule.pieces.push_back(piece);
    rule.max_group = std::max(rule.max_group, n);
  }
  if (rule.max_group == 0) {
    rule.text = literal;
    rule.pieces.clear();
  } else {
    flush_literal();
  }
  return {};
}

Result<Regex> CompilePattern(const PatternText& p) { return Regex::Compile(p.pattern, p.options); }

}  // namespace

std::string TranslatePosixRegex(std::string_view ere) {
  std::string out;
  out.reserve(ere.size() + 8);
  for (size_t i = 0; i < ere.size(); ++i) {
    char c = ere[i];
    if (c == '\\' && i + 1 < ere.size()) {
      char n = ere[++i];
      switch (n) {
        case '<':
          out += "\\b(?=\\w)";
          break;  // GNU start of word
        case '>':
          out += "\\b(?<=\\w)";
          break;  // GNU end of word
        case '`':
          out += "\\A";
          break;
        case '\'':
          out += "\\z";
          break;
        default:
          out += '\\';
          out += n;
      }
      continue;
    }
    if (c != '[') {
      out += c;
      continue;
    }
    // A bracket expression: backslash is an ordinary character in POSIX, `]` first is literal,
    // and [:class:] [=x=] [.x.] are copied whole.
    out += '[';
    size_t j = i + 1;
    if (j < ere.size() && ere[j] == '^') out += ere[j++];
    if (j < ere.size() && ere[j] == ']') {
      out += "\\]";
      ++j;
    }
    for (; j < ere.size() && ere[j] != ']'; ++j) {
      if (ere[j] == '[' && j + 1 < ere.size() &&
          (ere[j + 1] == ':' || ere[j + 1] == '=' || ere[j + 1] == '.')) {
        size_t end = ere.find(std::string{ere[j + 1], ']'}, j + 2);
        if (end != std::string_view::npos) {
          out.append(ere.substr(j, end + 2 - j));
          j = end + 1;
          continue;
        }
      }
      if (ere[j] == '\\') {
        out += "\\\\";
      } else if (ere[j] == '[') {
        out += "\\[";
      } else {
        out += ere[j];
      }
    }
    if (j < ere.size()) out += ']';  // unterminated: let PCRE2 report it
    i = j;
  }
  return out;
}

Result<std::shared_ptr<const RegexpTable>> RegexpTable::Compile(
    std::string spec, RegexpDialect dialect, std::string_view path, std::string_view text,
    std::vector<std::string>& warnings) {
  std::shared_ptr<RegexpTable> table(new RegexpTable(std::move(spec), std::string(path)));
  std::vector<size_t> open_ifs;

  auto parse_line = [&](std::string_view line, int number) -> Status {
    auto syntax = [&](std::string_view message) {
      return std::unexpected(TableSyntaxError(path, number, message));
    };
    std::vector<std::string> flag_warnings;
    auto add_flag_warnings = [&] {
      for (const auto& w : flag_warnings)
        warnings.push_back(fmt::format("{}:{}: {}", path, number, w));
    };
    Rule rule;
    rule.line = number;

    if (!IsTableAlnum(line.front())) {
      std::string_view rest = line;
      auto first = ParsePattern(rest, dialect, flag_warnings);
      if (!first) return syntax(first.error().message());
      std::optional<PatternText> second;
      if (dialect == RegexpDialect::kPosix && !rest.empty() && rest.front() == '!') {
        auto parsed = ParsePattern(rest, dialect, flag_warnings);
        if (!parsed) return syntax(parsed.error().message());
        second = std::move(*parsed);
      }
      std::string_view result = SkipTableSpace(rest);
      if (!rest.empty() && !IsTableSpace(rest.front())) {
        return syntax(fmt::format("unexpected text \"{}\" after the pattern", rest));
      }
      if (result.empty()) {
        warnings.push_back(
            fmt::format("{}:{}: no result after the pattern: using an empty string", path, number));
      }
      Status parsed_result = ParseResult(result, rule);
      if (!parsed_result) {
        return syntax(fmt::format("bad result: {}", parsed_result.error().message()));
      }
      if (rule.max_group > 0 && first->negated) {
        return syntax("$number in the result of a negated pattern (!/.../): nothing is captured");
      }
      auto regex = CompilePattern(*first);
      if (!regex) return syntax(regex.error().message());
      if (rule.max_group > regex->capture_count()) {
        return syntax(
            fmt::format("out of range replacement index \"{}\": the pattern has {} "
                        "capture group(s)",
                        rule.max_group, regex->capture_count()));
      }
      rule.op = Op::kMatch;
      rule.regex = std::move(*regex);
      rule.negated = first->negated;
      if (second) {
        auto second_regex = CompilePattern(*second);
        if (!second_regex) return syntax(second_regex.error().message());
        rule.second = std::move(*second_regex);
        rule.second_negated = second->negated;
      }
      add_flag_warnings();
      table->rules_.push_back(std::move(rule));
      return {};
    }

    if (StartsWithKeyword(line, "if")) {
      std::string_view rest = SkipTableSpace(line.substr(2));
      auto pattern = ParsePattern(rest, dialect, flag_warnings);
      if (!pattern) return syntax(pattern.error().message());
      rest = SkipTableSpace(rest);
      if (!rest.empty()) {
        warnings.push_back(
            fmt::format("{}:{}: ignoring extra text after if: \"{}\" (do not indent "
                        "the rules between if and endif)",
                        path, number, rest));
      }
      auto regex = CompilePattern(*pattern);
      if (!regex) return syntax(regex.error().message());
      rule.op = Op::kIf;
      rule.regex = std::move(*regex);
      rule.negated = pattern->negated;
      add_flag_warnings();
      open_ifs.push_back(table->rules_.size());
      table->rules_.push_back(std::move(rule));
      return {};
    }

    if (StartsWithKeyword(line, "endif")) {
      if (open_ifs.empty()) return syntax("endif without matching if");
      if (!SkipTableSpace(line.substr(5)).empty()) {
        warnings.push_back(fmt::format("{}:{}: ignoring extra text after endif", path, number));
      }
      table->rules_[open_ifs.back()].endif = table->rules_.size();
      open_ifs.pop_back();
      rule.op = Op::kEndif;
      table->rules_.push_back(std::move(rule));
      return {};
    }

    return syntax(
        fmt::format("unrecognized line \"{}\": expected /pattern/ result, if /pattern/ "
                    "or endif",
                    line.substr(0, 40)));
  };

  Status status = ForEachLogicalLine(text, path, parse_line);
  if (!status) return Fail(OneLine(status.error()));
  if (!open_ifs.empty()) {
    return Fail(TableSyntaxError(path, table->rules_[open_ifs.back()].line,
                                 "unterminated if (no matching endif)"));
  }
  return std::shared_ptr<const RegexpTable>(std::move(table));
}

Result<bool> RegexpTable::RuleMatches(const Rule& rule, std::string_view key) const {
  auto matched = rule.regex->Matches(key);
  if (!matched) {
    return Fail(matched.error().code(), "{}:{}: {}", path_, rule.line,
                Printable(matched.error().message()));
  }
  if (*matched == rule.negated) return false;
  if (!rule.second) return true;
  auto second = rule.second->Matches(key);
  if (!second) {
    return Fail(second.error().code(), "{}:{}: {}", path_, rule.line,
                Printable(second.error().message()));
  }
  return *second != rule.second_negated;
}

Result<bool> RegexpTable::LookupInto(std::string_view key, std::string& value) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    switch (rule.op) {
      case Op::kEndif:
        continue;
      case Op::kIf: {
        auto holds = RuleMatches(rule, key);
        if (!holds) return std::unexpected(holds.error());
        if (!*holds) i = rule.endif;  // skip the block; the endif itself is a no-op
        continue;
      }
      case Op::kMatch:
        break;
    }
    if (rule.max_group == 0) {
      auto matched = RuleMatches(rule, key);
      if (!matched) return std::unexpected(matched.error());
      if (!*matched) continue;
      value.assign(rule.text);
      return true;
    }
    // Captures are needed: a positive pattern (checked at compile time).
    auto found = rule.regex->Search(key);
    if (!found) {
      return Fail(found.error().code(), "{}:{}: {}", path_, rule.line,
                  Printable(found.error().message()));
    }
    if (!found->has_value()) continue;
    if (rule.second) {
      auto second = rule.second->Matches(key);
      if (!second) {
        return Fail(second.error().code(), "{}:{}: {}", path_, rule.line,
                    Printable(second.error().message()));
      }
      if (*second == rule.second_negated) continue;
    }
    const RegexMatch& match = **found;
    value.clear();
    for (const Piece& piece : rule.pieces) {
      if (piece.group == 0) {
        value.append(rule.text, piece.begin, piece.length);
      } else {
        value.append(match.Text(key, piece.group));
      }
    }
    return true;
  }
  return false;
}

Result<std::optional<std::string>> RegexpTable::Lookup(std::string_view key) const {
  std::string value;
  auto found = LookupInto(key, value);
  if (!found) return std::unexpected(found.error());
  if (!*found) return std::optional<std::string>();
  return std::optional<std::string>(std::move(value));
}

}  // namespace moat::core
