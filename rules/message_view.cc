// message_view.cc - SpamAssassin's Message/Node text pipeline over an adapter's leaf parts.
#include "rules/message_view.h"

#include <algorithm>
#include <cctype>

#include "rules/charset.h"
#include "rules/header_decoder.h"
#include "rules/html_renderer.h"
#include "rules/uri_extractor.h"

namespace moat::rules {

namespace {

constexpr size_t kMaxHeaderKeyLength = 256;
constexpr size_t kMaxHeaderValueLength = 8192;
constexpr size_t kMaxBodyLineLength = 2048;
constexpr int kMaxHeaderErrors = 3;

bool IsHeaderNameLine(std::string_view line) {
  // ^[\041-\071\073-\176]+[ \t]*:
  size_t i = 0;
  while (i < line.size() && static_cast<unsigned char>(line[i]) >= 0x21 &&
         static_cast<unsigned char>(line[i]) <= 0x7E && line[i] != ':') {
    ++i;
  }
  if (i == 0) return false;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == ':';
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Truncates a part at `limit`, preferring a cut at a nearby newline (then `alt`, then space).
void TruncatePart(std::string& text, size_t limit, char alt) {
  if (limit == 0 || text.size() <= limit) return;
  for (char c : {'\n', alt, ' '}) {
    if (c == 0) continue;
    size_t idx = text.find(c, limit);
    if (idx != std::string::npos && idx - limit <= 1024) {
      text.resize(idx + 1);
      return;
    }
  }
  text.resize(limit);
}

// Length of the Unicode whitespace character at s[i] (Perl's \s on character strings), or 0.
size_t WhitespaceAt(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  if (c < 0xC2) return 0;
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (c == 0xC2 && (at(1) == 0x85 || at(1) == 0xA0)) return 2;
  if (c == 0xE1 && at(1) == 0x9A && at(2) == 0x80) return 3;  // U+1680
  if (c == 0xE2 && at(1) == 0x80) {
    unsigned char d = at(2);
    if ((d >= 0x80 && d <= 0x8A) || d == 0xA8 || d == 0xA9 || d == 0xAF) return 3;
  }
  if (c == 0xE2 && at(1) == 0x81 && at(2) == 0x9F) return 3;  // U+205F
  if (c == 0xE3 && at(1) == 0x80 && at(2) == 0x80) return 3;  // U+3000
  return 0;
}

// s/\n+\s*\n+/\x00/gs; s/\s+/ /gs; tr/\x00/\n/ -- paragraphs out of rendered text.
std::string NormalizeWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t w = WhitespaceAt(text, i);
    if (w == 0) {
      out += text[i++];
      continue;
    }
    size_t run_begin = i;
    size_t first_nl = std::string::npos, last_nl = std::string::npos;
    while (i < text.size() && (w = WhitespaceAt(text, i)) > 0) {
      if (text[i] == '\n') {
        if (first_nl == std::string::npos) first_nl = i;
        last_nl = i;
      }
      i += w;
    }
    if (first_nl != std::string::npos && last_nl != first_nl) {
      if (first_nl > run_begin) out += ' ';
      out += '\n';
      if (last_nl + 1 < i) out += ' ';
    } else {
      out += ' ';
    }
  }
  return out;
}

void SplitShortLines(std::string_view text, std::vector<std::string>& out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, end - pos);
    pos = end;
    while (line.size() > kMaxBodyLineLength) {
      size_t space = line.substr(0, kMaxBodyLineLength + 1).rfind(' ');
      size_t length = space == std::string_view::npos ? kMaxBodyLineLength : space + 1;
      out.emplace_back(line.substr(0, length));
      line.remove_prefix(length);
    }
    out.emplace_back(line);
  }
}

// Message::split_into_array_of_short_paragraphs: pieces of 2-4 KB cut at "\n", ">" or " ".
void SplitShortParagraphs(std::string_view text, std::vector<std::string>& out) {
  const size_t max = kMaxBodyLineLength;
  if (text.size() <= max) {
    out.emplace_back(text);
    return;
  }
  size_t ofs = 0;
  while (text.size() - ofs > 2 * max) {
    size_t j = std::string_view::npos;
    for (char c : {'\n', '>', ' '}) {
      j = text.find(c, ofs + max);
      if (j != std::string_view::npos && j - ofs + 1 <= 2 * max) break;
      j = std::string_view::npos;
    }
    if (j == std::string_view::npos) j = ofs + max;
    out.emplace_back(text.substr(ofs, j - ofs + 1));
    ofs = j + 1;
  }
  if (ofs < text.size()) out.emplace_back(text.substr(ofs));
}

std::string EffectiveType(const LeafPart& part) {
  std::string type = part.content_type.empty() ? "text/plain" : Lower(part.content_type);
  std::string name = Lower(part.filename);
  if (name.ends_with(".html") || name.ends_with(".htm") || name.ends_with(".shtml") ||
      name.ends_with(".shtm")) {
    return "text/html";
  }
  return type;
}

}  // namespace

