// html_renderer.cc - an HTML::Parser-compatible tokenizer driving HTML.pm's rendering rules.
#include "rules/html_renderer.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <unordered_set>
#include <vector>

#include "rules/charset.h"
#include "rules/html_entities.h"

namespace moat::rules {

namespace {

bool IsHtmlSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool IStartsWith(std::string_view s, size_t pos, std::string_view prefix) {
  if (s.size() - pos < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[pos + i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string DecodeEntities(std::string_view s) {
  if (s.find('&') == std::string_view::npos) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t j = i + 1;
    if (j < s.size() && s[j] == '#') {
      ++j;
      bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
      if (hex) ++j;
      size_t digits = j;
      unsigned long value = 0;
      while (j < s.size() && (hex ? std::isxdigit(static_cast<unsigned char>(s[j]))
                                  : std::isdigit(static_cast<unsigned char>(s[j])))) {
        if (value < 0x1000000) {
          value = value * (hex ? 16 : 10) +
                  static_cast<unsigned long>(std::isdigit(static_cast<unsigned char>(s[j]))
                                                 ? s[j] - '0'
                                                 : std::tolower(static_cast<unsigned char>(s[j])) -
                                                       'a' + 10);
        }
        ++j;
      }
      if (j > digits && value > 0 && value <= 0x10FFFF) {
        if (j < s.size() && s[j] == ';') ++j;
        AppendUtf8(out, static_cast<unsigned>(value));
        i = j - 1;
        continue;
      }
      out += '&';
      continue;
    }
    while (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j]))) ++j;
    std::string_view name = s.substr(i + 1, j - i - 1);
    if (name.empty()) {
      out += '&';
      continue;
    }
    if (j < s.size() && s[j] == ';') {
      if (auto cp = LookupEntity(name)) {
        AppendUtf8(out, *cp);
        i = j;
        continue;
      }
    }
    if (auto legacy = LookupLegacyEntityPrefix(name)) {
      AppendUtf8(out, legacy->first);
      i += legacy->second;
      continue;
    }
    out += '&';
  }
  return out;
}

// SpamAssassin's HTML.pm element tables.
const std::set<std::string_view>& KnownElements() {
  static const std::set<std::string_view> kElements = {
      "a", "abbr", "acronym", "address", "area", "b", "base", "bdo", "big", "blockquote", "body",
      "br", "button", "caption", "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl",
      "dt", "em", "fieldset", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "html", "i",
      "img", "input", "ins", "kbd", "label", "legend", "li", "link", "map", "meta", "noscript",
      "object", "ol", "optgroup", "option", "p", "param", "pre", "q", "samp", "script", "select",
      "small", "span", "strong", "style", "sub", "sup", "table", "tbody", "td", "textarea", "tfoot",
      "th", "thead", "title", "tr", "tt", "ul", "var", "applet", "basefont", "center", "dir",
      "font", "frame", "frameset", "iframe", "isindex", "menu", "noframes", "s", "strike", "u",
      "nobr", "x-sigsep", "x-tab",
      // "tricks"
      "bgsound", "embed", "listing", "plaintext", "xmp"};
  return kElements;
}

using Attributes = std::vector<std::pair<std::string, std::string>>;

const std::string* FindAttribute(const Attributes& attrs, std::string_view name) {
  for (const auto& [k, v] : attrs) {
    if (k == name) return &v;
  }
  return nullptr;
}

struct Chunk {
  std::string text;
  bool whitespace;
};

class Renderer {
 public:
  HtmlRendering Finish() {
    HtmlRendering out;
    size_t total = 0;
    for (const Chunk& c : chunks_) total += c.text.size();
    out.text.reserve(total);
    for (const Chunk& c : chunks_) out.text += c.text;
    out.links = std::move(links_);
    out.link_tags = std::move(link_tags_);
    out.tags = std::move(tags_);
    return out;
  }

  void Text(std::string text) {
    if (Inside("script") || Inside("style")) return;
    // Collapse whitespace runs (and UTF-8 NBSP) to one space.
    std::string collapsed;
    collapsed.reserve(text.size());
    bool in_space = false;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      bool space = IsHtmlSpace(c);
      if (!space && static_cast<unsigned char>(c) == 0xC2 && i + 1 < text.size() &&
          static_cast<unsigned char>(text[i + 1]) == 0xA0) {
        space = true;
        ++i;
      }
      if (space) {
        if (!in_space) collapsed += ' ';
        in_space = true;
        continue;
      }
      in_space = false;
      collapsed += c;
    }
    if (!chunks_.empty() && chunks_.back().whitespace && !collapsed.empty() &&
        collapsed.front() == ' ') {
      collapsed.erase(0, 1);
    }
    chunks_.push_back({std::move(collapsed), false});
  }

