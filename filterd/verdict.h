// verdict.h - amavis content classes, destinies and findings: the vocabulary of moat-filterd.
//
// Stages record Findings; they never decide. After every stage has run, the policy of the
// message's policy bank turns the findings into one content class (the most severe class any
// finding argues for, in amavis's order) and a destiny for it. The class and the findings are
// what `moat scan --json`, the quarantine index and the summary log line show.
//
// Plain values; copy and move freely.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::filterd {

// In increasing severity, as amavisd-new ranks them (CC_CLEAN < ... < CC_VIRUS).
enum class ContentClass { kClean, kSpammy, kBadHeader, kSpam, kUnchecked, kBanned, kVirus };

// "CLEAN", "SPAMMY", "BAD-HEADER", "SPAM", "UNCHECKED", "BANNED", "VIRUS".
std::string_view ContentClassName(ContentClass content_class);
std::optional<ContentClass> ParseContentClass(std::string_view name);  // case-insensitive

// What happens to a message of a class (amavis D_PASS, D_DISCARD, D_BOUNCE, D_REJECT).
//   kPass     deliver (reinject), with tag headers;
//   kDiscard  accept (250) and do not deliver; quarantined when the bank says so;
//   kBounce   accept (250), do not deliver, and let the MTA's sender see a DSN — moat-filterd
//             answers 5xx over LMTP so the MTA bounces it (no backscatter from the filter itself);
//   kReject   refuse with 5xx (same wire effect as bounce when behind an MTA; different log and
//             metrics, and in a before-queue setup the client sees the 5xx).
enum class Destiny { kPass, kDiscard, kBounce, kReject };

std::string_view DestinyName(Destiny destiny);  // "PASS", "DISCARD", "BOUNCE", "REJECT"
std::optional<Destiny> ParseDestiny(std::string_view name);  // also accepts D_PASS, ...

// One thing a stage noticed. `content_class` is the class it argues for: a virus finding argues
// for kVirus, a rule hit for kClean (spam is decided from the total score, not per hit), a limit
// that stopped decoding for kUnchecked with subclass "limit:<name>".
struct Finding {
  std::string stage;   // "clamav", "banned", "mime", "archive", "spam", "dkim", ...
  std::string name;    // virus signature, rule name, limit name, anomaly kind
  ContentClass content_class = ContentClass::kClean;
  std::string subclass;  // UNCHECKED: "encrypted", "limit:max_depth", "mime-ambiguity",
                         // "scanner-failure"; BANNED: the rule that matched
  double score = 0;      // rule score; 0 for non-rule findings
  std::string part;      // content-tree path ("2/a.zip/b.exe"); empty for the whole message
  std::string detail;    // human-readable: what matched, which limit, what was tried
};

}  // namespace moat::filterd
