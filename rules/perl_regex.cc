// perl_regex.cc - Perl match literals to core::Regex, following Util::compile_regexp().
#include "rules/perl_regex.h"

#include <cctype>

namespace moat::rules {

using core::ErrorCode;
using core::Fail;
using core::Result;

namespace {

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// SpamAssassin accepts modifier letters a-d and f-z after the closing delimiter.
bool IsModifierLetter(char c) { return c >= 'a' && c <= 'z' && c != 'e'; }

}  // namespace

Result<PerlRegex> SplitRegexLiteral(std::string_view literal) {
  std::string_view rest = literal;
  char delim_end = 0;
  if (!rest.empty() && rest.front() == '/') {
    delim_end = '/';
    rest.remove_prefix(1);
  } else {
    size_t op = 0;
    if (rest.starts_with("qr")) {
      op = 2;
    } else if (rest.starts_with("m")) {
      op = 1;
    }
    if (op == 0 || rest.size() <= op) {
      return Fail(ErrorCode::kInvalid, "missing regexp delimiters");
    }
    char open = rest[op];
    switch (open) {
      case '{':
        delim_end = '}';
        break;
      case '(':
        delim_end = ')';
        break;
      case '<':
        delim_end = '>';
        break;
      case '[':
        delim_end = ']';
        break;
      default:
        if (IsWordChar(open) || std::isspace(static_cast<unsigned char>(open))) {
          return Fail(ErrorCode::kInvalid, "missing regexp delimiters");
        }
        if (open == '\\') return Fail(ErrorCode::kInvalid, "backslash delimiter not allowed");
        delim_end = open;
    }
    rest.remove_prefix(op + 1);
  }

  size_t mods_begin = rest.size();
  while (mods_begin > 0 && IsModifierLetter(rest[mods_begin - 1])) --mods_begin;
  if (mods_begin == 0 || rest[mods_begin - 1] != delim_end) {
    return Fail(ErrorCode::kInvalid, "invalid end delimiter/mods");
  }
  PerlRegex out;
  out.modifiers = std::string(rest.substr(mods_begin));
  out.pattern = std::string(rest.substr(0, mods_begin - 1));

  if (out.pattern.find("?{") != std::string::npos &&
      (out.pattern.find("(?{") != std::string::npos ||
       out.pattern.find("(??{") != std::string::npos)) {
    return Fail(ErrorCode::kInvalid, "eval (?{{}}) found");
  }
  if (delim_end != '}' && delim_end != ')' && delim_end != ']') {
    // An unescaped delimiter inside means the literal ended earlier than the writer thought.
    const std::string& p = out.pattern;
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] == '\\' && i + 1 < p.size() && p[i + 1] == '\\') {
        ++i;
        continue;
      }
      if (p[i] == delim_end && (i == 0 || p[i - 1] != '\\')) {
        return Fail(ErrorCode::kInvalid, "unquoted delimiter '{}' found", delim_end);
      }
    }
  }
  return out;
}

std::string TranslatePerlPattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 8);
  bool in_class = false;
  bool quoted = false;  // inside \Q ... \E
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (quoted) {
      if (c == '\\' && i + 1 < pattern.size() && pattern[i + 1] == 'E') {
        quoted = false;
        out += "\\E";
        ++i;
      } else {
        out += c;
      }
      continue;
    }
    if (c == '\\' && i + 1 < pattern.size()) {
      if (pattern[i + 1] == 'Q') quoted = true;
      out += c;
      out += pattern[++i];
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == '{' && i + 1 < pattern.size() && pattern[i + 1] == ',') {
      size_t j = i + 2;
      while (j < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[j]))) ++j;
      if (j > i + 2 && j < pattern.size() && pattern[j] == '}') {
        out += "{0,";
        out.append(pattern.substr(i + 2, j - i - 2));
        out += '}';
        i = j;
        continue;
      }
    }
    out += c;
  }
  return out;
}

Result<core::Regex> CompilePerlRegex(const PerlRegex& regex, const RegexLimits& limits) {
  core::RegexOptions options;
  options.match_limit = limits.match_limit;
  options.depth_limit = limits.depth_limit;
  std::string prefix;
  for (char c : regex.modifiers) {
    switch (c) {
      case 'i':
        options.caseless = true;
        break;
      case 'm':
        options.multiline = true;
        break;
      case 's':
        options.dotall = true;
        break;
      case 'x':
        options.extended = true;
        break;
      case 'n':
        if (prefix.empty()) prefix = "(?n)";
        break;
      case 'a':
      case 'd':
      case 'l':
      case 'u':
      case 'p':
      case 'o':
        break;
      default:
        return Fail(ErrorCode::kInvalid, "unknown regexp modifier '{}'", c);
    }
  }
  auto compiled = core::Regex::Compile(prefix + TranslatePerlPattern(regex.pattern), options);
  if (!compiled) return Fail(compiled.error());
  return compiled;
}

Result<core::Regex> CompileRegexLiteral(std::string_view literal, const RegexLimits& limits) {
  auto split = SplitRegexLiteral(literal);
  if (!split) return Fail(split.error());
  return CompilePerlRegex(*split, limits);
}

}  // namespace moat::rules