std::vector<HeaderField> ParseHeaderFields(std::string_view raw, std::string* header_block,
                                           size_t* body_offset) {
  std::vector<HeaderField> fields;
  std::string block;
  size_t pos = 0;
  // An mbox "From " separator line is not a header.
  if (raw.starts_with("From ") && raw.size() > 5 && raw[5] != ':') {
    size_t nl = raw.find('\n');
    pos = nl == std::string_view::npos ? raw.size() : nl + 1;
  }
  // SpamAssassin squashes CRLF to LF only when the first or the last line ends in CRLF; other
  // messages keep their carriage returns (rules such as __CR_IN_SUBJ look for them).
  bool squash_crlf = false;
  {
    size_t first_nl = raw.find('\n', pos);
    if (first_nl != std::string_view::npos && first_nl > pos && raw[first_nl - 1] == '\r')
      squash_crlf = true;
    size_t last_start = raw.rfind('\n', raw.size() >= 2 ? raw.size() - 2 : 0);
    std::string_view last = raw.substr(last_start == std::string_view::npos ? 0 : last_start + 1);
    if (last.find("\r\n") != std::string_view::npos) squash_crlf = true;
  }
  const std::string_view line_end = squash_crlf ? std::string_view("\r\n") : std::string_view("\n");
  std::string current;  // the field being collected (with continuation lines)
  bool have_current = false;
  int header_errors = 0;
  auto finish_current = [&] {
    if (!have_current) return;
    size_t colon = current.find(':');
    if (colon != std::string::npos) {
      std::string key = current.substr(0, colon);
      while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
      if (key.size() > kMaxHeaderKeyLength) key.resize(kMaxHeaderKeyLength);
      std::string value = current.substr(colon + 1);
      if (squash_crlf) {
        for (size_t p; (p = value.find("\r\n")) != std::string::npos;) value.erase(p, 1);
      }
      if (value.size() > kMaxHeaderValueLength) value.resize(kMaxHeaderValueLength);
      HeaderField field;
      field.name = std::move(key);
      field.decoded = DecodeHeaderValue(UnfoldHeaderValue(value), field.name);
      field.raw = std::move(value);
      fields.push_back(std::move(field));
    }
    current.clear();
    have_current = false;
  };
  while (true) {
    if (pos >= raw.size()) {
      finish_current();
      break;
    }
    size_t nl = raw.find('\n', pos);
    size_t end = nl == std::string_view::npos ? raw.size() : nl + 1;
    std::string_view line = raw.substr(pos, end - pos);
    if (line.front() == ' ' || line.front() == '\t') {
      current.append(line);
      have_current = true;
      block.append(line);
      pos = end;
      continue;
    }
    finish_current();
    if (line == line_end || (squash_crlf && line == "\n")) {
      block.append(line);
      pos = end;
      break;
    }
    if (line.starts_with("--")) break;  // a MIME boundary: the header section is over
    if (!IsHeaderNameLine(line) && ++header_errors > kMaxHeaderErrors) break;
    current.assign(line);
    have_current = true;
    block.append(line);
    pos = end;
  }
  if (header_block != nullptr) *header_block = std::move(block);
  if (body_offset != nullptr) *body_offset = pos;
  return fields;
}

MessageView BuildMessageView(const ParsedMessage& message, const ViewOptions& options) {
  MessageView view;
  size_t body_offset = 0;
  view.headers = ParseHeaderFields(message.raw, &view.header_block, &body_offset);
  view.full = std::string(message.raw);
  view.envelope_from = message.envelope_from;
  view.envelope_recipients = message.envelope_recipients;
  view.auth = message.auth;
  view.body_size = message.raw.size() - std::min(body_offset, message.raw.size());
  view.mime_entities.push_back(view.headers);
  for (std::string_view block : message.entity_headers) {
    std::string text(block);
    if (text.empty() || text.back() != '\n') text += '\n';
    text += '\n';  // a header section ends at a blank line
    view.mime_entities.push_back(ParseHeaderFields(text, nullptr, nullptr));
  }

  std::string subject = "\n";
  for (const HeaderField& h : view.headers) {
    if (Lower(h.name) == "subject") subject = h.decoded + "\n";
  }

  std::string text;
  std::vector<std::string> html_links;
  for (const LeafPart& part : message.parts) {
    std::string declared = part.content_type.empty() ? "text/plain" : Lower(part.content_type);
    if (declared == "text/html") {
      ++view.text_html_parts;
    } else if (declared.starts_with("text")) {
      ++view.text_other_parts;
    }
  }
  for (const LeafPart& part : message.parts) {
    if (!text.empty()) text += '\n';
    std::string type = EffectiveType(part);
    if (type != "text/plain" && type != "text/html") continue;
    std::string decoded = part.utf8_text ? *part.utf8_text : ToUtf8(part.raw_text, part.charset);
    std::string rendered;
    if (type == "text/html" && !decoded.empty()) {
      HtmlRendering html = RenderHtml(decoded);
      view.html_parts.push_back({std::move(html.tags), html.length});
      rendered = std::move(html.text);
      for (std::string& link : html.links) html_links.push_back(std::move(link));
    } else {
      rendered = std::move(decoded);
    }
    TruncatePart(rendered, options.body_part_scan_size, 0);
    text += rendered;
  }
  SplitShortLines(subject + NormalizeWhitespace(text), view.body);

  for (const LeafPart& part : message.parts) {
    std::string type = EffectiveType(part);
    if (!(type.starts_with("text/") || type.starts_with("message/") || type == "text" ||
          type == "message")) {
      continue;
    }
    if (Lower(part.content_type) == "text/calendar") continue;
    std::string raw = part.raw_text;
    TruncatePart(raw, options.rawbody_part_scan_size, '>');
    SplitShortParagraphs(raw, view.rawbody);
  }

  const UriContext* uris =
      options.uri_context != nullptr ? options.uri_context : UriContext::Empty().get();
  if (uris != nullptr) view.uris = uris->CollectUris(view.body, html_links);
  return view;
}

}  // namespace moat::rules