  void Tag(const std::string& tag, const Attributes& attrs, bool start) {
    tags_.insert(tag);
    int& inside = inside_[tag];
    inside += start ? 1 : -1;
    if (inside < 0) inside = 0;
    if (!KnownElements().count(tag)) return;
    Whitespace(tag);
    if (start) Links(tag, attrs);
  }

 private:
  bool Inside(const std::string& tag) const {
    auto it = inside_.find(tag);
    return it != inside_.end() && it->second > 0;
  }

  void Whitespace(const std::string& tag) {
    const char* ws = nullptr;
    if (tag == "br" || tag == "div") {
      ws = "\n";
    } else if (tag == "li" || tag == "th" || tag == "td" || tag == "dt" || tag == "dd" ||
               tag == "embed" ||
               (tag.size() == 2 && tag[0] == 'h' &&
                std::isdigit(static_cast<unsigned char>(tag[1])))) {
      ws = " ";
    } else if (tag == "p" || tag == "hr" || tag == "blockquote" || tag == "pre" ||
               tag == "listing" || tag == "plaintext" || tag == "xmp" || tag == "title") {
      ws = "\n\n";
    }
    if (ws == nullptr) return;
    if (!chunks_.empty() && !chunks_.back().whitespace && !chunks_.back().text.empty() &&
        chunks_.back().text.back() == ' ') {
      chunks_.back().text.pop_back();
    }
    chunks_.push_back({ws, true});
  }

  static std::string CanonUri(std::string_view uri) {
    // Trim whitespace and NBSP (both as the byte 0xA0 and as UTF-8).
    auto is_trim = [](std::string_view s, size_t i, bool from_end) -> size_t {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (IsHtmlSpace(static_cast<char>(c)) || c == 0xA0) {
        if (c == 0xA0 && from_end && i > 0 && static_cast<unsigned char>(s[i - 1]) == 0xC2)
          return 2;
        return 1;
      }
      if (!from_end && c == 0xC2 && i + 1 < s.size() &&
          static_cast<unsigned char>(s[i + 1]) == 0xA0) {
        return 2;
      }
      return 0;
    };
    size_t b = 0;
    while (b < uri.size()) {
      size_t n = is_trim(uri, b, false);
      if (n == 0) break;
      b += n;
    }
    size_t e = uri.size();
    while (e > b) {
      size_t n = is_trim(uri, e - 1, true);
      if (n == 0) break;
      e -= n;
    }
    std::string out(uri.substr(b, e - b));
    if (out.size() > 8192) out.resize(8192);
    return out;
  }

  void PushUri(const std::string& tag, std::string_view value) {
    std::string uri = CanonUri(value);
    if (uri.empty()) return;
    std::string lower = Lower(uri.substr(0, 5));
    if (lower.starts_with("data:") || lower.starts_with("mailto") || lower.starts_with("file:") ||
        lower.starts_with("cid:") || lower.starts_with("tel:")) {
      if (lower.starts_with("mailto") && !IStartsWith(uri, 0, "mailto:")) {
        // "mailtox..." is not a mailto: URI; resolve it like any other.
      } else {
        links_.push_back(uri);
        link_tags_.push_back(tag);
        return;
      }
    }
    std::string target = ResolveUri(base_href_, uri);
    if (!target.empty()) {
      links_.push_back(std::move(target));
      link_tags_.push_back(tag);
    }
  }

