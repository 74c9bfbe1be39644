// metrics_http_server.cc - accept loop, bounded request reading, the four replies.
#include "core/metrics_http_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <asio/basic_socket_acceptor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::core {
namespace {

constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
using Protocol = asio::generic::stream_protocol;
using Acceptor = asio::basic_socket_acceptor<Protocol>;

std::string Reply(int status, std::string_view reason, std::string_view content_type,
                  std::string_view body, bool head, std::string_view extra_headers = {}) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n"
      "Cache-Control: no-store\r\n{}\r\n",
      status, reason, content_type, body.size(), extra_headers);
  if (!head) out += body;
  return out;
}

std::string PlainReply(int status, std::string_view reason, bool head = false,
                       std::string_view extra_headers = {}) {
  return Reply(status, reason, "text/plain; charset=utf-8", fmt::format("{}\n", reason), head,
               extra_headers);
}

// The end of the request head: "\r\n\r\n", or "\n\n" from a lenient client.
struct HeadEnd {
  template <typename Iterator>
  std::pair<Iterator, bool> operator()(Iterator begin, Iterator end) const {
    char previous = 0, before = 0;
    for (Iterator it = begin; it != end; ++it) {
      char c = *it;
      if (c == '\n' && (previous == '\n' || (previous == '\r' && before == '\n'))) {
        return {std::next(it), true};
      }
      before = previous;
      previous = c;
    }
    return {begin, false};
  }
};

bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c <= ' ' || c >= 127) return false;
  }
  return true;
}

}  // namespace
}  // namespace moat::core

namespace asio {
template <>
struct is_match_condition<moat::core::HeadEnd> : public std::true_type {};
}  // namespace asio

namespace moat::core {

std::string MetricsHttpReply(std::string_view request_head, const MetricsRegistry& registry) {
  std::string_view line = request_head.substr(0, request_head.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  std::size_t first = line.find(' ');
  std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    return PlainReply(400, "Bad Request");
  }
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, second - first - 1);
  std::string_view version = line.substr(second + 1);
  if (!IsToken(method) || !IsToken(target) || !version.starts_with("HTTP/1.")) {
    return PlainReply(400, "Bad Request");
  }
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    return PlainReply(405, "Method Not Allowed", false, "Allow: GET, HEAD\r\n");
  }
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") return PlainReply(404, "Not Found", head);
  return Reply(200, "OK", "text/plain; version=0.0.4; charset=utf-8", registry.Render(), head);
}

struct MetricsHttpServer::Listening {
  explicit Listening(asio::any_io_executor executor) : acceptor(asio::make_strand(executor)) {}
  Acceptor acceptor;
};

namespace {

struct Connection {
  explicit Connection(Protocol::socket s) : socket(std::move(s)), deadline(socket.get_executor()) {}
  Protocol::socket socket;
  asio::steady_timer deadline;
};

template <typename State>
asio::awaitable<void> ServeConnection(std::shared_ptr<Connection> connection,
                                      std::shared_ptr<State> state) {
  const MetricsHttpOptions& options = state->options;
  connection->deadline.expires_after(options.timeout);
  connection->deadline.async_wait([connection](const asio::error_code& error) {
    if (!error) {
      asio::error_code ignored;
      connection->socket.close(ignored);
    }
  });
  std::string head;
  auto [error, size] = co_await asio::async_read_until(
      connection->socket, asio::dynamic_buffer(head, options.max_request_bytes), HeadEnd(),
      kUseTuple);
  std::string reply;
  if (error == asio::error::not_found) {
    reply = PlainReply(431, "Request Header Fields Too Large");
  } else if (!error) {
    reply = MetricsHttpReply(std::string_view(head).substr(0, size), *state->registry);
    state->requests.fetch_add(1, std::memory_order_relaxed);
  }
  if (!reply.empty()) {
    auto [write_error, written] =
        co_await asio::async_write(connection->socket, asio::buffer(reply), kUseTuple);
    (void)written;
    if (!write_error) {
      asio::error_code ignored;
      connection->socket.shutdown(Protocol::socket::shutdown_send, ignored);
    }
  }
  connection->deadline.cancel();
  asio::error_code ignored;
  connection->socket.close(ignored);
}

}  // namespace

