// dmarc_record.h - DMARC policy records (RFC 7489 section 6.3 and 6.4): which TXT records are
// DMARC records, and what the tags of one ask for.
//
// A record is a tag-list: "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; rua=...".
//   v      must be the first tag, exactly "DMARC1" (the name is case-insensitive, the value not).
//          A TXT record that does not start so is no DMARC record at all (IsDmarcRecord()) and
//          discovery ignores it (section 6.6.3 steps 2 and 4).
//   p      none | quarantine | reject (case-insensitive).
//   sp     the same, for subdomains of the organisational domain; absent: p.
//   adkim, aspf   r (relaxed, the default) | s (strict).
//   pct    0..100, the share of failing mail the policy applies to (default 100).
//   rua, ruf, fo, rf, ri   reporting; accepted and ignored (Moat sends no reports) except that a
//          valid rua keeps a record usable whose p is missing or bad (below).
// Unknown tags are ignored (section 6.3: "MUST be ignored"). Whitespace around names, values and
// ';' is allowed, as is a trailing ';'.
//
// Malformed records, as section 6.3 and 6.6.3 step 6 say:
//   - a missing or invalid p, or an invalid sp: when rua holds at least one syntactically valid
//     URI the record acts as "p=none" (policy_from_rua); otherwise it is unusable: kInvalid, and
//     the caller applies no DMARC policy (result permerror);
//   - a bad value of adkim, aspf or pct falls back to the default ("discarded in favor of default
//     values") and is noted in `notes`;
//   - a tag that repeats keeps its first value (the repeats are noted); a part without '=' is
//     ignored and noted.
// Pure functions over values; thread-safe. Never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::filterd {

enum class DmarcPolicy { kNone, kQuarantine, kReject };
enum class DmarcAlignment { kRelaxed, kStrict };

std::string_view DmarcPolicyName(DmarcPolicy policy);  // "none", "quarantine", "reject"
std::optional<DmarcPolicy> ParseDmarcPolicy(std::string_view text);  // case-insensitive
// The policy RFC 7489 section 6.6.4 applies to a failing message pct sampling did not select:
// reject -> quarantine, quarantine -> none, none -> none.
DmarcPolicy NextLessStrict(DmarcPolicy policy);

struct DmarcRecord {
  DmarcPolicy policy = DmarcPolicy::kNone;                   // p=
  std::optional<DmarcPolicy> subdomain_policy;               // sp=
  DmarcAlignment dkim_alignment = DmarcAlignment::kRelaxed;  // adkim=
  DmarcAlignment spf_alignment = DmarcAlignment::kRelaxed;   // aspf=
  int percent = 100;                                         // pct=
  bool policy_from_rua = false;    // p (or sp) was missing/invalid; acting as p=none for rua
  std::vector<std::string> notes;  // what was ignored or defaulted, e.g. "pct=abc: not 0-100"

  // "p=reject sp=none adkim=s aspf=r pct=100": the effective values, for traces.
  std::string Summary() const;
};

// True when `text` (a TXT record, strings joined) starts with the tag v=DMARC1.
bool IsDmarcRecord(std::string_view text);

// Parses a record IsDmarcRecord() accepted. kInvalid (with the reason) when it has no usable
// policy.
core::Result<DmarcRecord> ParseDmarcRecord(std::string_view text);

}  // namespace moat::filterd
