// dkim_auth_results.h - reporting DKIM results: the Authentication-Results header field
// (RFC 8601), removal of forged ones, and the SpamAssassin rule names rules match on.
//
// The filter adds one Authentication-Results field with the configured authserv-id (usually the
// gateway's host name). Because downstream filters and MUAs trust fields carrying that id, any
// such field already in an incoming message is a forgery or a loop and is removed first
// (RFC 8601 section 5); fields of other authserv-ids stay.
//
// Rule names, as SpamAssassin's DKIM plugin sets them:
//   DKIM_SIGNED    the message has at least one DKIM-Signature (valid or not);
//   DKIM_VALID     at least one signature passes;
//   DKIM_VALID_AU  a passing signature's d= equals the author domain (the From address' domain,
//                  case-insensitive; no organizational-domain relaxation);
//   DKIM_INVALID   signed, but no signature passes (signatures whose key is in testing mode,
//                  t=y, do not count towards it: RFC 6376 says treat them as unsigned).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "filterd/dkim_verifier.h"

namespace moat::filterd {

// "Authentication-Results: <authserv-id>;\r\n\tdkim=pass (2048-bit rsa key) header.d=...
// header.i=... header.s=... header.a=... header.b=..." with one dkim= entry per signature, or
// "dkim=none" when there are none. Reasons go in reason="..." (RFC 8601 2.7.1). Ends with
// `line_ending`.
std::string DkimAuthenticationResults(std::string_view authserv_id,
                                      const std::vector<DkimSignatureResult>& results,
                                      std::string_view line_ending = "\r\n");

// The authserv-id of an Authentication-Results field value (its first token, comments skipped).
std::string AuthservIdOf(std::string_view field_value);

// `message` without the Authentication-Results fields whose authserv-id equals `authserv_id`
// (case-insensitive). The body and every other byte are kept. `removed`, when set, counts them.
std::string RemoveOwnAuthenticationResults(std::string_view message, std::string_view authserv_id,
                                           size_t* removed = nullptr);

// The address of the (first) From header field ("local@domain", domain lowercased), what
// DkimKeyStore::KeysFor takes; "" when there is none or it does not parse.
std::string AuthorAddress(std::string_view message);
// Its domain: "" when there is none.
std::string AuthorDomain(std::string_view message);

struct DkimRuleHits {
  bool dkim_signed = false;
  bool dkim_valid = false;
  bool dkim_valid_au = false;
  bool dkim_invalid = false;
  // The names of the hits, in the order above.
  std::vector<std::string> Names() const;
};

DkimRuleHits DkimRules(const std::vector<DkimSignatureResult>& results,
                       std::string_view author_domain);

}  // namespace moat::filterd
