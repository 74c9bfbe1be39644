// dkim_signer.h - DKIM signing (RFC 6376 section 5, RFC 8463 for ed25519-sha256).
//
// The signer never edits a message: it reads the final bytes and returns the complete
// "DKIM-Signature: ..." header field (folded, ending with options.line_ending) for the caller to
// put on top. The signing time is a parameter, so a signature is an exact function of
// (message, key, options, now) and tests compare signatures byte for byte (RSA PKCS#1 v1.5 and
// Ed25519 signatures are deterministic).
//
// Which headers are signed: every field present whose name is in options.headers (a trailing '*'
// matches a prefix: "list-*"), once per occurrence, plus one extra time for each name in
// options.oversigned_headers (From by default), so that a From added later breaks the signature.
// A message without a From field is not signed (kInvalid): RFC 6376 requires From in h=.
//
// Several signatures (an rsa and an ed25519 key for one domain) are independent: each covers the
// same message without the others, so their order on top does not matter.
//
// Errors: kInvalid for a message that does not split into header and body or lacks From;
// kTempFail when OpenSSL fails. Thread-safe: the functions share nothing but the immutable keys.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "filterd/dkim_canon.h"
#include "filterd/dkim_key.h"

namespace moat::filterd {

struct DkimSigningKey {
  std::string domain;    // d=
  std::string selector;  // s=
  DkimPrivateKey key;    // rsa -> rsa-sha256, ed25519 -> ed25519-sha256
};

// From, Subject, Date, To, Cc, Message-ID, Reply-To, MIME-Version, Content-Type,
// Content-Transfer-Encoding, In-Reply-To, References, List-* (lowercase).
const std::vector<std::string>& DefaultDkimSignedHeaders();

struct DkimSignOptions {
  DkimCanonicalization header_canonicalization = DkimCanonicalization::kRelaxed;
  DkimCanonicalization body_canonicalization = DkimCanonicalization::kRelaxed;
  std::vector<std::string> headers = DefaultDkimSignedHeaders();
  std::vector<std::string> oversigned_headers = {"from"};
  std::optional<std::chrono::seconds> lifetime;  // x= t + lifetime when set
  std::string identity;                          // i=, omitted when empty
  bool body_length = false;                      // add l= (weakens the signature; off by default)
  std::string line_ending = "\r\n";              // of the returned field's folded lines
};

// Signs `message` (CRLF or LF line ends) at Unix time `now`.
core::Result<std::string> SignDkim(std::string_view message, const DkimSigningKey& key,
                                   int64_t now, const DkimSignOptions& options = {});

// One signature per key, concatenated in key order (prepend the result to the message).
core::Result<std::string> SignDkimAll(std::string_view message,
                                      std::span<const DkimSigningKey> keys, int64_t now,
                                      const DkimSignOptions& options = {});

}  // namespace moat::filterd
