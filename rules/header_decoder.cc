// header_decoder.cc - RFC 2047 decoding and lenient base64/QP, after SpamAssassin's Util.pm.
#include "rules/header_decoder.h"

#include <cctype>
#include <vector>

#include "rules/charset.h"

namespace moat::rules {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool NeverDecoded(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "received" || lower == "message-id" || lower == "resent-message-id" ||
         lower == "date" || lower == "resent-date" || lower == "mime-version" ||
         lower == "references" || lower == "in-reply-to" || lower.starts_with("list-");
}

bool IsCharsetChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '*' || c == '_' || c == '-';
}

// Matches "=?charset?B|Q?text?=" at `pos`; fills the parts and the end offset.
bool MatchEncodedWord(std::string_view s, size_t pos, std::string_view* charset, char* encoding,
                      std::string_view* text, size_t* end) {
  if (s.substr(pos, 2) != "=?") return false;
  size_t i = pos + 2;
  size_t cs_begin = i;
  while (i < s.size() && IsCharsetChar(s[i])) ++i;
  if (i == cs_begin || i >= s.size() || s[i] != '?') return false;
  *charset = s.substr(cs_begin, i - cs_begin);
  ++i;
  if (i >= s.size() || std::string_view("bBqQ").find(s[i]) == std::string_view::npos) return false;
  *encoding = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
  ++i;
  if (i >= s.size() || s[i] != '?') return false;
  ++i;
  size_t text_begin = i;
  while (i < s.size() && s[i] != '?') ++i;
  if (i + 1 >= s.size() || s[i + 1] != '=') return false;
  *text = s.substr(text_begin, i - text_begin);
  *end = i + 2;
  return true;
}

std::string DecodeWordText(char encoding, std::string_view text) {
  if (encoding == 'B') return DecodeBase64(text);
  std::string with_spaces(text);
  for (char& c : with_spaces) {
    if (c == '_') c = ' ';
  }
  return DecodeQuotedPrintable(with_spaces);
}

}  // namespace

std::string UnfoldHeaderValue(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\n') {
      // "\n[ \t]+" is a fold: one space. A bare newline elsewhere is whitespace to trim.
      size_t j = i + 1;
      while (j < raw.size() && (raw[j] == ' ' || raw[j] == '\t')) ++j;
      if (j > i + 1) {
        out += ' ';
        i = j - 1;
        continue;
      }
    }
    out += c;
  }
  size_t b = 0, e = out.size();
  while (b < e && IsSpace(out[b])) ++b;
  while (e > b && IsSpace(out[e - 1])) --e;
  return out.substr(b, e - b);
}

std::string DecodeHeaderValue(std::string_view value, std::string_view field_name) {
  // s/\015?\012//gs: line breaks go, a lone carriage return stays.
  std::string body;
  body.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\n') continue;
    if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    body += value[i];
  }
  bool non_ascii = false;
  for (char c : body) non_ascii |= static_cast<unsigned char>(c) >= 0x80;
  if (non_ascii) body = ToUtf8(body, "UTF-8");
  if (NeverDecoded(field_name) || body.find("=?") == std::string::npos) return body;

  struct Section {
    std::string text;
    std::string charset;  // "" for plain text
  };
  std::vector<Section> sections;
  size_t pos = 0;
  while (pos < body.size()) {
    std::string_view charset, text;
    char encoding;
    size_t end;
    if (MatchEncodedWord(body, pos, &charset, &encoding, &text, &end)) {
      std::string cs;
      for (char c : charset) cs += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string decoded = DecodeWordText(encoding, text);
      if (!sections.empty() && sections.back().charset == cs) {
        sections.back().text += decoded;
      } else {
        sections.push_back({std::move(decoded), cs});
      }
      pos = end;
      // Whitespace followed by another encoded word is dropped.
      size_t j = pos;
      while (j < body.size() && IsSpace(body[j])) ++j;
      std::string_view c2, t2;
      char e2;
      size_t end2;
      if (j > pos && MatchEncodedWord(body, j, &c2, &e2, &t2, &end2)) pos = j;
      continue;
    }
    // Plain text up to the next "=?" (or one '=' at a time).
    size_t next = body.find('=', pos + 1);
    if (body[pos] != '=') next = body.find('=', pos);
    if (next == std::string::npos) next = body.size();
    if (next == pos) next = pos + 1;
    std::string plain = body.substr(pos, next - pos);
    if (!sections.empty() && sections.back().charset.empty()) {
      sections.back().text += plain;
    } else {
      sections.push_back({std::move(plain), ""});
    }
    pos = next;
  }
  std::string out;
  for (const Section& s : sections) {
    out += s.charset.empty() ? s.text : ToUtf8(s.text, s.charset, /*insist_on_declared=*/true);
  }
  return out;
}

std::string DecodeBase64(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else
      continue;  // padding, whitespace and garbage are skipped, as SpamAssassin does
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

std::string DecodeQuotedPrintable(std::string_view in) {
  // Trailing whitespace before a line end is deleted, "=\n" joins lines, "=XX" is a byte.
  std::string stripped;
  stripped.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == ' ' || c == '\t') {
      size_t j = i;
      while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
      bool at_eol = (j < in.size() && in[j] == '\n') ||
                    (j + 1 < in.size() && in[j] == '\r' && in[j + 1] == '\n');
      if (at_eol) {
        i = j - 1;
        continue;
      }
      stripped.append(in.substr(i, j - i));
      i = j - 1;
      continue;
    }
    stripped += c;
  }
  std::string out;
  out.reserve(stripped.size());
  for (size_t i = 0; i < stripped.size(); ++i) {
    char c = stripped[i];
    if (c == '=') {
      if (i + 1 < stripped.size() && stripped[i + 1] == '\n') {
        ++i;
        continue;
      }
      if (i + 2 < stripped.size() && stripped[i + 1] == '\r' && stripped[i + 2] == '\n') {
        i += 2;
        continue;
      }
      if (i + 2 < stripped.size()) {
        int hi = HexValue(stripped[i + 1]), lo = HexValue(stripped[i + 2]);
        if (hi >= 0 && lo >= 0) {
          out += static_cast<char>(hi * 16 + lo);
          i += 2;
          continue;
        }
      }
    }
    out += c;
  }
  return out;
}

}  // namespace moat::rules
