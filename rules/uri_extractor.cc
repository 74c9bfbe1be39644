// uri_extractor.cc - SpamAssassin's text URI parsing and uri_list_canonicalize(), with PCRE2.
#include "rules/uri_extractor.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <unordered_set>

namespace moat::rules {

namespace {

constexpr size_t kMaxUriLength = 8192;
constexpr size_t kMaxVariantsPerUri = 64;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool HasPercentEscape(std::string_view s) {
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    if (s[i] == '%' && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) return true;
  }
  return false;
}

// Util::url_encode: decodes %XX of printable ASCII (not %20/%7F), encodes raw specials.
std::string UrlEncode(std::string_view url) {
  std::string out;
  out.reserve(url.size());
  for (size_t i = 0; i < url.size(); ++i) {
    char c = url[i];
    if (c == '%' && i + 2 < url.size() && Hex(url[i + 1]) >= 0 && Hex(url[i + 2]) >= 0) {
      int hi = Hex(url[i + 1]), lo = Hex(url[i + 2]);
      int value = hi * 16 + lo;
      // Perl: unless the escape contains 20, 7f or [0189a-f][0-9a-f], decode [2-7]X.
      std::string_view esc = url.substr(i + 1, 2);
      char a = static_cast<char>(std::tolower(static_cast<unsigned char>(esc[0])));
      bool keep = (esc == "20") || (a == '7' && (esc[1] == 'f' || esc[1] == 'F')) ||
                  (std::string_view("0189abcdef").find(a) != std::string_view::npos);
      if (!keep && hi >= 2 && hi <= 7) {
        out += static_cast<char>(value);
      } else {
        out.append(url.substr(i, 3));
      }
      i += 2;
      continue;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '"' || c == '%' || c == '<' || c == '>') {
      out += fmt::format("%{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

bool IsUsState(std::string_view s) {
  static const std::unordered_set<std::string_view> kStates = {
      "ak", "al", "ar", "az", "ca", "co", "ct", "dc", "de", "fl", "ga", "gu", "hi", "ia",
      "id", "il", "in", "ks", "ky", "la", "ma", "md", "me", "mi", "mn", "mo", "ms", "mt",
      "nc", "nd", "ne", "nh", "nj", "nm", "nv", "ny", "oh", "ok", "or", "pa", "pr", "ri",
      "sc", "sd", "tn", "tx", "ut", "va", "vi", "vt", "wa", "wi", "wv", "wy"};
  return kStates.count(s) > 0;
}

std::string DecodeUlongToIp(unsigned long long value) {
  value &= 0xFFFFFFFFULL;
  return fmt::format("{}.{}.{}.{}", (value >> 24) & 0xFF, (value >> 16) & 0xFF, (value >> 8) & 0xFF,
                     value & 0xFF);
}

// Decodes one octet of a dotted IP in hex (0x..), octal (0..) or decimal, as SpamAssassin.
std::string DecodeOctet(std::string octet) {
  if (IStartsWith(octet, "0x")) return std::to_string(std::stoull(octet.substr(2), nullptr, 16));
  size_t zeros = 0;
  while (zeros < octet.size() && octet[zeros] == '0') ++zeros;
  std::string digits = octet.substr(zeros);
  if (zeros > 0 && !digits.empty()) {
    // s/^0+([1-3][0-7]{0,2}|[4-7][0-7]?)\b/oct($1)/: octal when it fits one of those shapes.
    bool octal =
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; });
    if (octal && ((digits[0] >= '1' && digits[0] <= '3' && digits.size() <= 3) ||
                  (digits[0] >= '4' && digits[0] <= '7' && digits.size() <= 2))) {
      return std::to_string(std::stoul(digits, nullptr, 8));
    }
  }
  return digits.empty() ? std::string() : digits;
}

}  // namespace

bool IsFqdnValid(std::string_view host_in) {
  std::string host = Lower(host_in);
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host.size() > 253) return false;
  std::vector<std::string_view> labels;
  std::string_view rest = host;
  while (true) {
    size_t dot = rest.find('.');
    labels.push_back(rest.substr(0, dot));
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  size_t count = labels.size();
  if (count < 2) return false;
  for (std::string_view label : labels) {
    if (label.empty() || label.size() > 63) return false;
    auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (!ok(label.front()) || !ok(label.back())) return false;
    for (char c : label) {
      if (!ok(c) && c != '-') return false;
    }
    if ((count == 2 || count == 1) && label.find('_') != std::string_view::npos) return false;
    --count;
  }
  return true;
}

bool IsIpAddress(std::string_view text) {
  std::string s(text);
  unsigned char buffer[16];
  return inet_pton(AF_INET, s.c_str(), buffer) == 1 || inet_pton(AF_INET6, s.c_str(), buffer) == 1;
}

core::Result<std::shared_ptr<const UriContext>> UriContext::Create(
    std::set<std::string> valid_tlds, std::set<std::string> two_level_domains,
    std::set<std::string> three_level_domains, std::vector<core::Regex> redirectors) {
  auto ctx = std::shared_ptr<UriContext>(new UriContext());
  ctx->valid_tlds_ = std::move(valid_tlds);
  ctx->two_level_ = std::move(two_level_domains);
  ctx->three_level_ = std::move(three_level_domains);
  ctx->redirectors_ = std::move(redirectors);

  const std::string start = R"((?:\b|(?<=\x1b\(.)|(?<=[><"'`,{\[(|\s\x1b\xa0])))";
  const std::string end_delim = R"(><"`}\]{\[|\s\x1b\xa0)";
  const std::string end_email = end_delim + R"(,('\x80-\xff)";
  const std::string end_plus_at = end_email + "@";
  const std::string sc_start = R"([!"#$&'()*+,/:;<=>?@\[\\\]^`{|}~\s\x1b\xa0])";
  core::RegexOptions options;
  options.caseless = true;
  options.match_limit = 5'000'000;
  auto compile = [&](const std::string& pattern) -> core::Result<core::Regex> {
    return core::Regex::Compile(pattern, options);
  };
  auto known = compile(start + "((?:(?:https?|ftp)://|(?:www\\d{0,2}|ftp)\\.)[^" + end_delim +
                       "]{1,2048})(?=[" + end_delim + "]|\\z)");
  auto mailto = compile(start + "(mailto:[^" + end_email + "]{1,2048})(?=[" + end_email + "]|\\z)");
  auto bare = compile(start + "([^" + end_plus_at + "]{1,251}@[^" + end_email + "]{1,251})(?=[" +
                      end_email + "]|\\z)");
  if (!known) return core::Fail(known.error());
  if (!mailto) return core::Fail(mailto.error());
  if (!bare) return core::Fail(bare.error());
  ctx->known_scheme_ = std::move(*known);
  ctx->mailto_ = std::move(*mailto);
  ctx->bare_mail_ = std::move(*bare);
  if (!ctx->valid_tlds_.empty()) {
    std::string tlds = "(?<![a-zA-Z0-9-])(?:";
    bool first = true;
    for (const std::string& tld : ctx->valid_tlds_) {
      bool plain = std::all_of(tld.begin(), tld.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
      });
      if (!plain) continue;
      if (!first) tlds += '|';
      tlds += tld;
      first = false;
    }
    tlds += ")(?!(?:[a-zA-Z0-9-]|\\.[a-zA-Z0-9]))";
    auto schemeless = compile(start + "(?:^|(?<=" + sc_start + "))(([a-z\\d][a-z\\d._-]{0,251}\\." +
                              tlds + ")\\.?(?::\\d{1,5})?(?:/[^" + end_delim + "]{1,2048})?)(?=[" +
                              end_delim + "]|\\z)");
    if (!schemeless) return core::Fail(schemeless.error());
    ctx->schemeless_ = std::move(*schemeless);
  }
  return std::shared_ptr<const UriContext>(std::move(ctx));
}

