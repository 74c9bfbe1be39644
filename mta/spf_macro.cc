// spf_macro.cc - see spf_macro.h.
#include "mta/spf_macro.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include <fmt/format.h>

namespace moat::mta {
namespace {

constexpr std::string_view kDelimiters = ".-+,/_=";

struct Macro {
  char letter = 0;     // lower case
  bool escape = false;  // upper-case letter: URL-escape the value
  size_t digits = 0;    // 0: all parts
  bool reverse = false;
  std::string delimiters;
};

// Parses "%{...}" starting just after "%{"; `at` moves past the closing brace.
core::Result<Macro> ParseMacro(std::string_view text, size_t& at, SpfMacroMode mode) {
  if (at >= text.size()) return core::Fail(core::ErrorCode::kInvalid, "unterminated macro");
  Macro macro;
  char c = text[at++];
  macro.letter = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  macro.escape = std::isupper(static_cast<unsigned char>(c)) != 0;
  if (std::string_view("slodiphvcrt").find(macro.letter) == std::string_view::npos) {
    return core::Fail(core::ErrorCode::kInvalid, "unknown macro letter '{}'", c);
  }
  if (mode == SpfMacroMode::kDomainSpec &&
      std::string_view("crt").find(macro.letter) != std::string_view::npos) {
    return core::Fail(core::ErrorCode::kInvalid,
                      "macro letter '{}' is allowed only in explanations", c);
  }
  bool have_digits = false;
  size_t digits = 0;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
    have_digits = true;
    digits = std::min<size_t>(digits * 10 + static_cast<size_t>(text[at] - '0'), 1000);
    ++at;
  }
  if (have_digits && digits == 0) {
    return core::Fail(core::ErrorCode::kInvalid, "macro transformer digit count is zero");
  }
  macro.digits = digits;
  if (at < text.size() && (text[at] == 'r' || text[at] == 'R')) {
    macro.reverse = true;
    ++at;
  }
  while (at < text.size() && kDelimiters.find(text[at]) != std::string_view::npos) {
    macro.delimiters += text[at++];
  }
  if (at >= text.size() || text[at] != '}') {
    return core::Fail(core::ErrorCode::kInvalid, "malformed macro in '{}'", text);
  }
  ++at;
  if (macro.delimiters.empty()) macro.delimiters.push_back('.');
  return macro;
}

std::string IpForI(const asio::ip::address& ip) {
  if (ip.is_v4()) return ip.to_string();
  auto bytes = ip.to_v6().to_bytes();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : bytes) {
    if (!out.empty()) out += '.';
    out += kHex[byte >> 4];
    out += '.';
    out += kHex[byte & 0xf];
  }
  return out;
}

std::string UrlEscape(std::string_view value) {
  std::string out;
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::string LetterValue(char letter, const SpfMacroValues& v) {
  switch (letter) {
    case 's': return v.sender;
    case 'l': return v.local_part;
    case 'o': return v.sender_domain;
    case 'd': return v.domain;
    case 'i': return IpForI(v.ip);
    case 'p': return v.validated_ptr;
    case 'h': return v.helo;
    case 'v': return v.ip.is_v4() ? "in-addr" : "ip6";
    case 'c': return v.ip.to_string();
    case 'r': return v.receiver;
    case 't': return std::to_string(v.timestamp);
  }
  return {};
}

std::string Transform(const Macro& macro, std::string value) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : value) {
    if (macro.delimiters.find(c) != std::string::npos) {
      parts.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(std::move(current));
  if (macro.reverse) std::reverse(parts.begin(), parts.end());
  size_t first = 0;
  if (macro.digits != 0 && macro.digits < parts.size()) first = parts.size() - macro.digits;
  std::string out;
  for (size_t i = first; i < parts.size(); ++i) {
    if (i > first) out += '.';
    out += parts[i];
  }
  return macro.escape ? UrlEscape(out) : out;
}

// Walks the macro string; `emit` receives literal text and expanded macros.
template <typename Emit>
core::Status Walk(std::string_view text, SpfMacroMode mode, Emit emit) {
  size_t at = 0;
  while (at < text.size()) {
    char c = text[at];
    if (c != '%') {
      unsigned char u = static_cast<unsigned char>(c);
      // macro-literal is %x21-24 / %x26-7E; explanations may also hold spaces.
      if (u > 0x7e || u < 0x20 || (u == 0x20 && mode == SpfMacroMode::kDomainSpec)) {
        return core::Fail(core::ErrorCode::kInvalid, "invalid character in macro string");
      }
      emit(std::string_view(&text[at], 1), nullptr);
      ++at;
      continue;
    }
    if (at + 1 >= text.size()) {
      return core::Fail(core::ErrorCode::kInvalid, "'%' at the end of a macro string");
    }
    char next = text[at + 1];
    at += 2;
    if (next == '%') {
      emit("%", nullptr);
    } else if (next == '_') {
      emit(" ", nullptr);
    } else if (next == '-') {
      emit("%20", nullptr);
    } else if (next == '{') {
      auto macro = ParseMacro(text, at, mode);
      if (!macro) return core::Fail(macro.error());
      emit({}, &*macro);
    } else {
      return core::Fail(core::ErrorCode::kInvalid, "invalid macro '%{}'", next);
    }
  }
  return {};
}

}  // namespace

core::Status ValidateSpfMacroString(std::string_view text, SpfMacroMode mode) {
  return Walk(text, mode, [](std::string_view, const Macro*) {});
}

bool UsesPtrMacro(std::string_view text) {
  bool uses = false;
  (void)Walk(text, SpfMacroMode::kExplanation, [&](std::string_view, const Macro* macro) {
    if (macro != nullptr && macro->letter == 'p') uses = true;
  });
  return uses;
}

core::Result<std::string> ExpandSpfMacros(std::string_view text, const SpfMacroValues& values,
                                          SpfMacroMode mode) {
  std::string out;
  auto status = Walk(text, mode, [&](std::string_view literal, const Macro* macro) {
    if (macro == nullptr) {
      out += literal;
    } else {
      out += Transform(*macro, LetterValue(macro->letter, values));
    }
  });
  if (!status) return core::Fail(status.error());
  return out;
}

std::string TruncateSpfDomain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  while (domain.size() > 253) {
    size_t dot = domain.find('.');
    if (dot == std::string_view::npos) return std::string(domain.substr(domain.size() - 253));
    domain.remove_prefix(dot + 1);
  }
  return std::string(domain);
}

}  // namespace moat::mta
