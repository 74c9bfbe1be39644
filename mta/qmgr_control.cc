// qmgr_control.cc - the queue manager's control socket and its client (protocol in the header).
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>

// clang-format off
#include "mta/qmgr_control.h"
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
// clang-format on

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

using core::ErrorCode;
using Protocol = asio::local::stream_protocol;
using Strand = asio::strand<asio::io_context::executor_type>;
constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

constexpr mode_t kSocketMode = 0660;
constexpr mode_t kDirectoryMode = 0710;
constexpr mode_t kQueueDirectoryMode = 0700;  // as the queue store creates it

std::string ParentDirectory(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

core::Status MakeDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return {};
  return core::Fail(core::ErrnoError(ErrorCode::kIo, fmt::format("mkdir {}", path), errno));
}

// A connected AF_UNIX stream socket, or the connect(2) errno.
struct Connected {
  int fd = -1;
  int error = 0;
};

Connected ConnectUnix(const std::string& path) {
  Connected result;
  sockaddr_un address{};
  if (path.size() >= sizeof(address.sun_path)) {
    result.error = ENAMETOOLONG;
    return result;
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result.error = errno;
    return result;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    result.error = errno;
    ::close(fd);
    return result;
  }
  result.fd = fd;
  return result;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Text from the network goes into a log line and a reply: printable ASCII only, and short.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 80)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

}  // namespace

std::string QueueControlSocketPath(std::string_view queue_directory) {
  std::string path(queue_directory);
  while (path.size() > 1 && path.ends_with('/')) path.pop_back();
  return path + "/public/qmgr";
}

bool IsValidFlushSite(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  if (domain.front() == '[') {
    if (domain.size() < 3 || domain.back() != ']') return false;
    std::string_view address = domain.substr(1, domain.size() - 2);
    if (address.size() > 5 && EqualsIgnoreCase(address.substr(0, 5), "ipv6:")) {
      address.remove_prefix(5);
    }
    for (char c : address) {
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                c == '.' || c == ':';
      if (!ok) return false;
    }
    return !address.empty();
  }
  if (domain.front() == '.' || domain.front() == '-') return false;
  for (char c : domain) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return domain.find("..") == std::string_view::npos;
}

struct QueueControlServer::State {
  State(asio::io_context& io, QueueControlOptions o, QueueControlActions a)
      : io(io), strand(asio::make_strand(io)), acceptor(strand), options(std::move(o)),
        actions(std::move(a)) {}

  asio::io_context& io;
  Strand strand;  // the acceptor's
  Protocol::acceptor acceptor;
  QueueControlOptions options;
  QueueControlActions actions;
  std::atomic<std::size_t> connections{0};
  std::mutex stop_mutex;
  bool stopped = false;
  dev_t device = 0;  // the socket file this server made, so Stop() removes only that one
  ino_t inode = 0;
};

// The connection handlers are coroutines taking the shared state as a parameter, never
// capturing lambdas (GCC 12 and lambda coroutines).
asio::awaitable<std::string> QueueControlServer::Answer(std::shared_ptr<State> state,
                                                        std::string line) {
  std::string_view request = Trim(line);
  std::string_view word = request.substr(0, request.find(' '));
  std::string_view argument =
      word.size() < request.size() ? Trim(request.substr(word.size())) : std::string_view();
  if (EqualsIgnoreCase(word, "WAKEUP") && argument.empty()) {
    if (state->actions.wakeup) state->actions.wakeup();
    co_return "OK";
  }
  if (EqualsIgnoreCase(word, "FLUSH")) {
    if (!state->actions.flush) co_return "ERR flush is not available";
    std::optional<std::string> site;
    if (!argument.empty()) {
      if (!IsValidFlushSite(argument)) {
        co_return fmt::format("ERR bad domain \"{}\"", Printable(argument));
      }
      if (state->actions.site_allowed) {
        auto allowed = state->actions.site_allowed(argument);
        if (!allowed) {
          co_return fmt::format("ERR {}: lookup failed: {}", argument,
                                Printable(allowed.error().message()));
        }
        if (!*allowed) {
          co_return fmt::format("ERR {}: not eligible for flush (fast_flush_domains)", argument);
        }
      }
      site = std::string(argument);
    }
    auto flushing = state->actions.flush(std::move(site));
    std::size_t scheduled = co_await std::move(flushing);
    co_return fmt::format("OK {}", scheduled);
  }
  spdlog::warn("queue control: unknown request \"{}\"", Printable(request));
  co_return fmt::format("ERR unknown request \"{}\"", Printable(word));
}

