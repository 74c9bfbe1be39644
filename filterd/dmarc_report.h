// dmarc_report.h - the SPF and DMARC sections of `moat scan`'s report (scan_report.h).
//
// JSON (both keys always present in `moat scan --json`):
//   spf    {"mail_from": {result, domain, envelope_from, helo, client_ip, receiver, problem} or
//           null, "helo": {same} or null, "rules": ["SPF_PASS", ...]} - the Received-SPF fields
//           the filter trusts (dmarc_identifiers.h), with SpamAssassin's rule names;
//   dmarc  null when the DMARC stage did not run (originating bank, dmarc_verify = no), else
//          {result, policy (null without a record), disposition, domain, org_domain,
//           record_domain, record, spf_aligned, dkim_aligned, spf_domain, dkim_domain, sampled,
//           enforced, not_enforced, action (what dmarc_*_destiny does: quarantine, reject,
//           pass, tag; null when nothing applies), reason, rule (DMARC_PASS, DMARC_REJECT,
//           DMARC_QUAR, DMARC_NONE, DMARC_MISSING or null), authentication_result}.
// Text: an "SPF" and a "DMARC" section for the decision trace.
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "filterd/message_context.h"

namespace moat::filterd {

nlohmann::json SpfReportJson(const MessageContext& context);
nlohmann::json DmarcReportJson(const MessageContext& context);
std::string SpfDmarcReportText(const MessageContext& context);

// SpamAssassin's name for a DMARC rule value (DmarcRuleValue()): "pass" -> "DMARC_PASS", ...
std::string DmarcRuleName(const std::string& value);

}  // namespace moat::filterd
