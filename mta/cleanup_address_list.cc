// cleanup_address_list.cc - RFC 5322 address-list tokenizer and in-place address rewriter.
#include "mta/cleanup_address_list.h"

namespace moat::mta {
namespace {

enum class TokenType { kAtom, kQuoted, kComment, kLiteral, kSpecial, kSpace };

struct Token {
  TokenType type;
  size_t begin;
  size_t end;
  char special = 0;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsSpecial(char c) {
  return c == '<' || c == '>' || c == '@' || c == ',' || c == ';' || c == ':';
}

// Scans a delimited token that starts at `i` (its opening character) and may contain backslash
// escapes; `nests` allows nested comments. Returns the end (past the closer) or npos.
size_t ScanDelimited(std::string_view v, size_t i, char open, char close, bool nests) {
  int depth = 0;
  for (; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == open && (nests || depth == 0)) {
      ++depth;
    } else if (c == close) {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

bool Tokenize(std::string_view v, size_t limit, std::vector<Token>& tokens) {
  size_t i = 0;
  while (i < v.size()) {
    if (tokens.size() >= limit) return false;
    char c = v[i];
    size_t start = i;
    if (IsSpace(c)) {
      while (i < v.size() && IsSpace(v[i])) ++i;
      tokens.push_back({TokenType::kSpace, start, i});
    } else if (c == '(' || c == '"' || c == '[') {
      char close = c == '(' ? ')' : c == '"' ? '"' : ']';
      size_t end = ScanDelimited(v, i, c, close, c == '(');
      if (end == std::string_view::npos) return false;
      TokenType type = c == '(' ? TokenType::kComment
                       : c == '"' ? TokenType::kQuoted
                                  : TokenType::kLiteral;
      tokens.push_back({type, start, end});
      i = end;
    } else if (c == ')' || c == ']') {
      return false;  // a closer without its opener
    } else if (IsSpecial(c)) {
      tokens.push_back({TokenType::kSpecial, start, start + 1, c});
      ++i;
    } else {
      while (i < v.size() && !IsSpace(v[i]) && !IsSpecial(v[i]) && v[i] != '(' && v[i] != '"' &&
             v[i] != '[' && v[i] != ')' && v[i] != ']') {
        ++i;
      }
      tokens.push_back({TokenType::kAtom, start, i});
    }
  }
  return true;
}

bool IsSpecialToken(const Token& t, char c) {
  return t.type == TokenType::kSpecial && t.special == c;
}

// Adds the addr-spec of the mailbox made of tokens [first, last).
bool AddMailbox(std::string_view v, const std::vector<Token>& tokens, size_t first, size_t last,
                std::vector<AddressSpan>& out) {
  size_t from = first;
  size_t to = last;
  bool angle = false;
  for (size_t i = first; i < last; ++i) {
    if (IsSpecialToken(tokens[i], '<')) {
      size_t close = i + 1;
      while (close < last && !IsSpecialToken(tokens[close], '>')) ++close;
      if (close == last) return false;
      from = i + 1;
      to = close;
      angle = true;
      // A source route (<@a,@b:user@c>) precedes the addr-spec.
      for (size_t j = from; j < to; ++j) {
        if (IsSpecialToken(tokens[j], ':')) from = j + 1;
      }
      break;
    }
  }
  AddressSpan span;
  bool any = false;
  for (size_t i = from; i < to; ++i) {
    const Token& t = tokens[i];
    if (t.type == TokenType::kSpace || t.type == TokenType::kComment) continue;
    if (!any) span.begin = t.begin;
    span.end = t.end;
    span.address.append(v.substr(t.begin, t.end - t.begin));
    any = true;
  }
  if (!any) {
    if (!angle) return true;  // an empty list item
    span.begin = span.end = from < tokens.size() ? tokens[from].begin : v.size();
  }
  out.push_back(std::move(span));
  return true;
}

}  // namespace

std::optional<std::vector<AddressSpan>> FindAddresses(std::string_view value, size_t token_limit) {
  std::vector<Token> tokens;
  if (!Tokenize(value, token_limit, tokens)) return std::nullopt;
  std::vector<AddressSpan> spans;
  int depth = 0;
  bool in_group = false;
  size_t start = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.type != TokenType::kSpecial) continue;
    if (t.special == '<') {
      if (++depth > 1) return std::nullopt;
    } else if (t.special == '>') {
      if (--depth < 0) return std::nullopt;
    } else if (depth == 0 && t.special == ',') {
      if (!AddMailbox(value, tokens, start, i, spans)) return std::nullopt;
      start = i + 1;
    } else if (depth == 0 && t.special == ':' && !in_group) {
      in_group = true;  // what came before was the group's display name
      start = i + 1;
    } else if (depth == 0 && t.special == ';' && in_group) {
      if (!AddMailbox(value, tokens, start, i, spans)) return std::nullopt;
      in_group = false;
      start = i + 1;
    }
  }
  if (depth != 0) return std::nullopt;
  if (!AddMailbox(value, tokens, start, tokens.size(), spans)) return std::nullopt;
  return spans;
}

std::string RewriteAddresses(
    std::string_view value,
    const std::function<std::optional<std::string>(const std::string&)>& rewrite,
    size_t token_limit) {
  auto spans = FindAddresses(value, token_limit);
  if (!spans) return std::string(value);
  std::string out;
  out.reserve(value.size() + 32);
  size_t copied = 0;
  for (const AddressSpan& span : *spans) {
    if (span.address.empty()) continue;
    std::optional<std::string> replacement = rewrite(span.address);
    if (!replacement || *replacement == span.address) continue;
    out.append(value.substr(copied, span.begin - copied));
    out.append(*replacement);
    copied = span.end;
  }
  out.append(value.substr(copied));
  return out;
}

}  // namespace moat::mta