asio::awaitable<void> QueueControlServer::Serve(std::shared_ptr<State> state,
                                                std::shared_ptr<Protocol::socket> socket) {
  struct Release {
    std::atomic<std::size_t>& count;
    ~Release() { --count; }
  } release{state->connections};

  // The deadline closes the socket; on the connection's strand, like the coroutine.
  asio::steady_timer deadline(socket->get_executor());
  auto arm = [&deadline, weak = std::weak_ptr<Protocol::socket>(socket)](
                 std::chrono::milliseconds timeout) {
    deadline.expires_after(timeout);
    deadline.async_wait([weak](std::error_code error) {
      if (error) return;
      if (auto s = weak.lock()) {
        std::error_code ignored;
        s->close(ignored);
      }
    });
  };
  arm(state->options.request_timeout);
  std::string line;
  auto [read_error, length] = co_await asio::async_read_until(
      *socket, asio::dynamic_buffer(line, kMaxRequestBytes), '\n', kAsTuple);
  deadline.cancel();
  std::string reply;
  if (read_error == asio::error::not_found) {
    reply = "ERR request too long";
  } else if (read_error) {
    co_return;  // the client went away, or the deadline passed
  } else {
    line.resize(length - 1);
    if (line.ends_with('\r')) line.pop_back();
    auto answering = Answer(state, std::move(line));
    reply = co_await std::move(answering);
  }
  reply += "\n";
  arm(state->options.request_timeout);
  auto [write_error, written] = co_await asio::async_write(*socket, asio::buffer(reply), kAsTuple);
  (void)write_error;
  (void)written;
  deadline.cancel();
  std::error_code ignored;
  socket->shutdown(Protocol::socket::shutdown_both, ignored);
  socket->close(ignored);
}

asio::awaitable<void> QueueControlServer::AcceptLoop(std::shared_ptr<State> state) {
  while (true) {
    auto connection_strand = asio::make_strand(state->io);
    auto [error, accepted] = co_await state->acceptor.async_accept(connection_strand, kAsTuple);
    if (error) {
      if (error == asio::error::operation_aborted || !state->acceptor.is_open()) co_return;
      // Out of descriptors and the like: do not spin on the error.
      spdlog::warn("queue control: accept: {}", error.message());
      asio::steady_timer pause(state->strand, std::chrono::milliseconds(100));
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    auto socket = std::make_shared<Protocol::socket>(std::move(accepted));
    if (state->connections.load() >= state->options.max_connections) {
      static constexpr std::string_view kBusy = "ERR busy\n";
      std::error_code ignored;
      socket->non_blocking(true, ignored);
      asio::write(*socket, asio::buffer(kBusy), ignored);
      socket->close(ignored);
      continue;
    }
    ++state->connections;
    asio::co_spawn(connection_strand, Serve(state, std::move(socket)), asio::detached);
  }
}

core::Result<std::unique_ptr<QueueControlServer>> QueueControlServer::Start(
    asio::io_context& io, QueueControlOptions options, QueueControlActions actions) {
  const std::string path = options.socket_path;
  sockaddr_un probe{};
  if (path.empty() || path.size() >= sizeof(probe.sun_path)) {
    return core::Fail(ErrorCode::kInvalid,
                      "queue control socket {}: the path must be 1 to {} bytes long", path,
                      sizeof(probe.sun_path) - 1);
  }
  std::string directory = ParentDirectory(path);
  if (auto made = MakeDirectory(ParentDirectory(directory), kQueueDirectoryMode); !made) {
    return std::unexpected(made.error());
  }
  if (auto made = MakeDirectory(directory, kDirectoryMode); !made) {
    return std::unexpected(made.error());
  }

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return core::Fail(ErrorCode::kIo, "queue control socket {}: exists and is not a socket",
                        path);
    }
    Connected probe_connection = ConnectUnix(path);
    if (probe_connection.fd >= 0) {
      ::close(probe_connection.fd);
      return core::Fail(ErrorCode::kIo,
                        "queue control socket {}: another moat-mta is running on this queue",
                        path);
    }
    if (probe_connection.error != ECONNREFUSED && probe_connection.error != ENOENT) {
      return core::Fail(core::ErrnoError(
          ErrorCode::kIo, fmt::format("queue control socket {}: connect", path),
          probe_connection.error));
    }
    // Left behind by a moat-mta that did not stop cleanly.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return core::Fail(
          core::ErrnoError(ErrorCode::kIo, fmt::format("unlink stale socket {}", path), errno));
    }
    spdlog::info("queue control socket {}: replaced a stale socket", path);
  } else if (errno != ENOENT) {
    return core::Fail(core::ErrnoError(ErrorCode::kIo, fmt::format("lstat {}", path), errno));
  }

  auto state = std::make_shared<State>(io, std::move(options), std::move(actions));
  std::error_code error;
  state->acceptor.open(Protocol(), error);
  if (!error) state->acceptor.bind(Protocol::endpoint(path), error);
  if (error) {
    return core::Fail(ErrorCode::kIo, "queue control socket {}: bind: {}", path,
                      error.message());
  }
  if (::chmod(path.c_str(), kSocketMode) != 0 || ::lstat(path.c_str(), &st) != 0) {
    int saved = errno;
    ::unlink(path.c_str());
    return core::Fail(core::ErrnoError(ErrorCode::kIo, fmt::format("chmod {}", path), saved));
  }
  state->device = st.st_dev;
  state->inode = st.st_ino;
  state->acceptor.listen(Protocol::acceptor::max_listen_connections, error);
  if (error) {
    ::unlink(path.c_str());
    return core::Fail(ErrorCode::kIo, "queue control socket {}: listen: {}", path,
                      error.message());
  }
  asio::co_spawn(state->strand, AcceptLoop(state), asio::detached);
  return std::unique_ptr<QueueControlServer>(new QueueControlServer(std::move(state)));
}

