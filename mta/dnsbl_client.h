// dnsbl_client.h - DNSBL queries: many lists asked at once, with one deadline, through c-ares.
//
// LookupAll() asks the A records of every query name in parallel (one c-ares query each, all in
// flight together) and returns when all have answered or `timeout` has passed, whichever comes
// first; a name that did not answer in time is an error answer. Reason() fetches the TXT text a
// list publishes for a listing ("https://.../query/ip/192.0.2.1"), for reply texts.
//
// What comes back is sanitised: only 127.0.0.0/8 answers are kept as listings (others are
// counted in `ignored` and never list anyone), at most kMaxAddresses addresses are kept, and a
// reason is reduced to printable ASCII and cut at kMaxReasonBytes (a list answering a huge or
// binary TXT record cannot blow up a reply line). A DNS error (timeout, SERVFAIL, REFUSED) is an
// answer with status kError, which callers read as "not listed" — a DNS failure never refuses
// mail. Answers and reasons go through DnsblCache (dnsbl_cache.h).
//
// Lifetime and threads: the client, the resolver and the cache must outlive every lookup (the
// daemon owns them); lookups must run on the resolver's executor (a strand when the io_context
// has several threads), because the parallel queries share state on it.
#pragma once

// clang-format off
#include <chrono>
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/dns_resolver.h"
#include "mta/dnsbl_cache.h"

namespace moat::mta {

class DnsblClient {
 public:
  static constexpr size_t kMaxAddresses = 32;
  static constexpr size_t kMaxReasonBytes = 256;

  DnsblClient(core::DnsResolver& resolver, DnsblCache& cache)
      : resolver_(resolver), cache_(cache) {}

  // One answer per name, in the order of `names`.
  asio::awaitable<std::vector<DnsblAnswer>> LookupAll(std::vector<std::string> names,
                                                      std::chrono::milliseconds timeout);

  // The listing's TXT text, sanitised; "" when there is none or the lookup failed.
  asio::awaitable<std::string> Reason(std::string name, std::chrono::milliseconds timeout);

  DnsblCache& cache() { return cache_; }
  core::DnsResolver& resolver() { return resolver_; }

 private:
  core::DnsResolver& resolver_;
  DnsblCache& cache_;
};

// Printable ASCII only, whitespace runs collapsed, at most `limit` bytes.
std::string SanitizeDnsblText(std::string_view text, size_t limit = DnsblClient::kMaxReasonBytes);

}  // namespace moat::mta
