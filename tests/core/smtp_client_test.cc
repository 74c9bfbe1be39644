// smtp_client_test.cc - the SMTP/LMTP client against our own server (per-recipient replies,
// pipelining, reuse, XFORWARD, TLS, AUTH, unix sockets) and against scripted fake servers that
// misbehave (lost connections, silence, garbage, refusals), where every failure must come back
// as a temporary failure and never as a success.
#include "core/smtp_client.h"

#include <gtest/gtest.h>

#include "core/smtp_listener.h"
#include "core/smtp_tls.h"
#include "tests/core/smtp_test_helpers.h"
#include "tests/support/test_support.h"

namespace moat::core {
namespace {

using namespace std::chrono_literals;
using testing::HandlerState;
using testing::IoThread;
using testing::RawClient;

RcptParams Rcpt(std::string address) {
  RcptParams rcpt;
  rcpt.recipient = std::move(address);
  return rcpt;
}

std::vector<int> Codes(const SmtpDeliveryResult& result) {
  std::vector<int> codes;
  for (const auto& reply : result.replies) codes.push_back(reply.code());
  return codes;
}

class SmtpClientTest : public ::testing::Test {
 protected:
  SmtpClientTest() : state_(std::make_shared<HandlerState>()) {
    server_options_.hostname = "mx.test";
  }
  ~SmtpClientTest() override {
    if (listener_) io_.Run(listener_->Stop(1s));
  }

  // Starts our server on a loopback port (or a unix socket when `unix_path` is set).
  SmtpEndpoint StartServer(const std::string& unix_path = "") {
    auto state = state_;
    listener_ = std::make_unique<SmtpListener>(
        io_.executor(), std::make_shared<SmtpServerOptions>(server_options_), SmtpListenerOptions{},
        [state] { return std::make_unique<testing::RecordingHandler>(state); });
    auto endpoint = *ParseSmtpEndpoint(unix_path.empty() ? "127.0.0.1:0" : "unix:" + unix_path);
    EXPECT_TRUE(listener_->Listen(endpoint).has_value());
    listener_->Start();
    if (!unix_path.empty()) return endpoint;
    return *ParseSmtpEndpoint("127.0.0.1:" + std::to_string(listener_->local_addresses()[0].port));
  }

  struct Outcome {
    SmtpReply connect;
    std::vector<SmtpDeliveryResult> results;
    std::optional<SmtpTlsInfo> tls;
  };

  // Connects, sends every transaction on the same connection, quits.
  Outcome Deliver(const SmtpEndpoint& peer, std::vector<SmtpTransaction> transactions) {
    return io_.Run([&]() -> asio::awaitable<Outcome> {
      Outcome outcome;
      SmtpClient client(io_.executor(), client_options_);
      outcome.connect = co_await client.Connect(peer);
      outcome.tls = client.tls();
      for (const auto& tx : transactions) outcome.results.push_back(co_await client.Send(tx));
      co_await client.Quit();
      co_return outcome;
    }());
  }

  SmtpTransaction Transaction(std::vector<std::string> recipients,
                              std::string_view message = "Subject: test\r\n\r\nhello\r\n") {
    SmtpTransaction tx;
    tx.mail.sender = "sender@example.com";
    for (auto& r : recipients) tx.recipients.push_back(Rcpt(std::move(r)));
    tx.message = message;
    return tx;
  }

