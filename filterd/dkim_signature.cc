// dkim_signature.cc - DKIM-Signature and key record checks (RFC 6376 3.5, 3.6.1, 6.1.1).
#include "filterd/dkim_signature.h"

#include <algorithm>
#include <charconv>

#include "filterd/dkim_tags.h"

namespace moat::filterd {
namespace {

using core::ErrorCode;
using core::Fail;

core::Result<uint64_t> ParseNumber(std::string_view tag, std::string_view text, size_t max_digits) {
  if (text.empty() || text.size() > max_digits ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Fail(ErrorCode::kInvalid, "bad {}= value '{}'", tag, text.substr(0, 30));
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return Fail(ErrorCode::kInvalid, "{}= out of range", tag);
  return value;
}

std::vector<std::string> SplitColonList(std::string_view value) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= value.size()) {
    size_t end = value.find(':', at);
    if (end == std::string_view::npos) end = value.size();
    out.push_back(StripWhitespace(value.substr(at, end - at)));
    at = end + 1;
  }
  return out;
}

// A domain name as DKIM wants it in d=: labels of letters, digits, '-' and '_' (non-ASCII U-labels
// are tolerated as raw bytes, per RFC 8616).
bool ValidDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.front() == '.' || domain.back() == '.') {
    return false;
  }
  size_t label = 0;
  for (char c : domain) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || static_cast<unsigned char>(c) >= 0x80;
    if (!ok || ++label > 63) return false;
  }
  return true;
}

}  // namespace

std::string_view DkimAlgorithmName(DkimAlgorithm algorithm) {
  switch (algorithm) {
    case DkimAlgorithm::kRsaSha1: return "rsa-sha1";
    case DkimAlgorithm::kRsaSha256: return "rsa-sha256";
    case DkimAlgorithm::kEd25519Sha256: return "ed25519-sha256";
  }
  return "?";
}

DkimKeyType DkimAlgorithmKeyType(DkimAlgorithm algorithm) {
  return algorithm == DkimAlgorithm::kEd25519Sha256 ? DkimKeyType::kEd25519 : DkimKeyType::kRsa;
}

DkimHash DkimAlgorithmHash(DkimAlgorithm algorithm) {
  return algorithm == DkimAlgorithm::kRsaSha1 ? DkimHash::kSha1 : DkimHash::kSha256;
}

std::string DkimKeyName(std::string_view selector, std::string_view domain) {
  return std::string(selector) + "._domainkey." + std::string(domain);
}

