// dmarc_identifiers.h - what a message offers DMARC besides the DKIM results: its author
// domains (RFC5322.From), the SPF results the MTA in front of the filter recorded, and the bucket
// pct sampling puts it in.
//
// Author domains (RFC 7489 section 6.6.1). Every address of every From field counts: a From
// with several addresses is checked for each domain and the strictest failing policy applies
// (section 6.6.1), and a message with several From fields (forbidden by RFC 5322; "typically
// rejected") is treated the same way, so a second From cannot hide a spoofed one. Addresses are
// parsed as SpamAssassin does (rules/address_parser.h). `problem` is set, and DMARC is not
// applied (result permerror), when there is no From field, no address with a domain, no domain
// that is a DNS name, or more than kMaxAuthorDomains distinct domains (each costs DNS lookups).
// Domains that are not DNS names (address literals, empty labels) are skipped with a note.
//
// SPF results: core::TrustedReceivedSpf() (core/received_spf.h), i.e. only Received-SPF fields
// above the topmost Received field of the message as it reached moat-filterd. The MTA in front
// (moat-mta's smtpd, or Postfix with policyd-spf) prepends its Received-SPF above the Received
// field it adds itself, and nothing a client sends can get above that Received field; a forged
// Received-SPF in the client's own header section sits below it and is never used. So the
// trust rests on the MTA in front adding a Received field (RFC 5321 section 4.4 makes that a
// MUST, moat-mta and Postfix always do) - the filter's LMTP listeners are only for that MTA.
// The topmost field of each identity wins.
//
// pct sampling (section 6.6.4) must be repeatable: the same message retried after a 4xx, or
// scanned again with `moat scan`, must get the same disposition. So the bucket (0..99) is a hash
// (64-bit FNV-1a) of the first Message-ID field's value, or of the whole header section when the
// message has none, modulo 100; a record with pct=N applies its policy when bucket < N.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/received_spf.h"

namespace moat::filterd {

inline constexpr size_t kMaxAuthorDomains = 8;

struct AuthorDomains {
  std::vector<std::string> domains;  // lowercased, no trailing dot, distinct, in message order
  size_t from_fields = 0;            // From header fields seen
  std::vector<std::string> notes;    // addresses skipped, and why
  std::string problem;               // non-empty: DMARC cannot be applied (why)
};

AuthorDomains FindAuthorDomains(std::string_view message);

// True for a name DMARC can look up: LDH labels (underscores allowed) of 1-63 octets, at most
// 253 octets in all, no empty label. A trailing dot is not allowed here (strip it first).
bool IsDnsDomainName(std::string_view name);

struct MtaSpfResults {
  std::optional<core::ReceivedSpf> mail_from;  // the MAIL FROM identity (postmaster@HELO for <>)
  std::optional<core::ReceivedSpf> helo;
};

MtaSpfResults TrustedSpfResults(std::string_view message);

// 0..99: the message's pct sampling bucket.
uint32_t DmarcSampleBucket(std::string_view message);

}  // namespace moat::filterd
