// content_factory.h - the content pipeline of one policy bank, built from filterd.cf.
//
// BuildContent(config, bank, resources) returns the ordered stages and the policy the daemon's
// snapshot keeps for a policy bank ("inbound", "originating"); `moat scan` builds the same. The
// stages, in order (each left out when its bank bypasses it):
//
//   dkim       DKIM verification (I/O; inbound bank, dkim_verify = yes)   stage_dkim_verify.h
//   dmarc      DMARC with the MTA's SPF result (I/O; inbound bank, dkim_verify and
//              dmarc_verify = yes; the bank's policy is then wrapped in
//              DmarcEnforcement for dmarc_*_destiny)                  stage_dmarc.h
//   decompose  MIME, archives, file types; UNCHECKED findings              stage_decompose.h
//   header     BAD-HEADER findings               (<bank>_bypass_header_checks)  stage_header_checks.h
//   clamav     ClamAV over every leaf            (<bank>_bypass_virus_checks)   stage_virus.h
//   banned     attachment-type rules             (<bank>_bypass_banned_checks, or no
//                                                 <bank>_banned_rules file)      stage_banned.h
//   spam       SpamAssassin-syntax rules, score  (<bank>_bypass_spam_checks)    stage_spam.h
//
// DKIM comes first so the I/O stage is done before the CPU stages run back to back on one
// worker; the spam rules come last because they read the DKIM results.
//
// Parameters read (per bank where a <bank>_ form exists): max_decode_depth, max_decode_parts,
// max_unpacked_bytes, max_member_bytes, max_compression_ratio, decode_time_limit,
// clamav_raw_message_scan, scanner_failure_action, banned_rules, spam_tag_level,
// spam_tag2_level, spam_kill_level, spam_dsn_cutoff_level, spam_subject_tag,
// spam_scan_size_limit, spam_levels_maps, final_*_destiny, quarantine_classes,
// virus_scanned_header, unchecked_subject_tag, dkim_verify, dkim_min_key_bits, authserv_id,
// dmarc_verify, dmarc_reject_destiny, dmarc_quarantine_destiny, dmarc_temperror_destiny,
// public_suffix_list, mynetworks.
//
// Errors: configuration loading, so exceptions: core::ConfigError with file:line for an unknown
// bank, a banned rules file with errors (or a [section] naming an unknown bank), a lookup table
// that does not open, and a bank that needs ClamAV or the rules when `resources` has none.
// The result is immutable and shared by every worker.
#pragma once

#include <memory>
#include <string_view>

#include "core/config.h"
#include "filterd/content_resources.h"
#include "filterd/policy.h"
#include "filterd/stage.h"
#include "scanners/decode_limits.h"

namespace moat::filterd {

struct ContentPipeline {
  std::string bank;
  StageList stages;
  std::shared_ptr<const MessagePolicy> policy;
};

ContentPipeline BuildContent(const core::Config& config, std::string_view bank,
                             const ContentResources& resources);

// The decoding limits of filterd.cf (max_decode_* and friends).
scanners::DecodeLimits DecodeLimitsFrom(const core::Config& config);

}  // namespace moat::filterd
