// smtp_listener_test.cc - accepting on TCP (IPv4, IPv6) and unix sockets, the session limit,
// graceful stop with and without a transaction in flight, counters.
#include "core/smtp_listener.h"

#include <gtest/gtest.h>
#include <sys/un.h>

#include <filesystem>

#include "tests/core/smtp_test_helpers.h"
#include "tests/support/test_support.h"

namespace moat::core {
namespace {

using namespace std::chrono_literals;
using testing::HandlerState;
using testing::IoThread;
using testing::RawClient;
using testing::ReplyCode;

class SmtpListenerTest : public ::testing::Test {
 protected:
  SmtpListenerTest() : io_(2), state_(std::make_shared<HandlerState>()) {
    options_.hostname = "mx.test";
  }

  std::unique_ptr<SmtpListener> MakeListener(std::size_t max_sessions = 100) {
    SmtpListenerOptions listener_options;
    listener_options.max_sessions = max_sessions;
    auto state = state_;
    return std::make_unique<SmtpListener>(
        io_.executor(), std::make_shared<SmtpServerOptions>(options_), listener_options,
        [state] { return std::make_unique<testing::RecordingHandler>(state); });
  }

  static int PortOf(const SmtpListener& listener) {
    auto addresses = listener.local_addresses();
    return addresses.empty() ? 0 : addresses.front().port;
  }

  void Stop(SmtpListener& listener, std::chrono::milliseconds grace) {
    io_.Run(listener.Stop(grace));
  }

  IoThread io_;
  SmtpServerOptions options_;
  std::shared_ptr<HandlerState> state_;
};

TEST_F(SmtpListenerTest, AcceptsOnIpv4Ipv6AndUnixSockets) {
  moat::testing::TempDir dir;
  auto listener = MakeListener();
  ASSERT_TRUE(listener->Listen(*ParseSmtpEndpoint("127.0.0.1:0")));
  bool have_ipv6 = listener->Listen(*ParseSmtpEndpoint("[::1]:0")).has_value();
  std::string path = dir.Path("lmtp.sock");
  ASSERT_TRUE(listener->Listen(*ParseSmtpEndpoint("unix:" + path)));
  listener->Start();

  auto addresses = listener->local_addresses();
  ASSERT_EQ(addresses.size(), have_ipv6 ? 3u : 2u);
  {
    RawClient client(testing::ConnectTcp("127.0.0.1", addresses[0].port));
    EXPECT_EQ(client.ReadReply(), "220 mx.test ESMTP Moat\r\n");
    client.Send("QUIT\r\n");
    EXPECT_EQ(ReplyCode(client.ReadReply()), 221);
  }
  if (have_ipv6) {
    RawClient client(testing::ConnectTcp("::1", addresses[1].port));
    EXPECT_EQ(ReplyCode(client.ReadReply()), 220);
  }
  {
    asio::io_context io;
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(path));
    RawClient client(socket.release());
    EXPECT_EQ(ReplyCode(client.ReadReply()), 220);
    client.Send("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    for (int code : {250, 250, 250, 354}) EXPECT_EQ(ReplyCode(client.ReadReply()), code);
    client.Send("via unix\r\n.\r\nQUIT\r\n");
    EXPECT_EQ(ReplyCode(client.ReadReply()), 250);
    EXPECT_EQ(ReplyCode(client.ReadReply()), 221);
  }
  ASSERT_TRUE(
      moat::testing::WaitUntil([&] { return state_->DisconnectCount() >= (have_ipv6 ? 3u : 2u); }));
  {
    std::lock_guard lock(state_->mutex);
    for (const auto& info : state_->disconnected) {
      if (info.unix_socket) {
        EXPECT_EQ(info.client_port, 0);
      } else {
        EXPECT_TRUE(info.client_address == "127.0.0.1" || info.client_address == "::1")
            << info.client_address;
        EXPECT_NE(info.client_port, 0);
      }
    }
  }
  Stop(*listener, 1s);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(listener->counters().accepted.load(), have_ipv6 ? 3u : 2u);
}

TEST_F(SmtpListenerTest, PortInUseIsAnIoError) {
  auto first = MakeListener();
  ASSERT_TRUE(first->Listen(*ParseSmtpEndpoint("127.0.0.1:0")));
  int port = PortOf(*first);
  auto second = MakeListener();
  auto status = second->Listen(*ParseSmtpEndpoint("127.0.0.1:" + std::to_string(port)));
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), ErrorCode::kIo);
}

