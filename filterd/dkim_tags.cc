// dkim_tags.cc - tag-list grammar (RFC 6376 3.2) and strict base64.
#include "filterd/dkim_tags.h"

#include <array>

namespace moat::filterd {
namespace {

using core::ErrorCode;
using core::Fail;

bool IsWsp(char c) { return c == ' ' || c == '\t'; }
bool IsFws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
// VALCHAR = %x21-3A / %x3C-7E: printable ASCII except ';'.
bool IsValChar(char c) { return c >= 0x21 && c <= 0x7e && c != ';'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsFws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsFws(s.back())) s.remove_suffix(1);
  return s;
}

// Folding must be CRLF (or bare LF) followed by WSP; a line break that does not continue the
// field cannot occur inside a header field value.
bool ValidFolding(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i + 1 >= s.size() || !IsWsp(s[i + 1]))) return false;
  }
  return true;
}

constexpr std::array<int8_t, 256> kBase64Values = [] {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return table;
}();

}  // namespace

core::Result<DkimTagList> DkimTagList::Parse(std::string_view text) {
  DkimTagList list;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find(';', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view spec = text.substr(at, end - at);
    bool last = end == text.size();
    at = end + 1;
    std::string_view trimmed = Trim(spec);
    if (trimmed.empty()) {
      if (last) break;  // a trailing ';' is allowed
      return Fail(ErrorCode::kInvalid, "tag-list: empty tag-spec before ';'");
    }
    if (!ValidFolding(spec)) return Fail(ErrorCode::kInvalid, "tag-list: bad line folding");
    size_t eq = trimmed.find('=');
    if (eq == std::string_view::npos) {
      return Fail(ErrorCode::kInvalid, "tag-list: '{}' has no '='", trimmed.substr(0, 40));
    }
    std::string_view name = Trim(trimmed.substr(0, eq));
    std::string_view value = Trim(trimmed.substr(eq + 1));
    if (name.empty() || !IsAlpha(name.front())) {
      return Fail(ErrorCode::kInvalid, "tag-list: bad tag name '{}'", name.substr(0, 40));
    }
    for (char c : name) {
      if (!IsAlpha(c) && !IsDigit(c) && c != '_') {
        return Fail(ErrorCode::kInvalid, "tag-list: bad tag name '{}'", name.substr(0, 40));
      }
    }
    for (char c : value) {
      if (!IsValChar(c) && !IsFws(c)) {
        return Fail(ErrorCode::kInvalid, "tag-list: invalid character 0x{:02x} in {}=",
                    static_cast<unsigned char>(c), name);
      }
    }
    for (const auto& tag : list.tags_) {
      if (tag.name == name) return Fail(ErrorCode::kInvalid, "tag-list: duplicate tag {}=", name);
    }
    list.tags_.push_back({std::string(name), std::string(value)});
    if (last) break;
  }
  return list;
}

const std::string* DkimTagList::Find(std::string_view name) const {
  for (const auto& tag : tags_) {
    if (tag.name == name) return &tag.value;
  }
  return nullptr;
}

core::Result<std::string> DecodeBase64(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  size_t symbols = 0;
  size_t padding = 0;
  for (char c : text) {
    if (IsFws(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int8_t value = kBase64Values[static_cast<unsigned char>(c)];
    if (value < 0) {
      return Fail(ErrorCode::kInvalid, "bad base64: invalid character 0x{:02x}",
                  static_cast<unsigned char>(c));
    }
    if (padding > 0) return Fail(ErrorCode::kInvalid, "bad base64: data after '=' padding");
    ++symbols;
    buffer = buffer << 6 | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  if ((symbols + padding) % 4 != 0 || padding > 2 || symbols % 4 == 1 ||
      (padding > 0 && padding != 4 - symbols % 4)) {
    return Fail(ErrorCode::kInvalid, "bad base64: length is not a multiple of 4");
  }
  if ((buffer & ((1u << bits) - 1)) != 0) {
    return Fail(ErrorCode::kInvalid, "bad base64: non-zero bits after the last byte");
  }
  return out;
}

std::string EncodeBase64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16 |
                 static_cast<unsigned char>(bytes[i + 1]) << 8 | static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string StripWhitespace(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (!IsFws(c)) out.push_back(c);
  }
  return out;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace moat::filterd
