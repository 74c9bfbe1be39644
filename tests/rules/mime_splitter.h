// mime_splitter.h - a small MIME splitter for the rule engine's tests, tools and benchmarks.
//
// TEST-ONLY. Production code gets its ParsedMessage from the scanners' MIME tree (gmime) through
// the filter's adapter; this header exists so the rule engine can be tested and compared with
// SpamAssassin before that adapter exists, and so that the tests do not depend on it. It follows
// SpamAssassin's Message.pm closely enough for agreement tests: multipart/* split on their
// boundary (recursively, with preamble and epilogue ignored), message/rfc822 parts parsed as
// embedded messages, base64 and quoted-printable decoded (CRLF -> LF for text), Content-Type
// parameters (charset, boundary, name) and Content-Disposition filename read as SpamAssassin's
// Util::parse_content_type does. Depth is limited; malformed input yields a best-effort split.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "rules/header_decoder.h"
#include "rules/message_view.h"

namespace moat::rules::testing {

namespace mime_detail {

inline std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

inline std::string HeaderOf(const std::vector<HeaderField>& fields, std::string_view name) {
  std::string value;
  for (const HeaderField& f : fields) {
    if (Lower(f.name) == name) value = f.decoded;  // the last one, as SpamAssassin's header()
  }
  return value;
}

// Parameter `name` of a Content-Type/Disposition value: name="x" or name=x.
inline std::string Parameter(std::string_view value, std::string_view name) {
  std::string lower = Lower(value);
  size_t pos = 0;
  while ((pos = lower.find(name, pos)) != std::string::npos) {
    bool boundary_before = pos == 0 || !(std::isalnum(static_cast<unsigned char>(lower[pos - 1])) ||
                                         lower[pos - 1] == '-' || lower[pos - 1] == '_');
    size_t eq = pos + name.size();
    while (eq < lower.size() && std::isspace(static_cast<unsigned char>(lower[eq]))) ++eq;
    if (!boundary_before || eq >= lower.size() || lower[eq] != '=') {
      pos += name.size();
      continue;
    }
    size_t v = eq + 1;
    while (v < value.size() && std::isspace(static_cast<unsigned char>(value[v]))) ++v;
    if (v < value.size() && (value[v] == '"' || value[v] == '\'')) {
      char q = value[v];
      size_t end = value.find(q, v + 1);
      return std::string(value.substr(
          v + 1, end == std::string_view::npos ? std::string_view::npos : end - v - 1));
    }
    size_t end = v;
    while (end < value.size() && value[end] != ';' &&
           !std::isspace(static_cast<unsigned char>(value[end])))
      ++end;
    return std::string(value.substr(v, end - v));
  }
  return {};
}

// Util::parse_content_type: "type/subtype", lower-case; missing or odd text/* is text/plain.
inline std::string MediaType(std::string_view content_type) {
  std::string ct(content_type);
  size_t start = 0;
  while (start < ct.size() && std::isspace(static_cast<unsigned char>(ct[start]))) ++start;
  ct.erase(0, start);
  if (size_t semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
  size_t slash = ct.find('/');
  if (slash != std::string::npos) {
    size_t end = slash + 1;
    while (end < ct.size() && ct[end] != '/' && !std::isspace(static_cast<unsigned char>(ct[end])))
      ++end;
    ct.resize(end);
  }
  ct = Lower(ct);
  if (ct.empty() || (ct.starts_with("text") && ct != "text/x-vcard" && ct != "text/calendar" &&
                     ct != "text/html")) {
    return "text/plain";
  }
  std::string cleaned;
  for (char c : ct) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F ||
        std::string_view("\"(),:;<=>?@[\\]").find(c) != std::string_view::npos)
      continue;
    cleaned += c;
  }
  return cleaned;
}

struct Output {
  std::vector<LeafPart>& parts;
  std::vector<std::string_view>& entity_headers;
};

inline void SplitPart(std::string_view raw, int depth, Output& out,
                      std::string_view default_type = "text/plain");

inline void SplitBody(const std::vector<HeaderField>& fields, std::string_view body, int depth,
                      Output& out, std::string_view default_type);

inline bool IsBoundaryLine(std::string_view line, const std::string& boundary, bool* end) {
  // ^--BOUNDARY(--)?\s*$
  if (boundary.empty() || !line.starts_with("--") || line.substr(2, boundary.size()) != boundary)
    return false;
  std::string_view rest = line.substr(2 + boundary.size());
  *end = rest.starts_with("--");
  if (*end) rest.remove_prefix(2);
  return std::all_of(rest.begin(), rest.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

inline bool IsHeaderLine(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && static_cast<unsigned char>(line[i]) >= 0x21 &&
         static_cast<unsigned char>(line[i]) <= 0x7E && line[i] != ':') {
    ++i;
  }
  if (i == 0) return false;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == ':';
}

// Message::_parse_multipart: parts between boundary lines (or the whole body when the boundary
// is missing or never appears), part headers up to the first line that is not one.
inline void SplitMultipart(const std::string& boundary, std::string_view body, int depth,
                           Output& out, std::string_view child_default) {
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < body.size();) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl + 1;
    lines.push_back(body.substr(pos, end - pos));
    pos = end;
  }
  size_t start = 0;
  bool end_marker = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (IsBoundaryLine(lines[i], boundary, &end_marker)) {
      start = i + 1;
      break;
    }
  }
  auto offset = [&](std::string_view line) {
    return static_cast<size_t>(line.data() - body.data());
  };
  size_t header_begin = std::string_view::npos, header_end = 0;
  size_t body_begin = std::string_view::npos, body_end = 0;
  bool in_body = false;
  bool have_header = false;
  for (size_t i = start; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    bool is_end = false;
    bool is_boundary = IsBoundaryLine(line, boundary, &is_end);
    bool last = i + 1 == lines.size();
    if (last || is_boundary) {
      if (!is_boundary) {
        if (body_begin == std::string_view::npos) body_begin = offset(line);
        body_end = offset(line) + line.size();
      } else if (body_begin != std::string_view::npos) {
        // The line break before the boundary belongs to the boundary.
        if (body_end > body_begin && body[body_end - 1] == '\n') --body_end;
        if (body_end > body_begin && body[body_end - 1] == '\r') --body_end;
      }
      std::string_view headers = header_begin == std::string_view::npos
                                     ? std::string_view()
                                     : body.substr(header_begin, header_end - header_begin);
      std::string_view content = body_begin == std::string_view::npos
                                     ? std::string_view()
                                     : body.substr(body_begin, body_end - body_begin);
      std::string block(headers);
      block += "\n";
      std::vector<HeaderField> fields = ParseHeaderFields(block, nullptr, nullptr);
      out.entity_headers.push_back(headers);
      SplitBody(fields, content, depth + 1, out, child_default);
      if (is_end) return;
      header_begin = body_begin = std::string_view::npos;
      header_end = body_end = 0;
      in_body = have_header = false;
      continue;
    }
    if (!in_body) {
      if (IsHeaderLine(line) || ((line.front() == ' ' || line.front() == '\t') && have_header)) {
        if (header_begin == std::string_view::npos) header_begin = offset(line);
        header_end = offset(line) + line.size();
        have_header = true;
        continue;
      }
      in_body = true;
      if (line == "\n" || line == "\r\n") continue;
    }
    if (body_begin == std::string_view::npos) body_begin = offset(line);
    body_end = offset(line) + line.size();
  }
}