  IoThread io_;
  SmtpServerOptions server_options_;
  SmtpClientOptions client_options_;
  std::shared_ptr<HandlerState> state_;
  std::unique_ptr<SmtpListener> listener_;
};

TEST_F(SmtpClientTest, PipelinedSmtpTransactionWithPerRecipientResults) {
  state_->allow_xforward = true;
  SmtpEndpoint peer = StartServer();
  const std::string message = "Subject: pipelined\n\n.leading dot\nline two\n";
  SmtpTransaction tx = Transaction(
      {"one@example.org", "reject@example.org", "tempfail@example.org", "two@example.org"},
      message);
  tx.mail.body = SmtpBodyType::k8BitMime;
  tx.mail.ret = DsnRet::kHeaders;
  tx.mail.envid = "ENV+1";
  tx.recipients[0].notify = dsn_notify::kFailure | dsn_notify::kDelay;
  tx.recipients[0].orcpt_type = "rfc822";
  tx.recipients[0].orcpt = "orig@example.org";
  tx.xforward.name = "client.example";
  tx.xforward.addr = "192.0.2.9";
  tx.xforward.proto = "ESMTP";
  tx.xforward.helo = "helo with space";
  tx.xforward.ident = "QUEUEID1";
  tx.xforward.source = "REMOTE";
  tx.xforward.port = "2525";

  Outcome outcome = Deliver(peer, {tx});
  ASSERT_TRUE(outcome.connect.positive()) << outcome.connect.ToString();
  ASSERT_EQ(outcome.results.size(), 1u);
  const auto& result = outcome.results[0];
  EXPECT_EQ(Codes(result), (std::vector<int>{250, 550, 450, 250}));
  EXPECT_EQ(result.replies[1].enhanced(), "5.1.1");
  EXPECT_EQ(result.replies[2].enhanced(), "4.2.1");
  EXPECT_EQ(result.data_reply.text(), "Ok: queued as TEST1");
  EXPECT_EQ(result.delivered(), 2u);
  EXPECT_FALSE(result.connection_failed);

  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  const auto& m = messages[0];
  EXPECT_EQ(m.message, "Subject: pipelined\r\n\r\n.leading dot\r\nline two\r\n");
  EXPECT_EQ(m.envelope.mail.sender, "sender@example.com");
  EXPECT_EQ(m.envelope.mail.size, message.size());
  EXPECT_EQ(m.envelope.mail.body, SmtpBodyType::k8BitMime);
  EXPECT_EQ(m.envelope.mail.ret, DsnRet::kHeaders);
  EXPECT_EQ(m.envelope.mail.envid, "ENV+1");
  ASSERT_EQ(m.envelope.recipients.size(), 2u);
  EXPECT_EQ(m.envelope.recipients[0], tx.recipients[0]);
  EXPECT_EQ(m.xforward, tx.xforward);
  ASSERT_TRUE(moat::testing::WaitUntil([&] { return state_->DisconnectCount() == 1; }));
  EXPECT_FALSE(state_->disconnected[0].improper_pipelining);
}

TEST_F(SmtpClientTest, LmtpGivesEachRecipientItsOwnReply) {
  server_options_.mode = SmtpMode::kLmtp;
  client_options_.mode = SmtpMode::kLmtp;
  SmtpEndpoint peer = StartServer();
  Outcome outcome =
      Deliver(peer, {Transaction({"ok@d", "lmtpfail@d", "reject@d", "lmtpreject@d", "ok2@d"})});
  ASSERT_TRUE(outcome.connect.positive()) << outcome.connect.ToString();
  const auto& result = outcome.results[0];
  EXPECT_EQ(Codes(result), (std::vector<int>{250, 452, 550, 554, 250}));
  EXPECT_EQ(result.replies[0].text(), "<ok@d> Ok: queued as TEST1");
  EXPECT_EQ(result.replies[4].text(), "<ok2@d> Ok: queued as TEST1");
  EXPECT_TRUE(result.data_reply.empty());
}

TEST_F(SmtpClientTest, LmtpOverAUnixSocket) {
  moat::testing::TempDir dir;
  server_options_.mode = SmtpMode::kLmtp;
  client_options_.mode = SmtpMode::kLmtp;
  SmtpEndpoint peer = StartServer(dir.Path("lmtp"));
  Outcome outcome = Deliver(peer, {Transaction({"a@d", "b@d"})});
  ASSERT_TRUE(outcome.connect.positive()) << outcome.connect.ToString();
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{250, 250}));
}

TEST_F(SmtpClientTest, ReusesTheConnectionAndRecoversFromRefusedTransactions) {
  SmtpEndpoint peer = StartServer();
  Outcome outcome = Deliver(peer, {Transaction({"a@d"}), Transaction({"reject@d", "tempfail@d"}),
                                   Transaction({"b@d", "c@d"})});
  ASSERT_EQ(outcome.results.size(), 3u);
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{250}));
  EXPECT_EQ(Codes(outcome.results[1]), (std::vector<int>{550, 450}));
  EXPECT_EQ(Codes(outcome.results[2]), (std::vector<int>{250, 250}));
  EXPECT_EQ(state_->MessageCount(), 2u);
  auto events = state_->Events();
  EXPECT_EQ(std::count(events.begin(), events.end(), "connect"), 1);
}