TEST_F(SmtpListenerTest, RefusesAFileThatIsNotASocket) {
  moat::testing::TempDir dir;
  std::string path = dir.WriteFile("not-a-socket", "x");
  auto listener = MakeListener();
  auto status = listener->Listen(*ParseSmtpEndpoint("unix:" + path));
  ASSERT_FALSE(status.has_value());
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST_F(SmtpListenerTest, SessionsBeyondTheLimitGet421) {
  auto listener = MakeListener(2);
  ASSERT_TRUE(listener->Listen(*ParseSmtpEndpoint("127.0.0.1:0")));
  listener->Start();
  int port = PortOf(*listener);
  RawClient a(testing::ConnectTcp("127.0.0.1", port));
  RawClient b(testing::ConnectTcp("127.0.0.1", port));
  EXPECT_EQ(ReplyCode(a.ReadReply()), 220);
  EXPECT_EQ(ReplyCode(b.ReadReply()), 220);
  RawClient c(testing::ConnectTcp("127.0.0.1", port));
  EXPECT_EQ(c.ReadReply(), "421 4.3.2 mx.test Error: too many connections\r\n");
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(listener->counters().refused_busy.load(), 1u);
  EXPECT_EQ(listener->active_sessions(), 2u);
  a.Send("QUIT\r\n");
  EXPECT_EQ(ReplyCode(a.ReadReply()), 221);
  ASSERT_TRUE(moat::testing::WaitUntil([&] { return listener->active_sessions() == 1; }));
  RawClient d(testing::ConnectTcp("127.0.0.1", port));
  EXPECT_EQ(ReplyCode(d.ReadReply()), 220);
  Stop(*listener, 1s);
}

TEST_F(SmtpListenerTest, GracefulStopFinishesTransactionsInFlight) {
  auto listener = MakeListener();
  ASSERT_TRUE(listener->Listen(*ParseSmtpEndpoint("127.0.0.1:0")));
  listener->Start();
  int port = PortOf(*listener);
  RawClient idle(testing::ConnectTcp("127.0.0.1", port));
  RawClient busy(testing::ConnectTcp("127.0.0.1", port));
  EXPECT_EQ(ReplyCode(idle.ReadReply()), 220);
  EXPECT_EQ(ReplyCode(busy.ReadReply()), 220);
  busy.Send("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
  for (int code : {250, 250, 250}) EXPECT_EQ(ReplyCode(busy.ReadReply()), code);

  auto stopped = asio::co_spawn(io_.io(), listener->Stop(10s), asio::use_future);
  EXPECT_EQ(idle.ReadReply(), "421 4.3.2 mx.test Service shutting down\r\n");
  EXPECT_TRUE(idle.WaitClosed());
  EXPECT_EQ(stopped.wait_for(100ms), std::future_status::timeout);  // the busy one holds it
  busy.Send("DATA\r\n");
  EXPECT_EQ(ReplyCode(busy.ReadReply()), 354);
  busy.Send("last message\r\n.\r\n");
  EXPECT_EQ(ReplyCode(busy.ReadReply()), 250);
  EXPECT_EQ(ReplyCode(busy.ReadReply()), 421);
  EXPECT_TRUE(busy.WaitClosed());
  EXPECT_EQ(stopped.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(state_->MessageCount(), 1u);
  EXPECT_EQ(listener->active_sessions(), 0u);
  // No longer accepting.
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  asio::error_code error;
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, error);
  EXPECT_TRUE(error);
}

TEST_F(SmtpListenerTest, StopDeadlineClosesStalledSessions) {
  auto listener = MakeListener();
  ASSERT_TRUE(listener->Listen(*ParseSmtpEndpoint("127.0.0.1:0")));
  listener->Start();
  RawClient stalled(testing::ConnectTcp("127.0.0.1", PortOf(*listener)));
  EXPECT_EQ(ReplyCode(stalled.ReadReply()), 220);
  stalled.Send("EHLO x\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_EQ(ReplyCode(stalled.ReadReply()), 250);
  EXPECT_EQ(ReplyCode(stalled.ReadReply()), 250);
  Stop(*listener, 200ms);
  EXPECT_TRUE(stalled.WaitClosed(2s));
  EXPECT_EQ(listener->active_sessions(), 0u);
  auto events = state_->Events();
  EXPECT_NE(std::find(events.begin(), events.end(), "aborted"), events.end());
}

TEST_F(SmtpListenerTest, NewOptionsApplyToNewSessions) {
  auto listener = MakeListener();
  ASSERT_TRUE(listener->Listen(*ParseSmtpEndpoint("127.0.0.1:0")));
  listener->Start();
  auto changed = std::make_shared<SmtpServerOptions>(options_);
  changed->hostname = "reloaded.test";
  listener->SetSessionOptions(changed);
  RawClient client(testing::ConnectTcp("127.0.0.1", PortOf(*listener)));
  EXPECT_EQ(client.ReadReply(), "220 reloaded.test ESMTP Moat\r\n");
  Stop(*listener, 1s);
}

}  // namespace
}  // namespace moat::core
