// inline_table.cc - static: and inline: tables (after dict_static.c and dict_inline.c).
#include "core/inline_table.h"

#include <utility>
#include <vector>

#include "core/hash_table.h"

namespace moat::core {
namespace {

bool IsSeparator(char c) {
  return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
bool IsSpace(char c) { return c != ',' && IsSeparator(c); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// "{ text }" -> "text" when `s` is exactly one balanced group; nullopt otherwise.
std::optional<std::string_view> StripBraces(std::string_view s) {
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return std::nullopt;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0 && i + 1 != s.size()) return std::nullopt;
  }
  if (depth != 0) return std::nullopt;
  return Trim(s.substr(1, s.size() - 2));
}

}  // namespace

Result<std::vector<std::string_view>> SplitOutsideBraces(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSeparator(text[i])) ++i;
    if (i == text.size()) break;
    size_t begin = i;
    int depth = 0;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (c == '{') {
        ++depth;
      } else if (c == '}') {
        if (--depth < 0) {
          return Fail(ErrorCode::kInvalid, "unbalanced '}}' in \"{}\"", text);
        }
      } else if (depth == 0 && IsSeparator(c)) {
        break;
      }
    }
    if (depth != 0) return Fail(ErrorCode::kInvalid, "missing '}}' in \"{}\"", text);
    tokens.push_back(text.substr(begin, i - begin));
  }
  return tokens;
}

Result<std::shared_ptr<const LookupTable>> OpenStaticTable(std::string spec,
                                                           std::string_view name) {
  std::string_view value = name;
  if (!value.empty() && value.front() == '{') {
    auto inner = StripBraces(Trim(value));
    if (!inner)
      return Fail(ErrorCode::kInvalid, "{}: bad syntax: need \"static:{{ value }}\"", spec);
    value = *inner;
  }
  return std::shared_ptr<const LookupTable>(
      std::make_shared<StaticTable>(std::move(spec), std::string(value)));
}

Result<std::shared_ptr<const LookupTable>> OpenInlineTable(std::string spec,
                                                           std::string_view name) {
  auto fail = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalid, "{}: {}; need \"inline:{{name=value...}}\"", spec, why);
  };
  auto body = StripBraces(Trim(name));
  if (!body) return fail("bad syntax");
  auto tokens = SplitOutsideBraces(*body);
  if (!tokens) return fail(tokens.error().message());

  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::string_view token : *tokens) {
    if (token.front() == '{') {
      auto inner = StripBraces(token);
      if (!inner) return fail(fmt::format("bad syntax in \"{}\"", token));
      token = *inner;
    }
    // split_nameval(): name up to '=' or blank, blanks around '=', value to the end.
    std::string_view entry = Trim(token);
    if (entry.empty()) return fail("missing attribute name");
    size_t name_end = 0;
    while (name_end < entry.size() && entry[name_end] != '=' && !IsSpace(entry[name_end])) {
      ++name_end;
    }
    std::string_view key = entry.substr(0, name_end);
    std::string_view rest = Trim(entry.substr(name_end));
    if (key.empty()) return fail(fmt::format("missing attribute name in \"{}\"", entry));
    if (rest.empty() || rest.front() != '=') {
      return fail(fmt::format("missing '=' after attribute name \"{}\"", key));
    }
    pairs.emplace_back(std::string(key), std::string(Trim(rest.substr(1))));
  }
  if (pairs.empty()) return fail("empty table");
  auto table = HashTable::FromPairs(spec, pairs);
  if (!table) return fail(table.error().message());
  return std::shared_ptr<const LookupTable>(std::move(*table));
}

}  // namespace moat::core