MetricsHttpServer::MetricsHttpServer(asio::any_io_executor executor,
                                     const MetricsRegistry& registry, MetricsHttpOptions options)
    : executor_(std::move(executor)), state_(std::make_shared<State>()) {
  state_->registry = &registry;
  state_->options = options;
}

MetricsHttpServer::~MetricsHttpServer() {
  for (auto& listening : acceptors_) {
    asio::error_code ignored;
    listening->acceptor.close(ignored);
  }
}

Status MetricsHttpServer::Listen(const SmtpEndpoint& endpoint) {
  if (endpoint.kind != SmtpEndpoint::Kind::kTcp) {
    return Fail(ErrorCode::kInvalid, "metrics_listen: {} is not host:port", endpoint.ToString());
  }
  auto addresses = ResolveListenEndpoints(endpoint);
  if (!addresses) return Fail(addresses.error());
  for (const auto& address : *addresses) {
    auto listening = std::make_shared<Listening>(executor_);
    Acceptor& acceptor = listening->acceptor;
    asio::error_code error;
    acceptor.open(address.protocol(), error);
    if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
    if (!error && address.protocol().family() == AF_INET6) {
      acceptor.set_option(asio::ip::v6_only(true), error);
    }
    if (!error) acceptor.bind(address, error);
    if (!error) acceptor.listen(16, error);
    if (error) {
      return Fail(ErrorCode::kIo, "metrics_listen {}: {}", endpoint.ToString(), error.message());
    }
    SmtpSocketAddress bound = DescribeEndpoint(address);
    if (!bound.address.starts_with("127.") && bound.address != "::1") {
      spdlog::warn("metrics_listen {}: {} is reachable from other hosts and /metrics has no "
                   "authentication (firewall it, or listen on loopback)",
                   endpoint.ToString(), bound.ToString());
    }
    acceptors_.push_back(std::move(listening));
  }
  return {};
}

std::vector<SmtpSocketAddress> MetricsHttpServer::local_addresses() const {
  std::vector<SmtpSocketAddress> out;
  for (const auto& listening : acceptors_) {
    asio::error_code error;
    Protocol::endpoint endpoint = listening->acceptor.local_endpoint(error);
    if (!error) out.push_back(DescribeEndpoint(endpoint));
  }
  return out;
}

namespace {

template <typename State, typename Listening>
asio::awaitable<void> AcceptLoop(std::shared_ptr<Listening> listening, std::shared_ptr<State> state,
                                 asio::any_io_executor executor) {
  while (listening->acceptor.is_open()) {
    auto [error, socket] =
        co_await listening->acceptor.async_accept(asio::make_strand(executor), kUseTuple);
    if (error) {
      if (error == asio::error::operation_aborted || !listening->acceptor.is_open()) co_return;
      spdlog::warn("metrics: accept: {}", error.message());
      asio::steady_timer pause(listening->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    if (state->active.fetch_add(1) >= state->options.max_connections) {
      state->active.fetch_sub(1);
      state->refused.fetch_add(1, std::memory_order_relaxed);
      asio::error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto connection = std::make_shared<Connection>(std::move(socket));
    asio::co_spawn(connection->socket.get_executor(), ServeConnection(connection, state),
                   [state](std::exception_ptr) { state->active.fetch_sub(1); });
  }
}

}  // namespace

void MetricsHttpServer::Start() {
  for (auto& listening : acceptors_) {
    asio::co_spawn(listening->acceptor.get_executor(), AcceptLoop(listening, state_, executor_),
                   asio::detached);
  }
}

void MetricsHttpServer::Stop() {
  for (auto& listening : acceptors_) {
    asio::post(listening->acceptor.get_executor(), [listening] {
      asio::error_code ignored;
      listening->acceptor.close(ignored);
    });
  }
}

}  // namespace moat::core
