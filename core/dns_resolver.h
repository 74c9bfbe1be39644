// dns_resolver.h - the asynchronous DNS stub resolver every part of Moat uses (c-ares + Asio).
//
// MX lookups of the MTA, DKIM key lookups, and later SPF, DMARC and DNSBL queries all go through
// one DnsResolver per io_context. It asks the nameservers of /etc/resolv.conf, or the list given
// in `dns_servers` (main.cf / filterd.cf: "host:port" entries, "[::1]:port" for IPv6), so tests
// can point Moat at a DNS server they started on a high loopback port.
//
// Each lookup is a coroutine that answers one of:
//   - a value: DnsAnswer with outcome kFound and at least one record (each with its TTL);
//   - DnsOutcome::kNxDomain: the name does not exist (authoritative "no such name");
//   - DnsOutcome::kNoData: the name exists but has no record of the asked type;
//   - an Error: kTempFail for conditions that may clear (timeout, SERVFAIL, REFUSED, no server
//     reachable, a malformed answer packet, resolver shut down), kPermFail for ones that will not
//     (a malformed name such as an empty label or a label over 63 octets, FORMERR, NOTIMP).
// A lookup error is never read as "no such record": callers defer (DKIM: temperror).
//
// Timeouts: every lookup has a deadline (options.query_timeout, or the per-call override); when it
// passes the coroutine resumes with kTempFail "timeout" at once, whatever c-ares is still retrying.
// Within the deadline c-ares retries each server `attempts` times with `attempt_timeout` each, and
// falls back to TCP for truncated answers.
//
// Concurrency and lifetime: the resolver is bound to one executor. All c-ares calls run on that
// executor, so lookups may be started from any coroutine of the same io_context; when that
// io_context runs on several threads, create the resolver with a strand. The resolver must outlive
// the lookups' completion or be destroyed on its executor: destruction completes every pending
// lookup with kTempFail "resolver shut down". Socket readiness is driven by Asio
// (posix::stream_descriptor waits and one steady_timer for c-ares timeouts): no polling loop and no
// thread per query. This file and dns_resolver.cc are the only ones that know about c-ares.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>

#include "core/error.h"

namespace moat::core {

enum class DnsOutcome { kFound, kNxDomain, kNoData };

std::string_view DnsOutcomeName(DnsOutcome outcome);  // "found", "NXDOMAIN", "NODATA"

// One TXT record: its character-strings as they came (DKIM and SPF join them with nothing).
struct TxtRecord {
  std::vector<std::string> strings;
  uint32_t ttl = 0;
  std::string Joined() const;
};

struct AddressRecord {
  asio::ip::address address;
  uint32_t ttl = 0;
};

struct MxRecord {
  uint16_t preference = 0;
  std::string exchange;  // without the trailing dot; "" for a null MX (RFC 7505, ".")
  uint32_t ttl = 0;
};

struct PtrRecord {
  std::string name;  // without the trailing dot
  uint32_t ttl = 0;
};

template <typename Record>
struct DnsAnswer {
  DnsOutcome outcome = DnsOutcome::kNoData;
  std::vector<Record> records;  // non-empty exactly when outcome == kFound

  bool found() const { return outcome == DnsOutcome::kFound; }
  // The smallest TTL among the records (how long the whole answer may be cached); 0 when none.
  uint32_t MinTtl() const;
};

struct DnsResolverOptions {
  // "host:port", "[v6]:port" or a bare IP address (port 53). Empty: /etc/resolv.conf.
  std::vector<std::string> servers;
  // Deadline of one lookup, retries included.
  std::chrono::milliseconds query_timeout{5000};
  // c-ares' timeout of one attempt at one server, and how many attempts per server.
  std::chrono::milliseconds attempt_timeout{2000};
  int attempts = 2;
};

// Parses a `dns_servers` value: entries separated by commas and/or whitespace, each "host:port",
// "[v6]:port" or an IP address without a port. Hosts must be IP addresses (kInvalid otherwise).
// Returns entries normalised to "ip:port" / "[v6]:port".
Result<std::vector<std::string>> ParseDnsServers(std::string_view value);

class DnsResolver {
 public:
  // Builds a resolver on `executor` (an io_context executor or a strand). kInvalid for a bad
  // server list, kIo when c-ares cannot start (e.g. an unreadable /etc/resolv.conf).
  static Result<std::unique_ptr<DnsResolver>> Create(asio::any_io_executor executor,
                                                     const DnsResolverOptions& options);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Names are absolute, with or without the trailing dot ("s1._domainkey.example.com").
  // `timeout` overrides options.query_timeout for this call.
  using Timeout = std::optional<std::chrono::milliseconds>;
  asio::awaitable<Result<DnsAnswer<TxtRecord>>> LookupTxt(std::string name, Timeout timeout = {});
  asio::awaitable<Result<DnsAnswer<AddressRecord>>> LookupA(std::string name,
                                                            Timeout timeout = {});
  asio::awaitable<Result<DnsAnswer<AddressRecord>>> LookupAaaa(std::string name,
                                                               Timeout timeout = {});
  // Records sorted by preference (lowest first); equal preferences keep the server's order.
  asio::awaitable<Result<DnsAnswer<MxRecord>>> LookupMx(std::string name, Timeout timeout = {});
  // Reverse lookup of an address (in-addr.arpa / ip6.arpa name built here).
  asio::awaitable<Result<DnsAnswer<PtrRecord>>> LookupPtr(asio::ip::address address,
                                                          Timeout timeout = {});

  const asio::any_io_executor& executor() const;

  class Impl;

 private:
  explicit DnsResolver(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// The reverse-lookup name of an address: "4.3.2.1.in-addr.arpa", "...ip6.arpa".
std::string ReverseLookupName(const asio::ip::address& address);

template <typename Record>
uint32_t DnsAnswer<Record>::MinTtl() const {
  if (records.empty()) return 0;
  uint32_t ttl = records.front().ttl;
  for (const auto& record : records) ttl = record.ttl < ttl ? record.ttl : ttl;
  return ttl;
}

}  // namespace moat::core
