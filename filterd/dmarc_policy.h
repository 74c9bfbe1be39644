// dmarc_policy.h - what a DMARC failure does to a message: the destinies of filterd.cf's
// dmarc_reject_destiny and dmarc_quarantine_destiny, applied on top of a bank's own policy.
//
// The DMARC stage (stage_dmarc.h) only records its outcome; DmarcEnforcement decides. It wraps the
// bank's MessagePolicy (bank_policy.h): the inner policy decides first, then, when the DMARC
// outcome is fail, enforced (inbound bank, client not in mynetworks: mail from our own networks
// is never touched) and its disposition is reject or quarantine, every recipient the inner
// policy let PASS gets the destiny configured for that disposition:
//
//   quarantine (the default for both)  held in the quarantine, not delivered: destiny DISCARD
//              with a quarantine copy (whatever quarantine_classes says), LMTP 250;
//   reject     destiny REJECT: "550 5.7.1 Rejected by DMARC policy for <domain>, id=ID". Behind
//              an MTA that has already accepted the message this makes the MTA bounce it to the
//              envelope sender, who is often forged when DMARC fails - so it is not the default;
//   tag        delivered with an alert header: "X-Moat-Alert: DMARC FAIL, <domain> asks reject:
//              <why>";
//   pass       delivered as it is (Authentication-Results still says dmarc=fail).
// A recipient whose content destiny is already not PASS (a virus, spam at kill level) keeps it.
// When DMARC changed a destiny the decision's reason names it ("DMARC p=reject example.com: ...",
// subclass "dmarc-reject" / "dmarc-quarantine"); the content class stays what the content is.
// A disposition of none (p=none, or pct sampling lowered quarantine to none) changes nothing.
//
// Immutable; Decide() is thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "filterd/policy.h"

namespace moat::filterd {

enum class DmarcAction { kPass, kTag, kQuarantine, kReject };

std::string_view DmarcActionName(DmarcAction action);  // "pass", "tag", "quarantine", "reject"
std::optional<DmarcAction> ParseDmarcAction(std::string_view text);  // case-insensitive

struct DmarcDestinies {
  DmarcAction reject = DmarcAction::kQuarantine;      // dmarc_reject_destiny
  DmarcAction quarantine = DmarcAction::kQuarantine;  // dmarc_quarantine_destiny
  std::string alert_header = "X-Moat-Alert";
};

class DmarcEnforcement : public MessagePolicy {
 public:
  DmarcEnforcement(std::shared_ptr<const MessagePolicy> inner, DmarcDestinies destinies)
      : inner_(std::move(inner)), destinies_(std::move(destinies)) {}

  Decision Decide(const MessageContext& context) const override;

  const MessagePolicy& inner() const { return *inner_; }
  const DmarcDestinies& destinies() const { return destinies_; }

 private:
  std::shared_ptr<const MessagePolicy> inner_;
  DmarcDestinies destinies_;
};

}  // namespace moat::filterd
