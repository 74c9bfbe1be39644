// dkim_signature.h - the two DKIM records, parsed and checked: the DKIM-Signature header field
// (RFC 6376 section 3.5) and the DNS key record (section 3.6.1, RFC 8463 for k=ed25519).
//
// Parsing is strict and every rejection is kInvalid with a reason fit for an
// Authentication-Results comment ("missing bh= tag", "bad base64 in b=", "i= not within d="). The
// verifier maps kInvalid to permerror. An algorithm this code knows but policy forbids (rsa-sha1,
// RFC 8301) parses fine; the verifier decides. Unknown algorithms, canonicalizations, versions or
// query methods are kInvalid. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "filterd/dkim_canon.h"
#include "filterd/dkim_key.h"

namespace moat::filterd {

enum class DkimAlgorithm { kRsaSha1, kRsaSha256, kEd25519Sha256 };

std::string_view DkimAlgorithmName(DkimAlgorithm algorithm);  // "rsa-sha256", ...
DkimKeyType DkimAlgorithmKeyType(DkimAlgorithm algorithm);
DkimHash DkimAlgorithmHash(DkimAlgorithm algorithm);

struct DkimSignatureFields {
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  DkimCanonicalization header_canonicalization = DkimCanonicalization::kSimple;
  DkimCanonicalization body_canonicalization = DkimCanonicalization::kSimple;
  std::string domain;                       // d=, lowercased
  std::string selector;                     // s=, as written
  std::vector<std::string> signed_headers;  // h=, as written, in order
  std::string identity;                     // i=, or "@" + d= when absent
  std::optional<uint64_t> body_length;      // l=
  std::optional<int64_t> timestamp;         // t=
  std::optional<int64_t> expiration;        // x=
  std::string body_hash;                    // bh=, decoded
  std::string signature;                    // b=, decoded
  std::string signature_base64;             // b=, without whitespace (for header.b=)
};

// Parses the value of a DKIM-Signature field (everything after "DKIM-Signature:").
core::Result<DkimSignatureFields> ParseDkimSignature(std::string_view value);

struct DkimKeyRecord {
  DkimKeyType key_type = DkimKeyType::kRsa;  // k=, default rsa
  std::vector<std::string> hashes;           // h=, empty when absent (= any)
  std::vector<std::string> services;         // s=, default {"*"}
  bool testing = false;                      // t=y
  bool strict_identity = false;              // t=s: i= domain must equal d=
  std::string public_key;                    // p=, decoded; empty = revoked
  bool revoked() const { return public_key.empty(); }
  bool AllowsHash(std::string_view name) const;  // "sha256"
};

// Parses a key record (the TXT strings joined). kInvalid for a wrong v=, an unknown k=, no p=, bad
// base64, or a service list without "email" or "*".
core::Result<DkimKeyRecord> ParseDkimKeyRecord(std::string_view text);

// The DNS name of a key: "<selector>._domainkey.<domain>".
std::string DkimKeyName(std::string_view selector, std::string_view domain);

}  // namespace moat::filterd
