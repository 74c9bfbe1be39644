// dkim_verifier.h - DKIM verification of every signature of a message (RFC 6376 section 6,
// RFC 8463, RFC 8301), with key lookups through the DNS resolver.
//
// Each DKIM-Signature gets its own result (RFC 8601 names) and a reason:
//   pass       the signature verifies;
//   fail       body hash or signature mismatch, an RSA key under 1024 bits, rsa-sha1 that does
//              not verify;
//   policy     verifies cryptographically but is not acceptable: rsa-sha1 (RFC 8301);
//   neutral    not checked: beyond options.max_signatures;
//   temperror  the key lookup failed temporarily (timeout, SERVFAIL): retry later;
//   permerror  malformed signature (bad tag-list, bad base64, missing tags, i= outside d=),
//              expired (x=) or future (t=) beyond the clock skew, l= longer than the body, no key
//              (NXDOMAIN/NODATA), malformed or revoked key (p= empty), key type or hash not
//              allowed by the key record (k=, h=), t=s identity mismatch, service not email.
// An outcome is never an error: Verify* return results, not core::Result.
//
// Use: build a DkimVerifier on the final message bytes (CPU work: parsing, body hashes), then
// either VerifyAll() with a DkimKeySource (coroutine; DNS lookups are async and deduplicated), or
// KeyName(i) + Finish(i, answer, now) when keys come from elsewhere (tests, benchmarks, a cache).
// A message whose header section does not split (see SplitMessage) has no signatures to check
// (dkim=none). The verifier keeps views into `message`, which must outlive it. A verifier is immutable after
// construction: Finish() may run on any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "core/dns_resolver.h"
#include "filterd/dkim_canon.h"
#include "filterd/dkim_signature.h"

namespace moat::filterd {

enum class DkimResult { kPass, kFail, kNeutral, kPolicy, kTempError, kPermError };

std::string_view DkimResultName(DkimResult result);  // "pass", "fail", ..., "permerror"

struct DkimSignatureResult {
  DkimResult result = DkimResult::kPermError;
  std::string reason;         // human-readable, empty for a plain pass
  std::string domain;         // d= ("" when the signature did not parse that far)
  std::string selector;       // s=
  std::string identity;       // i= (or "@" + d=)
  std::string algorithm;      // a= as understood ("rsa-sha256"), or as written when unknown
  std::string signature_b64;  // b= without whitespace (header.b= in Authentication-Results)
  int key_bits = 0;           // when a key was loaded
  bool testing = false;       // the key record says t=y
};

struct DkimVerifyOptions {
  std::chrono::seconds clock_skew{300};  // tolerance for t= in the future and x= in the past
  int min_rsa_bits = 1024;               // RFC 8301
  size_t max_signatures = 10;            // more are reported neutral, unchecked
};

// What a key lookup answered.
struct DkimKeyAnswer {
  enum class Status { kFound, kNotFound, kTempError, kPermError };
  Status status = Status::kNotFound;
  std::vector<std::string> records;  // kFound: each TXT record, strings joined
  std::string detail;                // for the reason ("DNS TXT ...: timeout")
};

class DkimKeySource {
 public:
  virtual ~DkimKeySource() = default;
  // `name` is "<selector>._domainkey.<domain>".
  virtual asio::awaitable<DkimKeyAnswer> Fetch(std::string name) = 0;
};

// Keys from DNS TXT records. NXDOMAIN and NODATA are kNotFound; kTempFail errors kTempError; other
// errors kPermError. The resolver must outlive this object.
class DnsDkimKeySource : public DkimKeySource {
 public:
  explicit DnsDkimKeySource(core::DnsResolver& resolver) : resolver_(resolver) {}
  asio::awaitable<DkimKeyAnswer> Fetch(std::string name) override;

 private:
  core::DnsResolver& resolver_;
};

class DkimVerifier {
 public:
  explicit DkimVerifier(std::string_view message, DkimVerifyOptions options = {});

  // DKIM-Signature fields found, in message order (top first).
  size_t signature_count() const { return signatures_.size(); }
  // The key name to fetch for signature i, or nullopt when its result is already final.
  std::optional<std::string> KeyName(size_t i) const;
  // The result of signature i given the key lookup's answer, at Unix time `now`.
  DkimSignatureResult Finish(size_t i, const DkimKeyAnswer& key, int64_t now) const;

  asio::awaitable<std::vector<DkimSignatureResult>> VerifyAll(DkimKeySource& keys,
                                                              int64_t now) const;

  // The exact bytes signature i covers (canonical headers, then its own field without b=), or ""
  // when it got a result before that point. For diagnostics and tests.
  const std::string& SignedData(size_t i) const { return signatures_.at(i).signed_data; }

 private:
  struct Pending {
    DkimSignatureResult early;  // final when `final` is set
    bool final = false;
    DkimSignatureFields fields;
    std::string signed_data;    // canonical headers + own field without b=
  };
  DkimVerifyOptions options_;
  std::vector<Pending> signatures_;
};

}  // namespace moat::filterd
