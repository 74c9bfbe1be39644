// qmgr_control_test.cc - the queue manager's control socket on a real unix-domain socket:
// its line protocol (requests, refusals, bounded lines, idle clients), how it claims the socket
// path (mode, stale sockets, a live server, not a socket), and the client's errors.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "mta/qmgr_control.h"
#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

using namespace std::chrono_literals;

struct Recorded {
  std::mutex mutex;
  std::vector<std::optional<std::string>> flushes;
  std::atomic<int> wakeups{0};
};

asio::awaitable<std::size_t> RecordFlush(Recorded* recorded, std::optional<std::string> site) {
  std::lock_guard lock(recorded->mutex);
  recorded->flushes.push_back(site);
  co_return recorded->flushes.size();
}

// A raw client: connects, sends `bytes` (maybe without a newline), and reads until the server
// closes or 5 s pass; nullopt when it could not connect.
std::optional<std::string> RawExchange(const std::string& path, const std::string& bytes,
                                       bool* closed = nullptr) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  if (!bytes.empty()) (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string reply;
  bool eof = false;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    char buffer[256];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      eof = n == 0 || errno == ECONNRESET;
      break;
    }
    reply.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  if (closed != nullptr) *closed = eof;
  return reply;
}

class QueueControlTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = QueueControlSocketPath(dir_.Path("queue")); }
  void TearDown() override { StopIo(); }

  QueueControlActions Actions() {
    QueueControlActions actions;
    actions.wakeup = [this] { ++recorded_.wakeups; };
    actions.flush = [this](std::optional<std::string> site) {
      return RecordFlush(&recorded_, std::move(site));
    };
    actions.site_allowed = [](std::string_view domain) -> core::Result<bool> {
      if (domain == "broken.test") return core::Fail(core::ErrorCode::kIo, "table unreadable");
      return domain == "example.test" || domain == "Example.TEST";
    };
    return actions;
  }
  core::Result<std::unique_ptr<QueueControlServer>> Start(QueueControlOptions options = {}) {
    options.socket_path = path_;
    return QueueControlServer::Start(io_, options, Actions());
  }
  void RunIo() {
    runner_ = std::thread([this] { io_.run(); });
  }
  void StopIo() {
    guard_.reset();
    io_.stop();
    if (runner_.joinable()) runner_.join();
  }

  moat::testing::TempDir dir_;
  std::string path_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  std::thread runner_;
  Recorded recorded_;
};

TEST_F(QueueControlTest, AnswersEachRequestOnItsOwnConnection) {
  auto server = Start();
  ASSERT_TRUE(server) << server.error().ToString();
  RunIo();
  EXPECT_EQ(SendQueueControlRequest(path_, "WAKEUP", 5s), "");
  EXPECT_EQ(recorded_.wakeups.load(), 1);
  EXPECT_EQ(SendQueueControlRequest(path_, "flush", 5s), "1");  // words are case-insensitive
  EXPECT_EQ(SendQueueControlRequest(path_, "FLUSH example.test", 5s), "2");
  // CRLF and extra blanks are fine; the domain goes on as given (the list's lookup folds case).
  EXPECT_EQ(RawExchange(path_, "Flush  Example.TEST \r\n"), "OK 3\n");

  auto refused = [&](const std::string& request, const std::string& text) {
    auto reply = SendQueueControlRequest(path_, request, 5s);
    ASSERT_FALSE(reply) << request;
    EXPECT_EQ(reply.error().code(), core::ErrorCode::kInvalid);
    EXPECT_NE(reply.error().message().find(text), std::string::npos)
        << request << ": " << reply.error().message();
  };
  refused("FLUSH other.test", "other.test: not eligible for flush (fast_flush_domains)");
  refused("FLUSH broken.test", "lookup failed: table unreadable");
  refused("FLUSH bad..domain", "bad domain");
  refused("FLUSH a b", "bad domain");
  refused("WAKEUP now", "unknown request");
  refused("HELLO", "unknown request \"HELLO\"");
  refused("", "unknown request");
  {
    std::lock_guard lock(recorded_.mutex);
    ASSERT_EQ(recorded_.flushes.size(), 3u);
    EXPECT_EQ(recorded_.flushes[0], std::nullopt);
    EXPECT_EQ(recorded_.flushes[1], "example.test");
    EXPECT_EQ(recorded_.flushes[2], "Example.TEST");
  }
  EXPECT_EQ(recorded_.wakeups.load(), 1);
}

