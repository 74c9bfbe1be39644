// stage_spam.cc - rule hits and per-recipient spam levels (see stage_spam.h).
#include "filterd/stage_spam.h"

#include <charconv>

#include <fmt/format.h>

#include "core/address_lookup.h"
#include "filterd/content_artefacts.h"
#include "filterd/stage_dmarc.h"
#include "rules/mime_adapter.h"

namespace moat::filterd {
namespace {

constexpr size_t kMaxDetail = 200;

std::string Shorten(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() > kMaxDetail) {
    size_t cut = kMaxDetail;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

}  // namespace

core::Status ApplyLevelOverrides(std::string_view text, rules::SpamLevels& levels) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = text.find_first_not_of(" \t,", pos);
    if (start == std::string_view::npos) break;
    size_t end = text.find_first_of(" \t,", start);
    std::string_view item = text.substr(start, end == std::string_view::npos ? end : end - start);
    pos = end == std::string_view::npos ? text.size() : end;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return core::Fail(core::ErrorCode::kInvalid, "\"{}\": expected tag=N, tag2=N or kill=N",
                        item);
    }
    std::string_view key = item.substr(0, eq);
    std::string_view number = item.substr(eq + 1);
    double value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || ptr != number.data() + number.size()) {
      return core::Fail(core::ErrorCode::kInvalid, "\"{}\": {} is not a number", item, number);
    }
    if (key == "tag") {
      levels.tag_level = value;
    } else if (key == "tag2") {
      levels.tag2_level = value;
    } else if (key == "kill") {
      levels.kill_level = value;
    } else {
      return core::Fail(core::ErrorCode::kInvalid, "\"{}\": unknown level (tag, tag2, kill)",
                        item);
    }
  }
  return {};
}

SpamStage::SpamStage(std::shared_ptr<const rules::RuleSet> rules, SpamStageOptions options)
    : rules_(std::move(rules)), options_(std::move(options)) {}

core::Result<rules::SpamLevels> SpamStage::LevelsFor(const std::string& recipient) const {
  rules::SpamLevels levels = options_.levels;
  if (options_.level_maps.empty()) return levels;
  core::AddressSearch search;
  search.full = true;
  search.strip_extension = true;
  search.at_domain = true;
  search.domain = true;
  core::AddressContext address_context;
  address_context.recipient_delimiter = "+";
  auto match = core::FindAddress(options_.level_maps, recipient, search, address_context);
  if (!match) return core::Fail(match.error().WithContext("spam_levels_maps"));
  if (!*match) return levels;
  if (auto status = ApplyLevelOverrides((*match)->value, levels); !status) {
    return core::Fail(status.error().WithContext(
        fmt::format("spam_levels_maps {} key {}", (*match)->table, (*match)->key)));
  }
  return levels;
}

core::Status SpamStage::Run(MessageContext& context, WorkerResources&) const {
  const auto* content = context.Artefact<ContentArtefact>(kContentArtefact);
  if (content == nullptr || content->tree.mime_trees.empty()) {
    return core::Fail(core::ErrorCode::kInvalid, "spam rules need the decomposition stage");
  }
  if (context.message.size() > options_.size_limit) {
    context.trace.push_back(fmt::format("spam: not checked, {} bytes > spam_scan_size_limit {}",
                                        context.message.size(), options_.size_limit));
    return {};
  }
  auto artefact = std::make_shared<SpamArtefact>();
  artefact->rules = rules_;
  artefact->bank_levels = options_.levels;
  for (const core::RcptParams& rcpt : context.envelope.recipients) {
    auto levels = LevelsFor(rcpt.recipient);
    if (!levels) return core::Fail(levels.error());
    artefact->recipient_levels.push_back(std::move(*levels));
  }

  rules::ParsedMessage parsed;
  rules::AdaptMimeTree(content->tree.mime_trees[0], context.message, parsed);
  parsed.envelope_from = context.envelope.mail.sender;
  for (const core::RcptParams& rcpt : context.envelope.recipients) {
    parsed.envelope_recipients.push_back(rcpt.recipient);
  }
  if (const auto* dkim = context.Artefact<DkimArtefact>(kDkimArtefact)) {
    std::vector<rules::DkimSignatureResult> results;
    for (const DkimSignatureResult& r : dkim->results) {
      results.push_back({r.domain, r.result == DkimResult::kPass});
    }
    parsed.auth.dkim = std::move(results);
  }
  AddSpfAndDmarcResults(context, parsed.auth);
  rules::ViewOptions view_options;
  view_options.uri_context = rules_->uri_context();
  artefact->evaluation = rules::Evaluate(*rules_, rules::BuildMessageView(parsed, view_options));

  const rules::Evaluation& evaluation = artefact->evaluation;
  for (const rules::RuleHit& hit : evaluation.hits) {
    Finding f;
    f.stage = std::string(name());
    f.name = hit.name;
    f.content_class = ContentClass::kClean;
    f.score = hit.score;
    f.detail = Shorten(hit.excerpt.empty() ? hit.area : hit.area + ": " + hit.excerpt);
    context.findings.push_back(std::move(f));
  }
  context.spam_score = evaluation.score;
  context.trace.push_back(fmt::format("spam: score {} from {} rule hits ({} regexes run)",
                                      rules::FormatLevel(evaluation.score), evaluation.hits.size(),
                                      evaluation.regex_runs));
  for (const std::string& rule : evaluation.limit_exceeded) {
    context.trace.push_back(fmt::format("spam: rule {} stopped by its match limit", rule));
  }
  context.artefacts[kSpamArtefact] = std::move(artefact);
  return {};
}

}  // namespace moat::filterd
