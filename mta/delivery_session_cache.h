// delivery_session_cache.h - idle SMTP/LMTP connections kept for the next delivery to the same
// destination (Postfix scache(8) with smtp_connection_cache_* / lmtp_connection_cache_*).
//
// After a transaction, a connection that is still usable is put back under its destination key
// (transport + "/" + nexthop, so deliveries with other TLS or XFORWARD settings never share it).
// The next delivery to that destination takes it instead of doing DNS, TCP, greeting, EHLO and
// TLS again. Limits, per entry:
//   idle_limit   smtp_connection_cache_time_limit (2s): an idle connection is closed with QUIT
//                after this long;
//   reuse_limit  smtp_connection_reuse_time_limit (300s): no reuse after this age;
//   count_limit  smtp_connection_reuse_count_limit (0 = none): transactions per connection.
// A cached connection the server closed meanwhile is detected by the client on its next Send()
// (SmtpDeliveryResult::retry_on_new_connection), and the agent then opens a fresh one.
//
// Thread safety: Take()/Put() may be called from any thread; a taken client belongs to the caller
// until it is Put() back. Expired connections are closed by a sweep coroutine the cache starts on
// its executor; Shutdown() QUITs every idle connection and stops the sweep. The cache must be
// created with std::make_shared (the sweep holds a weak reference).
#pragma once

// clang-format off
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/smtp_client.h"

namespace moat::mta {

struct SessionCacheLimits {
  std::chrono::milliseconds idle_limit{2000};
  std::chrono::milliseconds reuse_limit{300'000};
  std::uint64_t count_limit = 0;
};

class SessionCache : public std::enable_shared_from_this<SessionCache> {
 public:
  explicit SessionCache(asio::any_io_executor executor);

  struct Entry {
    std::unique_ptr<core::SmtpClient> client;
    std::string relay;  // "host[address]:port" of the connection, for logs
    std::string remote_host;
    std::chrono::steady_clock::time_point created;
    std::chrono::steady_clock::time_point idle_since;
    SessionCacheLimits limits;
  };

  // A usable idle connection for `key`, or an empty entry.
  Entry Take(const std::string& key);
  // Keeps `entry` for `key` when it is ready and within its limits; QUITs it otherwise.
  void Put(const std::string& key, Entry entry);
  asio::awaitable<void> Shutdown();

  std::size_t idle_count() const;
  std::uint64_t hits() const { return hits_; }

 private:
  static asio::awaitable<void> Sweep(std::weak_ptr<SessionCache> weak,
                                     asio::any_io_executor executor);
  static asio::awaitable<void> QuitAll(std::vector<std::unique_ptr<core::SmtpClient>> clients);
  std::vector<std::unique_ptr<core::SmtpClient>> TakeExpired(
      std::chrono::steady_clock::time_point now);

  asio::any_io_executor executor_;
  mutable std::mutex mutex_;
  std::multimap<std::string, Entry> idle_;
  bool sweeping_ = false;
  bool shut_down_ = false;
  std::uint64_t hits_ = 0;
};

}  // namespace moat::mta
