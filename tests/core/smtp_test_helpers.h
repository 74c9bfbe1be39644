// smtp_test_helpers.h - what the SMTP/LMTP wire tests share: an io_context on a background
// thread, a handler that records what it is given and refuses recipients by name, and a blocking
// raw client that speaks bytes, so dialogue scripts are exact.
//
// RecordingHandler's policy, by recipient local part:
//   reject*    RCPT 550 5.1.1          tempfail*  RCPT 450 4.2.1
//   lmtpfail*  after DATA 452 4.2.2    lmtpreject*  after DATA 554 5.7.1 (per recipient in LMTP)
// and by sender: "drop*" makes OnMessage answer 421 (close), "noreplies*" returns no reply at all
// (a handler bug the session must turn into 451).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/smtp_handler.h"
#include "core/smtp_session.h"
#include "tests/support/test_support.h"

namespace moat::core::testing {

// GCC 12 false positive on asio's coroutine frame allocator (see smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

class IoThread {
 public:
  explicit IoThread(int threads = 1) : guard_(asio::make_work_guard(io_)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~IoThread() {
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context& io() { return io_; }
  asio::any_io_executor executor() { return io_.get_executor(); }

  // Runs an awaitable to completion on the io thread and returns its value.
  template <typename T>
  T Run(asio::awaitable<T> task) {
    auto future = asio::co_spawn(io_, std::move(task), asio::use_future);
    return future.get();
  }
  void Run(asio::awaitable<void> task) {
    auto future = asio::co_spawn(io_, std::move(task), asio::use_future);
    future.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

struct ReceivedMessage {
  SmtpEnvelope envelope;
  XforwardAttributes xforward;
  std::string helo;
  std::string auth_user;
  bool tls = false;
  std::string message;
};

struct HandlerState {
  std::mutex mutex;
  std::vector<ReceivedMessage> messages;
  std::vector<std::string> events;            // "connect", "mail:<a>", "aborted", "disconnect", ...
  std::vector<SmtpSessionInfo> disconnected;  // info at disconnect
  std::shared_ptr<asio::ssl::context> tls_context;
  bool offer_auth = false;
  bool auth_requires_tls = true;
  bool allow_xforward = false;
  std::string user = "alice";
  std::string password = "secret";
  SmtpReply connect_reply;
  std::chrono::milliseconds message_delay{0};

  void Event(std::string event) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(event));
  }
  std::vector<std::string> Events() {
    std::lock_guard lock(mutex);
    return events;
  }
  std::vector<ReceivedMessage> Messages() {
    std::lock_guard lock(mutex);
    return messages;
  }
  std::size_t MessageCount() {
    std::lock_guard lock(mutex);
    return messages.size();
  }
  std::size_t DisconnectCount() {
    std::lock_guard lock(mutex);
    return disconnected.size();
  }
};

inline bool StartsWith(const std::string& text, std::string_view prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

class RecordingHandler : public SmtpHandler {
 public:
  explicit RecordingHandler(std::shared_ptr<HandlerState> state) : state_(std::move(state)) {}

  asio::awaitable<SmtpReply> OnConnect(const SmtpSessionInfo&) override {
    state_->Event("connect");
    co_return state_->connect_reply;
  }
  asio::awaitable<SmtpReply> OnHelo(const SmtpSessionInfo&, const std::string& helo) override {
    state_->Event("helo:" + helo);
    co_return SmtpReply();
  }
  std::shared_ptr<asio::ssl::context> TlsContext(const SmtpSessionInfo&) override {
    return state_->tls_context;
  }
  bool OfferAuth(const SmtpSessionInfo& info) override {
    return state_->offer_auth && (!state_->auth_requires_tls || info.tls.has_value());
  }
  bool AllowXforward(const SmtpSessionInfo&) override { return state_->allow_xforward; }
  asio::awaitable<SmtpReply> OnAuth(const SmtpSessionInfo&, const SaslCredentials& c) override {
    state_->Event("auth:" + c.mechanism + ":" + c.username);
    if (c.username == state_->user && c.password == state_->password) co_return SmtpReply();
    co_return SmtpReply(535, "5.7.8", "Error: authentication failed");
  }
  asio::awaitable<SmtpReply> OnMail(const SmtpSessionInfo&, const MailParams& mail) override {
    state_->Event("mail:" + mail.sender);
    co_return SmtpReply();
  }
  asio::awaitable<SmtpReply> OnRcpt(const SmtpSessionInfo&, const SmtpEnvelope&,
                                    const RcptParams& rcpt) override {
    state_->Event("rcpt:" + rcpt.recipient);
    if (StartsWith(rcpt.recipient, "reject")) {
      co_return SmtpReply(550, "5.1.1",
                          "<" + rcpt.recipient + ">: Recipient address rejected: User unknown");
    }
    if (StartsWith(rcpt.recipient, "tempfail")) {
      co_return SmtpReply(450, "4.2.1", "<" + rcpt.recipient + ">: try again later");
    }
    co_return SmtpReply();
  }
  asio::awaitable<std::vector<SmtpReply>> OnMessage(const SmtpSessionInfo& info,
                                                    const SmtpEnvelope& envelope,
                                                    std::string& message) override {
    if (state_->message_delay.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, state_->message_delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (StartsWith(envelope.mail.sender, "drop")) {
      co_return std::vector<SmtpReply>{SmtpReply(421, "4.3.0", "going away")};
    }
    if (StartsWith(envelope.mail.sender, "noreplies")) co_return std::vector<SmtpReply>{};
    ReceivedMessage received;
    received.envelope = envelope;
    received.xforward = info.xforward;
    received.helo = info.helo;
    received.auth_user = info.auth_user;
    received.tls = info.tls.has_value();
    received.message = std::move(message);
    {
      std::lock_guard lock(state_->mutex);
      state_->messages.push_back(std::move(received));
      state_->events.push_back("message");
    }
    std::vector<SmtpReply> replies;
    for (const auto& rcpt : envelope.recipients) {
      if (StartsWith(rcpt.recipient, "lmtpfail")) {
        replies.emplace_back(452, "4.2.2", "<" + rcpt.recipient + ">: mailbox full");
      } else if (StartsWith(rcpt.recipient, "lmtpreject")) {
        replies.emplace_back(554, "5.7.1", "<" + rcpt.recipient + ">: refused");
      } else {
        replies.emplace_back(250, "2.0.0", "<" + rcpt.recipient + "> Ok: queued as TEST1");
      }
    }
    if (info.mode == SmtpMode::kSmtp) {
      replies.assign(1, SmtpReply(250, "2.0.0", "Ok: queued as TEST1"));
    }
    co_return replies;
  }
  void OnTransactionAborted(const SmtpSessionInfo&) override { state_->Event("aborted"); }
  void OnDisconnect(const SmtpSessionInfo& info) override {
    std::lock_guard lock(state_->mutex);
    state_->events.push_back("disconnect");
    state_->disconnected.push_back(info);
  }

 private:
  std::shared_ptr<HandlerState> state_;
};

// A blocking client on a raw socket: exact bytes out, replies in, with a deadline on every read.
class RawClient {
 public:
  explicit RawClient(int fd) : fd_(fd) {}
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // One complete reply ("250-a\r\n250 b\r\n"), or "" on EOF / timeout.
  std::string ReadReply(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string reply;
    while (true) {
      std::size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl + 1);
        buffer_.erase(0, nl + 1);
        reply += line;
        if (line.size() >= 4 && line[3] == ' ') return reply;
        if (line.size() < 4) return reply;
        continue;
      }
      if (!Fill(timeout)) return "";
    }
  }
  // One line without CRLF (server side of fake peers), or nullopt on EOF / timeout.
  std::optional<std::string> ReadLine(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    while (true) {
      std::size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (!Fill(timeout)) return std::nullopt;
    }
  }
  // Reads up to and including the line "." (a DATA body); nullopt on EOF / timeout.
  std::optional<std::string> ReadData(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string data;
    while (true) {
      auto line = ReadLine(timeout);
      if (!line) return std::nullopt;
      if (*line == ".") return data;
      data += *line + "\r\n";
    }
  }
  int ReadCode(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string reply = ReadReply(timeout);
    return reply.size() >= 3 ? std::stoi(reply.substr(0, 3)) : 0;
  }
  // True when the server closed the connection within `timeout` (pending replies are skipped).
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      buffer_.clear();
      if (!Fill(std::chrono::duration_cast<std::chrono::milliseconds>(
              deadline - std::chrono::steady_clock::now()))) {
        return eof_;
      }
    }
    return false;
  }
  bool eof() const { return eof_; }
  int fd() const { return fd_; }
  // Bytes the last Fill() got in one read().
  std::size_t last_read_size() const { return last_read_; }