  void Links(const std::string& tag, const Attributes& attrs) {
    if (tag == "body" || tag == "table" || tag == "tr" || tag == "td") {
      if (auto v = FindAttribute(attrs, "background")) PushUri(tag, *v);
    } else if (tag == "a" || tag == "area" || tag == "link") {
      if (auto v = FindAttribute(attrs, "href")) {
        std::string href = *v;
        // Zero-width no-break spaces (U+FEFF) are dropped from links.
        for (size_t p; (p = href.find("\xEF\xBB\xBF")) != std::string::npos;) href.erase(p, 3);
        PushUri(tag, href);
      }
      if (auto v = FindAttribute(attrs, "data-saferedirecturl")) PushUri(tag, *v);
    } else if (tag == "img" || tag == "frame" || tag == "iframe" || tag == "embed" ||
               tag == "script" || tag == "bgsound") {
      if (auto v = FindAttribute(attrs, "src")) PushUri(tag, *v);
    } else if (tag == "form") {
      if (auto v = FindAttribute(attrs, "action")) PushUri(tag, *v);
    } else if (tag == "base") {
      auto v = FindAttribute(attrs, "href");
      if (v == nullptr || v->empty()) return;
      std::string uri = CanonUri(*v);
      PushUri(tag, uri);
      std::string lower = Lower(uri);
      if (lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("ftp:")) {
        // Drop a trailing file name ("http://x/y/index.html" -> "http://x/y/").
        size_t scheme_end = uri.find(':') + 1;
        size_t slashes = scheme_end;
        while (slashes < uri.size() && slashes < scheme_end + 2 && uri[slashes] == '/') ++slashes;
        size_t host_end = uri.find('/', slashes);
        if (host_end != std::string::npos) {
          size_t last_slash = uri.rfind('/');
          std::string_view file = std::string_view(uri).substr(last_slash + 1);
          size_t dot = file.rfind('.');
          if (last_slash >= host_end && dot != std::string_view::npos && dot > 0 &&
              file.substr(0, dot).find_first_of("/.") == std::string_view::npos &&
              file.size() - dot - 1 >= 2 && file.size() - dot - 1 <= 4 &&
              file.substr(dot + 1).find_first_of("/.") == std::string_view::npos) {
            uri.resize(last_slash + 1);
          }
        }
        if (uri.empty() || uri.back() != '/') uri += '/';
        base_href_ = uri;
      }
    } else if (tag == "meta") {
      auto equiv = FindAttribute(attrs, "http-equiv");
      auto content = FindAttribute(attrs, "content");
      if (equiv == nullptr || content == nullptr) return;
      if (Lower(*equiv).find("refresh") == std::string::npos) return;
      std::string lower = Lower(*content);
      size_t url = std::string::npos;
      for (size_t p = lower.find("url"); p != std::string::npos; p = lower.find("url", p + 1)) {
        if (p > 0 &&
            (std::isalnum(static_cast<unsigned char>(lower[p - 1])) || lower[p - 1] == '_')) {
          continue;
        }
        size_t q = p + 3;
        while (q < lower.size() && IsHtmlSpace(lower[q])) ++q;
        if (q < lower.size() && lower[q] == '=') url = q + 1;
      }
      if (url == std::string::npos) return;
      while (url < content->size() && IsHtmlSpace((*content)[url])) ++url;
      std::string target = content->substr(url);
      size_t semi = target.find(';');
      if (semi != std::string::npos) target.resize(semi);
      while (!target.empty() && IsHtmlSpace(target.back())) target.pop_back();
      PushUri(tag, target);
    }
  }

  std::vector<Chunk> chunks_;
  std::set<std::string> tags_;
  std::map<std::string, int> inside_;
  std::vector<std::string> links_;
  std::vector<std::string> link_tags_;
  std::string base_href_;
};