TEST_F(QueueControlTest, BoundsLinesAndIdleClients) {
  QueueControlOptions options;
  options.request_timeout = 200ms;
  auto server = Start(options);
  ASSERT_TRUE(server) << server.error().ToString();
  RunIo();
  // A line longer than the limit, with or without its newline, is refused.
  EXPECT_EQ(RawExchange(path_, std::string(kMaxRequestBytes + 100, 'A')),
            "ERR request too long\n");
  EXPECT_EQ(RawExchange(path_, std::string(kMaxRequestBytes + 100, 'A') + "\n"),
            "ERR request too long\n");
  // Binary junk gets a printable refusal.
  auto junk = RawExchange(path_, std::string("\x1b[2J\x00\xff", 6) + "\n");
  ASSERT_TRUE(junk);
  EXPECT_TRUE(junk->starts_with("ERR unknown request")) << *junk;
  for (char c : *junk) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << int(c);
  // A client that says nothing is disconnected without a reply.
  bool closed = false;
  EXPECT_EQ(RawExchange(path_, "", &closed), "");
  EXPECT_TRUE(closed);
  // And the server goes on serving.
  EXPECT_EQ(SendQueueControlRequest(path_, "WAKEUP", 5s), "");
}

TEST_F(QueueControlTest, RefusesClientsBeyondTheLimit) {
  QueueControlOptions options;
  options.max_connections = 1;
  auto server = Start(options);
  ASSERT_TRUE(server) << server.error().ToString();
  RunIo();
  int idle = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  auto busy = SendQueueControlRequest(path_, "WAKEUP", 5s);
  ::close(idle);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().message(), "busy");
  EXPECT_TRUE(moat::testing::WaitUntil(
      [&] { return SendQueueControlRequest(path_, "WAKEUP", 5s).has_value(); }, 5s));
}

TEST_F(QueueControlTest, ClaimsTheSocketPath) {
  // Stale: a socket file nobody listens on (a moat-mta that was killed) is replaced.
  std::filesystem::create_directories(dir_.Path("queue/public"));
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::close(fd);
  }
  auto server = Start();
  ASSERT_TRUE(server) << server.error().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  RunIo();
  EXPECT_EQ(SendQueueControlRequest(path_, "WAKEUP", 5s), "");

  // Live: a second server on the same path refuses, and leaves the first one's socket alone.
  asio::io_context other;
  QueueControlOptions options;
  options.socket_path = path_;
  auto second = QueueControlServer::Start(other, options, Actions());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("another moat-mta is running"), std::string::npos);
  EXPECT_EQ(SendQueueControlRequest(path_, "WAKEUP", 5s), "");

  // Stopped: the socket is gone and the client says nobody listens.
  (*server)->Stop();
  EXPECT_FALSE(std::filesystem::exists(path_));
  auto down = SendQueueControlRequest(path_, "WAKEUP", 5s);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), core::ErrorCode::kNotFound);
  EXPECT_EQ(down.error().message(),
            "moat-mta is not running: cannot connect to " + path_ +
                ": No such file or directory");
}

TEST_F(QueueControlTest, RefusesWhatIsNotASocketAndOverlongPaths) {
  dir_.WriteFile("queue/public/qmgr", "a file");
  auto server = Start();
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().message().find("exists and is not a socket"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(path_));  // not removed

  QueueControlOptions options;
  options.socket_path = dir_.Path(std::string(120, 'x'));
  auto long_path = QueueControlServer::Start(io_, options, Actions());
  ASSERT_FALSE(long_path);
  EXPECT_EQ(long_path.error().code(), core::ErrorCode::kInvalid);
  auto client = SendQueueControlRequest(options.socket_path, "WAKEUP", 1s);
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().message().find("path too long"), std::string::npos);
}

TEST(FlushSiteTest, DomainSyntax) {
  for (const char* good : {"example.test", "Mail-1.Example.TEST", "a", "[192.0.2.1]",
                           "[IPv6:2001:db8::1]", "under_score.test"}) {
    EXPECT_TRUE(IsValidFlushSite(good)) << good;
  }
  for (const char* bad : {"", ".example.test", "a..b", "a b", "a/b", "[]", "[x]", "-a.test",
                          "user@example.test"}) {
    EXPECT_FALSE(IsValidFlushSite(bad)) << bad;
  }
  EXPECT_FALSE(IsValidFlushSite(std::string(254, 'a')));
}

}  // namespace
}  // namespace moat::mta
