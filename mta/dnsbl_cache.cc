// dnsbl_cache.cc - see dnsbl_cache.h.
#include "mta/dnsbl_cache.h"

#include <algorithm>

namespace moat::mta {

DnsblCache::DnsblCache(DnsblCacheOptions options, DnsblClock clock)
    : options_(options), clock_(std::move(clock)) {
  if (options_.max_ttl < options_.min_ttl) options_.max_ttl = options_.min_ttl;
}

std::chrono::seconds DnsblCache::Lifetime(uint32_t ttl, bool positive) const {
  if (!positive) return options_.min_ttl;
  return std::clamp(std::chrono::seconds(ttl), options_.min_ttl, options_.max_ttl);
}

std::optional<DnsblAnswer> DnsblCache::Find(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  if (Now() >= it->second.expires) {
    by_expiry_.erase(it->second.by_expiry);
    entries_.erase(it);
    return std::nullopt;
  }
  DnsblAnswer answer = it->second.answer;
  answer.from_cache = true;
  return answer;
}

void DnsblCache::Store(const std::string& name, const DnsblAnswer& answer) {
  if (answer.status == DnsblAnswer::Status::kError || options_.max_entries == 0) return;
  std::lock_guard lock(mutex_);
  Entry entry;
  entry.answer = answer;
  entry.answer.from_cache = false;
  entry.expires = Now() + Lifetime(answer.ttl, answer.status == DnsblAnswer::Status::kListed);
  Put(name, std::move(entry));
}

std::optional<std::string> DnsblCache::FindReason(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find("TXT " + name);
  if (it == entries_.end()) return std::nullopt;
  if (Now() >= it->second.expires) {
    by_expiry_.erase(it->second.by_expiry);
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.reason;
}

void DnsblCache::StoreReason(const std::string& name, const std::string& text, uint32_t ttl) {
  if (options_.max_entries == 0) return;
  std::lock_guard lock(mutex_);
  Entry entry;
  entry.reason = text;
  entry.is_reason = true;
  entry.expires = Now() + Lifetime(ttl, !text.empty());
  Put("TXT " + name, std::move(entry));
}

size_t DnsblCache::size() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void DnsblCache::Put(const std::string& key, Entry entry) {
  auto existing = entries_.find(key);
  if (existing != entries_.end()) {
    by_expiry_.erase(existing->second.by_expiry);
    entries_.erase(existing);
  }
  MakeRoom(Now());
  entry.by_expiry = by_expiry_.emplace(entry.expires, key);
  entries_.emplace(key, std::move(entry));
}

void DnsblCache::MakeRoom(TimePoint now) {
  // Expired entries first, then those closest to expiry: both sit at the front of by_expiry_.
  while (!by_expiry_.empty() &&
         (entries_.size() >= options_.max_entries || by_expiry_.begin()->first <= now)) {
    entries_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

}  // namespace moat::mta
