// dnsbl_cache.h - DNSBL answers remembered for as long as their TTL allows.
//
// postscreen keeps a client's DNSBL result between postscreen_dnsbl_min_ttl and
// postscreen_dnsbl_max_ttl, within those bounds as long as the DNS answer's TTL says. Moat caches
// per query name ("4.3.2.1.zen.example"), so postscreen and reject_rbl_client share answers:
//   - a listing (A records) lives for its smallest TTL, clamped to [min_ttl, max_ttl];
//   - "not listed" (NXDOMAIN/NODATA) lives for min_ttl (the resolver does not report the
//     negative TTL of the zone's SOA record, so the shortest allowed time is used);
//   - a lookup error is never cached, so the next client asks again;
//   - the reason text (TXT) is cached with its own TTL under the same rules.
// At `max_entries` the expired entries are dropped first, then the ones closest to expiry.
//
// Time comes from an injected clock (tests move it by hand). Thread safety: every method locks
// one mutex; the cache is shared by all smtpd sessions of the process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio/ip/address_v4.hpp>

namespace moat::mta {

using DnsblClock = std::function<std::chrono::steady_clock::time_point()>;

struct DnsblAnswer {
  enum class Status { kListed, kNotListed, kError };
  Status status = Status::kNotListed;
  std::vector<asio::ip::address_v4> addresses;  // kListed: the 127.0.0.0/8 answers
  size_t ignored = 0;                           // answers outside 127.0.0.0/8 (garbage)
  uint32_t ttl = 0;                             // the DNS TTL (smallest record)
  std::string error;                            // kError: what went wrong
  bool from_cache = false;
};

struct DnsblCacheOptions {
  std::chrono::seconds min_ttl{60};    // postscreen_dnsbl_min_ttl
  std::chrono::seconds max_ttl{3600};  // postscreen_dnsbl_max_ttl
  size_t max_entries = 100000;         // postscreen_dnsbl_cache_limit (0: no caching)
};

class DnsblCache {
 public:
  explicit DnsblCache(DnsblCacheOptions options, DnsblClock clock = {});

  std::optional<DnsblAnswer> Find(const std::string& name);
  void Store(const std::string& name, const DnsblAnswer& answer);

  // The reason (TXT) text for a query name; nullopt when not cached.
  std::optional<std::string> FindReason(const std::string& name);
  void StoreReason(const std::string& name, const std::string& text, uint32_t ttl);

  size_t size();
  const DnsblCacheOptions& options() const { return options_; }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Entry {
    DnsblAnswer answer;
    std::string reason;
    bool is_reason = false;
    TimePoint expires;
    std::multimap<TimePoint, std::string>::iterator by_expiry;
  };

  TimePoint Now() const { return clock_ ? clock_() : std::chrono::steady_clock::now(); }
  std::chrono::seconds Lifetime(uint32_t ttl, bool positive) const;
  void Put(const std::string& key, Entry entry);
  void MakeRoom(TimePoint now);

  DnsblCacheOptions options_;
  DnsblClock clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::multimap<TimePoint, std::string> by_expiry_;
};

}  // namespace moat::mta