 private:
  bool Fill(std::chrono::milliseconds timeout) {
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::max<long>(0, timeout.count())));
    if (ready <= 0) return false;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    last_read_ = static_cast<std::size_t>(n);
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::string buffer_;
  bool eof_ = false;
  std::size_t last_read_ = 0;
};

inline int ConnectTcp(const std::string& host, int port) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect(
      asio::ip::tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port)));
  return socket.release();
}

// A session on one end of a socketpair, the raw client on the other.
struct SessionPair {
  std::shared_ptr<SmtpSession> session;
  std::unique_ptr<RawClient> client;
  std::future<void> done;
};

inline SessionPair StartSessionPair(IoThread& io, std::shared_ptr<const SmtpServerOptions> options,
                                    std::shared_ptr<HandlerState> state,
                                    std::shared_ptr<SmtpServerCounters> counters = nullptr) {
  auto strand = asio::make_strand(io.io());
  asio::local::stream_protocol::socket server(strand);
  asio::local::stream_protocol::socket client(io.io());
  asio::local::connect_pair(server, client);
  SessionPair pair;
  pair.session = std::make_shared<SmtpSession>(
      SmtpStream::Socket(std::move(server)), std::move(options),
      std::make_unique<RecordingHandler>(state), 1, std::move(counters));
  pair.done = asio::co_spawn(strand, pair.session->Run(), asio::use_future);
  pair.client = std::make_unique<RawClient>(client.release());
  return pair;
}

}  // namespace moat::core::testing

