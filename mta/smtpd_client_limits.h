// smtpd_client_limits.h - per-client connection counts and event rates, Postfix's anvil(8) done in
// process: smtpd_client_connection_count_limit, smtpd_client_connection_rate_limit,
// smtpd_client_message_rate_limit, smtpd_client_recipient_rate_limit and
// smtpd_client_auth_rate_limit, each counted per (service, client address).
//
// Rates are anvil's: a fixed window of anvil_rate_time_unit that starts at a client's first
// event and restarts with the first event after it ends; every event counts, also refused ones
// (a client that keeps trying stays over the limit). The connection count is the number of
// sessions open now: Connect() adds one, Disconnect() removes it (call it exactly once for every
// Connect(), whatever Connect() answered). Clients in smtpd_client_event_limit_exceptions are not
// counted at all (the handler does not call in for them).
//
// Memory: one entry per client seen within the last time unit (or still connected); entries are
// swept as they expire, so the table stays bounded by the clients of one window.
//
// Thread safety: every method may be called from any thread (one mutex; no allocation per call
// once a client's entry exists).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "core/ip_network.h"

namespace moat::mta {

class ClientLimits {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Event { kConnection, kMessage, kRecipient, kAuth };

  struct Counts {
    int connections = 0;  // open now, including this one
    int rate = 0;         // events of this kind in the current window, including this one
  };

  // A new connection: counts it (open connections and the connection rate).
  Counts Connect(std::uint64_t service, const core::IpAddress& client, std::chrono::seconds unit,
                 Clock::time_point now = Clock::now());
  void Disconnect(std::uint64_t service, const core::IpAddress& client);
  // A message (MAIL), recipient (RCPT) or AUTH event: counts it, returns the window's count.
  int CountEvent(Event event, std::uint64_t service, const core::IpAddress& client,
                 std::chrono::seconds unit, Clock::time_point now = Clock::now());

  std::size_t tracked_clients() const;

  // A stable number for a service name (the key's first half).
  static std::uint64_t ServiceKey(std::string_view service_name);

 private:
  struct Key {
    std::uint64_t service = 0;
    std::array<std::uint8_t, 16> address{};
    bool v4 = true;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const;
  };
  struct Window {
    int count = 0;
    Clock::time_point start{};
  };
  struct Entry {
    int connections = 0;
    Window windows[4];
    Clock::time_point last_event{};
  };

  static Key MakeKey(std::uint64_t service, const core::IpAddress& client);
  static int Add(Window& window, std::chrono::seconds unit, Clock::time_point now);
  void SweepLocked(Clock::time_point now);

  mutable std::mutex mutex_;
  std::unordered_map<Key, Entry, KeyHash> entries_;
  std::chrono::seconds longest_unit_{60};
  Clock::time_point next_sweep_{};
};

}  // namespace moat::mta
