// dmarc_report.cc - SPF and DMARC in `moat scan`'s report (see dmarc_report.h).
#include "filterd/dmarc_report.h"

#include <fmt/format.h>

#include "filterd/content_artefacts.h"

namespace moat::filterd {
namespace {

using nlohmann::json;

json SpfFieldJson(const std::optional<core::ReceivedSpf>& field) {
  if (!field) return nullptr;
  return {{"result", core::SpfResultName(field->result)},
          {"domain", field->Domain()},
          {"envelope_from", field->envelope_from},
          {"helo", field->helo},
          {"client_ip", field->client_ip},
          {"receiver", field->receiver},
          {"problem", field->problem}};
}

std::string SpfFieldText(const core::ReceivedSpf& f) {
  std::string out =
      fmt::format("  {} {} for {}", core::SpfIdentityName(f.identity),
                  core::SpfResultName(f.result), f.Domain().empty() ? "?" : f.Domain());
  if (!f.client_ip.empty()) out += fmt::format(", client {}", f.client_ip);
  if (!f.receiver.empty()) out += fmt::format(", checked by {}", f.receiver);
  if (!f.problem.empty()) out += fmt::format(" ({})", f.problem);
  return out + fmt::format(": {}\n", core::SpfRuleName(f.result, f.identity));
}

}  // namespace

std::string DmarcRuleName(const std::string& value) {
  if (value == "pass") return "DMARC_PASS";
  if (value == "reject") return "DMARC_REJECT";
  if (value == "quarantine") return "DMARC_QUAR";
  if (value == "none") return "DMARC_NONE";
  if (value == "missing") return "DMARC_MISSING";
  return "";
}

json SpfReportJson(const MessageContext& context) {
  MtaSpfResults spf = TrustedSpfResults(context.message);
  json rules = json::array();
  for (const auto* field : {&spf.mail_from, &spf.helo}) {
    if (*field) rules.push_back(core::SpfRuleName((*field)->result, (*field)->identity));
  }
  return {{"mail_from", SpfFieldJson(spf.mail_from)},
          {"helo", SpfFieldJson(spf.helo)},
          {"rules", std::move(rules)}};
}

json DmarcReportJson(const MessageContext& context) {
  const auto* dmarc = context.Artefact<DmarcArtefact>(kDmarcArtefact);
  if (dmarc == nullptr) return nullptr;
  const DmarcOutcome& o = dmarc->outcome;
  std::optional<std::string> rule = DmarcRuleValue(o);
  json out = {{"result", DmarcResultName(o.result)},
              {"policy", o.record ? json(DmarcPolicyName(o.policy)) : json(nullptr)},
              {"disposition", DmarcPolicyName(o.disposition)},
              {"domain", o.domain},
              {"org_domain", o.org_domain},
              {"record_domain", o.record_domain},
              {"record", o.record ? json(o.record->Summary()) : json(nullptr)},
              {"spf_aligned", o.spf_aligned},
              {"dkim_aligned", o.dkim_aligned},
              {"spf_domain", o.spf_domain},
              {"dkim_domain", o.dkim_domain},
              {"sampled", o.sampled},
              {"enforced", dmarc->enforced},
              {"not_enforced", dmarc->not_enforced},
              {"action", dmarc->action ? json(DmarcActionName(*dmarc->action)) : json(nullptr)},
              {"reason", o.reason},
              {"rule", rule ? json(DmarcRuleName(*rule)) : json(nullptr)},
              {"authentication_result", DmarcAuthenticationResult(o)}};
  return out;
}

std::string SpfDmarcReportText(const MessageContext& context) {
  std::string out = "\nSPF (the MTA's Received-SPF):\n";
  MtaSpfResults spf = TrustedSpfResults(context.message);
  if (!spf.mail_from && !spf.helo) out += "  none above the topmost Received field\n";
  if (spf.mail_from) out += SpfFieldText(*spf.mail_from);
  if (spf.helo) out += SpfFieldText(*spf.helo);

  const auto* dmarc = context.Artefact<DmarcArtefact>(kDmarcArtefact);
  if (dmarc == nullptr) return out;
  const DmarcOutcome& o = dmarc->outcome;
  out += fmt::format("\nDMARC: {}", DmarcResultName(o.result));
  if (!o.domain.empty()) {
    out += fmt::format(" for {} (organisational domain {})", o.domain, o.org_domain);
  }
  out += "\n";
  if (o.record) {
    out += fmt::format("  record at _dmarc.{}: {}\n", o.record_domain, o.record->Summary());
  }
  if (!o.reason.empty()) out += fmt::format("  {}\n", o.reason);
  if (o.result == DmarcResult::kFail) {
    out += fmt::format("  disposition {}{}", DmarcPolicyName(o.disposition),
                       o.sampled ? "" : " (lowered by pct sampling)");
    if (dmarc->action) {
      out += fmt::format(": {} (dmarc_{}_destiny)", DmarcActionName(*dmarc->action),
                         DmarcPolicyName(o.disposition));
    } else if (!dmarc->enforced) {
      out += ", not enforced: " + dmarc->not_enforced;
    }
    out += "\n";
  }
  std::optional<std::string> rule = DmarcRuleValue(o);
  out += fmt::format("  rule: {}\n", rule ? DmarcRuleName(*rule) : std::string("(none)"));
  return out;
}

}  // namespace moat::filterd
