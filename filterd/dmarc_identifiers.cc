// dmarc_identifiers.cc - author domains, trusted SPF results, sampling (see the header).
#include "filterd/dmarc_identifiers.h"

#include <fmt/format.h>

#include <algorithm>

#include "filterd/dkim_canon.h"
#include "filterd/dkim_tags.h"
#include "filterd/dmarc_public_suffix.h"
#include "rules/address_parser.h"

namespace moat::filterd {
namespace {

std::string Unfolded(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    if (c != '\r' && c != '\n') out += c;
  }
  return out;
}

uint64_t Fnv1a(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

bool IsDnsDomainName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

AuthorDomains FindAuthorDomains(std::string_view message) {
  AuthorDomains out;
  auto split = SplitMessage(message);
  if (!split) {
    out.problem = "the header section does not parse: " + split.error().message();
    return out;
  }
  for (const HeaderField& field : split->headers) {
    if (!EqualsIgnoreCase(field.name, "from")) continue;
    ++out.from_fields;
    std::string value = Unfolded(field.raw.substr(field.raw.find(':') + 1));
    for (const rules::ParsedAddress& parsed : rules::ParseHeaderAddresses(value)) {
      if (!parsed.address) continue;
      const std::string& address = *parsed.address;
      size_t at = address.rfind('@');
      if (at == std::string::npos) {
        out.notes.push_back(fmt::format("From address \"{}\" has no domain", address));
        continue;
      }
      std::string domain = NormalizeDomain(address.substr(at + 1));
      if (!IsDnsDomainName(domain)) {
        out.notes.push_back(fmt::format("From domain \"{}\" is not a DNS name", domain));
        continue;
      }
      if (std::find(out.domains.begin(), out.domains.end(), domain) == out.domains.end()) {
        out.domains.push_back(std::move(domain));
      }
    }
  }
  if (out.from_fields == 0) {
    out.problem = "no From field";
  } else if (out.domains.empty()) {
    out.problem = "no From address with a domain DMARC can check";
  } else if (out.domains.size() > kMaxAuthorDomains) {
    out.problem = fmt::format("From names {} domains (at most {} are checked)", out.domains.size(),
                              kMaxAuthorDomains);
  }
  return out;
}

MtaSpfResults TrustedSpfResults(std::string_view message) {
  MtaSpfResults out;
  for (core::ReceivedSpf& field : core::TrustedReceivedSpf(message)) {
    if (field.identity == core::SpfIdentity::kHelo) {
      if (!out.helo) out.helo = std::move(field);
    } else if (!out.mail_from) {
      out.mail_from = std::move(field);
    }
  }
  return out;
}

uint32_t DmarcSampleBucket(std::string_view message) {
  std::string_view key = message;
  std::string value;
  if (auto split = SplitMessage(message)) {
    const std::string_view headers =
        split->headers.empty()
            ? std::string_view()
            : message.substr(
                  0, static_cast<size_t>(split->headers.back().raw.data() +
                                         split->headers.back().raw.size() - message.data()));
    key = headers;
    for (const HeaderField& field : split->headers) {
      if (EqualsIgnoreCase(field.name, "message-id")) {
        value = HeaderValue(field);
        key = value;
        break;
      }
    }
  }
  return static_cast<uint32_t>(Fnv1a(key) % 100);
}

}  // namespace moat::filterd
