// smtp_listener.h - accepts SMTP/LMTP connections on one or more endpoints and runs a session
// for each, within a session limit, with a graceful stop.
//
// One listener is one service (an smtpd line of master.cf, or one of filterd's policy-bank
// LMTP listeners): the same session options and the same handler factory on every endpoint it
// binds (TCP IPv4/IPv6, unix sockets). Each accepted connection gets its own strand, its own
// handler from the factory, and an SmtpSession. Beyond max_sessions a connection is answered
// "421 4.3.2 <host> Error: too many connections" and closed at once, never queued.
//
// Stop(grace): stops accepting, asks every session to finish its transaction (idle sessions get
// 421 4.3.2 at once), closes whatever is still open when the grace period ends, and returns when
// no session is left. Session options can be swapped for new connections at any time (SIGHUP).
//
// Thread safety: Listen() and Start() before the io_context runs or from its executor; Stop() is
// an awaitable to run on any executor of the io_context; counters(), active_sessions() and
// SetSessionOptions() from any thread. A started listener must be stopped (co_await Stop())
// before it is destroyed while its io_context runs; sessions keep only shared state, so a session
// finishing after Stop() never touches a destroyed listener.
#pragma once

// Standard headers before asio's: see smtp_stream.h.
// clang-format off
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/basic_socket_acceptor.hpp>
#include <asio/generic/stream_protocol.hpp>
// clang-format on

#include "core/error.h"
#include "core/smtp_endpoint.h"
#include "core/smtp_session.h"

namespace moat::core {

struct SmtpListenerOptions {
  std::size_t max_sessions = 100;  // master.cf maxproc / default_process_limit
  int backlog = 128;
};

struct SmtpListenerCounters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused_busy{0};  // 421 because max_sessions were running
  std::atomic<std::uint64_t> accept_errors{0};
  std::atomic<std::uint64_t> active{0};
};

class SmtpListener {
 public:
  using HandlerFactory = std::function<std::unique_ptr<SmtpHandler>()>;
  using Acceptor = asio::basic_socket_acceptor<asio::generic::stream_protocol>;

  SmtpListener(asio::any_io_executor executor, std::shared_ptr<const SmtpServerOptions> options,
               SmtpListenerOptions listener_options, HandlerFactory factory);
  ~SmtpListener();
  SmtpListener(const SmtpListener&) = delete;
  SmtpListener& operator=(const SmtpListener&) = delete;

  // Binds and listens on every address of `endpoint` (kIo when the port is taken). A stale unix
  // socket file is replaced; any other file at that path is an error.
  Status Listen(const SmtpEndpoint& endpoint);
  // Where the listener is bound (a port 0 shows the chosen port).
  std::vector<SmtpSocketAddress> local_addresses() const;

  // Starts the accept loops.
  void Start();
  asio::awaitable<void> Stop(std::chrono::milliseconds grace);

  void SetSessionOptions(std::shared_ptr<const SmtpServerOptions> options);

  const SmtpListenerCounters& counters() const { return shared_->listener_counters; }
  const SmtpServerCounters& session_counters() const { return *shared_->session_counters; }
  std::size_t active_sessions() const { return shared_->listener_counters.active.load(); }

 private:
  // State the sessions' completion handlers share with the listener.
  struct Shared {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, std::weak_ptr<SmtpSession>> sessions;
    std::shared_ptr<const SmtpServerOptions> options;
    SmtpListenerCounters listener_counters;
    std::shared_ptr<SmtpServerCounters> session_counters = std::make_shared<SmtpServerCounters>();
  };

  asio::awaitable<void> AcceptLoop(Acceptor& acceptor);
  void RefuseBusy(asio::generic::stream_protocol::socket socket, const std::string& hostname);
  std::vector<std::shared_ptr<SmtpSession>> LiveSessions();

  asio::any_io_executor executor_;
  SmtpListenerOptions listener_options_;
  HandlerFactory factory_;
  std::shared_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::vector<std::string> unix_paths_;
  std::uint64_t next_id_ = 0;
  std::atomic<int> accept_loops_{0};  // running AcceptLoop coroutines
  std::atomic<bool> stopping_{false};
};

}  // namespace moat::core
