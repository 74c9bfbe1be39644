// received_parser.h - the relay path of a message, as SpamAssassin's X-Spam-Relays-* headers.
//
// Rules such as RDNS_NONE match the pseudo-headers X-Spam-Relays-Untrusted/-Trusted/-External/
// -Internal, which SpamAssassin builds from the Received fields (Message::Metadata::Received):
// one "[ ip=... rdns=... helo=... by=... ident=... envfrom=... intl=0|1 id=... auth=... msa=0 ]"
// per relay, newest first. AnalyzeRelays() parses Received lines with the most common formats of
// SpamAssassin's parser (Postfix, Sendmail, Exim, qmail, Microsoft, Exchange, webmail, generic
// "from HELO (RDNS [IP]) by HOST"), skips local hand-overs it ignores, and splits trusted from
// untrusted the way SpamAssassin does when trusted_networks is not configured: relays from
// private addresses or with SMTP AUTH at the top of the path are trusted (and internal), the
// first other relay and everything below it are untrusted (and external).
//
// Pure, thread-safe. Unparseable lines are counted and skipped, never an error.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace moat::rules {

struct Relay {
  std::string ip, rdns, helo, by, ident, envfrom, id, auth;
  bool ip_private = false;
  bool internal = false;
  std::string AsString() const;
};

struct RelayPath {
  std::vector<Relay> trusted, untrusted, internal, external;
  size_t unparseable = 0;
  // Index of the last Received line in the trusted / internal part (-1: none), as SpamAssassin
  // counts them for ALL-TRUSTED, ALL-UNTRUSTED, ALL-INTERNAL and ALL-EXTERNAL.
  int last_trusted_index = -1;
  int last_internal_index = -1;
  std::string trusted_text, untrusted_text, internal_text, external_text;
};

// `received` are the unfolded, decoded Received values, topmost (newest) first.
RelayPath AnalyzeRelays(const std::vector<std::string>& received);

// One Received value: a relay, std::nullopt when it is a hand-over SpamAssassin ignores
// (local delivery, fetchmail, ...), or a relay with an empty ip when it cannot be parsed.
struct ReceivedParse {
  enum class Kind { kRelay, kIgnored, kUnparseable } kind = Kind::kUnparseable;
  Relay relay;
};
ReceivedParse ParseReceivedLine(const std::string& line);

}  // namespace moat::rules