QueueControlServer::QueueControlServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

QueueControlServer::~QueueControlServer() { Stop(); }

const std::string& QueueControlServer::socket_path() const { return state_->options.socket_path; }

void QueueControlServer::Stop() {
  {
    std::lock_guard lock(state_->stop_mutex);
    if (state_->stopped) return;
    state_->stopped = true;
  }
  const std::string& path = state_->options.socket_path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && st.st_dev == state_->device &&
      st.st_ino == state_->inode) {
    ::unlink(path.c_str());
  }
  // The acceptor belongs to its strand: closed there, which ends the accept loop.
  asio::post(state_->strand, [state = state_] {
    std::error_code ignored;
    state->acceptor.close(ignored);
  });
}

core::Result<std::string> SendQueueControlRequest(const std::string& socket_path,
                                                  std::string_view request,
                                                  std::chrono::milliseconds timeout) {
  if (request.size() + 1 > kMaxRequestBytes || request.find('\n') != std::string_view::npos) {
    return core::Fail(ErrorCode::kInvalid, "request too long or not one line");
  }
  Connected connected = ConnectUnix(socket_path);
  if (connected.fd < 0) {
    int e = connected.error;
    ErrorCode code = e == ENOENT || e == ECONNREFUSED ? ErrorCode::kNotFound : ErrorCode::kIo;
    return core::Fail(code, "moat-mta is not running: cannot connect to {}: {}", socket_path,
                      e == ENAMETOOLONG ? "path too long for a socket" : std::strerror(e));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{connected.fd};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto remaining_ms = [&]() -> int {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, left.count()));
  };
  auto wait = [&](short events) -> bool {
    pollfd p{connected.fd, events, 0};
    while (true) {
      int n = ::poll(&p, 1, remaining_ms());
      if (n > 0) return true;
      if (n == 0) return false;
      if (errno != EINTR) return false;
    }
  };
  ::fcntl(connected.fd, F_SETFL, ::fcntl(connected.fd, F_GETFL) | O_NONBLOCK);
  std::string line = std::string(request) + "\n";
  std::size_t sent = 0;
  int send_error = 0;
  while (sent < line.size()) {
    if (!wait(POLLOUT)) {
      return core::Fail(ErrorCode::kTempFail, "{}: timed out sending the request", socket_path);
    }
    ssize_t n = ::send(connected.fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      // The server may have answered without reading ("ERR busy") and hung up: read it.
      send_error = errno;
      break;
    }
    if (n < 0) {
      return core::Fail(core::ErrnoError(ErrorCode::kIo, fmt::format("send to {}", socket_path),
                                         errno));
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  while (reply.find('\n') == std::string::npos) {
    if (send_error != 0 && reply.empty()) {
      char peek;
      if (::recv(connected.fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
        return core::Fail(core::ErrnoError(ErrorCode::kIo,
                                           fmt::format("send to {}", socket_path), send_error));
      }
    }
    if (reply.size() > kMaxRequestBytes) {
      return core::Fail(ErrorCode::kTempFail, "{}: reply too long", socket_path);
    }
    if (!wait(POLLIN)) {
      return core::Fail(ErrorCode::kTempFail, "{}: no reply within {} ms", socket_path,
                        timeout.count());
    }
    char buffer[256];
    ssize_t n = ::recv(connected.fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) {
      return core::Fail(core::ErrnoError(ErrorCode::kIo,
                                         fmt::format("receive from {}", socket_path), errno));
    }
    if (n == 0) {
      return core::Fail(ErrorCode::kTempFail, "{}: connection closed without a reply",
                        socket_path);
    }
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  reply.resize(reply.find('\n'));
  if (reply.ends_with('\r')) reply.pop_back();
  if (reply == "OK") return std::string();
  if (reply.starts_with("OK ")) return reply.substr(3);
  if (reply.starts_with("ERR ")) return core::Fail(ErrorCode::kInvalid, "{}", reply.substr(4));
  return core::Fail(ErrorCode::kTempFail, "{}: unexpected reply \"{}\"", socket_path,
                    Printable(reply));
}

}  // namespace moat::mta
