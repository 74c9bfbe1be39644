// scan_report.cc - JSON and text renderings of a ScanResult (see scan_report.h).
#include "filterd/scan_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "filterd/content_artefacts.h"
#include "filterd/dmarc_report.h"
#include "filterd/stage_banned.h"

namespace moat::filterd {
namespace {

using nlohmann::json;

std::string_view EditKindName(HeaderEdit::Kind kind) {
  switch (kind) {
    case HeaderEdit::Kind::kPrepend:
      return "prepend";
    case HeaderEdit::Kind::kAppend:
      return "append";
    case HeaderEdit::Kind::kRemoveAll:
      return "remove";
  }
  return "?";
}

json EditsJson(const std::vector<HeaderEdit>& edits) {
  json out = json::array();
  for (const HeaderEdit& e : edits) {
    json edit = {{"kind", EditKindName(e.kind)}, {"name", e.name}};
    if (e.kind != HeaderEdit::Kind::kRemoveAll) edit["value"] = e.value;
    if (!e.authserv_id.empty()) edit["authserv_id"] = e.authserv_id;
    out.push_back(std::move(edit));
  }
  return out;
}

std::string_view BannedDecision(const rules::BannedCheck& check) {
  if (check.verdict.rule == nullptr) return "none";
  return check.verdict.blocked ? "block" : "allow";
}

std::string Destinies(const ScanResult& result) {
  std::vector<std::string> out;
  for (const RecipientDecision& r : result.decision.recipients) {
    std::string name(DestinyName(r.destiny));
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return fmt::format("{}", fmt::join(out, "/"));
}

std::string HumanSize(uint64_t bytes) {
  if (bytes < 10 * 1024) return fmt::format("{} B", bytes);
  if (bytes < 10 * 1024 * 1024) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{} MiB", bytes / (1024 * 1024));
}

std::string Quoted(const std::string& s) { return s.empty() ? "-" : "\"" + s + "\""; }

// Names and headers come from the sender: no control character (an escape sequence in a file
// name) reaches the administrator's terminal.
std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7F) {
      out += '?';
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += '?';  // a C1 control character (U+0080..U+009F), e.g. CSI
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::string ScanReportJson(const ScanResult& result, int indent) {
  const MessageContext& context = result.context;
  const Decision& decision = result.decision;
  json out;
  out["verdict"] = ContentClassName(decision.content_class);
  out["subclass"] = decision.subclass;
  out["reason"] = decision.reason;
  out["score"] = context.spam_score;
  out["policy_bank"] = context.policy_bank;
  out["destiny"] = decision.recipients.empty()
                       ? std::string("PASS")
                       : std::string(DestinyName(decision.recipients.front().destiny));
  out["quarantine"] = decision.quarantine;
  out["size"] = context.message.size();

  json recipients = json::array();
  for (size_t i = 0; i < decision.recipients.size(); ++i) {
    const RecipientDecision& r = decision.recipients[i];
    json rcpt = {{"address", i < context.envelope.recipients.size()
                                 ? context.envelope.recipients[i].recipient
                                 : std::string()},
                 {"destiny", DestinyName(r.destiny)},
                 {"header_edits", EditsJson(r.header_edits)}};
    if (!r.reply.empty()) rcpt["reply"] = r.reply.ToString();
    recipients.push_back(std::move(rcpt));
  }
  out["recipients"] = std::move(recipients);

  json parts = json::array();
  if (const auto* content = context.Artefact<ContentArtefact>(kContentArtefact)) {
    for (const scanners::ContentNode& node : content->tree.nodes) {
      json part = {{"path", node.path},
                   {"name", node.name},
                   {"declared_type", node.declared_type},
                   {"detected_type", node.detected_type},
                   {"size", node.size},
                   {"encrypted", node.encrypted},
                   {"kind", scanners::ContentNodeKindName(node.kind)},
                   {"short_type", node.short_type},
                   {"depth", node.depth},
                   {"truncated", node.truncated}};
      if (node.container) part["container_format"] = node.container_format;
      parts.push_back(std::move(part));
    }
  }
  out["parts"] = std::move(parts);

  json findings = json::array();
  for (const Finding& f : context.findings) {
    findings.push_back({{"stage", f.stage},
                        {"name", f.name},
                        {"class", ContentClassName(f.content_class)},
                        {"subclass", f.subclass},
                        {"score", f.score},
                        {"part", f.part},
                        {"detail", f.detail}});
  }
  out["findings"] = std::move(findings);

  json dkim = json::array();
  json dkim_rules = json::array();
  if (const auto* d = context.Artefact<DkimArtefact>(kDkimArtefact)) {
    for (const DkimSignatureResult& r : d->results) {
      dkim.push_back({{"domain", r.domain},
                      {"selector", r.selector},
                      {"algorithm", r.algorithm},
                      {"result", DkimResultName(r.result)},
                      {"reason", r.reason},
                      {"identity", r.identity},
                      {"key_bits", r.key_bits}});
    }
    for (const std::string& name : d->hits.Names()) dkim_rules.push_back(name);
  }
  out["dkim"] = std::move(dkim);
  out["dkim_rules"] = std::move(dkim_rules);
  out["spf"] = SpfReportJson(context);
  out["dmarc"] = DmarcReportJson(context);

  json banned = json::array();
  if (const auto* b = context.Artefact<BannedArtefact>(kBannedArtefact)) {
    for (const rules::BannedCheck& check : b->checks) {
      const rules::BannedSubject& s = check.subject;
      json entry = {{"part", s.path},
                    {"name", s.raw_name},
                    {"normalized_name", s.name.name},
                    {"extensions", s.name.extensions},
                    {"tricks", s.name.tricks},
                    {"declared_type", s.declared_type},
                    {"detected_type", s.detected_type},
                    {"short_type", s.short_type},
                    {"encrypted", s.encrypted},
                    {"depth", s.depth},
                    {"inside", s.inside_names},
                    {"inside_types", s.inside_types},
                    {"decision", BannedDecision(check)}};
      entry["rule"] = check.verdict.rule ? rules::DescribeRule(*check.verdict.rule) : "";
      banned.push_back(std::move(entry));
    }
  }
  out["banned"] = std::move(banned);

  if (const auto* v = context.Artefact<VirusArtefact>(kVirusArtefact)) {
    out["clamav"] = {{"database", v->database.Describe()},
                     {"signatures", v->database.signature_count},
                     {"version", v->database.version},
                     {"library", v->library_version},
                     {"scanned_nodes", v->scanned_nodes},
                     {"scanned_bytes", v->scanned_bytes},
                     {"raw_message_pass", v->raw_message_pass}};
  }
  if (const auto* s = context.Artefact<SpamArtefact>(kSpamArtefact)) {
    json spam = {{"score", s->evaluation.score},
                 {"tag2_level", s->bank_levels.tag2_level},
                 {"kill_level", s->bank_levels.kill_level},
                 {"hits", s->evaluation.hits.size()}};
    if (s->bank_levels.tag_level) spam["tag_level"] = *s->bank_levels.tag_level;
    out["spam"] = std::move(spam);
  }
  out["header_edits"] = EditsJson(context.header_edits);
  out["trace"] = context.trace;
  json timings = json::array();
  for (const StageTiming& t : context.timings) {
    timings.push_back({{"stage", t.stage}, {"microseconds", t.elapsed.count()}});
  }
  out["timings"] = std::move(timings);
  if (result.tempfail) {
    out["tempfail"] = fmt::format("{}: {}", result.failed_stage, result.tempfail->ToString());
  }
  return out.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string ScanReportText(const ScanResult& result) {
  const MessageContext& context = result.context;
  const Decision& decision = result.decision;
  std::string out;
  out += fmt::format("Message: {} bytes, policy bank {}\n", context.message.size(),
                     context.policy_bank);

  if (const auto* content = context.Artefact<ContentArtefact>(kContentArtefact)) {
    out += "\nParts:\n";
    for (const scanners::ContentNode& node : content->tree.nodes) {
      std::string indent(static_cast<size_t>(node.depth) * 2, ' ');
      out += fmt::format("  {}{} [{}] name {}", indent, node.path.empty() ? "(message)" : node.path,
                         scanners::ContentNodeKindName(node.kind), Quoted(node.name));
      if (!node.declared_type.empty()) out += ", declared " + node.declared_type;
      if (!node.detected_type.empty()) {
        out += fmt::format(", detected {} ({})", node.detected_type, node.short_type);
      }
      out += ", " + HumanSize(node.size);
      if (node.encrypted) out += ", ENCRYPTED";
      if (node.truncated) out += ", truncated by a limit";
      if (node.container) out += fmt::format(", container {}", node.container_format);
      out += "\n";
    }
  }

  out += "\nFindings:\n";
  if (context.findings.empty()) out += "  (none)\n";
  for (const Finding& f : context.findings) {
    out += fmt::format("  [{}] {} {}", f.stage, ContentClassName(f.content_class), f.name);
    if (!f.subclass.empty()) out += fmt::format(" ({})", f.subclass);
    if (f.score != 0) out += fmt::format(" score {}", rules::FormatLevel(f.score));
    out += fmt::format(" at {}", f.part.empty() ? "the message" : f.part);
    if (!f.detail.empty()) out += ": " + f.detail;
    out += "\n";
  }

  if (const auto* b = context.Artefact<BannedArtefact>(kBannedArtefact)) {
    out += fmt::format("\nBanned rules ({}, bank {}): what each rule saw\n", b->rules->file(),
                       context.policy_bank);
    for (const rules::BannedCheck& check : b->checks) {
      out += fmt::format("  {}: {}\n    -> {}\n", check.subject.path,
                         DescribeBannedSubject(check.subject),
                         check.verdict.rule == nullptr
                             ? std::string("no rule matched: allowed")
                             : fmt::format("{} by {}", check.verdict.blocked ? "BLOCKED" : "allowed",
                                           rules::DescribeRule(*check.verdict.rule)));
    }
  }

  if (const auto* d = context.Artefact<DkimArtefact>(kDkimArtefact)) {
    out += "\nDKIM:\n";
    if (d->results.empty()) out += "  no signature\n";
    for (const DkimSignatureResult& r : d->results) {
      out += fmt::format("  {} d={} s={} a={}{}\n", DkimResultName(r.result), r.domain,
                         r.selector, r.algorithm, r.reason.empty() ? "" : " (" + r.reason + ")");
    }
    std::vector<std::string> names = d->hits.Names();
    if (!names.empty()) out += fmt::format("  rules: {}\n", fmt::join(names, " "));
  }

  out += SpfDmarcReportText(context);

  if (const auto* v = context.Artefact<VirusArtefact>(kVirusArtefact)) {
    out += fmt::format(
        "\nClamAV {}: {} ({} signatures, version {}); {} leaves, {} bytes scanned; raw message "
        "pass: {}\n",
        v->library_version, v->database.Describe(), v->database.signature_count,
        v->database.version, v->scanned_nodes, v->scanned_bytes, v->raw_message_pass);
  }
  if (const auto* s = context.Artefact<SpamArtefact>(kSpamArtefact)) {
    out += fmt::format("\nSpam: score {} (tag {}, tag2 {}, kill {}), {} rule hits\n",
                       rules::FormatLevel(s->evaluation.score),
                       s->bank_levels.tag_level ? rules::FormatLevel(*s->bank_levels.tag_level)
                                                : std::string("-"),
                       rules::FormatLevel(s->bank_levels.tag2_level),
                       rules::FormatLevel(s->bank_levels.kill_level), s->evaluation.hits.size());
  }

  out += "\nTrace:\n";
  for (const std::string& line : context.trace) out += "  " + line + "\n";
  out += "  timings:";
  for (const StageTiming& t : context.timings) {
    out += fmt::format(" {} {}us", t.stage, t.elapsed.count());
  }
  out += "\n";

  out += fmt::format("\nVerdict: {}{}{}\n", ContentClassName(decision.content_class),
                     decision.subclass.empty() ? "" : " (" + decision.subclass + ")",
                     decision.reason.empty() ? "" : ": " + decision.reason);
  out += fmt::format("Destiny: {}{}\n", Destinies(result),
                     decision.quarantine ? ", quarantined" : "");
  for (size_t i = 0; i < decision.recipients.size(); ++i) {
    const RecipientDecision& r = decision.recipients[i];
    out += fmt::format("  {}: {}{}\n", context.envelope.recipients[i].recipient,
                       DestinyName(r.destiny), r.reply.empty() ? "" : " " + r.reply.ToString());
    for (const HeaderEdit& e : r.header_edits) {
      out += fmt::format("    {} {}{}\n", EditKindName(e.kind), e.name,
                         e.kind == HeaderEdit::Kind::kRemoveAll ? "" : ": " + e.value);
    }
  }
  for (const HeaderEdit& e : context.header_edits) {
    out += fmt::format("  (all) {} {}{}\n", EditKindName(e.kind), e.name,
                       e.kind == HeaderEdit::Kind::kRemoveAll
                           ? (e.authserv_id.empty() ? "" : " (authserv-id " + e.authserv_id + ")")
                           : ": " + e.value);
  }
  if (result.tempfail) {
    out += fmt::format("\nTEMPFAIL: stage {} failed; moat-filterd would answer 4xx: {}\n",
                       result.failed_stage, result.tempfail->ToString());
  }
  return Printable(out);
}

}  // namespace moat::filterd