core::Result<DkimSignatureFields> ParseDkimSignature(std::string_view value) {
  auto tags = DkimTagList::Parse(value);
  if (!tags) return Fail(tags.error());
  DkimSignatureFields sig;
  auto required = [&](std::string_view name) -> core::Result<std::string> {
    const std::string* v = tags->Find(name);
    if (v == nullptr) return Fail(ErrorCode::kInvalid, "missing {}= tag", name);
    return *v;
  };

  auto version = required("v");
  if (!version) return Fail(version.error());
  if (*version != "1") return Fail(ErrorCode::kInvalid, "unsupported version v={}", *version);

  auto algorithm = required("a");
  if (!algorithm) return Fail(algorithm.error());
  std::string a = AsciiLower(*algorithm);
  if (a == "rsa-sha256") {
    sig.algorithm = DkimAlgorithm::kRsaSha256;
  } else if (a == "ed25519-sha256") {
    sig.algorithm = DkimAlgorithm::kEd25519Sha256;
  } else if (a == "rsa-sha1") {
    sig.algorithm = DkimAlgorithm::kRsaSha1;
  } else {
    return Fail(ErrorCode::kInvalid, "unsupported algorithm a={}", algorithm->substr(0, 40));
  }

  auto b = required("b");
  if (!b) return Fail(b.error());
  sig.signature_base64 = StripWhitespace(*b);
  auto decoded_b = DecodeBase64(*b);
  if (!decoded_b) return Fail(decoded_b.error().WithContext("b="));
  if (decoded_b->empty()) return Fail(ErrorCode::kInvalid, "empty b= tag");
  sig.signature = std::move(*decoded_b);

  auto bh = required("bh");
  if (!bh) return Fail(bh.error());
  auto decoded_bh = DecodeBase64(*bh);
  if (!decoded_bh) return Fail(decoded_bh.error().WithContext("bh="));
  size_t want = sig.algorithm == DkimAlgorithm::kRsaSha1 ? 20 : 32;
  if (decoded_bh->size() != want) {
    return Fail(ErrorCode::kInvalid, "bh= is {} bytes, {} needs {}", decoded_bh->size(), a, want);
  }
  sig.body_hash = std::move(*decoded_bh);

  if (const std::string* c = tags->Find("c")) {
    std::string canon = AsciiLower(StripWhitespace(*c));
    std::string header = canon.substr(0, canon.find('/'));
    std::string body = canon.find('/') == std::string::npos ? "simple" : canon.substr(canon.find('/') + 1);
    auto parse = [](const std::string& name, DkimCanonicalization* out) {
      if (name == "simple") *out = DkimCanonicalization::kSimple;
      else if (name == "relaxed") *out = DkimCanonicalization::kRelaxed;
      else return false;
      return true;
    };
    if (!parse(header, &sig.header_canonicalization) || !parse(body, &sig.body_canonicalization)) {
      return Fail(ErrorCode::kInvalid, "unsupported canonicalization c={}", c->substr(0, 40));
    }
  }

  auto d = required("d");
  if (!d) return Fail(d.error());
  sig.domain = AsciiLower(*d);
  if (!ValidDomain(sig.domain)) return Fail(ErrorCode::kInvalid, "bad d= domain '{}'", *d);

  auto h = required("h");
  if (!h) return Fail(h.error());
  sig.signed_headers = SplitColonList(*h);
  bool has_from = false;
  for (const auto& name : sig.signed_headers) {
    if (name.empty()) return Fail(ErrorCode::kInvalid, "empty header name in h=");
    has_from |= EqualsIgnoreCase(name, "from");
  }
  if (!has_from) return Fail(ErrorCode::kInvalid, "h= does not include From");

  if (const std::string* i = tags->Find("i")) {
    sig.identity = *i;
    size_t at = i->rfind('@');
    if (at == std::string::npos) return Fail(ErrorCode::kInvalid, "i= has no '@'");
    std::string idomain = AsciiLower(i->substr(at + 1));
    bool within = idomain == sig.domain ||
                  (idomain.size() > sig.domain.size() &&
                   idomain.ends_with("." + sig.domain));
    if (!within) return Fail(ErrorCode::kInvalid, "i= domain is not d= or a subdomain of it");
  } else {
    sig.identity = "@" + sig.domain;
  }

  if (const std::string* l = tags->Find("l")) {
    auto length = ParseNumber("l", *l, 76);
    if (!length) return Fail(length.error());
    sig.body_length = *length;
  }

  if (const std::string* q = tags->Find("q")) {
    bool dns = false;
    for (const auto& method : SplitColonList(*q)) dns |= EqualsIgnoreCase(method, "dns/txt");
    if (!dns) return Fail(ErrorCode::kInvalid, "unsupported query method q={}", q->substr(0, 40));
  }

  auto s = required("s");
  if (!s) return Fail(s.error());
  sig.selector = *s;
  if (!ValidDomain(sig.selector)) return Fail(ErrorCode::kInvalid, "bad s= selector '{}'", *s);

  if (const std::string* t = tags->Find("t")) {
    auto timestamp = ParseNumber("t", *t, 12);
    if (!timestamp) return Fail(timestamp.error());
    sig.timestamp = static_cast<int64_t>(*timestamp);
  }
  if (const std::string* x = tags->Find("x")) {
    auto expiration = ParseNumber("x", *x, 12);
    if (!expiration) return Fail(expiration.error());
    sig.expiration = static_cast<int64_t>(*expiration);
    if (sig.timestamp && *sig.expiration < *sig.timestamp) {
      return Fail(ErrorCode::kInvalid, "x= is before t=");
    }
  }
  return sig;
}

bool DkimKeyRecord::AllowsHash(std::string_view name) const {
  if (hashes.empty()) return true;
  return std::any_of(hashes.begin(), hashes.end(),
                     [&](const std::string& h) { return EqualsIgnoreCase(h, name); });
}

core::Result<DkimKeyRecord> ParseDkimKeyRecord(std::string_view text) {
  auto tags = DkimTagList::Parse(text);
  if (!tags) return Fail(tags.error().WithContext("key record"));
  DkimKeyRecord record;
  if (const std::string* v = tags->Find("v")) {
    if (tags->tags().front().name != "v") {
      return Fail(ErrorCode::kInvalid, "key record: v= is not the first tag");
    }
    if (*v != "DKIM1") return Fail(ErrorCode::kInvalid, "key record: unsupported v={}", *v);
  }
  if (const std::string* k = tags->Find("k")) {
    if (EqualsIgnoreCase(*k, "rsa")) {
      record.key_type = DkimKeyType::kRsa;
    } else if (EqualsIgnoreCase(*k, "ed25519")) {
      record.key_type = DkimKeyType::kEd25519;
    } else {
      return Fail(ErrorCode::kInvalid, "key record: unknown key type k={}", k->substr(0, 30));
    }
  }
  if (const std::string* h = tags->Find("h")) record.hashes = SplitColonList(*h);
  record.services = {"*"};
  if (const std::string* s = tags->Find("s")) {
    record.services = SplitColonList(*s);
    bool email = std::any_of(record.services.begin(), record.services.end(), [](const auto& v) {
      return v == "*" || EqualsIgnoreCase(v, "email");
    });
    if (!email) return Fail(ErrorCode::kInvalid, "key record: not for email (s=)");
  }
  if (const std::string* t = tags->Find("t")) {
    for (const auto& flag : SplitColonList(*t)) {
      if (flag == "y") record.testing = true;
      if (flag == "s") record.strict_identity = true;
    }
  }
  const std::string* p = tags->Find("p");
  if (p == nullptr) return Fail(ErrorCode::kInvalid, "key record: missing p= tag");
  auto key = DecodeBase64(*p);
  if (!key) return Fail(key.error().WithContext("key record p="));
  record.public_key = std::move(*key);
  return record;
}

}  // namespace moat::filterd
