// smtpd_client_limits.cc - anvil(8)'s counters, in process.
#include "mta/smtpd_client_limits.h"

#include <algorithm>
#include <climits>
#include <cstring>

namespace moat::mta {

std::uint64_t ClientLimits::ServiceKey(std::string_view service_name) {
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (char c : service_name) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

std::size_t ClientLimits::KeyHash::operator()(const Key& key) const {
  std::uint64_t hash = key.service ^ (key.v4 ? 0x9e3779b97f4a7c15ull : 0);
  for (std::uint8_t byte : key.address) {
    hash ^= byte;
    hash *= 1099511628211ull;
  }
  return static_cast<std::size_t>(hash);
}

ClientLimits::Key ClientLimits::MakeKey(std::uint64_t service, const core::IpAddress& client) {
  Key key;
  key.service = service;
  key.v4 = client.is_v4();
  std::memcpy(key.address.data(), client.bytes(), static_cast<std::size_t>(client.byte_count()));
  return key;
}

int ClientLimits::Add(Window& window, std::chrono::seconds unit, Clock::time_point now) {
  if (window.count == 0 || window.start + unit < now) {
    window.start = now;
    window.count = 1;
  } else if (window.count < INT_MAX) {
    ++window.count;
  }
  return window.count;
}

ClientLimits::Counts ClientLimits::Connect(std::uint64_t service, const core::IpAddress& client,
                                           std::chrono::seconds unit, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  longest_unit_ = std::max(longest_unit_, unit);
  SweepLocked(now);
  Entry& entry = entries_[MakeKey(service, client)];
  entry.last_event = now;
  Counts counts;
  counts.connections = ++entry.connections;
  counts.rate = Add(entry.windows[static_cast<int>(Event::kConnection)], unit, now);
  return counts;
}

void ClientLimits::Disconnect(std::uint64_t service, const core::IpAddress& client) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(MakeKey(service, client));
  if (it != entries_.end() && it->second.connections > 0) --it->second.connections;
}

int ClientLimits::CountEvent(Event event, std::uint64_t service, const core::IpAddress& client,
                             std::chrono::seconds unit, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  longest_unit_ = std::max(longest_unit_, unit);
  Entry& entry = entries_[MakeKey(service, client)];
  entry.last_event = now;
  return Add(entry.windows[static_cast<int>(event)], unit, now);
}

std::size_t ClientLimits::tracked_clients() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void ClientLimits::SweepLocked(Clock::time_point now) {
  if (now < next_sweep_) return;
  next_sweep_ = now + std::chrono::seconds(1);
  std::erase_if(entries_, [&](const auto& item) {
    return item.second.connections == 0 && item.second.last_event + longest_unit_ < now;
  });
}

}  // namespace moat::mta
