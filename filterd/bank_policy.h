// bank_policy.h - the amavis-style MessagePolicy of one policy bank: classes, destinies, headers.
//
// Decide() turns a filled MessageContext into a Decision (policy.h):
//
// 1. Content class, per recipient: the most severe class any finding argues for (VIRUS >
//    BANNED > UNCHECKED > SPAM > BAD-HEADER > SPAMMY > CLEAN), where the spam classes come from
//    the rule score against that recipient's levels (the spam stage stores them: the bank's
//    spam_tag_level / spam_tag2_level / spam_kill_level or a spam_levels_maps entry).
//    Decision::content_class is the most severe over all recipients.
// 2. Destiny of the class (final_<class>_destiny of the bank):
//       VIRUS DISCARD, BANNED DISCARD, SPAM DISCARD (at kill level), UNCHECKED PASS,
//       BAD-HEADER PASS, SPAMMY and CLEAN PASS.
//    These are amavisd-new's defaults except SPAM, where amavis has D_PASS since 2.7 but its
//    shipped amavisd.conf (and most installations) discard at the kill level; Moat discards and
//    quarantines, so nothing is lost and nobody gets backscatter. A BOUNCE of SPAM scoring at or
//    above spam_dsn_cutoff_level becomes DISCARD (amavis: no DSN for obvious spam).
// 3. Quarantine: one copy when some recipient's destiny is not PASS and its class is in
//    quarantine_classes (default all blocked classes).
// 4. Header edits for each recipient whose copy passes, in this order:
//       remove every incoming X-Spam-* field (when the spam rules ran: a sender must not plant
//         a verdict);
//       X-Virus-Scanned: <virus_scanned_header> (when ClamAV ran);
//       X-Moat-Alert: one per blocked-worthy class that passes anyway (amavis' X-Amavis-Alert):
//         "INFECTED, message contains virus: ...", "BANNED, message contains 2/a.zip/b.exe
//         (block detected=exe ...)", "UNCHECKED, encrypted: 2/secret.zip/x.doc",
//         "BAD HEADER SECTION, eight-bit-header: ...";
//       X-Spam-Flag, X-Spam-Score, X-Spam-Level, X-Spam-Status at the tag level
//         (rules/spam_headers.h);
//       the Subject, rewritten with spam_subject_tag at tag2 and unchecked_subject_tag when the
//         class is UNCHECKED (the old field removed, the tagged one prepended).
// 5. For BOUNCE and REJECT, a 554 reply naming the class and the reason (5.7.0; 5.6.0 for
//    BAD-HEADER).
//
// Immutable; Decide() is thread-safe.
#pragma once

#include <set>
#include <string>

#include "filterd/policy.h"
#include "rules/spam_headers.h"

namespace moat::filterd {

struct BankPolicySettings {
  std::string bank = "inbound";
  Destiny virus_destiny = Destiny::kDiscard;
  Destiny banned_destiny = Destiny::kDiscard;
  Destiny unchecked_destiny = Destiny::kPass;
  Destiny spam_destiny = Destiny::kDiscard;
  Destiny bad_header_destiny = Destiny::kPass;
  std::set<ContentClass> quarantine_classes = {ContentClass::kVirus, ContentClass::kBanned,
                                               ContentClass::kUnchecked, ContentClass::kSpam,
                                               ContentClass::kBadHeader};
  // Used for recipients the spam stage stored no levels for.
  rules::SpamLevels levels;
  double spam_dsn_cutoff_level = 10;
  std::string virus_scanned_header;  // empty: no X-Virus-Scanned
  std::string unchecked_subject_tag = "***UNCHECKED*** ";
  std::string alert_header = "X-Moat-Alert";
};

class BankPolicy : public MessagePolicy {
 public:
  explicit BankPolicy(BankPolicySettings settings) : settings_(std::move(settings)) {}

  Decision Decide(const MessageContext& context) const override;

  const BankPolicySettings& settings() const { return settings_; }
  Destiny DestinyOf(ContentClass content_class) const;

 private:
  BankPolicySettings settings_;
};

// The most severe of two classes.
ContentClass MoreSevere(ContentClass a, ContentClass b);

}  // namespace moat::filterd