inline void SplitBody(const std::vector<HeaderField>& fields, std::string_view body, int depth,
                      Output& out, std::string_view default_type) {
  std::string content_type = HeaderOf(fields, "content-type");
  std::string type = content_type.empty() ? std::string(default_type) : MediaType(content_type);
  if (depth < 20 && type.starts_with("multipart/")) {
    SplitMultipart(Parameter(content_type, "boundary"), body, depth, out,
                   type == "multipart/digest" ? "message/rfc822" : "text/plain");
    return;
  }
  std::string encoding = Lower(HeaderOf(fields, "content-transfer-encoding"));
  if (depth < 20 && type == "message/rfc822" && encoding != "base64" &&
      encoding != "quoted-printable") {
    SplitPart(body, depth + 1, out);
    return;
  }
  LeafPart leaf;
  leaf.content_type = type;
  leaf.charset = Parameter(content_type, "charset");
  leaf.filename = Parameter(HeaderOf(fields, "content-disposition"), "filename");
  if (leaf.filename.empty()) leaf.filename = Parameter(content_type, "name");
  bool textual = type.starts_with("text/") || type.starts_with("message/");
  std::string decoded;
  if (encoding == "base64") {
    decoded = DecodeBase64(body);
  } else if (encoding == "quoted-printable") {
    decoded = DecodeQuotedPrintable(body);
    textual = true;
  } else {
    decoded = std::string(body);
  }
  if (textual) {
    for (size_t p; (p = decoded.find("\r\n")) != std::string::npos;) decoded.erase(p, 1);
  }
  leaf.raw_text = std::move(decoded);
  out.parts.push_back(std::move(leaf));
}

inline void SplitPart(std::string_view raw, int depth, Output& out, std::string_view default_type) {
  size_t body_offset = 0;
  std::vector<HeaderField> fields = ParseHeaderFields(raw, nullptr, &body_offset);
  body_offset = std::min(body_offset, raw.size());
  out.entity_headers.push_back(raw.substr(0, body_offset));
  SplitBody(fields, raw.substr(body_offset), depth, out, default_type);
}

}  // namespace mime_detail

// Splits `raw` (which must outlive the result: ParsedMessage::raw points into it).
inline ParsedMessage SplitMessage(std::string_view raw) {
  ParsedMessage message;
  message.raw = raw;
  size_t body_offset = 0;
  std::vector<HeaderField> fields = ParseHeaderFields(raw, nullptr, &body_offset);
  mime_detail::Output out{message.parts, message.entity_headers};
  mime_detail::SplitBody(fields, raw.substr(std::min(body_offset, raw.size())), 0, out,
                         "text/plain");
  return message;
}

}  // namespace moat::rules::testing
