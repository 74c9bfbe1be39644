// smtpd_test_support.h - what the smtpd tests share: a MessageAcceptor that stores every message
// durably in a temporary directory (so a 250 in these tests means what it means in production:
// the file and its directory entry were fsynced), and a harness that builds a snapshot from
// main.cf/master.cf text and runs moat-mta's SmtpdServer in process on loopback ports.
//
// Clients connect from any 127.0.0.0/8 address (ConnectFrom), so "outside mynetworks" is real:
// the tests set mynetworks = 127.0.0.1/32 and connect from 127.0.0.2.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/durable_file.h"
#include "mta/incoming_message.h"
#include "mta/mta_parameters.h"
#include "mta/mta_snapshot.h"
#include "mta/smtpd_server.h"
#include "tests/core/smtp_test_helpers.h"
#include "tests/support/test_support.h"

namespace moat::mta::testing {

using moat::core::testing::IoThread;
using moat::core::testing::RawClient;

// Stores each accepted message as <dir>/<queue id> (envelope lines, a blank line, the content),
// written atomically and fsynced with its directory before Accept() returns.
class DurableTestAcceptor final : public MessageAcceptor {
 public:
  explicit DurableTestAcceptor(std::string directory) : directory_(std::move(directory)) {}

  asio::awaitable<core::Result<AcceptResult>> Accept(IncomingMessage message) override {
    if (fail_next_.exchange(false)) {
      co_return core::Fail(core::ErrorCode::kIo, "injected queue failure");
    }
    AcceptResult result;
    if (message.actions.discard) {
      result.discarded = true;
      Record(std::move(message), "");
      co_return result;
    }
    result.queue_id = fmt::format("T{:06X}", next_id_.fetch_add(1));
    std::string file = fmt::format("X-Envelope-From: <{}>\n", message.envelope.mail.sender);
    for (const auto& rcpt : message.envelope.recipients) {
      file += fmt::format("X-Envelope-To: <{}>\n", rcpt.recipient);
    }
    file += "\n" + message.content;
    auto status = core::WriteFileAtomically(directory_ + "/" + result.queue_id, file, 0600);
    if (!status) co_return std::unexpected(status.error());
    Record(std::move(message), result.queue_id);
    co_return result;
  }

  struct Stored {
    std::string queue_id;  // empty when discarded
    IncomingMessage message;
  };
  std::vector<Stored> Messages() {
    std::lock_guard lock(mutex_);
    return stored_;
  }
  std::size_t Count() {
    std::lock_guard lock(mutex_);
    return stored_.size();
  }
  void FailNext() { fail_next_ = true; }
  const std::string& directory() const { return directory_; }

 private:
  void Record(IncomingMessage message, std::string queue_id) {
    std::lock_guard lock(mutex_);
    stored_.push_back({std::move(queue_id), std::move(message)});
  }

  std::string directory_;
  std::atomic<int> next_id_{1};
  std::atomic<bool> fail_next_{false};
  std::mutex mutex_;
  std::vector<Stored> stored_;
};

inline asio::awaitable<core::Status> StartServer(SmtpdServer* server,
                                                 std::shared_ptr<const MtaSnapshot> snapshot) {
  co_return server->Start(std::move(snapshot));
}

inline asio::awaitable<core::Status> ReloadServer(SmtpdServer* server,
                                                  std::shared_ptr<const MtaSnapshot> snapshot) {
  auto status = co_await server->Reload(std::move(snapshot));
  co_return status;
}

inline asio::awaitable<void> StopServer(SmtpdServer* server) {
  co_await server->Stop(std::chrono::seconds(5));
}

// A TCP connection from `local_address` (any 127.0.0.0/8 address) to 127.0.0.1:port.
inline int ConnectFrom(const std::string& local_address, int port) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.open(asio::ip::tcp::v4());
  socket.bind(asio::ip::tcp::endpoint(asio::ip::make_address(local_address), 0));
  socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                         static_cast<unsigned short>(port)));
  return socket.release();
}