// Applies HTML.pm's pre-parse substitutions: "&nbsp;" -> " ", "<br/>" -> "<br>", curly double
// quotes -> '"'.
std::string Preprocess(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  for (size_t i = 0; i < html.size(); ++i) {
    char c = html[i];
    if (c == '&' && html.compare(i, 6, "&nbsp;") == 0) {
      out += ' ';
      i += 5;
      continue;
    }
    if (c == '<' && i + 1 < html.size() &&
        (std::isalnum(static_cast<unsigned char>(html[i + 1])) || html[i + 1] == '_')) {
      size_t j = i + 1;
      while (j < html.size() &&
             (std::isalnum(static_cast<unsigned char>(html[j])) || html[j] == '_'))
        ++j;
      size_t k = j;
      while (k < html.size() && IsHtmlSpace(html[k])) ++k;
      if (k + 1 < html.size() && html[k] == '/' && html[k + 1] == '>') {
        out += '<';
        out.append(html.substr(i + 1, j - i - 1));
        out += '>';
        i = k + 1;
        continue;
      }
    }
    if (static_cast<unsigned char>(c) == 0xE2 && i + 2 < html.size() &&
        static_cast<unsigned char>(html[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(html[i + 2]) == 0x9C ||
         static_cast<unsigned char>(html[i + 2]) == 0x9D)) {
      out += '"';
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

class Tokenizer {
 public:
  Tokenizer(std::string_view s, Renderer& r) : s_(s), r_(r) {}

  void Run() {
    size_t i = 0;
    const size_t n = s_.size();
    while (i < n) {
      size_t lt = s_.find('<', i);
      if (lt == std::string_view::npos) {
        text_.append(s_.substr(i));
        break;
      }
      text_.append(s_.substr(i, lt - i));
      size_t next = Markup(lt);
      if (next == lt) {  // not markup: a literal '<'
        text_ += '<';
        i = lt + 1;
      } else {
        i = next;
      }
    }
    FlushText();
  }

 private:
  void FlushText(bool decode = true) {
    if (text_.empty()) return;
    r_.Text(decode ? DecodeEntities(text_) : text_);
    text_.clear();
  }

  // Handles markup at `lt`; returns the position after it, or `lt` when it is plain text.
  size_t Markup(size_t lt) {
    const size_t n = s_.size();
    if (lt + 1 >= n) return lt;
    char d = s_[lt + 1];
    if (std::isalpha(static_cast<unsigned char>(d))) return StartTag(lt);
    if (d == '/') {
      if (lt + 2 < n && s_[lt + 2] == '>') {  // "</>" is a comment to HTML::Parser
        FlushText();
        return lt + 3;
      }
      if (lt + 2 < n && std::isalpha(static_cast<unsigned char>(s_[lt + 2]))) {
        size_t j = NameEnd(lt + 2);
        size_t gt = Find(">", j);
        if (gt == std::string_view::npos) return lt;
        FlushText();
        r_.Tag(TagName(lt + 2, j), {}, false);
        return gt + 1;
      }
      return lt;
    }
    if (d == '!') {
      if (s_.compare(lt, 4, "<!--") == 0) {
        size_t end = Find("-->", lt + 4);
        if (end != std::string_view::npos) {
          FlushText();
          return end + 3;
        }
        size_t gt = Find(">", lt + 4);
        if (gt == std::string_view::npos) return lt;
        FlushText();
        return gt + 1;
      }
      if (s_.compare(lt, 9, "<![CDATA[") == 0) {
        size_t end = Find("]]>", lt + 9);
        if (end == std::string_view::npos) return lt;
        FlushText();
        r_.Text(std::string(s_.substr(lt + 9, end - lt - 9)));
        return end + 3;
      }
      size_t gt = Find(">", lt + 2);
      if (gt == std::string_view::npos) return lt;
      FlushText();
      return gt + 1;
    }
    if (d == '?') {
      size_t gt = Find(">", lt + 2);
      if (gt == std::string_view::npos) return lt;
      FlushText();
      return gt + 1;
    }
    return lt;
  }

  size_t StartTag(size_t lt) {
    const size_t n = s_.size();
    size_t j = NameEnd(lt + 1);
    std::string tag = TagName(lt + 1, j);
    Attributes attrs;
    // Attribute-start positions of this scan. Where one leads to an unterminated tag, every
    // later scan reaching it ends the same way: remembering them keeps hostile input such as
    // thousands of "<p " without a '>' linear instead of quadratic.
    std::vector<size_t> visited;
    auto unterminated = [&] {
      unterminated_attribute_starts_.insert(visited.begin(), visited.end());
      return lt;  // unterminated: text
    };
    while (true) {
      while (j < n && IsHtmlSpace(s_[j])) ++j;
      if (j >= n) return unterminated();
      if (s_[j] == '>') break;
      if (unterminated_attribute_starts_.contains(j)) return unterminated();
      visited.push_back(j);
      size_t name_begin = j;
      while (j < n && !IsHtmlSpace(s_[j]) && s_[j] != '=' && s_[j] != '>') ++j;
      std::string name = Lower(s_.substr(name_begin, j - name_begin));
      size_t k = j;
      while (k < n && IsHtmlSpace(s_[k])) ++k;
      std::string value;
      if (k < n && s_[k] == '=') {
        ++k;
        while (k < n && IsHtmlSpace(s_[k])) ++k;
        if (k < n && (s_[k] == '"' || s_[k] == '\'')) {
          size_t close = Find(s_.substr(k, 1), k + 1);
          if (close == std::string_view::npos) return unterminated();
          value = DecodeEntities(s_.substr(k + 1, close - k - 1));
          j = close + 1;
        } else {
          size_t v = k;
          while (k < n && !IsHtmlSpace(s_[k]) && s_[k] != '>') ++k;
          value = DecodeEntities(s_.substr(v, k - v));
          j = k;
        }
      } else {
        value = name;  // a boolean attribute's value is its name
      }
      if (!name.empty() && FindAttribute(attrs, name) == nullptr) {
        attrs.emplace_back(std::move(name), std::move(value));
      }
      if (j == name_begin) ++j;  // no progress (stray '='): skip it
    }
    FlushText();
    r_.Tag(tag, attrs, true);
    size_t after = j + 1;
    // Elements whose content HTML::Parser does not parse as markup.
    static const std::set<std::string_view> kRaw = {"script", "style", "xmp", "iframe",
                                                    "plaintext"};
    static const std::set<std::string_view> kDecoded = {"title", "textarea"};
    bool raw = kRaw.count(tag) > 0;
    if (!raw && kDecoded.count(tag) == 0) return after;
    if (tag == "plaintext") {
      r_.Text(std::string(s_.substr(after)));
      return n;
    }
    size_t search = after;
    while (true) {
      size_t close = Find("</", search);
      if (close == std::string_view::npos) {
        std::string content(s_.substr(after));
        r_.Text(raw ? content : DecodeEntities(content));
        return n;
      }
      size_t end_name = close + 2 + tag.size();
      if (IStartsWith(s_, close + 2, tag) &&
          (end_name >= n || IsHtmlSpace(s_[end_name]) || s_[end_name] == '>')) {
        std::string content(s_.substr(after, close - after));
        if (!content.empty()) r_.Text(raw ? content : DecodeEntities(content));
        size_t gt = Find(">", end_name);
        r_.Tag(tag, {}, false);
        return gt == std::string_view::npos ? n : gt + 1;
      }
      search = close + 2;
    }
  }

  // The lower-cased tag name in [begin, end). No element name is anywhere near 64 characters,
  // so a longer one is cut there: it matches nothing either way, and copying it whole for every
  // '<' of "<a<a<a..." would be quadratic.
  std::string TagName(size_t begin, size_t end) const {
    constexpr size_t kLongestUsefulName = 64;
    return Lower(s_.substr(begin, std::min(end - begin, kLongestUsefulName)));
  }

  // The first whitespace or '>' at or after `from` (or the end). Remembers the last answer, so
  // "<a<a<a..." with no delimiter is scanned once, not once per '<'.
  size_t NameEnd(size_t from) {
    if (from >= name_end_from_ && from <= name_end_) return name_end_;
    size_t j = from;
    while (j < s_.size() && !IsHtmlSpace(s_[j]) && s_[j] != '>') ++j;
    name_end_from_ = from;
    name_end_ = j;
    return j;
  }

  // s_.find(needle, from) that remembers failures: once a needle is known to be absent from
  // some position on, later searches from there on fail at once. Keeps hostile input such as
  // thousands of unterminated "<a x='" linear instead of quadratic.
  size_t Find(std::string_view needle, size_t from) {
    auto it = absent_from_.find(needle);
    if (it != absent_from_.end() && from >= it->second) return std::string_view::npos;
    size_t at = s_.find(needle, from);
    if (at == std::string_view::npos) {
      if (it == absent_from_.end()) {
        absent_from_.emplace(std::string(needle), from);
      } else {
        it->second = std::min(it->second, from);
      }
    }
    return at;
  }

  std::string_view s_;
  Renderer& r_;
  std::string text_;
  std::map<std::string, size_t, std::less<>> absent_from_;
  std::unordered_set<size_t> unterminated_attribute_starts_;
  size_t name_end_from_ = 1;
  size_t name_end_ = 0;
};

struct ParsedUri {
  bool has_scheme = false, has_authority = false, has_query = false, has_fragment = false;
  std::string scheme, authority, path, query, fragment;
};

ParsedUri ParseUri(std::string_view u) {
  // ^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?
  ParsedUri p;
  size_t i = 0;
  size_t colon = u.find_first_of(":/?#");
  if (colon != std::string_view::npos && colon > 0 && u[colon] == ':') {
    p.has_scheme = true;
    p.scheme = std::string(u.substr(0, colon));
    i = colon + 1;
  }
  if (u.substr(i, 2) == "//") {
    size_t end = u.find_first_of("/?#", i + 2);
    if (end == std::string_view::npos) end = u.size();
    p.has_authority = true;
    p.authority = std::string(u.substr(i + 2, end - i - 2));
    i = end;
  }
  size_t end = u.find_first_of("?#", i);
  if (end == std::string_view::npos) end = u.size();
  p.path = std::string(u.substr(i, end - i));
  i = end;
  if (i < u.size() && u[i] == '?') {
    size_t hash = u.find('#', i);
    if (hash == std::string_view::npos) hash = u.size();
    p.has_query = true;
    p.query = std::string(u.substr(i + 1, hash - i - 1));
    i = hash;
  }
  if (i < u.size() && u[i] == '#') {
    p.has_fragment = true;
    p.fragment = std::string(u.substr(i + 1));
  }
  return p;
}

std::string RemoveDotSegments(std::string input) {
  std::string output;
  if (input.starts_with("./")) {
    input.replace(0, 2, "/");
  } else if (input.starts_with("../")) {
    input.replace(0, 3, "/");
  }
  while (!input.empty()) {
    if (input.starts_with("/./") || input == "/.") {
      input.replace(0, input == "/." ? 2 : 3, "/");
    } else if (input.starts_with("/../") || input == "/..") {
      input.replace(0, input == "/.." ? 3 : 4, "/");
      size_t slash = output.rfind('/');
      output.resize(slash == std::string::npos ? 0 : slash);
    } else {
      size_t next = input.find('/', input[0] == '/' ? 1 : 0);
      if (next == std::string::npos) next = input.size();
      output += input.substr(0, next);
      input.erase(0, next);
    }
  }
  return output;
}

}  // namespace

std::string ResolveUri(std::string_view base_text, std::string_view relative) {
  ParsedUri r = ParseUri(relative);
  ParsedUri base = ParseUri(base_text);
  // Non-strict: a scheme equal to the base's is ignored (RFC 2396 5.2 step 3, loose form).
  if (r.has_scheme && base.has_scheme && r.scheme == base.scheme) r.has_scheme = false;
  ParsedUri t;
  if (r.has_scheme) {
    t.has_scheme = true;
    t.scheme = r.scheme;
    t.has_authority = r.has_authority;
    t.authority = r.authority;
    t.path = RemoveDotSegments(r.path);
    t.has_query = r.has_query;
    t.query = r.query;
  } else {
    if (r.has_authority) {
      t.has_authority = true;
      t.authority = r.authority;
      t.path = RemoveDotSegments(r.path);
      t.has_query = r.has_query;
      t.query = r.query;
    } else {
      if (r.path.empty()) {
        t.path = base.path;
        t.has_query = r.has_query ? true : base.has_query;
        t.query = r.has_query ? r.query : base.query;
      } else {
        if (r.path.front() == '/') {
          t.path = RemoveDotSegments(r.path);
        } else {
          std::string merged;
          if (base.has_authority && base.path.empty()) {
            merged = "/" + r.path;
          } else {
            size_t slash = base.path.rfind('/');
            merged = (slash == std::string::npos ? std::string() : base.path.substr(0, slash + 1)) +
                     r.path;
          }
          t.path = RemoveDotSegments(merged);
        }
        t.has_query = r.has_query;
        t.query = r.query;
      }
      t.has_authority = base.has_authority;
      t.authority = base.authority;
    }
    t.has_scheme = base.has_scheme;
    t.scheme = base.scheme;
  }
  t.has_fragment = r.has_fragment;
  t.fragment = r.fragment;

  std::string result;
  if (t.has_scheme && !t.scheme.empty()) {
    result += t.scheme + ":";
  } else if (t.has_authority) {
    std::string lower = Lower(t.authority);
    auto digits_then_dot = [&](std::string_view prefix) {
      if (!lower.starts_with(prefix)) return false;
      size_t k = prefix.size();
      while (k < lower.size() && std::isdigit(static_cast<unsigned char>(lower[k]))) ++k;
      return k < lower.size() && lower[k] == '.';
    };
    if (digits_then_dot("www")) {
      result += "http:";
    } else if (digits_then_dot("ftp")) {
      result += "ftp:";
    }
  }
  if (t.has_authority) result += "//" + t.authority;
  result += t.path;
  if (t.has_query) result += "?" + t.query;
  if (t.has_fragment) result += "#" + t.fragment;
  return result;
}

HtmlRendering RenderHtml(std::string_view html) {
  std::string prepared = Preprocess(html);
  Renderer renderer;
  Tokenizer(prepared, renderer).Run();
  HtmlRendering out = renderer.Finish();
  for (char c : html) out.length += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return out;
}

}  // namespace moat::rules
