// metrics_http_server.h - the /metrics endpoint of a daemon: a minimal HTTP/1.x server that
// answers GET (and HEAD) /metrics with MetricsRegistry::Render() and nothing else.
//
// Both daemons start one when `metrics_listen` (filterd.cf, main.cf) is set, on the daemon's own
// io_context: no extra threads. It is meant for loopback or a management network; there is no
// authentication (Listen() logs a warning for an address other than loopback), and it exposes
// counts only, never message content or addresses.
//
// What it answers, one request per connection (the reply carries `Connection: close`):
//   GET|HEAD /metrics[?...]  200, Content-Type: text/plain; version=0.0.4; charset=utf-8
//   any other path           404
//   another method           405 (Allow: GET, HEAD)
//   a malformed request line 400
//   a request head (request line + headers) over max_request_bytes: 431, then close
// A connection that has not sent its whole request head and read the reply within `timeout` is
// closed. At most max_connections are served at once; more are closed at once without a reply.
// A request body, if any, is never read.
//
// Why not cpp-httplib, as `moat web` uses: its server (0.11 in Debian 12) has no bound on the
// number of header lines and an unbounded connection queue; here the bounds are three numbers.
//
// Life cycle: Listen() (kIo when the address is taken, kInvalid for a unix socket), Start(),
// Stop() (closes the listening sockets on their strands; requests in flight end within
// `timeout`). Construct, Listen, Start and Stop from one thread; the io_context must keep running
// while it serves; destroy the server after Stop() when the io_context no longer runs. The
// registry must outlive the io_context's last run. Connections share only reference-counted
// state with the server.
#pragma once

// clang-format off
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <asio/any_io_executor.hpp>
// clang-format on

#include "core/error.h"
#include "core/metrics.h"
#include "core/smtp_endpoint.h"
#include "core/smtp_stream.h"

namespace moat::core {

struct MetricsHttpOptions {
  std::size_t max_request_bytes = 8192;
  std::chrono::milliseconds timeout{10'000};
  std::size_t max_connections = 16;
};

// The reply to one request head (exposed for tests): status line, headers and body.
std::string MetricsHttpReply(std::string_view request_head, const MetricsRegistry& registry);

class MetricsHttpServer {
 public:
  MetricsHttpServer(asio::any_io_executor executor, const MetricsRegistry& registry,
                    MetricsHttpOptions options = {});
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  Status Listen(const SmtpEndpoint& endpoint);
  std::vector<SmtpSocketAddress> local_addresses() const;
  void Start();
  void Stop();

  // Requests answered, and connections closed without a reply (over max_connections).
  std::uint64_t requests() const { return state_->requests.load(); }
  std::uint64_t refused() const { return state_->refused.load(); }
  std::size_t active_connections() const { return state_->active.load(); }

 private:
  struct State {
    const MetricsRegistry* registry = nullptr;
    MetricsHttpOptions options;
    std::atomic<std::size_t> active{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> refused{0};
  };
  struct Listening;

  asio::any_io_executor executor_;
  std::shared_ptr<State> state_;
  std::vector<std::shared_ptr<Listening>> acceptors_;
};

}  // namespace moat::core