TEST_F(SmtpClientTest, WorksOneCommandAtATimeWithoutPipelining) {
  server_options_.pipelining = false;
  state_->allow_xforward = true;
  SmtpEndpoint peer = StartServer();
  SmtpTransaction tx = Transaction({"a@d", "reject@d", "b@d"});
  tx.xforward.addr = "192.0.2.1";
  tx.xforward.name = std::string(250, 'n');
  tx.xforward.helo = std::string(250, 'h');
  Outcome outcome = Deliver(peer, {tx, Transaction({"reject@d"})});
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{250, 550, 250}));
  EXPECT_EQ(Codes(outcome.results[1]), (std::vector<int>{550}));
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].xforward, tx.xforward);
  ASSERT_TRUE(moat::testing::WaitUntil([&] { return state_->DisconnectCount() == 1; }));
  EXPECT_FALSE(state_->disconnected[0].improper_pipelining);
}

TEST_F(SmtpClientTest, MessageOverTheServersSizeLimitIsRefusedBeforeSending) {
  server_options_.message_size_limit = 100;
  SmtpEndpoint peer = StartServer();
  std::string big(1000, 'x');
  Outcome outcome = Deliver(peer, {Transaction({"a@d", "b@d"}, big)});
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{552, 552}));
  EXPECT_EQ(outcome.results[0].replies[0].enhanced(), "5.3.4");
  auto events = state_->Events();
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const std::string& e) { return e.starts_with("mail:"); }),
            0);
}

TEST_F(SmtpClientTest, RefusedConnectionIsATemporaryFailureForEveryone) {
  int port = moat::testing::FreeTcpPort();
  SmtpEndpoint peer = *ParseSmtpEndpoint("127.0.0.1:" + std::to_string(port));
  Outcome outcome = Deliver(peer, {Transaction({"a@d", "b@d"})});
  EXPECT_EQ(outcome.connect.code(), 421);
  EXPECT_EQ(outcome.connect.enhanced(), "4.4.1");
  EXPECT_NE(outcome.connect.text().find("Connection refused"), std::string::npos)
      << outcome.connect.ToString();
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{421, 421}));
  EXPECT_TRUE(outcome.results[0].connection_failed);
}

TEST_F(SmtpClientTest, ReusedConnectionClosedByTheServerAsksForARetry) {
  server_options_.command_timeout = 100ms;
  SmtpEndpoint peer = StartServer();
  SmtpDeliveryResult second = io_.Run([&]() -> asio::awaitable<SmtpDeliveryResult> {
    SmtpClient client(io_.executor(), client_options_);
    co_await client.Connect(peer);
    SmtpTransaction first = Transaction({"a@d"});
    auto r = co_await client.Send(first);
    EXPECT_EQ(r.delivered(), 1u);
    // The server times the idle connection out.
    asio::steady_timer timer(io_.executor());
    while (state_->DisconnectCount() == 0) {
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    SmtpTransaction tx = Transaction({"b@d"});
    SmtpDeliveryResult result = co_await client.Send(tx);
    co_return result;
  }());
  EXPECT_EQ(Codes(second), (std::vector<int>{421}));
  EXPECT_TRUE(second.connection_failed);
  EXPECT_TRUE(second.retry_on_new_connection);
}

class SmtpClientTlsTest : public SmtpClientTest {
 protected:
  void SetUp() override {
    cert_ = testing::MakeTestCertificate(dir_);
    TlsServerSettings settings;
    settings.cert_file = cert_.cert_file;
    settings.key_file = cert_.key_file;
    auto context = MakeTlsServerContext(settings);
    ASSERT_TRUE(context.has_value()) << context.error().ToString();
    state_->tls_context = *context;
    state_->offer_auth = true;
  }
  std::shared_ptr<asio::ssl::context> TrustingContext() {
    TlsClientSettings settings;
    settings.ca_file = cert_.cert_file;
    settings.use_system_ca = false;
    auto context = MakeTlsClientContext(settings);
    EXPECT_TRUE(context.has_value());
    return *context;
  }

  moat::testing::TempDir dir_;
  testing::TestCertificate cert_;
};

TEST_F(SmtpClientTlsTest, EncryptPolicyUsesStartTls) {
  client_options_.tls = SmtpTlsPolicy::kEncrypt;
  SmtpEndpoint peer = StartServer();
  Outcome outcome = Deliver(peer, {Transaction({"a@d"})});
  ASSERT_TRUE(outcome.connect.positive()) << outcome.connect.ToString();
  ASSERT_TRUE(outcome.tls.has_value());
  EXPECT_FALSE(outcome.tls->cipher.empty());
  EXPECT_FALSE(outcome.tls->peer_verified);  // not asked to verify
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].tls);
}

