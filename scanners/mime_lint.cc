// mime_lint.cc - byte-level MIME checks.
#include "scanners/mime_lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace moat::scanners {
namespace {

constexpr bool IsBase64Char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

constexpr bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsHex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// One line of `text` starting at `pos`: [pos, end) without the line break; next = after it.
struct Line {
  std::string_view text;
  size_t next;
};

Line LineAt(std::string_view text, size_t pos) {
  size_t nl = text.find('\n', pos);
  size_t end = nl == std::string_view::npos ? text.size() : nl;
  size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
  std::string_view line = text.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return {line, next};
}

bool IsOctal(std::string_view s) {
  if (s.size() < 3 || s.size() > 4) return false;
  for (char c : s) {
    if (c < '0' || c > '7') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> Base64Problem(std::string_view encoded) {
  // One table lookup per byte: this runs over every base64 part, often hundreds of KB.
  enum : unsigned char { kAlphabet, kSpace, kPad, kOther };
  static constexpr auto kClass = [] {
    std::array<unsigned char, 256> table{};
    for (int c = 0; c < 256; ++c) {
      auto u = static_cast<unsigned char>(c);
      table[u] = IsBase64Char(u) ? kAlphabet : IsSpace(u) ? kSpace : u == '=' ? kPad : kOther;
    }
    return table;
  }();
  size_t significant = 0;
  size_t padding = 0;
  for (size_t i = 0; i < encoded.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(encoded[i]);
    switch (kClass[c]) {
      case kAlphabet:
        if (padding > 0) return fmt::format("data after '=' padding at offset {}", i);
        ++significant;
        break;
      case kSpace:
        break;
      case kPad:
        ++padding;
        break;
      default:
        return fmt::format("character 0x{:02x} outside the base64 alphabet at offset {}", c, i);
    }
  }
  if (padding > 2) return fmt::format("{} padding characters", padding);
  if (significant % 4 == 1) return "truncated: one character left over after the last quartet";
  if (padding > 0 && (significant + padding) % 4 != 0) return "padding does not complete a quartet";
  return std::nullopt;
}

std::optional<std::string> QuotedPrintableProblem(std::string_view encoded) {
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '=') continue;
    // Soft line break: '=' then optional trailing whitespace then the line end (or the end).
    size_t j = i + 1;
    while (j < encoded.size() && (encoded[j] == ' ' || encoded[j] == '\t')) ++j;
    if (j == encoded.size() || encoded[j] == '\n' ||
        (encoded[j] == '\r' && j + 1 < encoded.size() && encoded[j + 1] == '\n')) {
      continue;
    }
    if (i + 2 < encoded.size() && IsHex(static_cast<unsigned char>(encoded[i + 1])) &&
        IsHex(static_cast<unsigned char>(encoded[i + 2]))) {
      i += 2;
      continue;
    }
    return fmt::format("'=' not followed by two hex digits at offset {}", i);
  }
  return std::nullopt;
}

std::vector<UuBlock> FindUuBlocks(std::string_view text, size_t max_blocks) {
  std::vector<UuBlock> blocks;
  size_t pos = 0;
  while (pos < text.size() && blocks.size() < max_blocks) {
    Line line = LineAt(text, pos);
    pos = line.next;
    // "begin 644 name": mode of 3-4 octal digits, then a name.
    if (line.text.substr(0, 6) != "begin ") continue;
    std::string_view rest = line.text.substr(6);
    size_t space = rest.find(' ');
    if (space == std::string_view::npos || !IsOctal(rest.substr(0, space))) continue;
    std::string_view name = rest.substr(space + 1);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name.empty()) continue;
    UuBlock block;
    block.filename = std::string(name);
    block.data_begin = pos;
    block.data_end = text.size();
    while (pos < text.size()) {
      Line data = LineAt(text, pos);
      if (data.text == "end") {
        block.data_end = pos;
        block.terminated = true;
        pos = data.next;
        break;
      }
      pos = data.next;
    }
    blocks.push_back(std::move(block));
  }
  return blocks;
}

size_t CutBeforeBoundaryLine(std::string_view raw, size_t max_lines) {
  size_t seen = 0;
  size_t pos = 0;
  while (pos < raw.size()) {
    if (raw.compare(pos, 2, "--") == 0) {
      if (++seen >= max_lines) return pos;
    }
    size_t nl = raw.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return raw.size();
}

std::optional<std::string> AmbiguousBoundaryLine(std::string_view text,
                                                 const std::vector<std::string>& boundaries) {
  if (boundaries.empty()) return std::nullopt;
  size_t pos = 0;
  while (pos < text.size()) {
    Line line = LineAt(text, pos);
    pos = line.next;
    if (line.text.size() < 3 || line.text[0] != '-' || line.text[1] != '-') continue;
    std::string_view rest = line.text.substr(2);
    for (const std::string& boundary : boundaries) {
      if (boundary.empty() || rest.substr(0, boundary.size()) != boundary) continue;
      std::string_view tail = rest.substr(boundary.size());
      if (tail.substr(0, 2) == "--") tail.remove_prefix(2);
      bool only_space =
          std::all_of(tail.begin(), tail.end(), [](char c) { return c == ' ' || c == '\t'; });
      if (!only_space) {
        return fmt::format("\"{}\" starts with the boundary \"{}\"", line.text.substr(0, 120),
                           boundary.substr(0, 80));
      }
    }
  }
  return std::nullopt;
}

size_t HeaderBlockEnd(std::string_view raw, size_t start) {
  size_t pos = start;
  while (pos < raw.size()) {
    Line line = LineAt(raw, pos);
    if (line.text.empty()) return line.next;
    pos = line.next;
  }
  return raw.size();
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid (RFC 3629: no overlongs,
// no surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    size_t len = Utf8SequenceLength(bytes, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    size_t len = Utf8SequenceLength(bytes, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string ChildPrefix(std::string_view path, std::string_view name) {
  if (name.empty()) return std::string(path);
  if (path.empty()) return std::string(name);
  return fmt::format("{}/{}", path, name);
}

std::string JoinPath(std::string_view prefix, std::string_view child) {
  if (prefix.empty()) return std::string(child);
  return fmt::format("{}/{}", prefix, child);
}

}  // namespace moat::scanners
