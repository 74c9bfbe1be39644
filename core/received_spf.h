// received_spf.h - SPF results as both daemons speak of them: the result vocabulary (RFC 7208
// section 2.6), the Received-SPF header field (section 9.1) that carries a result from moat-mta to
// moat-filterd, and the names rules and Authentication-Results use for it.
//
// Why a header: moat-mta checks SPF at MAIL FROM (mta/spf_policy.h), where the client address and
// the envelope are known; moat-filterd needs the result for DMARC and rules, but XFORWARD has no
// attribute for it. So the MTA prepends a Received-SPF field (as policyd-spf does behind Postfix)
// and the filter parses it back. Behind the real Postfix with policyd-spf, the same parser reads
// policyd-spf's fields ("Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=...").
//
// Trust: anyone can write a Received-SPF field into a message. A receiving MTA prepends its field
// above its own Received field, so only the fields above the topmost Received field were added by
// the MTA in front of the filter; TrustedReceivedSpf() returns those and nothing below.
//
// Rule names follow SpamAssassin's SPF plugin: SPF_PASS, SPF_NEUTRAL, SPF_SOFTFAIL, SPF_FAIL,
// SPF_NONE and SPF_HELO_* for the HELO identity; T_SPF_TEMPERROR / T_SPF_PERMERROR (and the
// T_SPF_HELO_ forms) for the errors.
//
// Pure functions over values; thread-safe. Parsing never fails loudly: a field that does not parse
// is nullopt (the filter then has no SPF result, exactly as if there were no field).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::core {

enum class SpfResult { kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError };

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror".
std::string_view SpfResultName(SpfResult result);
// Case-insensitive; also the RFC 4408 aliases "error" (temperror) and "unknown" (permerror).
std::optional<SpfResult> ParseSpfResult(std::string_view text);

// Which identity was checked (RFC 7208 section 2.3 and 2.4).
enum class SpfIdentity { kMailFrom, kHelo };
std::string_view SpfIdentityName(SpfIdentity identity);  // "mailfrom", "helo"

// One Received-SPF field. Every string is optional ("" = absent).
struct ReceivedSpf {
  SpfResult result = SpfResult::kNone;
  SpfIdentity identity = SpfIdentity::kMailFrom;
  std::string comment;        // the text of the parenthesised comment, without the parentheses
  std::string receiver;       // the host that checked (myhostname)
  std::string client_ip;
  std::string envelope_from;  // the MAIL FROM address checked (postmaster@helo for <>)
  std::string helo;
  std::string problem;        // what went wrong, for temperror and permerror
  std::string mechanism;      // the mechanism that matched ("ip4:192.0.2.0/24", "default")

  // The domain whose policy was checked: the domain of envelope_from for the mailfrom identity,
  // helo for the helo identity; lowercased, "" when unknown.
  std::string Domain() const;
};

// The whole field, "Received-SPF: pass (comment) receiver=...; client-ip=...; ..." folded at
// about 78 columns with `line_ending` + TAB, and ending with `line_ending`; with an empty
// `line_ending`, one unfolded line without an ending (for smtpd's PREPEND list). Values that are not
// dot-atoms are quoted (an IPv6 address, an address with '@'); control characters are dropped.
std::string FormatReceivedSpf(const ReceivedSpf& field, std::string_view line_ending = "\r\n");

// Parses a field value (what follows "Received-SPF:", unfolded or not). nullopt when the result
// word is not one of SPF's. The identity comes from identity=, or from the comment "(mailfrom)"/
// "(helo)" as policyd-spf writes it; otherwise mailfrom when envelope-from is set, helo when only
// helo is.
std::optional<ReceivedSpf> ParseReceivedSpf(std::string_view value);

// The Received-SPF fields above the topmost Received field of `message` (headers, or a whole
// message: the scan stops at the blank line), parsed, top first. Unparseable fields are skipped.
std::vector<ReceivedSpf> TrustedReceivedSpf(std::string_view message);

// SpamAssassin's rule name for a result: "SPF_PASS", "SPF_HELO_SOFTFAIL", "T_SPF_PERMERROR", ...
std::string SpfRuleName(SpfResult result, SpfIdentity identity);

// The RFC 8601 method result: "spf=pass smtp.mailfrom=example.com" (the domain for mailfrom, as
// most receivers write it) or "spf=none smtp.helo=mx.example.com".
std::string SpfAuthenticationResult(const ReceivedSpf& field);

}  // namespace moat::core