TEST_F(SmtpClientTlsTest, VerifyPolicyChecksTheCertificateAndTheName) {
  client_options_.tls = SmtpTlsPolicy::kVerify;
  client_options_.tls_context = TrustingContext();
  client_options_.tls_server_name = "localhost";
  SmtpEndpoint peer = StartServer();
  Outcome good = Deliver(peer, {Transaction({"a@d"})});
  ASSERT_TRUE(good.connect.positive()) << good.connect.ToString();
  ASSERT_TRUE(good.tls.has_value());
  EXPECT_TRUE(good.tls->peer_verified);

  client_options_.tls_server_name = "wrong.example";
  Outcome bad = Deliver(peer, {Transaction({"a@d"})});
  EXPECT_EQ(bad.connect.code(), 421);
  EXPECT_EQ(bad.connect.enhanced(), "4.7.5") << bad.connect.ToString();
  EXPECT_EQ(Codes(bad.results[0]), (std::vector<int>{421}));

  client_options_.tls_context = nullptr;  // system CAs do not know our certificate
  client_options_.tls_server_name = "localhost";
  Outcome untrusted = Deliver(peer, {Transaction({"a@d"})});
  EXPECT_EQ(untrusted.connect.enhanced(), "4.7.5") << untrusted.connect.ToString();
  EXPECT_EQ(state_->MessageCount(), 1u);
}

TEST_F(SmtpClientTlsTest, RequiredTlsWithoutStartTlsIsATemporaryFailure) {
  state_->tls_context = nullptr;
  client_options_.tls = SmtpTlsPolicy::kEncrypt;
  SmtpEndpoint peer = StartServer();
  Outcome outcome = Deliver(peer, {Transaction({"a@d"})});
  EXPECT_EQ(outcome.connect.enhanced(), "4.7.4") << outcome.connect.ToString();
  EXPECT_EQ(state_->MessageCount(), 0u);

  client_options_.tls = SmtpTlsPolicy::kMay;  // opportunistic: plain text is fine
  Outcome plain = Deliver(peer, {Transaction({"a@d"})});
  EXPECT_TRUE(plain.connect.positive());
  EXPECT_FALSE(plain.tls.has_value());
  EXPECT_EQ(state_->MessageCount(), 1u);
}

TEST_F(SmtpClientTlsTest, AuthenticatesAfterStartTls) {
  client_options_.tls = SmtpTlsPolicy::kEncrypt;
  client_options_.auth = SaslCredentials{"", "", "alice", "secret"};
  SmtpEndpoint peer = StartServer();
  Outcome outcome = Deliver(peer, {Transaction({"a@d"})});
  ASSERT_TRUE(outcome.connect.positive()) << outcome.connect.ToString();
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].auth_user, "alice");

  client_options_.auth = SaslCredentials{"", "", "alice", "wrong"};
  Outcome refused = Deliver(peer, {Transaction({"a@d"})});
  EXPECT_EQ(refused.connect.code(), 454);
  EXPECT_EQ(refused.connect.enhanced(), "4.7.0");
  EXPECT_EQ(Codes(refused.results[0]), (std::vector<int>{454}));
}

// A fake server on a loopback port that plays `script` with each of its first `connections`
// clients in turn (the script gets the connection's index).
class FakeServer {
 public:
  explicit FakeServer(std::function<void(RawClient&)> script)
      : FakeServer([script = std::move(script)](RawClient& peer, int) { script(peer); }, 1) {}
  FakeServer(std::function<void(RawClient&, int)> script, int connections) {
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, script = std::move(script), connections] {
      for (int i = 0; i < connections; ++i) {
        asio::ip::tcp::socket socket(io_);
        asio::error_code error;
        acceptor_.accept(socket, error);
        if (error) return;
        RawClient peer(socket.release());
        script(peer, i);
      }
    });
  }
  ~FakeServer() {
    asio::error_code ignored;
    acceptor_.close(ignored);
    thread_.join();
  }
  SmtpEndpoint endpoint() const { return *ParseSmtpEndpoint("127.0.0.1:" + std::to_string(port_)); }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_{io_};
  int port_ = 0;
  std::thread thread_;
};

