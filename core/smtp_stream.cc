// smtp_stream.cc - socket + optional TLS + deadline watchdog for one SMTP/LMTP connection.
#include "core/smtp_stream.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstring>

namespace moat::core {
namespace {

constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

struct SmtpStream::Tls {
  Tls(Socket& socket, std::shared_ptr<asio::ssl::context> ctx)
      : context(std::move(ctx)), stream(socket, *context) {}
  std::shared_ptr<asio::ssl::context> context;  // kept alive as long as the stream uses it
  asio::ssl::stream<Socket&> stream;
};

std::string SmtpSocketAddress::ToString() const {
  if (unix_socket) return "unix:" + address;
  if (address.find(':') != std::string::npos) return fmt::format("[{}]:{}", address, port);
  return fmt::format("{}:{}", address, port);
}

SmtpSocketAddress DescribeEndpoint(const asio::generic::stream_protocol::endpoint& endpoint) {
  SmtpSocketAddress out;
  const auto* sa = reinterpret_cast<const sockaddr*>(endpoint.data());
  if (endpoint.size() < sizeof(sa_family_t)) return out;
  if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
    asio::ip::tcp::endpoint tcp;
    std::size_t size = std::min<std::size_t>(endpoint.size(), tcp.capacity());
    std::memcpy(tcp.data(), endpoint.data(), size);
    tcp.resize(size);
    asio::ip::address address = tcp.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    out.address = address.to_string();
    out.port = tcp.port();
  } else if (sa->sa_family == AF_UNIX) {
    out.unix_socket = true;
    const auto* un = reinterpret_cast<const sockaddr_un*>(endpoint.data());
    std::size_t offset = offsetof(sockaddr_un, sun_path);
    if (endpoint.size() > offset) {
      std::size_t length = strnlen(un->sun_path, endpoint.size() - offset);
      out.address.assign(un->sun_path, length);
    }
  }
  return out;
}

SmtpStream::SmtpStream(Socket socket) : socket_(std::move(socket)), timer_(socket_.get_executor()) {
  timer_.expires_at(Clock::time_point::max());
  if (socket_.is_open()) SetNoDelay();
}

SmtpStream::~SmtpStream() = default;

void SmtpStream::SetNoDelay() {
  // Replies are small and often sent while the previous one is unacknowledged; Nagle plus
  // delayed ACKs would add 40 ms to every pipelined turn.
  asio::error_code ignored;
  int family = socket_.local_endpoint(ignored).protocol().family();
  if (family == AF_INET || family == AF_INET6)
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
}

void SmtpStream::SetTimeout(Clock::duration timeout) {
  last_timeout_ = timeout;
  timed_out_ = false;
  deadline_ = Clock::now() + timeout;
  // Only an earlier deadline needs the watchdog woken; a later one is picked up when it wakes.
  if (deadline_ < timer_.expiry()) timer_.expires_at(deadline_);
}

void SmtpStream::ClearTimeout() { deadline_ = Clock::time_point::max(); }

asio::awaitable<void> SmtpStream::Watchdog() {
  for (;;) {
    auto now = Clock::now();
    if (deadline_ <= now) {
      timed_out_ = true;
      deadline_ = Clock::time_point::max();
      Cancel();
    }
    timer_.expires_at(deadline_ == Clock::time_point::max() ? now + last_timeout_ : deadline_);
    co_await timer_.async_wait(kUseTuple);
    asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;
  }
}

asio::awaitable<void> SmtpStream::RunGuarded(asio::awaitable<void> body) {
  // Both run on the socket's executor (the connection's strand), whatever the caller's is, so
  // the watchdog and the I/O never touch the stream from two threads at once.
  auto executor = socket_.get_executor();
  auto [order, body_error, watchdog_error] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(executor, std::move(body), asio::experimental::deferred),
          asio::co_spawn(executor, Watchdog(), asio::experimental::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)order;
  (void)watchdog_error;
  timer_.expires_at(Clock::time_point::max());
  if (body_error) std::rethrow_exception(body_error);
}

asio::awaitable<std::error_code> SmtpStream::Connect(
    const asio::generic::stream_protocol::endpoint& endpoint) {
  asio::error_code ignored;
  if (socket_.is_open()) socket_.close(ignored);
  auto [error] = co_await socket_.async_connect(endpoint, kUseTuple);
  if (!error) SetNoDelay();
  co_return error;
}

asio::awaitable<SmtpIoResult> SmtpStream::ReadSome(std::span<char> buffer) {
  auto asio_buffer = asio::buffer(buffer.data(), buffer.size());
  if (tls_) {
    auto [error, bytes] = co_await tls_->stream.async_read_some(asio_buffer, kUseTuple);
    co_return SmtpIoResult{error, bytes};
  }
  auto [error, bytes] = co_await socket_.async_read_some(asio_buffer, kUseTuple);
  co_return SmtpIoResult{error, bytes};
}

asio::awaitable<std::error_code> SmtpStream::Write(std::string_view data) {
  auto buffer = asio::buffer(data.data(), data.size());
  if (tls_) {
    auto [error, bytes] = co_await asio::async_write(tls_->stream, buffer, kUseTuple);
    co_return error;
  }
  auto [error, bytes] = co_await asio::async_write(socket_, buffer, kUseTuple);
  co_return error;
}

std::size_t SmtpStream::Available() {
  asio::error_code error;
  std::size_t bytes = socket_.available(error);
  return error ? 0 : bytes;
}

asio::awaitable<std::error_code> SmtpStream::StartTlsServer(
    std::shared_ptr<asio::ssl::context> context) {
  tls_ = std::make_unique<Tls>(socket_, std::move(context));
  auto [error] = co_await tls_->stream.async_handshake(asio::ssl::stream_base::server, kUseTuple);
  if (!error) {
    tls_established_ = true;
    tls_info_ = DescribeTlsSession(tls_->stream.native_handle());
  }
  co_return error;
}

asio::awaitable<std::error_code> SmtpStream::StartTlsClient(
    std::shared_ptr<asio::ssl::context> context, const std::string& server_name, bool verify_name) {
  tls_ = std::make_unique<Tls>(socket_, std::move(context));
  auto prepared = PrepareTlsClientSession(tls_->stream.native_handle(), server_name, verify_name);
  if (!prepared) co_return std::make_error_code(std::errc::invalid_argument);
  auto [error] = co_await tls_->stream.async_handshake(asio::ssl::stream_base::client, kUseTuple);
  if (!error) {
    tls_established_ = true;
    tls_info_ = DescribeTlsSession(tls_->stream.native_handle());
  }
  co_return error;
}

std::string SmtpStream::tls_verify_error() const {
  return tls_ ? TlsVerifyError(tls_->stream.native_handle()) : std::string();
}

asio::awaitable<void> SmtpStream::ShutdownTls() {
  if (!tls_active()) co_return;
  PrepareUnidirectionalShutdown(tls_->stream.native_handle());
  co_await tls_->stream.async_shutdown(kUseTuple);
}

void SmtpStream::Cancel() {
  asio::error_code ignored;
  socket_.cancel(ignored);
}

void SmtpStream::Close() {
  asio::error_code ignored;
  if (!socket_.is_open()) return;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
}

SmtpSocketAddress SmtpStream::RemoteAddress() const {
  asio::error_code error;
  auto endpoint = socket_.remote_endpoint(error);
  return error ? SmtpSocketAddress{} : DescribeEndpoint(endpoint);
}

SmtpSocketAddress SmtpStream::LocalAddress() const {
  asio::error_code error;
  auto endpoint = socket_.local_endpoint(error);
  return error ? SmtpSocketAddress{} : DescribeEndpoint(endpoint);
}

}  // namespace moat::core
