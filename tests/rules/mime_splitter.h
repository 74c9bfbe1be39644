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
      return std::string(value.substr(v + 1, end == std::string_view::npos ? std::string_view::npos
                                                                            : end - v - 1));
    }
    size_t end = v;
    while (end < value.size() && value[end] != ';' && !std::isspace(static_cast<unsigned char>(value[end]))) ++end;
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
    while (end < ct.size() && ct[end] != '/' && !std::isspace(static_cast<unsigned char>(ct[end]))) ++end;
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
    if (u <= 0x20 || u >= 0x7F || std::string_view("\"(),:;<=>?@[\\]").find(c) != std::string_view::npos) continue;
    cleaned += c;
  }
  return cleaned;
}

inline void SplitPart(std::string_view raw, int depth, std::vector<LeafPart>& out,
                      std::string_view default_type = "text/plain");

inline void SplitBody(const std::vector<HeaderField>& fields, std::string_view body, int depth,
                      std::vector<LeafPart>& out, std::string_view default_type) {
  std::string content_type = HeaderOf(fields, "content-type");
  std::string type = content_type.empty() ? std::string(default_type) : MediaType(content_type);
  if (depth < 20 && type.starts_with("multipart/")) {
    std::string boundary = Parameter(content_type, "boundary");
    if (!boundary.empty()) {
      std::string delimiter = "--" + boundary;
      std::string_view child_default = type == "multipart/digest" ? "message/rfc822" : "text/plain";
      size_t pos = 0;
      size_t part_begin = std::string_view::npos;
      while (pos <= body.size()) {
        size_t nl = body.find('\n', pos);
        size_t end = nl == std::string_view::npos ? body.size() : nl + 1;
        std::string_view line = body.substr(pos, end - pos);
        if (line.starts_with(delimiter)) {
          if (part_begin != std::string_view::npos) {
            std::string_view part = body.substr(part_begin, pos - part_begin);
            // The line break before the delimiter belongs to the delimiter.
            if (part.ends_with("\r\n")) part.remove_suffix(2);
            else if (part.ends_with("\n")) part.remove_suffix(1);
            SplitPart(part, depth + 1, out, child_default);
          }
          std::string_view rest = line.substr(delimiter.size());
          if (rest.starts_with("--")) {
            part_begin = std::string_view::npos;
            break;
          }
          part_begin = end;
        }
        if (end >= body.size()) break;
        pos = end;
      }
      if (part_begin != std::string_view::npos && part_begin < body.size()) {
        SplitPart(body.substr(part_begin), depth + 1, out, child_default);
      }
      return;
    }
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
  out.push_back(std::move(leaf));
}

inline void SplitPart(std::string_view raw, int depth, std::vector<LeafPart>& out,
                      std::string_view default_type) {
  size_t body_offset = 0;
  std::vector<HeaderField> fields = ParseHeaderFields(raw, nullptr, &body_offset);
  SplitBody(fields, raw.substr(std::min(body_offset, raw.size())), depth, out, default_type);
}

}  // namespace mime_detail

// Splits `raw` (which must outlive the result: ParsedMessage::raw points into it).
inline ParsedMessage SplitMessage(std::string_view raw) {
  ParsedMessage message;
  message.raw = raw;
  size_t body_offset = 0;
  std::vector<HeaderField> fields = ParseHeaderFields(raw, nullptr, &body_offset);
  mime_detail::SplitBody(fields, raw.substr(std::min(body_offset, raw.size())), 0, message.parts,
                         "text/plain");
  return message;
}

}  // namespace moat::rules::testing