// Answers the greeting and EHLO (with PIPELINING), then reads the pipelined group.
void GreetAndReadGroup(RawClient& peer, int recipients) {
  peer.Send("220 fake ESMTP\r\n");
  peer.ReadLine();
  peer.Send("250-fake\r\n250 PIPELINING\r\n");
  for (int i = 0; i < recipients + 2; ++i) peer.ReadLine();  // MAIL, RCPTs, DATA
}

TEST_F(SmtpClientTest, LostConnectionAfterTheDotIsATempFailureNotASuccess) {
  FakeServer server([](RawClient& peer) {
    GreetAndReadGroup(peer, 2);
    peer.Send("250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n");
    peer.ReadData();
    // ... and hang up without the final reply.
  });
  Outcome outcome = Deliver(server.endpoint(), {Transaction({"a@d", "b@d"})});
  ASSERT_TRUE(outcome.connect.positive());
  const auto& result = outcome.results[0];
  EXPECT_EQ(Codes(result), (std::vector<int>{421, 550}));
  EXPECT_EQ(result.replies[0].enhanced(), "4.4.2");
  EXPECT_NE(result.replies[0].text().find("while sending end of data"), std::string::npos)
      << result.replies[0].ToString();
  EXPECT_TRUE(result.connection_failed);
  EXPECT_EQ(result.delivered(), 0u);
}

TEST_F(SmtpClientTest, SilentServerAfterTheDotTimesOut) {
  client_options_.timeouts.data_done = 300ms;
  FakeServer server([&](RawClient& peer) {
    GreetAndReadGroup(peer, 1);
    peer.Send("250 ok\r\n250 ok\r\n354 go\r\n");
    peer.ReadData();
    peer.WaitClosed(5s);  // never answers; waits for the client to give up
  });
  Outcome outcome = Deliver(server.endpoint(), {Transaction({"a@d"})});
  const auto& result = outcome.results[0];
  EXPECT_EQ(Codes(result), (std::vector<int>{421}));
  EXPECT_NE(result.replies[0].text().find("timed out while sending end of data"), std::string::npos)
      << result.replies[0].ToString();
}

TEST_F(SmtpClientTest, LmtpServerVanishingAfterSomeRepliesTempfailsTheRest) {
  client_options_.mode = SmtpMode::kLmtp;
  FakeServer server([](RawClient& peer) {
    peer.Send("220 fake LMTP\r\n");
    peer.ReadLine();
    peer.Send("250-fake\r\n250 PIPELINING\r\n");
    for (int i = 0; i < 5; ++i) peer.ReadLine();
    peer.Send("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    peer.ReadData();
    peer.Send("250 2.0.0 first delivered\r\n");
  });
  Outcome outcome = Deliver(server.endpoint(), {Transaction({"a@d", "b@d", "c@d"})});
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{250, 421, 421}));
}

TEST_F(SmtpClientTest, GreetingRefusalIsReturned) {
  FakeServer server([](RawClient& peer) {
    peer.Send("554 5.7.1 no service for you\r\n");
    peer.WaitClosed(5s);
  });
  Outcome outcome = Deliver(server.endpoint(), {Transaction({"a@d"})});
  EXPECT_EQ(outcome.connect.code(), 554);
  EXPECT_EQ(outcome.connect.text(), "no service for you");
  // Nothing was sent; the recipients carry the server's refusal, never a success.
  EXPECT_EQ(outcome.results[0].replies[0].code(), 554);
  EXPECT_TRUE(outcome.results[0].connection_failed);
}

TEST_F(SmtpClientTest, FallsBackToHeloAndPlainCommands) {
  std::vector<std::string> seen;
  auto server = std::make_unique<FakeServer>([&](RawClient& peer) {
    peer.Send("220 old server\r\n");
    seen.push_back(*peer.ReadLine());
    peer.Send("502 5.5.2 what is EHLO\r\n");
    for (const char* reply : {"250 hi\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n"}) {
      seen.push_back(peer.ReadLine().value_or("<eof>"));
      peer.Send(reply);
    }
    peer.ReadData();
    peer.Send("250 queued\r\n");
    seen.push_back(peer.ReadLine().value_or("<eof>"));
    peer.Send("221 bye\r\n");
  });
  SmtpTransaction tx = Transaction({"a@d"});
  tx.mail.ret = DsnRet::kFull;
  tx.mail.body = SmtpBodyType::k8BitMime;
  Outcome outcome = Deliver(server->endpoint(), {tx});
  server.reset();  // joins the server thread
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{250}));
  EXPECT_EQ(seen, (std::vector<std::string>{"EHLO localhost", "HELO localhost",
                                            "MAIL FROM:<sender@example.com>", "RCPT TO:<a@d>",
                                            "DATA", "QUIT"}));
}

