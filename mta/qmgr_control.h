// qmgr_control.h - the queue manager's control socket: how `moat queue` asks the running
// moat-mta to flush its queue or to look at messages the command moved (Postfix's public/qmgr
// and public/flush endpoints, as one socket with replies).
//
// Endpoint: <queue_directory>/public/qmgr (QueueControlSocketPath), a unix-domain stream socket
// of mode 0660 in public/ (mode 0710), created by moat-mta at start and removed when it stops.
// A socket left behind by a moat-mta that died is replaced; a socket that answers means another
// moat-mta runs on this queue, and the second one refuses to start (two queue managers on one
// queue would deliver messages twice).
//
// Protocol: one request per connection. The client sends one line, at most kMaxRequestBytes
// with its LF (a CR before the LF is ignored); the server answers one line and closes.
//
//   WAKEUP           -> OK         messages were moved into incoming/ or deferred/ (`moat queue
//                                  release`, `requeue`): the queue manager scans both now
//   FLUSH            -> OK <n>     postqueue -f: all deferred and incoming mail is tried now,
//                                  whatever its backoff; <n> messages were scheduled
//   FLUSH <domain>   -> OK <n>     postqueue -s: only messages with a pending recipient in
//                                  <domain>, which must be in fast_flush_domains
//   anything else    -> ERR <why>  unknown request, malformed or too long line, a domain that is
//                                  not eligible, a lookup error
//
// Request words are case-insensitive. A client that has not sent its line within
// request_timeout is disconnected without a reply; at most max_connections are served at once
// (more get "ERR busy").
//
// Threads: the server runs on the io_context it is given (each connection on its own strand);
// the actions are called from those threads. Start() and Stop() from any one thread. Errors:
// Start() returns kInvalid for a path too long for a socket, kIo when the directory or socket
// cannot be made or another moat-mta answers on it. The client returns kNotFound when nothing
// listens ("moat-mta is not running: cannot connect to <path>: <why>"), kInvalid for an ERR
// reply (its text), kTempFail for a timeout or a broken reply, kIo for other socket errors.
#pragma once

// clang-format off
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
// clang-format on

#include "core/error.h"

namespace moat::mta {

inline constexpr std::size_t kMaxRequestBytes = 512;

// <queue_directory>/public/qmgr
std::string QueueControlSocketPath(std::string_view queue_directory);

struct QueueControlOptions {
  std::string socket_path;
  std::chrono::milliseconds request_timeout{5000};
  std::size_t max_connections = 16;
};

// What the requests do; set by moat-mta to its queue manager and fast_flush_domains.
struct QueueControlActions {
  std::function<void()> wakeup;
  // Schedules deferred mail (nullopt: all of it) and returns how many messages.
  std::function<asio::awaitable<std::size_t>(std::optional<std::string> site)> flush;
  // May `domain` be flushed on its own (fast_flush_domains)? An error is reported to the client.
  std::function<core::Result<bool>(std::string_view domain)> site_allowed;
};

class QueueControlServer {
 public:
  // Creates the directory when missing, replaces a stale socket, listens and starts accepting
  // (the accept loop runs once `io` runs).
  static core::Result<std::unique_ptr<QueueControlServer>> Start(asio::io_context& io,
                                                                QueueControlOptions options,
                                                                QueueControlActions actions);
  ~QueueControlServer();  // Stop()
  QueueControlServer(const QueueControlServer&) = delete;
  QueueControlServer& operator=(const QueueControlServer&) = delete;

  // Stops accepting and removes the socket file (when it is still this server's). Connections
  // being served finish. Idempotent.
  void Stop();

  const std::string& socket_path() const;

 private:
  struct State;
  explicit QueueControlServer(std::shared_ptr<State> state);
  static asio::awaitable<void> AcceptLoop(std::shared_ptr<State> state);
  static asio::awaitable<void> Serve(std::shared_ptr<State> state,
                                     std::shared_ptr<asio::local::stream_protocol::socket> socket);
  static asio::awaitable<std::string> Answer(std::shared_ptr<State> state, std::string line);
  std::shared_ptr<State> state_;
};

// The client: sends `request` (one line, without its LF) and returns the text after "OK" (empty
// for a bare "OK"), waiting at most `timeout` for the connection and the reply.
core::Result<std::string> SendQueueControlRequest(const std::string& socket_path,
                                                  std::string_view request,
                                                  std::chrono::milliseconds timeout);

// A domain as a flush request may name it: 1-253 characters of letters, digits, '-', '_' and
// '.', or an address literal in brackets ("[192.0.2.1]", "[ipv6:2001:db8::1]").
bool IsValidFlushSite(std::string_view domain);

}  // namespace moat::mta
