// scan_report.h - a ScanResult as `moat scan` prints it: JSON, or a decision trace to read.
//
// ScanReportJson() is part of Moat's interface (README, "moat scan --json"). One object:
//   verdict        content class: CLEAN, SPAMMY, BAD-HEADER, SPAM, UNCHECKED, BANNED, VIRUS
//   subclass       UNCHECKED: encrypted, limit:<name>, mime-ambiguity, corrupt-content,
//                  scanner-failure; BANNED: the deciding rule; else ""
//   reason         one line: signatures, the banned part and rule, the limit, the score
//   score          total of the spam rule scores (0 when the rules did not run)
//   policy_bank    "inbound" or "originating"
//   destiny        of the first recipient: PASS, DISCARD, BOUNCE, REJECT
//   quarantine     whether the daemon would keep a copy
//   recipients     [{address, destiny, reply, header_edits: [{kind, name, value}]}]
//   parts          every node of the content tree: path, name, declared_type, detected_type,
//                  size, encrypted, plus kind, short_type, depth, truncated, container_format
//   findings       [{stage, name, class, subclass, score, part, detail}]
//   dkim           [{domain, selector, algorithm, result, reason, identity, key_bits}]
//   dkim_rules     the SpamAssassin names the DKIM results give (DKIM_SIGNED, ...)
//   spf, dmarc     the MTA's SPF results and the DMARC outcome (dmarc_report.h)
//   banned         [{part, name, normalized_name, extensions, tricks, declared_type,
//                    detected_type, short_type, encrypted, depth, inside, inside_types,
//                    decision ("block" | "allow" | "none"), rule}] - the strings the rules saw
//   clamav         {database, signatures, version, library, scanned_nodes, scanned_bytes,
//                   raw_message_pass}
//   spam           {score, tag_level, tag2_level, kill_level, hits: n}
//   header_edits   the context's own edits (DKIM Authentication-Results)
//   trace, timings [{stage, microseconds}], tempfail (only when a stage would defer the mail)
// Keys absent from a section mean the stage did not run (e.g. no "clamav" with
// bypass_virus_checks).
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "filterd/scan_runner.h"

namespace moat::filterd {

std::string ScanReportJson(const ScanResult& result, int indent = 2);
std::string ScanReportText(const ScanResult& result);

}  // namespace moat::filterd
