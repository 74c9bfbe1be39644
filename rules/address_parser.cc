// address_parser.cc - Util::_parse_header_addresses() on PCRE2, regex for regex.
#include "rules/address_parser.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "core/regex.h"
#include "rules/header_decoder.h"
#include "rules/uri_extractor.h"

namespace moat::rules {

namespace {

// $header_address_mailre
constexpr std::string_view kMailRe =
    R"RE((?:"(?:|(?:[^"\\]++|\\.)*+)"|[^@\s<>()\[\],:;]+)@(?:[^"\s<>()\[\],:;]+|\[[\d:.]+\]))RE";

struct Patterns {
  core::Regex address;     // $header_address_re
  core::Regex mail_full;   // ^$header_address_mailre$
  core::Regex angle_mail;  // <($header_address_mailre)>
  core::Regex group;       // ^[^"()<>]+:\s*
  core::Regex phrase_piece;
  core::Regex comment;
};

core::Regex MustCompile(const std::string& pattern) {
  core::RegexOptions options;
  options.caseless = true;
  auto re = core::Regex::Compile(pattern, options);
  if (!re) {  // a constant pattern: a failure is a programming error
    fprintf(stderr, "address_parser: %s: %s\n", re.error().message().c_str(), pattern.c_str());
    std::abort();
  }
  return *re;
}

const Patterns& GetPatterns() {
  static const Patterns kPatterns = [] {
    std::string mail(kMailRe);
    std::string quoted = R"RE("(?:|(?:[^"\\]++|\\.)*+)")RE";
    std::string phrase = "((?:" + quoted + R"RE(|[^",;<]++)+))RE";
    std::string address = R"RE(^\s*(?:(?:)RE" + phrase +
                          R"RE(\s*)?<\s*([^>@]*\S+|\s*)\s*>(?:\s*<\s*(?:(?:)RE" + quoted +
                          R"RE()?\S+|\s*)\s*>)*|(?:()RE" + mail + ")|" + phrase +
                          R"RE())(?:\s*\(((?:|(?:[^()\\]++|\\.)*+))\))?\s*(?:[,;]|\z))RE";
    return Patterns{MustCompile(address),
                    MustCompile("^" + mail + "$"),
                    MustCompile("<(" + mail + ")>"),
                    MustCompile(R"RE(^[^"()<>]+:\s*)RE"),
                    MustCompile(R"RE((?:"(|(?:[^"\\]++|\\.)*+)"|([^"]++)))RE"),
                    MustCompile(R"RE(\((?:|(?:[^()\\]++|\\.)*+)\))RE")};
  }();
  return kPatterns;
}

bool ValidParsedAddress(const std::optional<std::string>& address) {
  if (!address) return false;
  if (address->starts_with("\"\"@")) return false;
  size_t quotes = 0;
  for (char c : *address) quotes += c == '"';
  return quotes != 1;
}

std::string RemoveComments(const std::string& s, const core::Regex& comment) {
  std::string out;
  size_t pos = 0;
  while (pos <= s.size()) {
    auto m = comment.Search(s, pos);
    if (!m || !m->has_value()) break;
    const auto& g = (*m)->group(0);
    out.append(s, pos, g.begin - pos);
    pos = g.end > g.begin ? g.end : g.end + 1;
  }
  if (pos < s.size()) out.append(s, pos, std::string::npos);
  return out;
}

// Keeps "local@domain" up to a second '@': s/^(([^@]*)@([^@]*)).*/$1/
std::string CutAtSecondAt(const std::string& address) {
  size_t first = address.find('@');
  if (first == std::string::npos) return address;
  size_t second = address.find('@', first + 1);
  return second == std::string::npos ? address : address.substr(0, second);
}

}  // namespace

std::vector<ParsedAddress> ParseHeaderAddresses(std::string_view raw_value) {
  const Patterns& p = GetPatterns();
  std::string s(raw_value);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  // s/\\\\//g
  for (size_t at; (at = s.find("\\\\")) != std::string::npos;) s.erase(at, 2);
  if (auto m = p.group.Search(s); m && m->has_value()) s.erase(0, (*m)->group(0).end);
  bool any = false;
  for (char c : s) any |= !std::isspace(static_cast<unsigned char>(c));
  if (!any) return {};

  std::vector<ParsedAddress> results;
  while (!s.empty()) {
    auto m = p.address.Search(s);
    if (!m || !m->has_value() || (*m)->group(0).end == 0) break;
    const core::RegexMatch& match = **m;
    auto text = [&](size_t i) -> std::optional<std::string> {
      if (!match.group(i).set) return std::nullopt;
      return std::string(match.Text(s, i));
    };
    std::optional<std::string> phrase = text(1) ? text(1) : text(4);
    std::optional<std::string> address = text(2) ? text(2) : text(3);
    std::optional<std::string> comment = text(5);
    if (text(2)) {
      *address = RemoveComments(*address, p.comment);
      auto full = p.mail_full.Search(*address);
      if (!full || !full->has_value()) address.reset();
    }
    if (!ValidParsedAddress(address)) address.reset();
    if (phrase) {
      std::string rebuilt;
      size_t pos = 0;
      const std::string& ph = *phrase;
      while (pos < ph.size()) {
        auto piece = p.phrase_piece.Search(ph, pos);
        if (!piece || !piece->has_value()) break;
        const core::RegexMatch& pm = **piece;
        if (pm.group(1).set) {
          std::string qs(pm.Text(ph, 1));
          std::string unescaped;
          for (size_t i = 0; i < qs.size(); ++i) {
            // s/\\(?!\\)//g then s/\\\\/\\/g
            if (qs[i] == '\\') {
              if (i + 1 < qs.size() && qs[i + 1] == '\\') {
                unescaped += '\\';
                ++i;
              }
              continue;
            }
            unescaped += qs[i];
          }
          rebuilt += unescaped;
        } else if (pm.group(2).set) {
          rebuilt += RemoveComments(std::string(pm.Text(ph, 2)), p.comment);
        }
        pos = pm.group(0).end > pos ? pm.group(0).end : pos + 1;
      }
      phrase = rebuilt;
      bool phrase_is_address = false;
      if (!address) {
        auto full = p.mail_full.Search(*phrase);
        if (full && full->has_value() && ValidParsedAddress(phrase)) {
          size_t at = phrase->find('@');
          std::string host = phrase->substr(at + 1);
          if (size_t second = host.find('@'); second != std::string::npos) host.resize(second);
          phrase_is_address = IsFqdnValid(host);
        }
      }
      if (phrase_is_address) {
        address = phrase;
        phrase.reset();
      } else if ((address && *phrase == *address) || phrase->empty()) {
        phrase.reset();
      }
    }
    if (!phrase && comment) phrase = comment;
    if (address) address = CutAtSecondAt(*address);
    results.push_back({phrase, address, comment});
    s.erase(0, match.group(0).end);
  }
  if (s.find('@') != std::string::npos) {
    size_t pos = 0;
    while (pos < s.size()) {
      auto m = p.angle_mail.Search(s, pos);
      if (!m || !m->has_value()) break;
      std::optional<std::string> address = std::string((*m)->Text(s, 1));
      pos = (*m)->group(0).end;
      if (!ValidParsedAddress(address)) continue;
      results.push_back({std::nullopt, CutAtSecondAt(*address), std::nullopt});
    }
  }
  return results;
}

std::string DisplayName(std::string_view phrase) {
  std::string decoded = DecodeHeaderValue(phrase, "PMS:get");
  bool any = false;
  for (char c : decoded) any |= !std::isspace(static_cast<unsigned char>(c));
  if (!any) return decoded;
  std::string out;
  bool space = false;
  for (char c : decoded) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() >= 2 && out.front() == '\'' && out.back() == '\'')
    out = out.substr(1, out.size() - 2);
  return out;
}

}  // namespace moat::rules
