// dmarc_public_suffix.h - organisational domains (RFC 7489 section 3.2) from the Public Suffix
// List, for DMARC's relaxed alignment and its policy discovery.
//
// The list is Debian's `publicsuffix` package (/usr/share/publicsuffix/public_suffix_list.dat,
// filterd.cf `public_suffix_list`), ICANN and private sections both, read with libpsl (this file
// and dmarc_public_suffix.cc are the only ones that know about libpsl). libpsl applies the list's
// wildcard ("*.ck") and exception ("!www.ck") rules, the implicit "*" rule for unknown top-level
// domains (so "example.test" is its own organisational domain), and matches A-labels
// ("xn--...") against the list's Unicode entries.
//
// Load() parses the file once (~30 ms for the whole list); the daemon does so once per
// configuration snapshot and `moat scan` once per run (content_resources.h), never per message.
//
// Errors: Load() answers kIo when the file cannot be read and kInvalid when it holds no rule.
// OrganizationalDomain() never fails.
// Thread safety: immutable after Load(); share it as std::shared_ptr<const PublicSuffixList>
// and call OrganizationalDomain() from any thread (libpsl lookups only read the context).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::filterd {

inline constexpr const char* kDefaultPublicSuffixList =
    "/usr/share/publicsuffix/public_suffix_list.dat";

class PublicSuffixList {
 public:
  static core::Result<std::shared_ptr<const PublicSuffixList>> Load(const std::string& path);
  ~PublicSuffixList();
  PublicSuffixList(const PublicSuffixList&) = delete;
  PublicSuffixList& operator=(const PublicSuffixList&) = delete;

  // The organisational domain of `domain` (any case, a trailing dot allowed): its public suffix
  // plus one label, lowercased ("a.mail.example.co.uk" -> "example.co.uk"). A domain that is
  // itself a public suffix ("co.uk") is its own organisational domain, as is anything that is
  // not a domain name (empty labels): callers compare organisational domains, and such a name
  // then only ever aligns with itself.
  std::string OrganizationalDomain(std::string_view domain) const;

  // Rules the list holds (for the trace and tests).
  int rule_count() const { return rule_count_; }
  const std::string& path() const { return path_; }

  struct Context;

 private:
  PublicSuffixList();
  std::unique_ptr<Context> context_;
  int rule_count_ = 0;
  std::string path_;
};

// `domain` lowercased (ASCII letters only) without a trailing dot.
std::string NormalizeDomain(std::string_view domain);

}  // namespace moat::filterd