std::shared_ptr<const UriContext> UriContext::Empty() {
  static const std::shared_ptr<const UriContext> kEmpty = [] {
    auto created = Create({}, {}, {}, {});
    return created ? *created : nullptr;
  }();
  return kEmpty;
}

bool UriContext::IsKnownTld(std::string_view tld) const {
  return valid_tlds_.count(Lower(tld)) > 0;
}

bool UriContext::IsDomainValid(std::string_view domain_in) const {
  std::string domain = Lower(domain_in);
  if (std::any_of(domain.begin(), domain.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return false;
  }
  size_t dot = domain.rfind('.');
  if (dot == std::string::npos || dot + 1 >= domain.size()) return false;
  return valid_tlds_.count(domain.substr(dot + 1)) > 0;
}

std::string UriContext::TrimDomain(std::string_view host_in) const {
  std::string domain = Lower(host_in);
  // tr/././s, then strip leading and trailing dots.
  std::string squeezed;
  for (char c : domain) {
    if (c == '.' && !squeezed.empty() && squeezed.back() == '.') continue;
    squeezed += c;
  }
  while (!squeezed.empty() && squeezed.front() == '.') squeezed.erase(0, 1);
  while (!squeezed.empty() && squeezed.back() == '.') squeezed.pop_back();
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    size_t dot = squeezed.find('.', pos);
    parts.push_back(squeezed.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos));
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  auto join = [](const std::vector<std::string>& v, size_t from) {
    std::string out;
    for (size_t i = from; i < v.size(); ++i) {
      if (i > from) out += '.';
      out += v[i];
    }
    return out;
  };
  size_t first = 0;  // index of the first part still in the domain
  while (parts.size() - first > 1) {
    size_t n = parts.size() - first;
    if (n == 2) {
      if (two_level_.count(join(parts, first))) break;
    } else if (n == 3) {
      if (parts[first + 2] == "us") {
        if (IsUsState(parts[first + 1])) break;
      } else if (three_level_.count(join(parts, first))) {
        break;
      }
    } else if (n == 4) {
      if (parts[first + 3] == "us" &&
          ((parts[first] == "pvt" && parts[first + 1] == "k12") || parts[first] == "ci" ||
           parts[first] == "co") &&
          IsUsState(parts[first + 2])) {
        break;
      }
    }
    ++first;
  }
  if (first > 0) --first;  // the label before the public suffix belongs to the domain
  return join(parts, first);
}

