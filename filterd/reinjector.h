// reinjector.h - hands checked mail back to the MTA: SMTP to `forward_to` (its return listener)
// over a pool of reused connections.
//
// Send() takes an idle connection from the pool (or opens one: connect, greeting, EHLO), sends
// the transaction through core::SmtpClient (XFORWARD when offered, MAIL with SIZE/BODY/RET/ENVID/
// SMTPUTF8, RCPT with NOTIFY/ORCPT, DATA; PIPELINING when offered), and puts the connection back
// when it is still usable. A pooled connection is used by one transaction at a time, is closed
// after `reuse_time_limit` since it was opened (Postfix's smtp_connection_reuse_time_limit) or
// `idle_limit` without use (a sweeper sends QUIT), and at most `max_idle` wait in the pool.
//
// Replies: one per recipient, in order, as SmtpClient::Send gives them: 2xx = accepted by the
// MTA. A pooled connection the server had closed while idle is retried transparently on another
// (finally a fresh) connection. When no connection can be made, or the server refuses us at
// greeting/EHLO (4xx or even 5xx: a misconfiguration must not bounce mail), every recipient gets
// a 4xx, so the LMTP client keeps the message. A 5xx to RCPT or DATA is the server's and is
// passed on as it came.
//
// Thread safety: Send() may run concurrently from any number of coroutines on any executors of
// the io_context; each connection gets its own strand. SetOptions() from any thread: new
// connections use the new options, pooled connections made with older ones are closed when next
// taken. Close() at shutdown: stops the sweeper and QUITs the idle connections; the io_context
// must keep running until it returns. Destroying the Reinjector without Close() just drops the
// idle connections.
#pragma once

// clang-format off
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
// clang-format on

#include "core/smtp_client.h"
#include "core/smtp_endpoint.h"

namespace moat::filterd {

struct ReinjectorOptions {
  core::SmtpEndpoint peer;
  core::SmtpClientOptions client;  // mode kSmtp; helo_name; timeouts
  std::chrono::milliseconds reuse_time_limit{300'000};
  std::chrono::milliseconds idle_limit{10'000};
  std::size_t max_idle = 64;
};

struct ReinjectorCounters {
  std::atomic<std::uint64_t> transactions{0};
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> reused{0};          // transactions on a pooled connection
  std::atomic<std::uint64_t> stale_retries{0};   // pooled connections found closed by the server
};

class Reinjector {
 public:
  Reinjector(asio::io_context& io, ReinjectorOptions options);
  ~Reinjector();
  Reinjector(const Reinjector&) = delete;
  Reinjector& operator=(const Reinjector&) = delete;

  // Starts the idle sweeper.
  void Start();
  asio::awaitable<core::SmtpDeliveryResult> Send(const core::SmtpTransaction& transaction);
  void SetOptions(ReinjectorOptions options);
  asio::awaitable<void> Close();

  const ReinjectorCounters& counters() const { return state_->counters; }
  std::size_t idle_connections() const;
  // "host:port" of the configured peer, for logs and replies.
  std::string peer_name() const;

 private:
  struct Pooled {
    std::unique_ptr<core::SmtpClient> client;
    std::chrono::steady_clock::time_point opened;
    std::chrono::steady_clock::time_point last_used;
    std::uint64_t generation = 0;
  };
  // Shared with the sweeper coroutine, which may outlive the Reinjector by a moment.
  struct State {
    explicit State(asio::io_context& io) : io(io), sweep_strand(asio::make_strand(io)) {}
    asio::io_context& io;
    asio::strand<asio::io_context::executor_type> sweep_strand;
    mutable std::mutex mutex;
    ReinjectorOptions options;
    std::uint64_t generation = 1;
    std::vector<Pooled> idle;
    bool closed = false;
    ReinjectorCounters counters;
    std::unique_ptr<asio::steady_timer> timer;  // on sweep_strand
  };

  static asio::awaitable<void> Sweep(std::shared_ptr<State> state);
  static asio::awaitable<void> QuitAndDrop(std::unique_ptr<core::SmtpClient> client);
  static void Retire(State& state, std::unique_ptr<core::SmtpClient> client);

  std::optional<Pooled> TakeIdle();
  void Release(Pooled pooled, const core::SmtpDeliveryResult& result);

  std::shared_ptr<State> state_;
};

}  // namespace moat::filterd
