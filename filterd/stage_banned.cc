// stage_banned.cc - BANNED findings (see stage_banned.h).
#include "filterd/stage_banned.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "filterd/content_artefacts.h"
#include "rules/banned_subject.h"

namespace moat::filterd {

BannedStage::BannedStage(std::shared_ptr<const rules::BannedRules> rules, std::string bank)
    : rules_(std::move(rules)), bank_(std::move(bank)) {}

std::string DescribeBannedSubject(const rules::BannedSubject& s) {
  std::string out;
  if (s.raw_name.empty()) {
    out = "no name";
  } else {
    out = fmt::format("name \"{}\"", s.raw_name);
    if (s.name.name != s.raw_name) out += fmt::format(" -> \"{}\"", s.name.name);
    if (!s.name.extensions.empty()) out += fmt::format(" (ext {})", s.name.last_extension());
    if (!s.name.tricks.empty()) out += fmt::format(" [{}]", fmt::join(s.name.tricks, ", "));
  }
  if (!s.declared_type.empty()) out += fmt::format(", declared {}", s.declared_type);
  if (!s.short_type.empty()) {
    out += fmt::format(", detected {} ({})", s.short_type, s.detected_type);
  }
  if (!s.inside_names.empty()) {
    std::vector<std::string> inside;
    for (size_t i = 0; i < s.inside_names.size(); ++i) {
      inside.push_back(fmt::format("{} ({})", s.inside_names[i], s.inside_types[i]));
    }
    out += fmt::format(", inside {}", fmt::join(inside, " / "));
  }
  out += fmt::format(", depth {}", s.depth);
  if (s.encrypted) out += ", encrypted";
  return out;
}

core::Status BannedStage::Run(MessageContext& context, WorkerResources&) const {
  const auto* content = context.Artefact<ContentArtefact>(kContentArtefact);
  if (content == nullptr) {
    return core::Fail(core::ErrorCode::kInvalid, "banned checks need the decomposition stage");
  }
  auto artefact = std::make_shared<BannedArtefact>();
  artefact->rules = rules_;
  artefact->checks = rules::CheckBannedContent(*rules_, bank_, content->tree);
  size_t blocked = 0;
  for (const rules::BannedCheck& check : artefact->checks) {
    if (!check.verdict.blocked) continue;
    ++blocked;
    Finding f;
    f.stage = std::string(name());
    f.name = check.subject.raw_name.empty() ? check.subject.short_type : check.subject.raw_name;
    f.content_class = ContentClass::kBanned;
    f.subclass = rules::DescribeRule(*check.verdict.rule);
    f.part = check.subject.path;
    f.detail = DescribeBannedSubject(check.subject);
    if (!check.verdict.error.empty()) f.detail += "; " + check.verdict.error;
    context.findings.push_back(std::move(f));
  }
  context.trace.push_back(fmt::format("banned: {} nodes checked against {} rules of bank {}, {} "
                                      "blocked",
                                      artefact->checks.size(), rules_->RulesFor(bank_).size(),
                                      bank_, blocked));
  context.artefacts[kBannedArtefact] = std::move(artefact);
  return {};
}

}  // namespace moat::filterd