namespace moat::core::testing {

// Runs a dialogue script: for each step, send the bytes, then expect one reply per code.
struct ScriptStep {
  std::string send;
  std::vector<int> codes;
};

inline int ReplyCode(const std::string& reply) {
  return reply.size() >= 3 && std::isdigit(static_cast<unsigned char>(reply[0]))
             ? std::stoi(reply.substr(0, 3))
             : 0;
}

// A TLS client over an already connected socket (after "220 Ready to start TLS").
class TlsLineClient {
 public:
  TlsLineClient(int fd, asio::ssl::context& context) : socket_(io_), stream_(socket_, context) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    socket_.assign(asio::generic::stream_protocol(address.ss_family, SOCK_STREAM), ::dup(fd));
  }
  // Empty on success, else the error.
  std::string Handshake() {
    asio::error_code error;
    stream_.handshake(asio::ssl::stream_base::client, error);
    return error ? error.message() : "";
  }
  bool Send(std::string_view data) {
    asio::error_code error;
    asio::write(stream_, asio::buffer(data), error);
    return !error;
  }
  std::string ReadReply() {
    std::string reply;
    while (true) {
      asio::error_code error;
      std::size_t n = asio::read_until(stream_, asio::dynamic_buffer(buffer_), "\n", error);
      if (error) return reply;
      std::string line = buffer_.substr(0, n);
      buffer_.erase(0, n);
      reply += line;
      if (line.size() < 4 || line[3] == ' ') return reply;
    }
  }
  std::string cipher() { return SSL_get_cipher_name(stream_.native_handle()); }

 private:
  asio::io_context io_;
  asio::generic::stream_protocol::socket socket_;
  asio::ssl::stream<asio::generic::stream_protocol::socket&> stream_;
  std::string buffer_;
};

}  // namespace moat::core::testing

namespace moat::core::testing {

struct TestCertificate {
  std::string cert_file;
  std::string key_file;
};

// A self-signed certificate for `name` (also valid for 127.0.0.1), made with the openssl command.
inline TestCertificate MakeTestCertificate(const moat::testing::TempDir& dir,
                                           const std::string& name = "localhost") {
  TestCertificate out{dir.Path(name + ".crt"), dir.Path(name + ".key")};
  auto result = moat::testing::RunCommand(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name + ",IP:127.0.0.1",
       "-days", "2", "-keyout", out.key_file, "-out", out.cert_file});
  if (result.exit_code != 0) throw std::runtime_error("openssl req failed: " + result.err);
  return out;
}

}  // namespace moat::core::testing