TEST_F(SmtpClientTest, Server421DuringTheTransactionReachesEveryRecipient) {
  FakeServer server([](RawClient& peer) {
    GreetAndReadGroup(peer, 2);
    peer.Send("421 4.3.2 shutting down\r\n");
  });
  Outcome outcome = Deliver(server.endpoint(), {Transaction({"a@d", "b@d"})});
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{421, 421}));
  EXPECT_EQ(outcome.results[0].replies[0].text(), "shutting down");
}

TEST_F(SmtpClientTest, GarbageRepliesAreProtocolErrors) {
  FakeServer server([](RawClient& peer) {
    GreetAndReadGroup(peer, 1);
    peer.Send("HTTP/1.1 400 Bad Request\r\n");
    peer.WaitClosed(5s);
  });
  Outcome outcome = Deliver(server.endpoint(), {Transaction({"a@d"})});
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{421}));
  EXPECT_EQ(outcome.results[0].replies[0].enhanced(), "4.5.0");
}

TEST_F(SmtpClientTest, DataAcceptedWithoutRecipientsNeverSendsTheDot) {
  bool dot_seen = false;
  auto server = std::make_unique<FakeServer>([&](RawClient& peer) {
    GreetAndReadGroup(peer, 1);
    peer.Send("250 ok\r\n550 no\r\n354 go anyway\r\n");
    auto rest = peer.ReadLine(2s);
    dot_seen = rest.has_value();
  });
  Outcome outcome = Deliver(server->endpoint(), {Transaction({"a@d"})});
  server.reset();
  EXPECT_EQ(Codes(outcome.results[0]), (std::vector<int>{550}));
  EXPECT_FALSE(dot_seen);
}

TEST_F(SmtpClientTest, OpportunisticTlsFallsBackToPlainWhenTheHandshakeFails) {
  auto server = std::make_unique<FakeServer>(
      [](RawClient& peer, int index) {
        peer.Send("220 fake ESMTP\r\n");
        peer.ReadLine();  // EHLO
        if (index == 0) {
          peer.Send("250-fake\r\n250 STARTTLS\r\n");
          peer.ReadLine();  // STARTTLS
          peer.Send("220 go ahead\r\n");
          peer.Send("this is not a TLS server hello\r\n");
          peer.WaitClosed(5s);
          return;
        }
        peer.Send("250-fake\r\n250 STARTTLS\r\n");  // offered again, but not used again
        for (const char* reply : {"250 ok\r\n", "250 ok\r\n", "354 go\r\n"}) {
          peer.ReadLine();
          peer.Send(reply);
        }
        peer.ReadData();
        peer.Send("250 plain delivery\r\n");
        peer.ReadLine();
        peer.Send("221 bye\r\n");
      },
      2);
  client_options_.tls = SmtpTlsPolicy::kMay;
  Outcome outcome = Deliver(server->endpoint(), {Transaction({"a@d"})});
  server.reset();
  ASSERT_TRUE(outcome.connect.positive()) << outcome.connect.ToString();
  EXPECT_FALSE(outcome.tls.has_value());
  EXPECT_EQ(outcome.results[0].replies[0].text(), "plain delivery");
}

TEST_F(SmtpClientTest, HostNamesAreResolvedAndEveryAddressTried) {
  int port = std::stoi(StartServer().port);
  // localhost may resolve to ::1 first, where nothing listens: the client goes on to 127.0.0.1.
  Outcome outcome =
      Deliver(*ParseSmtpEndpoint("localhost:" + std::to_string(port)), {Transaction({"a@d"})});
  ASSERT_TRUE(outcome.connect.positive()) << outcome.connect.ToString();
  EXPECT_EQ(outcome.results[0].delivered(), 1u);
}

}  // namespace
}  // namespace moat::core
