// cleanup_address.cc - local-part quoting and address splitting.
#include "mta/cleanup_address.h"

#include <cctype>

namespace moat::mta {
namespace {

constexpr std::string_view kSpecials = "()<>@,;:\\\".[] ";

bool IsDotAtom(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return false;
  char previous = 0;
  for (char c : local) {
    auto u = static_cast<unsigned char>(c);
    if (c == '.') {
      if (previous == '.') return false;
    } else if (u < 0x21 || u == 0x7f || kSpecials.find(c) != std::string_view::npos) {
      return false;
    }
    previous = c;
  }
  return true;
}

}  // namespace

std::string QuoteLocalPart(std::string_view internal) {
  size_t at = internal.rfind('@');
  std::string_view local = at == std::string_view::npos ? internal : internal.substr(0, at);
  std::string_view rest = at == std::string_view::npos ? std::string_view() : internal.substr(at);
  if (local.empty() || IsDotAtom(local)) return std::string(internal);
  std::string out;
  out.reserve(internal.size() + 4);
  out.push_back('"');
  for (char c : local) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  out.append(rest);
  return out;
}

size_t DomainSeparator(std::string_view external) {
  bool quoted = false;
  size_t at = std::string_view::npos;
  for (size_t i = 0; i < external.size(); ++i) {
    char c = external[i];
    if (c == '\\' && quoted) {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '@' && !quoted) {
      at = i;
    }
  }
  return at;
}

std::string UnquoteLocalPart(std::string_view external) {
  size_t at = DomainSeparator(external);
  std::string_view local = at == std::string_view::npos ? external : external.substr(0, at);
  std::string out;
  out.reserve(external.size());
  bool quoted = false;
  for (size_t i = 0; i < local.size(); ++i) {
    char c = local[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (c == '\\' && quoted && i + 1 < local.size()) {
      out.push_back(local[++i]);
    } else {
      out.push_back(c);
    }
  }
  if (at != std::string_view::npos) out.append(external.substr(at));
  return out;
}

std::string_view DomainOf(std::string_view internal) {
  size_t at = internal.rfind('@');
  return at == std::string_view::npos ? std::string_view() : internal.substr(at + 1);
}

std::string_view LocalPartOf(std::string_view internal) {
  size_t at = internal.rfind('@');
  return at == std::string_view::npos ? internal : internal.substr(0, at);
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace moat::mta
