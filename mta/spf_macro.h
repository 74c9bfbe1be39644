// spf_macro.h - SPF macro strings (RFC 7208 section 7): syntax checks and expansion.
//
// Domain-specs of include, a, mx, ptr, exists, redirect and exp, and the text of an explanation
// record, are macro strings: literal text with "%{" letter [digits] ["r"] [delimiters] "}",
// "%%" (a percent sign), "%_" (a space) and "%-" ("%20").
//
//   s  the sender (local-part@domain)      l  its local part      o  its domain
//   d  the domain being checked            h  the HELO/EHLO name
//   i  the client IP: dotted quad, or 32 dot-separated nibbles for IPv6
//   v  "in-addr" (IPv4) or "ip6" (IPv6)    p  the validated host name of the client ("unknown")
//   c  the client IP, readable form        r  the receiving host     t  the current Unix time
// c, r and t are allowed only in explanation text (elsewhere they are a syntax error). An upper-
// case letter URL-escapes the value. Transformers: the value is split at the delimiters (default
// "."), reversed with "r", cut to the rightmost N parts with a digit count, and joined with ".".
//
// Expansion is pure: the caller resolves %{p} first (it needs DNS; see spf_evaluator.cc) and puts
// the result in SpfMacroValues. Errors are kInvalid, which the evaluator turns into permerror.
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>

#include "core/error.h"

namespace moat::mta {

enum class SpfMacroMode { kDomainSpec, kExplanation };

struct SpfMacroValues {
  std::string sender;         // s: "local@domain"
  std::string local_part;     // l
  std::string sender_domain;  // o
  std::string domain;         // d: the domain of the record being evaluated
  asio::ip::address ip;       // i, c, v
  std::string helo;           // h
  std::string validated_ptr = "unknown";  // p
  std::string receiver = "unknown";       // r
  int64_t timestamp = 0;                  // t
};

// Checks the syntax of a macro string; kInvalid with the reason when it is wrong.
core::Status ValidateSpfMacroString(std::string_view text, SpfMacroMode mode);

// True when the string uses %{p} (the caller must resolve the validated name first).
bool UsesPtrMacro(std::string_view text);

// Expands `text`. kInvalid for a syntax error (an unknown letter, %{d0}, a lone '%').
core::Result<std::string> ExpandSpfMacros(std::string_view text, const SpfMacroValues& values,
                                          SpfMacroMode mode);

// Shortens an expanded domain name to at most 253 characters by dropping labels from the left
// (RFC 7208 section 7.3), and drops one trailing dot.
std::string TruncateSpfDomain(std::string_view domain);

}  // namespace moat::mta
