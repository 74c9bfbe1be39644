// smtp_listener.cc - accept loops, the session limit and graceful stop.
#include "core/smtp_listener.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

namespace moat::core {
namespace {

constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

SmtpListener::SmtpListener(asio::any_io_executor executor,
                           std::shared_ptr<const SmtpServerOptions> options,
                           SmtpListenerOptions listener_options, HandlerFactory factory)
    : executor_(std::move(executor)),
      listener_options_(listener_options),
      factory_(std::move(factory)),
      shared_(std::make_shared<Shared>()) {
  shared_->options = std::move(options);
}

SmtpListener::~SmtpListener() {
  for (auto& acceptor : acceptors_) {
    asio::error_code ignored;
    acceptor->close(ignored);
  }
  for (const auto& path : unix_paths_) ::unlink(path.c_str());
}

Status SmtpListener::Listen(const SmtpEndpoint& endpoint) {
  auto addresses = ResolveListenEndpoints(endpoint);
  if (!addresses) return Fail(addresses.error());
  if (endpoint.kind == SmtpEndpoint::Kind::kUnix) {
    struct stat st {};
    if (::lstat(endpoint.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return Fail(ErrorCode::kIo, "{} exists and is not a socket", endpoint.path);
      }
      ::unlink(endpoint.path.c_str());
    }
  }
  for (const auto& address : *addresses) {
    auto acceptor = std::make_unique<Acceptor>(asio::make_strand(executor_));
    asio::error_code error;
    acceptor->open(address.protocol(), error);
    if (!error && endpoint.kind == SmtpEndpoint::Kind::kTcp) {
      acceptor->set_option(asio::socket_base::reuse_address(true), error);
      // Bind IPv4 and IPv6 wildcards separately instead of relying on dual-stack sockets.
      if (!error && address.protocol().family() == AF_INET6) {
        acceptor->set_option(asio::ip::v6_only(true), error);
      }
    }
    if (!error) acceptor->bind(address, error);
    if (!error) acceptor->listen(listener_options_.backlog, error);
    if (error) {
      return Fail(ErrorCode::kIo, "listen on {} ({}): {}", endpoint.ToString(),
                  DescribeEndpoint(address).ToString(), error.message());
    }
    acceptors_.push_back(std::move(acceptor));
  }
  if (endpoint.kind == SmtpEndpoint::Kind::kUnix) unix_paths_.push_back(endpoint.path);
  return {};
}

std::vector<SmtpSocketAddress> SmtpListener::local_addresses() const {
  std::vector<SmtpSocketAddress> out;
  for (const auto& acceptor : acceptors_) {
    asio::error_code error;
    auto endpoint = acceptor->local_endpoint(error);
    if (!error) out.push_back(DescribeEndpoint(endpoint));
  }
  return out;
}

void SmtpListener::Start() {
  for (auto& acceptor : acceptors_) {
    accept_loops_.fetch_add(1);
    asio::co_spawn(acceptor->get_executor(), AcceptLoop(*acceptor),
                   [this](std::exception_ptr) { accept_loops_.fetch_sub(1); });
  }
}

void SmtpListener::SetSessionOptions(std::shared_ptr<const SmtpServerOptions> options) {
  std::lock_guard lock(shared_->mutex);
  shared_->options = std::move(options);
}

asio::awaitable<void> SmtpListener::AcceptLoop(Acceptor& acceptor) {
  while (acceptor.is_open()) {
    auto [error, socket] = co_await acceptor.async_accept(asio::make_strand(executor_), kUseTuple);
    if (error) {
      if (error == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      shared_->listener_counters.accept_errors.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("accept: {}", error.message());
      // Out of descriptors or memory: pause instead of spinning on the same error.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    std::shared_ptr<const SmtpServerOptions> options;
    {
      std::lock_guard lock(shared_->mutex);
      options = shared_->options;
    }
    auto& counters = shared_->listener_counters;
    counters.accepted.fetch_add(1, std::memory_order_relaxed);
    if (stopping_ || counters.active.load() >= listener_options_.max_sessions) {
      counters.refused_busy.fetch_add(1, std::memory_order_relaxed);
      RefuseBusy(asio::generic::stream_protocol::socket(std::move(socket)), options->hostname);
      continue;
    }
    std::unique_ptr<SmtpHandler> handler = factory_();
    auto executor = socket.get_executor();
    std::uint64_t id = ++next_id_;
    auto session = std::make_shared<SmtpSession>(SmtpStream::Socket(std::move(socket)), options,
                                                 std::move(handler), id, shared_->session_counters);
    {
      std::lock_guard lock(shared_->mutex);
      shared_->sessions.emplace(id, session);
    }
    counters.active.fetch_add(1);
    asio::co_spawn(executor, session->Run(), [shared = shared_, id](std::exception_ptr) {
      {
        std::lock_guard lock(shared->mutex);
        shared->sessions.erase(id);
      }
      shared->listener_counters.active.fetch_sub(1);
    });
  }
}

void SmtpListener::RefuseBusy(asio::generic::stream_protocol::socket socket,
                              const std::string& hostname) {
  // The greeting slot is empty, so a short non-blocking write always fits; never wait here.
  std::string reply = fmt::format("421 4.3.2 {} Error: too many connections\r\n", hostname);
  asio::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(reply), ignored);
  socket.shutdown(asio::socket_base::shutdown_send, ignored);
  socket.close(ignored);
}

std::vector<std::shared_ptr<SmtpSession>> SmtpListener::LiveSessions() {
  std::vector<std::shared_ptr<SmtpSession>> out;
  std::lock_guard lock(shared_->mutex);
  for (auto& [id, weak] : shared_->sessions) {
    if (auto session = weak.lock()) out.push_back(std::move(session));
  }
  return out;
}

asio::awaitable<void> SmtpListener::Stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  for (auto& acceptor : acceptors_) {
    asio::post(acceptor->get_executor(), [acceptor = acceptor.get()] {
      asio::error_code ignored;
      acceptor->close(ignored);
    });
  }
  for (auto& session : LiveSessions()) session->RequestStop();

  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  // The accept loops touch the acceptors until they see them closed.
  while (accept_loops_.load() > 0) {
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(kUseTuple);
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  // Shutdown only: a short poll keeps sessions free of any reference back to the listener.
  while (active_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(kUseTuple);
  }
  if (active_sessions() > 0) {
    spdlog::warn("stopping: closing {} sessions still busy after {} ms", active_sessions(),
                 grace.count());
    for (auto& session : LiveSessions()) session->Abort();
    auto hard_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (active_sessions() > 0 && std::chrono::steady_clock::now() < hard_deadline) {
      timer.expires_after(std::chrono::milliseconds(5));
      co_await timer.async_wait(kUseTuple);
    }
  }
  for (const auto& path : unix_paths_) ::unlink(path.c_str());
  unix_paths_.clear();
}

}  // namespace moat::core
