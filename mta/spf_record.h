// spf_record.h - parsing one SPF record (RFC 7208 sections 4.5, 4.6, 5, 6 and 12).
//
// A record is "v=spf1" followed by terms separated by spaces: directives ([qualifier] mechanism:
// all, include, a, mx, ptr, ip4, ip6, exists) and modifiers (redirect=, exp=, and unknown
// name=value modifiers, which are checked for syntax and ignored). The whole record is parsed
// before evaluation starts, because RFC 7208 4.6 says a syntax error anywhere makes the result
// permerror without evaluating anything: an unknown mechanism, a bad CIDR length, a malformed
// macro, a domain-spec that does not end in a valid top label, a duplicate redirect= or exp=,
// or a character outside 7-bit ASCII.
//
// Errors: ParseSpfRecord() returns kInvalid with a message that names the offending term (it
// becomes the permerror's "problem"). Values only; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ip_network.h"
#include "core/received_spf.h"

namespace moat::mta {

enum class SpfMechanismKind { kAll, kInclude, kA, kMx, kPtr, kIp4, kIp6, kExists };

std::string_view SpfMechanismName(SpfMechanismKind kind);  // "all", "include", ...

struct SpfMechanism {
  core::SpfResult qualifier = core::SpfResult::kPass;  // pass, fail, softfail or neutral
  SpfMechanismKind kind = SpfMechanismKind::kAll;
  std::string domain_spec;  // a macro string; "" means the current domain
  int cidr4 = 32;           // a, mx, ip4
  int cidr6 = 128;          // a, mx, ip6
  std::optional<core::IpNetwork> network;  // ip4, ip6
  std::string text;                        // the term as written (for logs and mechanism=)
};

struct SpfRecord {
  std::vector<SpfMechanism> mechanisms;
  std::optional<std::string> redirect;  // domain-spec
  std::optional<std::string> exp;       // domain-spec
  // True when the record has an "all" mechanism (then redirect= is ignored).
  bool has_all = false;
};

// True when a TXT record's text is an SPF version 1 record ("v=spf1" then a space or the end,
// case-insensitive).
bool IsSpfRecord(std::string_view text);

core::Result<SpfRecord> ParseSpfRecord(std::string_view text);

}  // namespace moat::mta
