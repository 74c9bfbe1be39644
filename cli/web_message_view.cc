// web_message_view.cc - headers, content tree and text of a held message, as JSON for the page.
#include "cli/web_message_view.h"

#include <optional>

#include "quarantine/quarantine_entry.h"
#include "rules/html_renderer.h"
#include "scanners/decomposer.h"

namespace moat::cli {
namespace {

using quarantine::ToValidUtf8;

// At most `limit` bytes of `text`, cut before a UTF-8 character rather than inside one.
std::string_view CutUtf8(std::string_view text, size_t limit, bool& truncated) {
  if (text.size() <= limit) return text;
  truncated = true;
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

core::Result<scanners::ContentTree> Decompose(std::string_view raw) {
  // libmagic handles are per thread; the server's worker threads each keep one.
  thread_local std::optional<scanners::Decomposer> decomposer;
  if (!decomposer) {
    auto created = scanners::Decomposer::Create();
    if (!created) return core::Fail(created.error());
    decomposer.emplace(std::move(*created));
  }
  return decomposer->Decompose(raw);
}

nlohmann::json Headers(const scanners::MimeTree& tree, bool& truncated) {
  nlohmann::json headers = nlohmann::json::array();
  if (tree.parts.empty()) return headers;
  for (const scanners::MimeHeader& h : tree.parts[0].headers) {
    if (headers.size() == kMaxHeaders) {
      truncated = true;
      break;
    }
    bool cut = false;
    headers.push_back({{"name", ToValidUtf8(CutUtf8(h.name, 998, cut))},
                       {"value", ToValidUtf8(CutUtf8(h.value, 64 * 1024, cut))}});
  }
  return headers;
}

nlohmann::json BodyTexts(const scanners::ContentTree& tree) {
  nlohmann::json body = nlohmann::json::array();
  size_t budget = kMaxBodyText;
  for (const scanners::ContentNode& node : tree.nodes) {
    const scanners::MimePart* part = tree.mime_part(node);
    if (part == nullptr || !part->is_text || node.kind != scanners::ContentNodeKind::kPart) {
      continue;
    }
    bool truncated = false;
    std::string_view utf8 = part->utf8_text();
    bool html = part->content_type == "text/html";
    std::string rendered = html ? rules::RenderHtml(utf8).text : std::string();
    std::string_view text = html ? std::string_view(rendered) : utf8;
    text = CutUtf8(text, std::min(kMaxPartText, budget), truncated);
    budget -= text.size();
    std::string_view source =
        html ? CutUtf8(utf8, std::min(kMaxPartText, budget), truncated) : std::string_view();
    budget -= source.size();
    body.push_back({{"path", ToValidUtf8(node.path)},
                    {"content_type", ToValidUtf8(part->content_type)},
                    {"charset", ToValidUtf8(part->charset)},
                    {"name", ToValidUtf8(part->name())},
                    {"attachment", part->disposition == "attachment"},
                    {"text", ToValidUtf8(text)},
                    {"source", ToValidUtf8(source)},
                    {"truncated", truncated}});
    if (budget == 0) break;
  }
  return body;
}

}  // namespace

core::Result<nlohmann::json> BuildMessageView(std::string_view raw) {
  auto tree = Decompose(raw);
  if (!tree) return core::Fail(tree.error());
  bool headers_truncated = false;
  nlohmann::json view;
  view["headers"] = tree->mime_trees.empty() ? nlohmann::json::array()
                                             : Headers(tree->mime_trees[0], headers_truncated);
  view["headers_truncated"] = headers_truncated;
  view["parts"] = nlohmann::json::parse(scanners::ContentPartsJson(*tree));
  view["anomalies"] = nlohmann::json::parse(scanners::ContentAnomaliesJson(*tree));
  view["limit_events"] = nlohmann::json::parse(scanners::ContentLimitEventsJson(*tree));
  view["body"] = BodyTexts(*tree);
  return view;
}

}  // namespace moat::cli
