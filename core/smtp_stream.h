// smtp_stream.h - one SMTP/LMTP connection's byte stream: a TCP or unix-domain socket, upgraded
// in place to TLS by STARTTLS, with the deadlines that make every wait bounded.
//
// The socket is Asio's generic stream socket, so TCP (IPv4/IPv6) and unix sockets share one code
// path. After StartTlsServer()/StartTlsClient() all reads and writes go through TLS on the same
// socket; nothing else changes for the caller.
//
// Deadlines: SetTimeout(d) arms "the next operations must finish within d"; ClearTimeout() lifts
// it (e.g. while a handler decides). A watchdog enforces it: run the connection's whole dialogue
// inside RunGuarded(body), and when a deadline passes the watchdog cancels the pending socket
// operations, which then fail with operation_aborted while timed_out() turns true. Moving a
// deadline forward costs no system call (the watchdog re-arms lazily), so per-command timeouts are
// cheap. Operations outside RunGuarded() have no timeout.
//
// Thread safety: none; use from the executor (strand) the socket was created on. Cancel() and
// Close() must also run there (post to the executor from other threads).
#pragma once

// Standard headers come before asio's in every wire-protocol header: asio/detail/config.hpp
// chooses aligned_alloc or plain operator new for its recycled memory by whether libstdc++'s
// configuration was already seen, and translation units that choose differently free each
// other's blocks with the wrong function (an ODR violation ASan reports). A project-wide
// ASIO_DISABLE_STD_ALIGNED_ALLOC would make the order irrelevant.
// clang-format off
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <asio/awaitable.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
// clang-format on

#include "core/smtp_tls.h"

namespace moat::core {

// A socket address in the form logs and handlers use.
struct SmtpSocketAddress {
  std::string address;  // "192.0.2.1", "2001:db8::1" (IPv4-mapped shown as IPv4), or a path
  std::uint16_t port = 0;
  bool unix_socket = false;
  // "192.0.2.1:25", "[2001:db8::1]:25", "unix:/path"
  std::string ToString() const;
};

SmtpSocketAddress DescribeEndpoint(const asio::generic::stream_protocol::endpoint& endpoint);

struct SmtpIoResult {
  std::error_code error;
  std::size_t bytes = 0;
};

class SmtpStream {
 public:
  using Socket = asio::generic::stream_protocol::socket;
  using Clock = std::chrono::steady_clock;

  // A connected socket (server side) or an unopened one (client side, see Connect()).
  explicit SmtpStream(Socket socket);
  ~SmtpStream();
  SmtpStream(const SmtpStream&) = delete;
  SmtpStream& operator=(const SmtpStream&) = delete;

  Socket::executor_type get_executor() { return socket_.get_executor(); }

  // Starts a new deadline (and forgets an earlier timed_out()).
  void SetTimeout(Clock::duration timeout);
  void ClearTimeout();
  bool timed_out() const { return timed_out_; }
  void ClearTimedOut() { timed_out_ = false; }

  // Runs `body` on the socket's executor while a watchdog enforces the deadlines; returns when
  // `body` returns (exceptions from `body` propagate).
  asio::awaitable<void> RunGuarded(asio::awaitable<void> body);

  // Client side: connects (opening the socket for the endpoint's protocol). TCP_NODELAY is set.
  asio::awaitable<std::error_code> Connect(
      const asio::generic::stream_protocol::endpoint& endpoint);

  asio::awaitable<SmtpIoResult> ReadSome(std::span<char> buffer);
  asio::awaitable<std::error_code> Write(std::string_view data);
  // Bytes the kernel holds for reading (0 when unknown); for pipelining checks.
  std::size_t Available();

  asio::awaitable<std::error_code> StartTlsServer(std::shared_ptr<asio::ssl::context> context);
  // `server_name` is sent as SNI; when `verify_name`, the certificate must verify and match it.
  asio::awaitable<std::error_code> StartTlsClient(std::shared_ptr<asio::ssl::context> context,
                                                  const std::string& server_name, bool verify_name);
  // Sends close_notify (without waiting for the peer's), within the current deadline. Best effort.
  asio::awaitable<void> ShutdownTls();
  bool tls_active() const { return tls_ != nullptr && tls_established_; }
  const SmtpTlsInfo& tls_info() const { return tls_info_; }
  // After a failed client handshake: why the certificate was refused ("" if not that).
  std::string tls_verify_error() const;

  // Cancels pending reads/writes (they complete with operation_aborted).
  void Cancel();
  void Close();
  bool is_open() const { return socket_.is_open(); }

  SmtpSocketAddress RemoteAddress() const;
  SmtpSocketAddress LocalAddress() const;

 private:
  struct Tls;
  asio::awaitable<void> Watchdog();
  void SetNoDelay();

  Socket socket_;
  asio::steady_timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::duration last_timeout_ = std::chrono::minutes(1);
  bool timed_out_ = false;
  std::unique_ptr<Tls> tls_;
  bool tls_established_ = false;
  SmtpTlsInfo tls_info_;
};

}  // namespace moat::core
