// delivery_fixture.h - what the delivery tests share: Postfix's smtp-sink on any loopback address
// (SMTP, LMTP with -L, TCP or a unix socket, messages dumped with -d), an io thread, a DNS
// resolver pointed at a test DNS server, and a helper that runs one delivery to completion.
#pragma once

#include <sys/stat.h>

#include <asio.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/dns_resolver.h"
#include "mta/delivery_agents.h"
#include "tests/core/smtp_test_helpers.h"
#include "tests/mta/routing_fixture.h"
#include "tests/support/test_support.h"

namespace moat::mta::testing {

// True once something accepts TCP connections on host:port.
inline bool WaitForListener(const std::string& host, int port,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return moat::testing::WaitUntil(
      [&] {
        asio::io_context io;
        asio::ip::tcp::socket socket(io);
        asio::error_code error;
        socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address(host),
                                               static_cast<unsigned short>(port)),
                       error);
        return !error;
      },
      timeout);
}

class SmtpSink {
 public:
  // `listen` is "127.0.0.2:2525" or "unix:/path".
  SmtpSink(const moat::testing::TempDir& dir, const std::string& name, const std::string& listen,
           std::vector<std::string> flags = {})
      : dump_(dir.Path(name + "-dump")) {
    std::filesystem::create_directories(dump_);
    ::chmod(dir.path().c_str(), 0755);
    ::chmod(dump_.c_str(), 0777);
    std::vector<std::string> argv = {"smtp-sink", "-u", "nobody", "-v", "-d", dump_ + "/%M."};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(listen);
    argv.push_back("32");
    std::string logs = dir.Path(name + "-logs");
    std::filesystem::create_directories(logs);
    process_ = std::make_unique<moat::testing::Subprocess>(argv, logs);
    if (listen.starts_with("unix:")) {
      std::string path = listen.substr(5);
      ready_ = moat::testing::WaitUntil([&] { return std::filesystem::exists(path); });
    } else {
      size_t colon = listen.rfind(':');
      ready_ = WaitForListener(listen.substr(0, colon), std::stoi(listen.substr(colon + 1)));
    }
  }
  bool ready() const { return ready_; }
  std::string conversation() { return process_->Stdout() + process_->Stderr(); }

  // The dumped messages once `count` are complete.
  std::vector<std::string> Dumps(std::size_t count) {
    std::vector<std::string> dumps;
    moat::testing::WaitUntil([&] {
      dumps.clear();
      for (const auto& entry : std::filesystem::recursive_directory_iterator(dump_)) {
        if (!entry.is_regular_file()) continue;
        std::string text = moat::testing::ReadTextFile(entry.path());
        if (text.size() < 2 || text.substr(text.size() - 2) != "\n\n") return false;
        dumps.push_back(text);
      }
      return dumps.size() >= count;
    });
    return dumps;
  }
  std::size_t DumpCount() {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dump_)) {
      n += entry.is_regular_file() ? 1 : 0;
    }
    return n;
  }

 private:
  std::string dump_;
  std::unique_ptr<moat::testing::Subprocess> process_;
  bool ready_ = false;
};

inline constexpr const char* kDeliveryTestMessage =
    "From: sender@example.org\r\nTo: user@example.test\r\nSubject: delivery test\r\n"
    "Message-ID: <delivery-test@example.org>\r\n\r\nHello.\r\n.leading dot\r\n";

inline DeliveryRequest MakeRequest(const std::vector<std::string>& recipients,
                                   const std::string& sender = "sender@example.org") {
  DeliveryRequest request;
  request.queue_id = "4ABCDEF";
  request.mail.sender = sender;
  std::uint32_t index = 0;
  for (const std::string& r : recipients) {
    DeliveryRecipient recipient;
    recipient.rcpt.recipient = r;
    recipient.index = index++;
    request.recipients.push_back(recipient);
  }
  request.content = std::make_shared<const std::string>(kDeliveryTestMessage);
  request.arrival = std::chrono::system_clock::now();
  return request;
}

// Agents on an io thread, with a DNS resolver pointed at `dns_servers`.
class DeliveryHarness {
 public:
  DeliveryHarness(const RoutingFixture& fixture, std::vector<std::string> dns_servers = {},
                  std::uint64_t seed = 1)
      : io_(2), strand_(asio::make_strand(io_.io())) {
    core::DnsResolverOptions options;
    options.servers = std::move(dns_servers);
    options.query_timeout = std::chrono::milliseconds(3000);
    options.attempt_timeout = std::chrono::milliseconds(1000);
    options.attempts = 1;
    auto dns = core::DnsResolver::Create(strand_, options);
    if (dns) dns_ = std::move(*dns);
    SmtpAgentOptions agent;
    agent.random_seed = seed;
    agents_ = std::make_unique<DeliveryAgents>(strand_, fixture.shared_catalog(), dns_.get(),
                                               agent);
  }
  ~DeliveryHarness() {
    io_.Run(agents_->Shutdown());
    auto dns = std::move(dns_);
    // The resolver is destroyed on its executor.
    asio::post(strand_, asio::use_future([d = std::move(dns)]() mutable { d.reset(); })).get();
  }

  DeliveryResult Deliver(const Resolution& route, const DeliveryRequest& request) {
    return io_.Run(agents_->Deliver(route, request));
  }
  DeliveryAgents& agents() { return *agents_; }
  core::DnsResolver* dns() { return dns_.get(); }
  core::testing::IoThread& io() { return io_; }
  asio::any_io_executor executor() { return strand_; }

 private:
  core::testing::IoThread io_;
  asio::any_io_executor strand_;
  std::unique_ptr<core::DnsResolver> dns_;
  std::unique_ptr<DeliveryAgents> agents_;
};

inline Resolution MustResolve(const RoutingFixture& fixture, const std::string& recipient,
                              const std::string& sender = "sender@example.org") {
  auto r = fixture.resolver().Resolve(sender, recipient);
  if (!r) throw std::runtime_error(r.error().ToString());
  return *r;
}

}  // namespace moat::mta::testing