std::optional<std::string> UriContext::UriDomain(std::string_view uri_in) const {
  std::string uri = Lower(uri_in);
  if (uri.starts_with("javascript:") || uri.starts_with("cid:") || uri.starts_with("file:")) {
    return std::nullopt;
  }
  if (uri.starts_with("mailto:")) {
    uri.erase(0, 7);
    if (size_t q = uri.find('?'); q != std::string::npos) uri.resize(q);
    size_t at = uri.find('@');
    if (at == std::string::npos) return std::nullopt;
    if (uri.find('@', at + 1) != std::string::npos) return std::nullopt;
    uri.erase(0, uri.rfind('@') + 1);
  } else {
    size_t i = 0;
    while (i < uri.size() && uri[i] >= 'a' && uri[i] <= 'z') ++i;
    if (i > 0 && i < uri.size() && uri[i] == ':') {
      size_t j = i + 1;
      while (j < uri.size() && j < i + 3 && uri[j] == '/') ++j;
      uri.erase(0, j);
    }
    if (size_t cut = uri.find_first_of("/?#"); cut != std::string::npos) uri.resize(cut);
    if (size_t at = uri.rfind('@'); at != std::string::npos) uri.erase(0, at + 1);
    if (size_t colon = uri.rfind(':');
        colon != std::string::npos &&
        std::all_of(uri.begin() + static_cast<long>(colon) + 1, uri.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      uri.resize(colon);
    }
  }
  // Still-encoded printable characters mean the host is obfuscated: no domain.
  for (size_t i = 0; i + 2 < uri.size(); ++i) {
    if (uri[i] != '%') continue;
    int hi = Hex(uri[i + 1]), lo = Hex(uri[i + 2]);
    if (hi < 0 || lo < 0) continue;
    int v = hi * 16 + lo;
    if (v >= 0x21 && v <= 0x7E) return std::nullopt;
  }
  if (IsIpAddress(uri)) return uri;
  if (!IsFqdnValid(uri) || !IsDomainValid(uri)) return std::nullopt;
  return TrimDomain(uri);
}

std::vector<std::string> UriContext::FindTextUris(const std::vector<std::string>& lines) const {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  const core::Regex* regexes[4] = {&*known_scheme_, &*mailto_, &*bare_mail_,
                                   schemeless_ ? &*schemeless_ : nullptr};
  for (const std::string& line : lines) {
    size_t pos = 0;
    // Each alternative's next match, kept while it is still ahead of `pos`, so a long line with
    // many links is scanned about once per alternative instead of once per link.
    std::optional<core::RegexMatch> next[4];
    bool exhausted[4] = {false, false, false, false};
    while (pos <= line.size()) {
      // Leftmost match over the alternatives; earlier alternatives win ties.
      int winner = -1;
      for (int k = 0; k < 4; ++k) {
        if (regexes[k] == nullptr || exhausted[k]) continue;
        if (!next[k] || next[k]->group(0).begin < pos) {
          auto m = regexes[k]->Search(line, pos);
          if (!m || !m->has_value()) {
            exhausted[k] = true;
            next[k].reset();
            continue;
          }
          next[k] = std::move(**m);
        }
        if (winner < 0 || next[k]->group(0).begin < next[winner]->group(0).begin) winner = k;
      }
      if (winner < 0) break;
      core::RegexMatch best = std::move(*next[winner]);
      next[winner].reset();
      size_t end = best.group(0).end;
      pos = end > best.group(0).begin ? end : best.group(0).begin + 1;

      std::string raw(best.Text(line, 1));
      std::string schemeless_host = winner == 3 ? std::string(best.Text(line, 2)) : std::string();
      bool is_mail = winner == 1 || winner == 2;
      // As Thunderbird: ')' ends the link when no '(' precedes it.
      size_t open = raw.find('(');
      size_t close = raw.rfind(')', open == std::string::npos ? std::string::npos : open);
      if (close != std::string::npos && (open == std::string::npos || close < open))
        raw.resize(close);
      while (!raw.empty() &&
             std::string_view("-~!@#^&*()_+=:;'?,.").find(raw.back()) != std::string_view::npos) {
        raw.pop_back();
      }
      if (!seen.insert(raw).second) continue;
      if (is_mail && raw.find('@') == std::string::npos) continue;
      if (winner == 3 && !IsFqdnValid(schemeless_host)) continue;
      if (IStartsWith(raw, "cid:") || IStartsWith(raw, "mid:")) continue;
      {
        size_t i = 0;
        while (i < raw.size() &&
               (std::isalnum(static_cast<unsigned char>(raw[i])) || raw[i] == '_'))
          ++i;
        if (i > 0 && i < raw.size() && raw[i] == ':') {
          size_t j = i + 1;
          while (j < raw.size() && j < i + 3 && raw[j] == '/') ++j;
          if (j == raw.size()) continue;  // just a scheme
        }
      }
      std::string uri = raw;
      if (!IStartsWith(uri, "http:") && !IStartsWith(uri, "https:") && !IStartsWith(uri, "ftp:") &&
          !IStartsWith(uri, "mailto:")) {
        std::string lower = Lower(uri);
        bool www = false;
        if (lower.starts_with("www")) {
          size_t k = 3;
          while (k < lower.size() && k < 5 && std::isdigit(static_cast<unsigned char>(lower[k])))
            ++k;
          www = k < lower.size() && lower[k] == '.';
        }
        size_t at = uri.find('@');
        size_t slash = uri.find('/');
        if (lower.starts_with("ftp.")) {
          uri = "ftp://" + uri;
        } else if (www) {
          uri = "http://" + uri;
        } else if (slash != std::string::npos && at != std::string::npos &&
                   uri.find('@', slash + 2) != std::string::npos) {
          uri = "http://" + uri;  // a '/' before '@' cannot be an e-mail address
        } else if (at != std::string::npos) {
          if (uri.find('.', at + 2) == std::string::npos) continue;
          if (uri.find("&nbsp;") != std::string::npos) continue;
          // strip common misparses: (skype|e?-?mail)?:+
          std::string l = Lower(uri);
          size_t strip = 0;
          for (std::string_view p : {"skype", "email", "e-mail", "mail", "-mail"}) {
            if (l.starts_with(p) && l.size() > p.size() && l[p.size()] == ':') {
              strip = p.size();
              break;
            }
          }
          size_t colons = strip;
          while (colons < uri.size() && uri[colons] == ':') ++colons;
          if (colons > strip || strip == 0) uri.erase(0, colons);
          uri = "mailto:" + uri;
        } else {
          if (uri.find('.') == std::string::npos) continue;
          uri = "http://" + uri;
        }
      }
      if (IStartsWith(uri, "mailto:")) {
        if (HasPercentEscape(uri)) uri = UrlEncode(uri);
        size_t at = uri.find('@');
        if (at == std::string::npos) continue;
        std::string host = uri.substr(at + 1);
        if (size_t stop = host.find_first_of("?&>"); stop != std::string::npos) host.resize(stop);
        while (host.size() >= 3 && host.ends_with("%20")) host.resize(host.size() - 3);
        if (!IsDomainValid(host)) continue;
      }
      out.push_back(std::move(uri));
    }
  }
  return out;
}

std::vector<std::string> UriContext::Canonicalize(std::string_view input) const {
  std::vector<std::string> uris{std::string(input)};
  std::vector<std::string> nuris;
  for (size_t index = 0; index < uris.size() && index < kMaxVariantsPerUri; ++index) {
    std::string uri = uris[index];
    uri.erase(std::remove(uri.begin(), uri.end(), '\n'), uri.end());
    size_t b = 0;
    while (b < uri.size() && std::isspace(static_cast<unsigned char>(uri[b]))) ++b;
    uri.erase(0, b);
    while (!uri.empty() && std::isspace(static_cast<unsigned char>(uri.back()))) uri.pop_back();
    uri.erase(std::remove(uri.begin(), uri.end(), '\r'), uri.end());
    uris[index] = uri;
    if (uri.size() <= 1 || uri[0] == '#' || uri[0] == '?' || uri[0] == '&' ||
        (uri[0] == '/' && (uri.size() < 2 || uri[1] != '/'))) {
      continue;
    }
    std::string nuri = uri;
    size_t first_colon = nuri.find(':');
    size_t first_at = nuri.find('@');
    if (IStartsWith(nuri, "mailto:") ||
        (first_at != std::string::npos &&
         (first_colon == std::string::npos || first_at < first_colon))) {
      // ^([^@]+@[^?]+)\?
      size_t at = nuri.find('@');
      if (at != std::string::npos && at > 0) {
        size_t q = nuri.find('?', at + 1);
        if (q != std::string::npos && q > at + 1) nuris.push_back(nuri.substr(0, q));
        size_t stop = nuri.find_first_of("?&", at + 1);
        if (stop != std::string::npos && nuri[stop] == '&' && stop > at + 1) {
          nuris.push_back(nuri.substr(0, stop));
        }
      }
      if (nuri.find("%20") != std::string::npos) {
        std::string s = nuri;
        if (IStartsWith(s, "mailto:")) s.erase(0, 7);
        while (s.starts_with("%20")) s.erase(0, 3);
        size_t a = s.find('@');
        if (a != std::string::npos && a > 0) {
          size_t stop = s.find_first_of("?&%", a + 1);
          std::string addr = s.substr(0, stop);
          if (addr.size() > a + 1) nuris.push_back("mailto:" + addr);
        }
      }
      size_t lt = nuri.find('<');
      size_t stop = nuri.find_first_of("?&");
      if (lt != std::string::npos && (stop == std::string::npos || lt < stop)) {
        size_t gt = nuri.find('>', lt);
        if (gt != std::string::npos) {
          std::string inner = nuri.substr(lt + 1, gt - lt - 1);
          size_t a = inner.find('@');
          if (a != std::string::npos && a > 0 && a + 1 < inner.size()) {
            nuris.push_back("mailto:" + inner);
          }
        }
      }
      continue;
    }
    std::replace(nuri.begin(), nuri.end(), '\\', '/');
    if (IStartsWith(nuri, "http:") || IStartsWith(nuri, "https:")) {
      size_t colon = nuri.find(':');
      size_t k = colon + 1;
      while (k < nuri.size() && k < colon + 3 && nuri[k] == '/') ++k;
      nuri = nuri.substr(0, colon + 1) + "//" + nuri.substr(k);
    }
    if (HasPercentEscape(nuri)) nuri = UrlEncode(nuri);
    {
      size_t k = 0;
      while (k < nuri.size() && (std::isalnum(static_cast<unsigned char>(nuri[k])) ||
                                 nuri[k] == '-' || nuri[k] == '_'))
        ++k;
      if (!(k > 0 && k < nuri.size() && nuri[k] == ':')) {
        nuri = (nuri.starts_with("ftp.") ? "ftp://" : "http://") + nuri;
      }
    }
    // http://host?x -> http://host/?x
    if (IStartsWith(nuri, "http://") || IStartsWith(nuri, "https://")) {
      size_t host_begin = nuri.find("://") + 3;
      size_t stop = nuri.find_first_of("/?#", host_begin);
      if (stop != std::string::npos && stop > host_begin && nuri[stop] != '/')
        nuri.insert(stop, "/");
    }
    // &#NN; / &#xNN; of printable characters, and encoded dots.
    if (nuri.find("&#") != std::string::npos) {
      std::string decoded;
      for (size_t i = 0; i < nuri.size(); ++i) {
        if (nuri.compare(i, 2, "&#") == 0) {
          size_t j = i + 2;
          bool hex = j < nuri.size() && (nuri[j] == 'x' || nuri[j] == 'X');
          if (hex) ++j;
          size_t digits = j;
          while (j < nuri.size() && (hex ? std::isxdigit(static_cast<unsigned char>(nuri[j]))
                                         : std::isdigit(static_cast<unsigned char>(nuri[j]))))
            ++j;
          if (j > digits && j < nuri.size() && nuri[j] == ';' && j - digits <= 8) {
            unsigned long v = std::stoul(nuri.substr(digits, j - digits), nullptr, hex ? 16 : 10);
            if (v >= 33 && v <= 126) {
              decoded += static_cast<char>(v);
              i = j;
              continue;
            }
            if (v == 0x2e || v == 12290 || v == 65294 || v == 65377) {
              decoded += '.';
              i = j;
              continue;
            }
          }
        }
        decoded += nuri[i];
      }
      nuri = decoded;
    }
    if (nuri != uri) nuris.push_back(nuri);

    // ^(https?://)([^@/?#]*@)?([^/?#:]+)((?::(\d*))?.*)$
    if (!IStartsWith(nuri, "http://") && !IStartsWith(nuri, "https://")) continue;
    size_t proto_len = nuri.find("://") + 3;
    std::string proto = nuri.substr(0, proto_len);
    size_t host_begin = proto_len;
    std::string auth;
    {
      size_t stop = nuri.find_first_of("@/?#", host_begin);
      if (stop != std::string::npos && nuri[stop] == '@') {
        auth = nuri.substr(host_begin, stop + 1 - host_begin);
        host_begin = stop + 1;
      }
    }
    size_t host_end = nuri.find_first_of("/?#:", host_begin);
    if (host_end == std::string::npos) host_end = nuri.size();
    if (host_end == host_begin) continue;
    std::string host = nuri.substr(host_begin, host_end - host_begin);
    std::string rest = nuri.substr(host_end);
    std::string port;
    std::string rest_noport;
    bool have_port = false;
    if (!rest.empty() && rest[0] == ':') {
      size_t k = 1;
      while (k < rest.size() && std::isdigit(static_cast<unsigned char>(rest[k]))) ++k;
      port = rest.substr(1, k - 1);
      have_port = true;
    }
    if (!have_port || port.empty()) {
      port = proto == "http://" ? "80" : "443";
    }
    if (have_port) {
      rest_noport = rest;
      auto strip = [&](std::string_view p) {
        if (rest_noport.compare(0, p.size(), p) == 0 &&
            (rest_noport.size() == p.size() ||
             !std::isalnum(static_cast<unsigned char>(rest_noport[p.size()])))) {
          rest_noport.erase(0, p.size());
          nuris.push_back(proto + host + rest_noport);
        }
      };
      if (proto == "http://") {
        strip(":80");
      } else {
        strip(":443");
      }
    }
    std::string nhost = Lower(host);
    std::string cleaned_host;
    for (char c : host) {
      if (static_cast<unsigned char>(c) > 0x20) cleaned_host += c;
    }
    if (cleaned_host != host) {
      host = cleaned_host;
      nuris.push_back(proto + host + rest);
    }
    bool found_redirect = false;
    std::string whole = proto + host + rest;
    for (const core::Regex& re : redirectors_) {
      auto m = re.Search(whole);
      if (!m || !m->has_value()) continue;
      std::string_view target = (*m)->Text(whole, 1);
      if (!(*m)->group(1).set || target.find('.') == std::string_view::npos) continue;
      uris.emplace_back(target);
      found_redirect = true;
      break;
    }
    if (!found_redirect) {
      // A URL inside the path or query: https?:/{0,2}[^&#]+
      std::string lower_rest = Lower(rest);
      for (size_t p = lower_rest.find("http"); p != std::string::npos;
           p = lower_rest.find("http", p + 1)) {
        size_t k = p + 4;
        if (k < lower_rest.size() && lower_rest[k] == 's') ++k;
        if (k >= lower_rest.size() || lower_rest[k] != ':') continue;
        ++k;
        size_t slashes = 0;
        while (k < rest.size() && rest[k] == '/' && slashes < 2) {
          ++k;
          ++slashes;
        }
        size_t stop = rest.find_first_of("&#", k);
        if (stop == k) continue;
        std::string target =
            rest.substr(p, stop == std::string::npos ? std::string::npos : stop - p);
        if (target.find('.') != std::string::npos) uris.push_back(target);
        break;
      }
    }
    if (size_t at = host.rfind('@'); at != std::string::npos && at > 0) {
      // s/^[^@]+@//gs removes up to the first '@' that follows non-'@' text, repeatedly.
      size_t first = host.find('@');
      if (first > 0) {
        host.erase(0, first + 1);
        nuris.push_back(proto + host + rest);
      }
    }
    {
      size_t k = host.size();
      while (k > 0 && !std::isalnum(static_cast<unsigned char>(host[k - 1]))) --k;
      if (k < host.size()) {
        host.resize(k);
        nuris.push_back(proto + host + rest);
      }
    }
    // Numeric hosts: 1.2.3.4 in hex/octal parts, a 0x... or decimal 32-bit number.
    auto is_num_part = [](const std::string& s) {
      if (IStartsWith(s, "0x")) {
        return s.size() > 2 && std::all_of(s.begin() + 2, s.end(), [](char c) {
                 return std::isxdigit(static_cast<unsigned char>(c));
               });
      }
      return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      });
    };
    std::vector<std::string> parts;
    {
      size_t p = 0;
      while (true) {
        size_t dot = host.find('.', p);
        parts.push_back(host.substr(p, dot == std::string::npos ? std::string::npos : dot - p));
        if (dot == std::string::npos) break;
        p = dot + 1;
      }
    }
    if (parts.size() == 4 && std::all_of(parts.begin(), parts.end(), is_num_part)) {
      std::string decoded;
      for (size_t i = 0; i < 4; ++i) {
        if (i > 0) decoded += '.';
        try {
          decoded += DecodeOctet(parts[i]);
        } catch (...) {
          decoded += parts[i];
        }
      }
      nuris.push_back(proto + decoded + rest);
    } else if (IStartsWith(host, "0x") && is_num_part(host)) {
      std::string hex = host.substr(2);
      if (hex.size() > 8) hex = hex.substr(hex.size() - 8);
      nuris.push_back(proto + DecodeUlongToIp(std::stoull(hex, nullptr, 16)) + rest);
    } else if (!host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
                 return std::isdigit(static_cast<unsigned char>(c));
               })) {
      unsigned long long value = 0;
      for (char c : host) {
        if (value < 0xFFFFFFFFFFULL) value = value * 10 + static_cast<unsigned>(c - '0');
      }
      nuris.push_back(proto + DecodeUlongToIp(value) + rest);
    } else if (proto == "http://" && auth.empty() && nhost != "localhost" && port == "80") {
      std::string bare = nhost.starts_with("www.") ? nhost.substr(4) : nhost;
      if (!bare.empty() && bare.find('.') == std::string::npos && !IsDomainValid(nhost)) {
        nuris.push_back(proto + "www." + bare + ".com" + rest);
      }
    }
  }
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (auto* list : {&uris, &nuris}) {
    for (std::string& u : *list) {
      if (u.size() > kMaxUriLength) u.resize(kMaxUriLength);
      if (seen.insert(u).second) out.push_back(u);
    }
  }
  return out;
}

std::vector<std::string> UriContext::CollectUris(const std::vector<std::string>& rendered_lines,
                                                 const std::vector<std::string>& html_links) const {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  auto add = [&](const std::vector<std::string>& variants) {
    for (const std::string& v : variants) {
      if (seen.insert(v).second) out.push_back(v);
    }
  };
  for (const std::string& uri : FindTextUris(rendered_lines)) {
    std::vector<std::string> variants = Canonicalize(uri);
    bool has_domain = std::any_of(variants.begin(), variants.end(),
                                  [&](const std::string& v) { return UriDomain(v).has_value(); });
    if (has_domain) add(variants);
  }
  for (const std::string& link : html_links) add(Canonicalize(link));
  return out;
}

}  // namespace moat::rules
