// config_expand.cc - the $name expansion language of postconf(5).
#include "core/config_expand.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/config_file.h"

namespace moat::core {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

size_t SkipSpace(std::string_view s, size_t pos) {
  while (pos < s.size() && IsSpace(s[pos])) ++pos;
  return pos;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Position of the bracket that closes the one at `open` (same kind, nesting counted), or npos.
size_t MatchingClose(std::string_view s, size_t open) {
  char opening = s[open];
  char closing = opening == '{' ? '}' : ')';
  int nesting = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == opening) {
      ++nesting;
    } else if (s[i] == closing && --nesting == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Reads "{text}" at `pos` (after optional whitespace); on success `pos` is just past the `}`.
std::optional<std::string_view> ReadBraced(std::string_view s, size_t& pos) {
  pos = SkipSpace(s, pos);
  if (pos >= s.size() || s[pos] != '{') return std::nullopt;
  size_t close = MatchingClose(s, pos);
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view inside = s.substr(pos + 1, close - pos - 1);
  pos = close + 1;
  return inside;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Compares compatibility levels ("3.6" vs "2"): numeric field by field, missing fields are 0.
int CompareLevels(std::string_view a, std::string_view b) {
  auto next = [](std::string_view& s) -> long {
    long value = 0;
    size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && value < 1'000'000'000) {
      value = value * 10 + (s[i] - '0');
      ++i;
    }
    s.remove_prefix(i);
    if (!s.empty() && s.front() == '.') s.remove_prefix(1);
    return value;
  };
  while (!a.empty() || !b.empty()) {
    long x = next(a), y = next(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

int CompareOperands(std::string_view a, std::string_view b, bool level) {
  if (level) return CompareLevels(a, b);
  if (AllDigits(a) && AllDigits(b)) {
    std::string_view x = a.substr(std::min(a.find_first_not_of('0'), a.size()));
    std::string_view y = b.substr(std::min(b.find_first_not_of('0'), b.size()));
    if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
    return x.compare(y) < 0 ? -1 : (x.compare(y) > 0 ? 1 : 0);
  }
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

std::string Expander::Chain(std::string_view closing) const {
  auto first = std::find(stack_.begin(), stack_.end(), closing);
  std::string chain;
  for (auto it = first; it != stack_.end(); ++it) chain += *it + " -> ";
  chain += closing;
  return chain;
}

Status Expander::Append(std::string& out, std::string_view text) {
  if (out.size() + text.size() > kMaxExpandedBytes) {
    return Fail(ErrorCode::kInvalid, "expanded value is longer than {} bytes", kMaxExpandedBytes);
  }
  out.append(text);
  return {};
}

Result<std::string> Expander::Expand(std::string_view text, std::string_view owner) {
  bool pushed = !owner.empty();
  if (pushed) stack_.emplace_back(owner);
  std::string out;
  Status status = ExpandInto(text, out);
  if (pushed) stack_.pop_back();
  if (!status) return Fail(status.error());
  return out;
}

Result<std::optional<std::string>> Expander::ExpandParameter(std::string_view name) {
  std::string key(name);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  if (auto first = std::find(stack_.begin(), stack_.end(), key); first != stack_.end()) {
    last_loop_.assign(first, stack_.end());
    return Fail(ErrorCode::kInvalid, "parameter loop: {}", Chain(key));
  }
  if (stack_.size() >= kMaxExpansionDepth) {
    return Fail(ErrorCode::kInvalid, "parameter references nested more than {} deep at {}",
                kMaxExpansionDepth, key);
  }
  std::optional<std::string> raw = lookup_(name);
  if (!raw) {
    cache_.emplace(key, std::nullopt);
    return std::optional<std::string>();
  }
  stack_.push_back(key);
  std::string out;
  Status status = ExpandInto(*raw, out);
  stack_.pop_back();
  if (!status) return Fail(status.error());
  cache_.emplace(key, out);
  return std::optional<std::string>(std::move(out));
}

Status Expander::ExpandReference(std::string_view name, std::string& out, bool report_undefined) {
  auto value = ExpandParameter(name);
  if (!value) return Fail(value.error());
  if (!value->has_value()) {
    if (report_undefined && on_undefined_) on_undefined_(name);
    return {};
  }
  return Append(out, **value);
}

Status Expander::ExpandInto(std::string_view text, std::string& out) {
  size_t i = 0;
  while (i < text.size()) {
    size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) return Append(out, text.substr(i));
    if (Status s = Append(out, text.substr(i, dollar - i)); !s) return s;
    if (dollar + 1 >= text.size()) {
      return Fail(ErrorCode::kInvalid, "stray '$' at the end of \"{}\" (write $$ for a '$')",
                  text);
    }
    char next = text[dollar + 1];
    if (next == '$') {
      if (Status s = Append(out, "$"); !s) return s;
      i = dollar + 2;
    } else if (IsParameterNameChar(next)) {
      size_t end = dollar + 1;
      while (end < text.size() && IsParameterNameChar(text[end])) ++end;
      if (Status s = ExpandReference(text.substr(dollar + 1, end - dollar - 1), out, true); !s) {
        return s;
      }
      i = end;
    } else if (next == '{' || next == '(') {
      size_t close = MatchingClose(text, dollar + 1);
      if (close == std::string_view::npos) {
        return Fail(ErrorCode::kInvalid, "truncated parameter reference: \"{}\"",
                    text.substr(dollar));
      }
      if (++depth_ > kMaxExpansionDepth) {
        --depth_;
        return Fail(ErrorCode::kInvalid, "parameter references nested more than {} deep",
                    kMaxExpansionDepth);
      }
      Status s = ExpandBraced(text.substr(dollar + 2, close - dollar - 2), out);
      --depth_;
      if (!s) return s;
      i = close + 1;
    } else {
      return Fail(ErrorCode::kInvalid, "stray '$' in \"{}\" (write $$ for a '$')", text);
    }
  }
  return {};
}

Status Expander::ExpandBraced(std::string_view inside, std::string& out) {
  if (inside.empty()) return Fail(ErrorCode::kInvalid, "empty parameter name in \"${{}}\"");
  if (SkipSpace(inside, 0) < inside.size() && inside[SkipSpace(inside, 0)] == '{') {
    return ExpandRelational(inside, out);
  }
  size_t end = 0;
  while (end < inside.size() && IsParameterNameChar(inside[end])) ++end;
  if (end == 0) {
    return Fail(ErrorCode::kInvalid, "parameter name syntax error in \"${{{}}}\"", inside);
  }
  std::string_view name = inside.substr(0, end);
  if (end == inside.size()) return ExpandReference(name, out, true);

  char op = inside[end];
  if (op != '?' && op != ':') {
    return Fail(ErrorCode::kInvalid, "parameter name syntax error at \"{}>>>{}\"", name,
                inside.substr(end));
  }
  auto tested = ExpandParameter(name);
  if (!tested) return Fail(tested.error());
  bool non_empty = tested->has_value() && !(*tested)->empty();

  std::string_view rest = inside.substr(end + 1);
  std::string_view when_true, when_false;
  size_t pos = 0;
  if (auto first = ReadBraced(rest, pos)) {
    when_true = *first;
    pos = SkipSpace(rest, pos);
    if (pos < rest.size()) {
      if (op != '?' || rest[pos] != ':') {
        return Fail(ErrorCode::kInvalid, "syntax error after \"{{{}}}\" in \"${{{}}}\"", *first,
                    inside);
      }
      size_t after_colon = pos + 1;
      size_t brace_pos = after_colon;
      if (auto second = ReadBraced(rest, brace_pos)) {
        if (SkipSpace(rest, brace_pos) != rest.size()) {
          return Fail(ErrorCode::kInvalid, "syntax error after \"{{{}}}\" in \"${{{}}}\"",
                      *second, inside);
        }
        when_false = *second;
      } else {
        when_false = TrimSpace(rest.substr(after_colon));
      }
    }
  } else {
    when_true = rest;  // the unbraced form: everything after the operator, as written
  }
  if (op == ':') {
    // ${name:value} selects value when name is empty; there is no second branch.
    return non_empty ? Status{} : ExpandInto(when_true, out);
  }
  return ExpandInto(non_empty ? when_true : when_false, out);
}

Status Expander::ExpandRelational(std::string_view inside, std::string& out) {
  size_t pos = 0;
  auto left = ReadBraced(inside, pos);
  pos = SkipSpace(inside, pos);
  size_t op_begin = pos;
  while (pos < inside.size() && std::string_view("=!<>").find(inside[pos]) != std::string_view::npos) {
    ++pos;
  }
  std::string_view op = inside.substr(op_begin, pos - op_begin);
  bool level = inside.substr(pos).starts_with("level");
  if (level) pos += 5;
  auto right = ReadBraced(inside, pos);
  pos = SkipSpace(inside, pos);
  bool question = pos < inside.size() && inside[pos] == '?';
  static constexpr std::string_view kOperators[] = {"==", "!=", "<", "<=", ">=", ">"};
  bool known_op = std::find(std::begin(kOperators), std::end(kOperators), op) != std::end(kOperators);
  if (!left || !right || !known_op || !question) {
    return Fail(ErrorCode::kInvalid,
                "malformed expression \"${{{}}}\" (expected {{a}} OP {{b}} ? {{x}} : {{y}}, "
                "OP one of == != < <= >= >)",
                inside);
  }
  ++pos;
  auto when_true = ReadBraced(inside, pos);
  if (!when_true) {
    return Fail(ErrorCode::kInvalid, "expected {{value}} after '?' in \"${{{}}}\"", inside);
  }
  std::string_view when_false;
  pos = SkipSpace(inside, pos);
  if (pos < inside.size()) {
    if (inside[pos] != ':') {
      return Fail(ErrorCode::kInvalid, "expected ':' in \"${{{}}}\"", inside);
    }
    size_t brace_pos = pos + 1;
    if (auto second = ReadBraced(inside, brace_pos)) {
      if (SkipSpace(inside, brace_pos) != inside.size()) {
        return Fail(ErrorCode::kInvalid, "text after the last value in \"${{{}}}\"", inside);
      }
      when_false = *second;
    } else {
      when_false = TrimSpace(inside.substr(pos + 1));
    }
  }

  std::string a, b;
  if (Status s = ExpandInto(*left, a); !s) return s;
  if (Status s = ExpandInto(*right, b); !s) return s;
  int c = CompareOperands(TrimSpace(a), TrimSpace(b), level);
  bool result = (op == "==" && c == 0) || (op == "!=" && c != 0) || (op == "<" && c < 0) ||
                (op == "<=" && c <= 0) || (op == ">=" && c >= 0) || (op == ">" && c > 0);
  return ExpandInto(result ? *when_true : when_false, out);
}

std::set<std::string> ReferencedNames(std::string_view text) {
  std::set<std::string> names;
  size_t i = 0;
  while ((i = text.find('$', i)) != std::string_view::npos) {
    ++i;
    if (i >= text.size()) break;
    if (text[i] == '$') {
      ++i;
      continue;
    }
    if (text[i] == '{' || text[i] == '(') ++i;
    size_t end = i;
    while (end < text.size() && IsParameterNameChar(text[end])) ++end;
    if (end > i) names.emplace(text.substr(i, end - i));
    i = end;
  }
  return names;
}

}  // namespace moat::core
