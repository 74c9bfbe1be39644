// spf_evaluator.h - check_host() of RFC 7208: is this client allowed to send for this domain?
//
// Moat evaluates SPF itself over core::DnsResolver rather than through libspf2: libspf2 (Debian's
// libspf2-2, upstream 1.2.10 of 2014) is unmaintained, has had several memory-safety CVEs in its
// record and macro parsers (CVE-2021-20314, CVE-2021-33912/33913, CVE-2023-42118), and resolves
// with blocking libresolv calls that would stall an Asio thread and ignore `dns_servers`. The
// evaluator here is checked against the openspf.org RFC 7208 test suite and against pyspf
// (python3-spf) on a live DNS server in the tests.
//
// What it implements: record selection (exactly one "v=spf1" TXT record; none -> none, several ->
// permerror), every mechanism (all, include, a, mx, ptr, ip4, ip6, exists) with dual CIDR lengths,
// the redirect= and exp= modifiers, macros (spf_macro.h), and the limits of section 4.6.4: at most
// `max_dns_mechanisms` (10) terms that cause DNS queries (include, a, mx, ptr, exists, redirect),
// at most `max_void_lookups` (2) queries answered NXDOMAIN or with no records, at most 10 MX names
// (more is permerror) and 10 PTR names (the rest ignored). include/redirect loops end at the
// lookup limit (permerror). A DNS error (timeout, SERVFAIL) is temperror, as is running past
// `time_limit` for the whole evaluation. Void lookups are counted per query, as pyspf does (so the
// address lookups of MX and PTR names count too).
//
// Identities (section 2): CheckMailFrom() checks the MAIL FROM domain, or postmaster@<HELO> for
// the null sender <>; CheckHelo() checks the HELO name (none when it is not a domain name).
//
// Thread safety and lifetime: an SpfEvaluator holds only its options and a reference to `dns`,
// which must outlive every check; checks may run concurrently on the executor `dns` belongs to.
// Results are values; an outcome is never an error.
#pragma once

// clang-format off
#include <chrono>
#include <cstdint>
#include <string>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
// clang-format on

#include "core/received_spf.h"
#include "mta/spf_dns.h"

namespace moat::mta {

struct SpfOptions {
  int max_dns_mechanisms = 10;
  int max_void_lookups = 2;
  int max_mx_names = 10;
  int max_ptr_names = 10;
  // The whole evaluation, every query included (policyd-spf's Lookup_Time is 20 s).
  std::chrono::milliseconds time_limit{20000};
};

struct SpfRequest {
  asio::ip::address client_ip;  // an IPv4-mapped IPv6 address counts as IPv4
  std::string sender;           // the MAIL FROM address without <>; "" for the null sender
  std::string helo;             // the HELO/EHLO argument
  std::string receiver;         // this host (myhostname): %{r} and the Received-SPF field
  int64_t now = 0;              // Unix time for %{t}; 0 means the current time
};

struct SpfCheck {
  core::SpfResult result = core::SpfResult::kNone;
  core::SpfIdentity identity = core::SpfIdentity::kMailFrom;
  std::string domain;       // the domain whose policy was checked ("" when none applied)
  std::string sender;       // the identity as checked: "user@domain" or "postmaster@helo"
  std::string mechanism;    // the matching mechanism as written, "default" when none matched
  std::string explanation;  // fail: the expanded exp= text, if the domain published one
  std::string problem;      // temperror/permerror: what went wrong
  int dns_mechanisms = 0;   // terms that caused DNS queries
  int void_lookups = 0;
};

class SpfEvaluator {
 public:
  explicit SpfEvaluator(SpfDns& dns, SpfOptions options = {}) : dns_(dns), options_(options) {}

  // RFC 7208 check_host(<ip>, <domain>, <sender>), identity as given.
  asio::awaitable<SpfCheck> CheckHost(const SpfRequest& request, std::string domain,
                                      std::string sender, core::SpfIdentity identity);

  // The MAIL FROM identity (postmaster@<helo> for the null sender).
  asio::awaitable<SpfCheck> CheckMailFrom(const SpfRequest& request);
  // The HELO identity.
  asio::awaitable<SpfCheck> CheckHelo(const SpfRequest& request);

  const SpfOptions& options() const { return options_; }

 private:
  SpfDns& dns_;
  SpfOptions options_;
};

// The comment of a Received-SPF field for a result, in the words libspf2 and most MTAs use:
// "example.com: domain of a@example.com designates 192.0.2.1 as permitted sender".
std::string SpfResultComment(const SpfCheck& check, const SpfRequest& request);

// The Received-SPF field (core/received_spf.h) for a check, ending with `line_ending`.
std::string SpfReceivedHeader(const SpfCheck& check, const SpfRequest& request,
                              std::string_view line_ending = "\r\n");

}  // namespace moat::mta
