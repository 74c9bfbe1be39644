// banned_name.cc - undoing the tricks of attachment names (see banned_name.h).
//
// The tables below are deliberately explicit code point lists rather than a Unicode library's
// general categories: what matters is what Windows Explorer and mail clients render as nothing
// (or as a dot) while the shell still sees the code point, and that set is small and stable.
#include "rules/banned_name.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace moat::rules {
namespace {

struct Named {
  char32_t code;
  std::string_view name;
};

// Bidirectional controls: they reorder what is displayed ("gnp.exe" shown as "exe.png").
constexpr Named kBidi[] = {
    {0x061C, "ARABIC LETTER MARK"},
    {0x200E, "LEFT-TO-RIGHT MARK"},
    {0x200F, "RIGHT-TO-LEFT MARK"},
    {0x202A, "LEFT-TO-RIGHT EMBEDDING"},
    {0x202B, "RIGHT-TO-LEFT EMBEDDING"},
    {0x202C, "POP DIRECTIONAL FORMATTING"},
    {0x202D, "LEFT-TO-RIGHT OVERRIDE"},
    {0x202E, "RIGHT-TO-LEFT OVERRIDE"},
    {0x2066, "LEFT-TO-RIGHT ISOLATE"},
    {0x2067, "RIGHT-TO-LEFT ISOLATE"},
    {0x2068, "FIRST STRONG ISOLATE"},
    {0x2069, "POP DIRECTIONAL ISOLATE"},
};

// Characters that render as nothing: zero-width spaces and joiners, fillers, variation selectors,
// tags.
bool IsInvisible(char32_t c) {
  return c == 0x00AD || c == 0x034F || c == 0x115F || c == 0x1160 || c == 0x17B4 || c == 0x17B5 ||
         (c >= 0x180B && c <= 0x180E) || (c >= 0x200B && c <= 0x200D) ||
         (c >= 0x2060 && c <= 0x2064) || (c >= 0x206A && c <= 0x206F) || c == 0x3164 ||
         (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF || c == 0xFFA0 ||
         (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0x1BCA0 && c <= 0x1BCA3) ||
         (c >= 0x1D173 && c <= 0x1D17A) || (c >= 0xE0000 && c <= 0xE0FFF);
}

// Characters displayed as a full stop.
bool IsDotLookalike(char32_t c) {
  return c == 0x2024 || c == 0xFE52 || c == 0xFF0E || c == 0x3002 || c == 0xFF61 ||
         c == 0x0701 || c == 0x0702 || c == 0xA4F8 || c == 0x06D4 || c == 0x0589;
}

bool IsUnicodeSpace(char32_t c) {
  return c == 0x00A0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Decodes one UTF-8 sequence at `pos`; returns U+FFFD and advances one byte for invalid input.
char32_t NextCodePoint(std::string_view s, size_t& pos, bool& invalid) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b = byte(pos);
  if (b < 0x80) {
    ++pos;
    return b;
  }
  int length = 0;
  char32_t c = 0;
  char32_t minimum = 0;
  if ((b & 0xE0) == 0xC0) {
    length = 2, c = b & 0x1F, minimum = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    length = 3, c = b & 0x0F, minimum = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    length = 4, c = b & 0x07, minimum = 0x10000;
  } else {
    ++pos;
    invalid = true;
    return 0xFFFD;
  }
  if (pos + length > s.size()) {
    ++pos;
    invalid = true;
    return 0xFFFD;
  }
  for (int i = 1; i < length; ++i) {
    unsigned char next = byte(pos + i);
    if ((next & 0xC0) != 0x80) {
      ++pos;
      invalid = true;
      return 0xFFFD;
    }
    c = (c << 6) | (next & 0x3F);
  }
  if (c < minimum || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    ++pos;
    invalid = true;
    return 0xFFFD;
  }
  pos += length;
  return c;
}

void AppendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t'; }

std::string Trim(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

void AddTrick(NormalizedName& out, std::string trick, bool unicode) {
  if (std::find(out.tricks.begin(), out.tricks.end(), trick) == out.tricks.end()) {
    out.tricks.push_back(std::move(trick));
  }
  out.unicode_trick = out.unicode_trick || unicode;
}

}  // namespace

const std::string& NormalizedName::last_extension() const {
  static const std::string kNone;
  return extensions.empty() ? kNone : extensions.back();
}

bool NormalizedName::DoubleExtension(const std::vector<std::string>& outer) const {
  if (extensions.size() < 2) return false;
  const std::string& inner = extensions[extensions.size() - 2];
  bool letter = std::any_of(inner.begin(), inner.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || static_cast<unsigned char>(c) >= 0x80;
  });
  if (!letter) return false;
  return outer.empty() || std::find(outer.begin(), outer.end(), extensions.back()) != outer.end();
}

NormalizedName NormalizeAttachmentName(std::string_view raw) {
  NormalizedName out;
  size_t slash = raw.find_last_of("/\\");
  if (slash != std::string_view::npos) raw.remove_prefix(slash + 1);

  std::string name;
  name.reserve(raw.size());
  for (size_t pos = 0; pos < raw.size();) {
    bool invalid = false;
    char32_t c = NextCodePoint(raw, pos, invalid);
    if (invalid) AddTrick(out, "invalid UTF-8", true);
    if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) {
      AddTrick(out, "control characters", true);
      continue;
    }
    auto bidi = std::find_if(std::begin(kBidi), std::end(kBidi),
                             [c](const Named& n) { return n.code == c; });
    if (bidi != std::end(kBidi)) {
      AddTrick(out, fmt::format("U+{:04X} {}", static_cast<uint32_t>(c), bidi->name), true);
      continue;
    }
    if (IsInvisible(c)) {
      AddTrick(out, fmt::format("U+{:04X} invisible character", static_cast<uint32_t>(c)), true);
      continue;
    }
    if (IsDotLookalike(c)) {
      AddTrick(out, fmt::format("U+{:04X} look-alike dot", static_cast<uint32_t>(c)), true);
      name += '.';
      continue;
    }
    if (c >= 0xFF01 && c <= 0xFF5E) {
      AddTrick(out, "full-width letters", true);
      c -= 0xFEE0;
    } else if (IsUnicodeSpace(c)) {
      AddTrick(out, "Unicode spaces", false);
      c = ' ';
    }
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    AppendUtf8(name, c);
  }

  size_t begin = 0;
  while (begin < name.size() && IsAsciiSpace(name[begin])) ++begin;
  size_t end = name.size();
  while (end > begin && (name[end - 1] == '.' || IsAsciiSpace(name[end - 1]))) --end;
  if (end < name.size()) AddTrick(out, "trailing dots or spaces", false);
  out.name = name.substr(begin, end - begin);

  size_t dot = out.name.find('.');
  while (dot != std::string::npos) {
    size_t next = out.name.find('.', dot + 1);
    std::string segment =
        Trim(std::string_view(out.name).substr(dot + 1, next == std::string::npos
                                                            ? std::string::npos
                                                            : next - dot - 1));
    if (!segment.empty()) out.extensions.push_back(std::move(segment));
    dot = next;
  }
  return out;
}

}  // namespace moat::rules
