// dkim_verifier.cc - per-signature checks in the order of RFC 6376 section 6.1.
#include "filterd/dkim_verifier.h"

#include <map>

#include <fmt/format.h>

#include "filterd/dkim_key.h"
#include "filterd/dkim_tags.h"

namespace moat::filterd {
namespace {

DkimSignatureResult MakeResult(DkimResult result, std::string reason) {
  DkimSignatureResult r;
  r.result = result;
  r.reason = std::move(reason);
  return r;
}

void Describe(const DkimSignatureFields& fields, DkimSignatureResult* result) {
  result->domain = fields.domain;
  result->selector = fields.selector;
  result->identity = fields.identity;
  result->algorithm = std::string(DkimAlgorithmName(fields.algorithm));
  result->signature_b64 = fields.signature_base64;
}

// For a signature that did not parse: whatever of d=, s=, a=, b= can still be read, for the report.
void DescribeBroken(std::string_view value, DkimSignatureResult* result) {
  auto tags = DkimTagList::Parse(value);
  if (!tags) return;
  if (const std::string* d = tags->Find("d")) result->domain = AsciiLower(StripWhitespace(*d));
  if (const std::string* s = tags->Find("s")) result->selector = StripWhitespace(*s);
  if (const std::string* a = tags->Find("a")) result->algorithm = StripWhitespace(*a);
  if (const std::string* b = tags->Find("b")) result->signature_b64 = StripWhitespace(*b);
}

std::optional<std::string> TimeProblem(const DkimSignatureFields& fields, int64_t now,
                                       std::chrono::seconds skew) {
  if (fields.expiration && *fields.expiration + skew.count() < now) {
    return fmt::format("signature expired (x={})", *fields.expiration);
  }
  if (fields.timestamp && *fields.timestamp > now + skew.count()) {
    return fmt::format("signature timestamp in the future (t={})", *fields.timestamp);
  }
  return std::nullopt;
}

}  // namespace

std::string_view DkimResultName(DkimResult result) {
  switch (result) {
    case DkimResult::kPass: return "pass";
    case DkimResult::kFail: return "fail";
    case DkimResult::kNeutral: return "neutral";
    case DkimResult::kPolicy: return "policy";
    case DkimResult::kTempError: return "temperror";
    case DkimResult::kPermError: return "permerror";
  }
  return "?";
}

asio::awaitable<DkimKeyAnswer> DnsDkimKeySource::Fetch(std::string name) {
  auto answer = co_await resolver_.LookupTxt(name);
  DkimKeyAnswer key;
  if (!answer) {
    key.status = answer.error().temporary() ? DkimKeyAnswer::Status::kTempError
                                            : DkimKeyAnswer::Status::kPermError;
    key.detail = answer.error().message();
    co_return key;
  }
  if (!answer->found()) {
    key.status = DkimKeyAnswer::Status::kNotFound;
    key.detail = fmt::format("{} {}", name, core::DnsOutcomeName(answer->outcome));
    co_return key;
  }
  key.status = DkimKeyAnswer::Status::kFound;
  for (const auto& record : answer->records) key.records.push_back(record.Joined());
  co_return key;
}

DkimVerifier::DkimVerifier(std::string_view message, DkimVerifyOptions options)
    : options_(options) {
  auto split = SplitMessage(message);
  if (!split) return;  // no header section to speak of: nothing is signed
  std::map<std::pair<DkimCanonicalization, DkimHash>, std::string> body_hashes;
  std::map<DkimCanonicalization, std::string> bodies;
  for (const HeaderField& field : split->headers) {
    if (!EqualsIgnoreCase(field.name, "dkim-signature")) continue;
    Pending pending;
    std::string_view value = field.raw.substr(field.raw.find(':') + 1);
    if (signatures_.size() >= options_.max_signatures) {
      pending.early = MakeResult(DkimResult::kNeutral, "too many signatures, not checked");
      DescribeBroken(value, &pending.early);
      pending.final = true;
      signatures_.push_back(std::move(pending));
      continue;
    }
    auto fields = ParseDkimSignature(value);
    if (!fields) {
      pending.early = MakeResult(DkimResult::kPermError, fields.error().message());
      DescribeBroken(value, &pending.early);
      pending.final = true;
      signatures_.push_back(std::move(pending));
      continue;
    }
    pending.fields = std::move(*fields);
    const DkimSignatureFields& sig = pending.fields;
    Describe(sig, &pending.early);

    auto body = bodies.find(sig.body_canonicalization);
    if (body == bodies.end()) {
      body = bodies.emplace(sig.body_canonicalization,
                            CanonicalizeBody(split->body, sig.body_canonicalization)).first;
    }
    std::string_view canonical = body->second;
    std::string body_hash;
    if (sig.body_length) {
      if (*sig.body_length > canonical.size()) {
        pending.early.result = DkimResult::kPermError;
        pending.early.reason = fmt::format("l={} is longer than the body ({})", *sig.body_length,
                                           canonical.size());
        pending.final = true;
        signatures_.push_back(std::move(pending));
        continue;
      }
      body_hash = DkimDigest(DkimAlgorithmHash(sig.algorithm),
                             canonical.substr(0, *sig.body_length));
    } else {
      auto key = std::make_pair(sig.body_canonicalization, DkimAlgorithmHash(sig.algorithm));
      auto cached = body_hashes.find(key);
      if (cached == body_hashes.end()) {
        cached = body_hashes.emplace(key, DkimDigest(key.second, canonical)).first;
      }
      body_hash = cached->second;
    }
    if (body_hash != sig.body_hash) {
      pending.early.result = DkimResult::kFail;
      pending.early.reason = "body hash did not verify";
      pending.final = true;
      signatures_.push_back(std::move(pending));
      continue;
    }

    auto own = WithoutSignatureValue(field.raw);
    if (!own) {
      pending.early.result = DkimResult::kPermError;
      pending.early.reason = own.error().message();
      pending.final = true;
      signatures_.push_back(std::move(pending));
      continue;
    }
    pending.signed_data =
        CanonicalSignedHeaders(*split, sig.signed_headers, sig.header_canonicalization);
    std::string own_canonical;
    CanonicalizeHeader(*own, sig.header_canonicalization, &own_canonical);
    own_canonical.resize(own_canonical.size() - 2);
    pending.signed_data += own_canonical;
    signatures_.push_back(std::move(pending));
  }
}

std::optional<std::string> DkimVerifier::KeyName(size_t i) const {
  if (i >= signatures_.size() || signatures_[i].final) return std::nullopt;
  return DkimKeyName(signatures_[i].fields.selector, signatures_[i].fields.domain);
}

DkimSignatureResult DkimVerifier::Finish(size_t i, const DkimKeyAnswer& key, int64_t now) const {
  const Pending& pending = signatures_.at(i);
  if (pending.final) return pending.early;
  const DkimSignatureFields& sig = pending.fields;
  DkimSignatureResult result = pending.early;
  auto done = [&](DkimResult r, std::string reason) {
    result.result = r;
    result.reason = std::move(reason);
    return result;
  };

  if (auto problem = TimeProblem(sig, now, options_.clock_skew)) {
    return done(DkimResult::kPermError, *problem);
  }
  switch (key.status) {
    case DkimKeyAnswer::Status::kTempError:
      return done(DkimResult::kTempError, "key lookup failed: " + key.detail);
    case DkimKeyAnswer::Status::kPermError:
      return done(DkimResult::kPermError, "key lookup failed: " + key.detail);
    case DkimKeyAnswer::Status::kNotFound:
      return done(DkimResult::kPermError, "no key for signature (" + key.detail + ")");
    case DkimKeyAnswer::Status::kFound:
      break;
  }
  std::optional<DkimKeyRecord> record;
  std::string parse_error = "no key record";
  for (const auto& text : key.records) {
    auto parsed = ParseDkimKeyRecord(text);
    if (parsed) {
      record = std::move(*parsed);
      break;
    }
    parse_error = parsed.error().message();
  }
  if (!record) return done(DkimResult::kPermError, parse_error);
  result.testing = record->testing;
  if (record->revoked()) return done(DkimResult::kPermError, "key revoked (empty p=)");
  const DkimKeyType wanted = DkimAlgorithmKeyType(sig.algorithm);
  if (record->key_type != wanted) {
    return done(DkimResult::kPermError,
                fmt::format("key type k={} does not match a={}", DkimKeyTypeName(record->key_type),
                            DkimAlgorithmName(sig.algorithm)));
  }
  const DkimHash hash = DkimAlgorithmHash(sig.algorithm);
  if (!record->AllowsHash(hash == DkimHash::kSha1 ? "sha1" : "sha256")) {
    return done(DkimResult::kPermError, "hash algorithm not allowed by the key's h=");
  }
  if (record->strict_identity) {
    std::string idomain = AsciiLower(sig.identity.substr(sig.identity.rfind('@') + 1));
    if (idomain != sig.domain) {
      return done(DkimResult::kPermError, "key has t=s but i= is a subdomain of d=");
    }
  }
  auto public_key = DkimPublicKey::FromRecordData(record->key_type, record->public_key);
  if (!public_key) return done(DkimResult::kPermError, public_key.error().message());
  result.key_bits = public_key->bits();
  bool verified = public_key->Verify(hash, pending.signed_data, sig.signature);
  if (public_key->type() == DkimKeyType::kRsa && public_key->bits() < options_.min_rsa_bits) {
    return done(DkimResult::kFail, fmt::format("RSA key of {} bits is under {} (RFC 8301)",
                                               public_key->bits(), options_.min_rsa_bits));
  }
  if (!verified) return done(DkimResult::kFail, "signature did not verify");
  if (sig.algorithm == DkimAlgorithm::kRsaSha1) {
    return done(DkimResult::kPolicy, "rsa-sha1 is not accepted (RFC 8301)");
  }
  return done(DkimResult::kPass, record->testing ? "key in testing mode (t=y)" : "");
}

asio::awaitable<std::vector<DkimSignatureResult>> DkimVerifier::VerifyAll(DkimKeySource& keys,
                                                                          int64_t now) const {
  std::vector<DkimSignatureResult> results;
  std::map<std::string, DkimKeyAnswer> fetched;
  for (size_t i = 0; i < signatures_.size(); ++i) {
    auto name = KeyName(i);
    if (!name || TimeProblem(signatures_[i].fields, now, options_.clock_skew)) {
      results.push_back(Finish(i, DkimKeyAnswer{}, now));
      continue;
    }
    auto it = fetched.find(*name);
    if (it == fetched.end()) it = fetched.emplace(*name, co_await keys.Fetch(*name)).first;
    results.push_back(Finish(i, it->second, now));
  }
  co_return results;
}

}  // namespace moat::filterd