// The configuration directory, the server and the acceptor of one test.
class SmtpdHarness {
 public:
  SmtpdHarness() : store_(dir_.Path("accepted")) {
    auto status = core::EnsureDirectory(store_);
    if (!status) throw std::runtime_error(status.error().message());
    acceptor_ = std::make_shared<DurableTestAcceptor>(store_);
  }
  ~SmtpdHarness() { Stop(); }

  moat::testing::TempDir& dir() { return dir_; }
  DurableTestAcceptor& acceptor() { return *acceptor_; }
  SmtpdServer& server() { return *server_; }
  IoThread& io() { return io_; }

  // Writes a file into the configuration directory.
  std::string Write(const std::string& name, const std::string& content) {
    return dir_.WriteFile(name, content);
  }

  // Builds a snapshot of the directory's main.cf and master.cf; empty on success, else the error.
  std::string Build(std::shared_ptr<const MtaSnapshot>& out,
                    std::vector<std::string> overrides = {}) {
    try {
      MtaConfig config = LoadMtaConfig({dir_.path(), "main.cf", std::move(overrides)});
      auto snapshot = BuildMtaSnapshot(config);
      if (!snapshot) return snapshot.error().message();
      out = *snapshot;
      return "";
    } catch (const core::ConfigError& e) {
      return e.location().ToString() + ": " + e.message();
    }
  }

  // Builds and starts; empty on success, else the error.
  std::string Start(std::vector<std::string> overrides = {}) {
    std::shared_ptr<const MtaSnapshot> snapshot;
    std::string error = Build(snapshot, std::move(overrides));
    if (!error.empty()) return error;
    server_ = std::make_unique<SmtpdServer>(io_.io(), acceptor_);
    auto status = io_.Run(StartServer(server_.get(), snapshot));
    return status ? "" : status.error().message();
  }

  std::string Reload() {
    std::shared_ptr<const MtaSnapshot> snapshot;
    std::string error = Build(snapshot);
    if (!error.empty()) return error;
    auto status = io_.Run(ReloadServer(server_.get(), snapshot));
    return status ? "" : status.error().message();
  }

  void Stop() {
    if (!server_) return;
    io_.Run(StopServer(server_.get()));
    server_.reset();
  }

 private:
  moat::testing::TempDir dir_;
  std::string store_;
  std::shared_ptr<DurableTestAcceptor> acceptor_;
  IoThread io_{2};
  std::unique_ptr<SmtpdServer> server_;
};

// A dialogue: sends `line` + CRLF and returns the reply ("" on EOF/timeout).
inline std::string Say(RawClient& client, const std::string& line) {
  client.Send(line + "\r\n");
  return client.ReadReply();
}

inline int Code(const std::string& reply) {
  return reply.size() >= 3 && reply[0] >= '2' && reply[0] <= '5' ? std::stoi(reply.substr(0, 3))
                                                                  : 0;
}

// Opens a session from `from` and reads the greeting; EHLO `helo` unless empty.
inline std::unique_ptr<RawClient> Open(int port, const std::string& from = "127.0.0.1",
                                       const std::string& helo = "client.example.org") {
  auto client = std::make_unique<RawClient>(ConnectFrom(from, port));
  client->ReadReply();
  if (!helo.empty()) Say(*client, "EHLO " + helo);
  return client;
}

// Options for RunCommand: stdin and a deadline.
inline moat::testing::CommandOptions Input(std::string stdin_data,
                                           std::chrono::milliseconds timeout) {
  moat::testing::CommandOptions options;
  options.stdin_data = std::move(stdin_data);
  options.timeout = timeout;
  return options;
}

inline const char* kTestMessage =
    "From: a@example.org\r\nTo: b@example.test\r\nSubject: test\r\n\r\nHello.\r\n";

}  // namespace moat::mta::testing
