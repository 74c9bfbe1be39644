// dmarc_policy.cc - DMARC destinies on top of a bank's decision (see dmarc_policy.h).
#include "filterd/dmarc_policy.h"

#include <fmt/format.h>

#include <cctype>

#include "filterd/content_artefacts.h"

namespace moat::filterd {
namespace {

constexpr size_t kMaxText = 240;

std::string Clip(std::string text) {
  for (char& c : text) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  if (text.size() > kMaxText) {
    size_t cut = kMaxText;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

}  // namespace

std::string_view DmarcActionName(DmarcAction action) {
  switch (action) {
    case DmarcAction::kPass:
      return "pass";
    case DmarcAction::kTag:
      return "tag";
    case DmarcAction::kQuarantine:
      return "quarantine";
    case DmarcAction::kReject:
      return "reject";
  }
  return "pass";
}

std::optional<DmarcAction> ParseDmarcAction(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (DmarcAction a :
       {DmarcAction::kPass, DmarcAction::kTag, DmarcAction::kQuarantine, DmarcAction::kReject}) {
    if (lower == DmarcActionName(a)) return a;
  }
  return std::nullopt;
}

Decision DmarcEnforcement::Decide(const MessageContext& context) const {
  Decision decision = inner_->Decide(context);
  const auto* dmarc = context.Artefact<DmarcArtefact>(kDmarcArtefact);
  if (dmarc == nullptr || !dmarc->enforced || dmarc->outcome.result != DmarcResult::kFail) {
    return decision;
  }
  const DmarcOutcome& outcome = dmarc->outcome;
  DmarcAction action = DmarcAction::kPass;
  if (outcome.disposition == DmarcPolicy::kReject) action = destinies_.reject;
  if (outcome.disposition == DmarcPolicy::kQuarantine) action = destinies_.quarantine;
  if (action == DmarcAction::kPass) return decision;

  std::string why = fmt::format("DMARC p={} {}: {}", DmarcPolicyName(outcome.disposition),
                                outcome.domain, outcome.reason);
  bool changed = false;
  for (RecipientDecision& r : decision.recipients) {
    if (r.destiny != Destiny::kPass) continue;
    switch (action) {
      case DmarcAction::kPass:
        break;
      case DmarcAction::kTag: {
        HeaderEdit alert;
        alert.kind = HeaderEdit::Kind::kPrepend;
        alert.name = destinies_.alert_header;
        alert.value = Clip(fmt::format("DMARC FAIL, {} asks {}: {}", outcome.domain,
                                       DmarcPolicyName(outcome.disposition), outcome.reason));
        r.header_edits.push_back(std::move(alert));
        break;
      }
      case DmarcAction::kQuarantine:
        r.destiny = Destiny::kDiscard;
        r.header_edits.clear();
        decision.quarantine = true;
        changed = true;
        break;
      case DmarcAction::kReject:
        r.destiny = Destiny::kReject;
        r.header_edits.clear();
        r.reply = core::SmtpReply(550, "5.7.1",
                                  Clip(fmt::format("Rejected by DMARC policy for {}, id={}",
                                                   outcome.domain, context.id)));
        changed = true;
        break;
    }
  }
  if (changed) {
    decision.reason = Clip(decision.reason.empty() ? why : why + "; " + decision.reason);
    if (decision.subclass.empty()) {
      decision.subclass = fmt::format("dmarc-{}", DmarcPolicyName(outcome.disposition));
    }
  }
  return decision;
}

}  // namespace moat::filterd
