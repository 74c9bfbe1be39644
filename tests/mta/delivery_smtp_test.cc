// delivery_smtp_test.cc - the SMTP and LMTP delivery agents against real peers: Postfix's
// smtp-sink (SMTP, LMTP with -L, TCP and unix sockets) and our own core server (per-recipient
// refusals, STARTTLS with a self-signed certificate made by openssl, XFORWARD, greetings).
#include <gtest/gtest.h>

#include <regex>

#include "core/smtp_listener.h"
#include "core/smtp_tls.h"
#include "mta/delivery_agents.h"
#include "tests/mta/delivery_fixture.h"

namespace moat::mta {
namespace {

using namespace std::chrono_literals;
using core::testing::HandlerState;
using testing::DeliveryHarness;
using testing::MakeRequest;
using testing::MustResolve;
using testing::RoutingFixture;
using testing::SmtpSink;

constexpr const char* kBaseMainCf =
    "myhostname = gateway.example.test\n"
    "mydestination =\n"
    "transport_maps = hash:transport\n"
    "smtp_connect_timeout = 5s\n";

// Our own SMTP/LMTP server with the recording handler (tests/core/smtp_test_helpers.h).
class OwnServer {
 public:
  OwnServer(core::testing::IoThread& io, core::SmtpMode mode,
            std::shared_ptr<HandlerState> state)
      : io_(io), state_(std::move(state)) {
    core::SmtpServerOptions options;
    options.hostname = "own.test";
    options.mode = mode;
    auto state_copy = state_;
    listener_ = std::make_unique<core::SmtpListener>(
        io.executor(), std::make_shared<core::SmtpServerOptions>(options),
        core::SmtpListenerOptions{},
        [state_copy] { return std::make_unique<core::testing::RecordingHandler>(state_copy); });
    auto status = listener_->Listen(*core::ParseSmtpEndpoint("127.0.0.1:0"));
    EXPECT_TRUE(status.has_value()) << status.error().ToString();
    listener_->Start();
    port_ = listener_->local_addresses().front().port;
  }
  ~OwnServer() { io_.Run(listener_->Stop(2s)); }
  int port() const { return port_; }

 private:
  core::testing::IoThread& io_;
  std::shared_ptr<HandlerState> state_;
  std::unique_ptr<core::SmtpListener> listener_;
  int port_ = 0;
};

std::string Transport(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(DeliverySmtpTest, SmtpToSmtpSinkWithPostfixLogLine) {
  moat::testing::TempDir dir;
  int port = moat::testing::FreeTcpPort();
  SmtpSink sink(dir, "sink", "127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(sink.ready());
  RoutingFixture fixture(kBaseMainCf,
                         {{"transport", Transport({"sink.test smtp:[127.0.0.1]:" +
                                                   std::to_string(port)})}});
  DeliveryHarness harness(fixture);
  DeliveryRequest request = MakeRequest({"a@sink.test", "b@sink.test"});
  request.recipients[0].rcpt.orcpt_type = "rfc822";
  request.recipients[0].rcpt.orcpt = "alias@sink.test";
  DeliveryResult result = harness.Deliver(MustResolve(fixture, "a@sink.test"), request);
  ASSERT_EQ(result.recipients.size(), 2u);
  for (const auto& r : result.recipients) {
    EXPECT_EQ(r.status, DeliveryStatus::kDelivered) << r.reason;
    EXPECT_EQ(r.relay, "127.0.0.1[127.0.0.1]:" + std::to_string(port));
    EXPECT_EQ(r.dsn, "2.0.0");
    EXPECT_EQ(r.reply.code(), 250);
  }
  EXPECT_FALSE(result.site_failure);
  std::string line = FormatDeliveryLog(request.queue_id, result.recipients[0], result, 1.25s);
  std::regex expected(
      "4ABCDEF: to=<a@sink.test>, orig_to=<alias@sink.test>, relay=127.0.0.1\\[127.0.0.1\\]:" +
      std::to_string(port) +
      ", delay=1.2, delays=0/0/[0-9.]+/[0-9.]+, dsn=2.0.0, status=sent \\(250 2.0.0 Ok.*\\)");
  EXPECT_TRUE(std::regex_match(line, expected)) << line;
  auto dumps = sink.Dumps(1);
  ASSERT_EQ(dumps.size(), 1u);
  EXPECT_NE(dumps[0].find("Subject: delivery test"), std::string::npos);
  EXPECT_NE(dumps[0].find("X-Rcpt-Args: <b@sink.test>"), std::string::npos) << dumps[0];
  EXPECT_NE(dumps[0].find("\nHello.\n.leading dot\n"), std::string::npos)
      << "dot-stuffed on the wire, unstuffed in the dump: " << dumps[0];
}

TEST(DeliverySmtpTest, LmtpOverTcpAndUnixSocketWithXforward) {
  moat::testing::TempDir dir;
  int port = moat::testing::FreeTcpPort();
  SmtpSink tcp(dir, "lmtp-tcp", "127.0.0.1:" + std::to_string(port), {"-L"});
  std::string socket = dir.Path("lmtp.sock");
  SmtpSink unix_sink(dir, "lmtp-unix", "unix:" + socket, {"-L"});
  ASSERT_TRUE(tcp.ready());
  ASSERT_TRUE(unix_sink.ready());
  RoutingFixture fixture(
      kBaseMainCf,
      {{"transport", Transport({"tcp.test amavisfeed:[127.0.0.1]:" + std::to_string(port),
                                "unix.test lmtp:unix:" + socket})}});
  DeliveryHarness harness(fixture);
  DeliveryRequest request = MakeRequest({"x@tcp.test", "y@tcp.test"});
  request.xforward.name = "client.example.org";
  request.xforward.addr = "192.0.2.7";
  request.xforward.helo = "client.example.org";
  request.xforward.proto = "ESMTP";
  DeliveryResult result = harness.Deliver(MustResolve(fixture, "x@tcp.test"), request);
  ASSERT_EQ(result.recipients.size(), 2u);
  for (const auto& r : result.recipients) {
    EXPECT_EQ(r.status, DeliveryStatus::kDelivered) << r.reason;
    EXPECT_EQ(r.action, "delivered");
  }
  // amavisfeed has -o lmtp_send_xforward_command=yes: smtp-sink offers XFORWARD and logs it.
  EXPECT_TRUE(moat::testing::WaitUntil([&] {
    return tcp.conversation().find("XFORWARD NAME=client.example.org ADDR=192.0.2.7") !=
           std::string::npos;
  })) << tcp.conversation();

  DeliveryRequest other = MakeRequest({"z@unix.test"});
  other.xforward = request.xforward;
  result = harness.Deliver(MustResolve(fixture, "z@unix.test"), other);
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered)
      << result.recipients[0].reason;
  EXPECT_EQ(result.recipients[0].relay, "gateway.example.test[" + socket + "]");
  ASSERT_EQ(unix_sink.Dumps(1).size(), 1u);
  // The plain lmtp transport does not send XFORWARD (lmtp_send_xforward_command = no).
  EXPECT_EQ(unix_sink.conversation().find("XFORWARD NAME"), std::string::npos);
}

TEST(DeliverySmtpTest, PerRecipientResultsInPostfixWording) {
  core::testing::IoThread server_io;
  auto state = std::make_shared<HandlerState>();
  OwnServer server(server_io, core::SmtpMode::kSmtp, state);
  std::string nexthop = "[127.0.0.1]:" + std::to_string(server.port());
  RoutingFixture fixture(kBaseMainCf, {{"transport", Transport({"own.test smtp:" + nexthop})}});
  DeliveryHarness harness(fixture);
  DeliveryResult result = harness.Deliver(
      MustResolve(fixture, "ok@own.test"),
      MakeRequest({"ok@own.test", "reject-me@own.test", "tempfail-me@own.test"}));
  ASSERT_EQ(result.recipients.size(), 3u);
  const std::string namaddr = "127.0.0.1[127.0.0.1]";
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered);
  EXPECT_EQ(result.recipients[0].reason, "250 2.0.0 Ok: queued as TEST1");
  EXPECT_EQ(result.recipients[1].status, DeliveryStatus::kBounced);
  EXPECT_EQ(result.recipients[1].dsn, "5.1.1");
  EXPECT_EQ(result.recipients[1].reason,
            "host " + namaddr +
                " said: 550 5.1.1 <reject-me@own.test>: Recipient address rejected: User "
                "unknown (in reply to RCPT TO command)");
  EXPECT_EQ(result.recipients[1].remote_host, "127.0.0.1");
  EXPECT_EQ(result.recipients[1].reply.code(), 550);
  EXPECT_EQ(result.recipients[2].status, DeliveryStatus::kDeferred);
  EXPECT_EQ(result.recipients[2].dsn, "4.2.1");
  EXPECT_EQ(result.recipients[2].reason,
            "host " + namaddr +
                " said: 450 4.2.1 <tempfail-me@own.test>: try again later (in reply to RCPT TO "
                "command)");
  EXPECT_FALSE(result.site_failure);
  ASSERT_EQ(state->MessageCount(), 1u);
  EXPECT_EQ(state->Messages()[0].envelope.recipients.size(), 1u);
}

TEST(DeliverySmtpTest, LmtpPerRecipientRepliesAfterTheMessage) {
  core::testing::IoThread server_io;
  auto state = std::make_shared<HandlerState>();
  OwnServer server(server_io, core::SmtpMode::kLmtp, state);
  RoutingFixture fixture(kBaseMainCf,
                         {{"transport", Transport({"own.test lmtp:[127.0.0.1]:" +
                                                   std::to_string(server.port())})}});
  DeliveryHarness harness(fixture);
  DeliveryResult result = harness.Deliver(
      MustResolve(fixture, "ok@own.test"),
      MakeRequest({"ok@own.test", "lmtpfail@own.test", "lmtpreject@own.test"}));
  ASSERT_EQ(result.recipients.size(), 3u);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered);
  EXPECT_EQ(result.recipients[1].status, DeliveryStatus::kDeferred);
  EXPECT_EQ(result.recipients[1].dsn, "4.2.2");
  EXPECT_NE(result.recipients[1].reason.find("(in reply to end of DATA command)"),
            std::string::npos)
      << result.recipients[1].reason;
  EXPECT_EQ(result.recipients[2].status, DeliveryStatus::kBounced);
  EXPECT_EQ(result.recipients[2].dsn, "5.7.1");
}

TEST(DeliverySmtpTest, ConnectionRefusedIsASiteFailure) {
  int port = moat::testing::FreeTcpPort();  // nobody listens
  RoutingFixture fixture(kBaseMainCf, {{"transport", Transport({"down.test smtp:[127.0.0.1]:" +
                                                                std::to_string(port)})}});
  DeliveryHarness harness(fixture);
  DeliveryResult result =
      harness.Deliver(MustResolve(fixture, "a@down.test"), MakeRequest({"a@down.test"}));
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDeferred);
  EXPECT_EQ(result.recipients[0].dsn, "4.4.1");
  EXPECT_EQ(result.recipients[0].reason, "connect to 127.0.0.1[127.0.0.1]:" +
                                             std::to_string(port) + ": Connection refused");
  EXPECT_TRUE(result.site_failure);
  EXPECT_EQ(result.site_dsn, "4.4.1");
}

TEST(DeliverySmtpTest, GreetingRefusalsTryTheNextHost) {
  core::testing::IoThread server_io;
  auto busy = std::make_shared<HandlerState>();
  busy->connect_reply = core::SmtpReply(421, "4.3.2", "busy, try later");
  auto refusing = std::make_shared<HandlerState>();
  refusing->connect_reply = core::SmtpReply(554, "5.7.1", "go away");
  auto good = std::make_shared<HandlerState>();
  OwnServer s1(server_io, core::SmtpMode::kSmtp, busy);
  OwnServer s2(server_io, core::SmtpMode::kSmtp, refusing);
  OwnServer s3(server_io, core::SmtpMode::kSmtp, good);
  auto hop = [](const OwnServer& s) { return "[127.0.0.1]:" + std::to_string(s.port()); };
  RoutingFixture fixture(kBaseMainCf + std::string("smtp_mx_session_limit = 3\n"),
                         {{"transport", Transport({"list.test smtp:" + hop(s1) + ", " + hop(s2) +
                                                   ", " + hop(s3),
                                                   "last.test smtp:" + hop(s2)})}});
  DeliveryHarness harness(fixture);
  DeliveryResult result =
      harness.Deliver(MustResolve(fixture, "a@list.test"), MakeRequest({"a@list.test"}));
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered)
      << result.recipients[0].reason;
  EXPECT_EQ(good->MessageCount(), 1u);
  // A 5xx greeting from the only (final) server bounces.
  result = harness.Deliver(MustResolve(fixture, "a@last.test"), MakeRequest({"a@last.test"}));
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kBounced);
  EXPECT_EQ(result.recipients[0].reason,
            "host 127.0.0.1[127.0.0.1] refused to talk to me: 554 5.7.1 go away");
}

TEST(DeliverySmtpTest, TemporaryRecipientFailuresTryTheNextHost) {
  core::testing::IoThread server_io;
  auto first = std::make_shared<HandlerState>();
  auto second = std::make_shared<HandlerState>();
  OwnServer s1(server_io, core::SmtpMode::kSmtp, first);
  int sink_port = moat::testing::FreeTcpPort();
  moat::testing::TempDir dir;
  SmtpSink sink(dir, "sink", "127.0.0.1:" + std::to_string(sink_port));
  ASSERT_TRUE(sink.ready());
  RoutingFixture fixture(
      kBaseMainCf, {{"transport", Transport({"two.test smtp:[127.0.0.1]:" +
                                             std::to_string(s1.port()) + " [127.0.0.1]:" +
                                             std::to_string(sink_port)})}});
  DeliveryHarness harness(fixture);
  // "tempfail*" gets 450 at the first server; smtp-sink (the final server) accepts it.
  DeliveryResult result = harness.Deliver(MustResolve(fixture, "a@two.test"),
                                          MakeRequest({"ok@two.test", "tempfail@two.test"}));
  ASSERT_EQ(result.recipients.size(), 2u);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered);
  EXPECT_EQ(result.recipients[0].relay, "127.0.0.1[127.0.0.1]:" + std::to_string(s1.port()));
  EXPECT_EQ(result.recipients[1].status, DeliveryStatus::kDelivered);
  EXPECT_EQ(result.recipients[1].relay, "127.0.0.1[127.0.0.1]:" + std::to_string(sink_port));
  auto dumps = sink.Dumps(1);
  ASSERT_EQ(dumps.size(), 1u);
  EXPECT_NE(dumps[0].find("X-Rcpt-Args: <tempfail@two.test>"), std::string::npos);
  EXPECT_EQ(dumps[0].find("X-Rcpt-Args: <ok@two.test>"), std::string::npos);
}

TEST(DeliverySmtpTest, ConnectionsAreReusedPerDestination) {
  core::testing::IoThread server_io;
  auto state = std::make_shared<HandlerState>();
  OwnServer server(server_io, core::SmtpMode::kSmtp, state);
  RoutingFixture fixture(kBaseMainCf + std::string("smtp_connection_cache_time_limit = 30s\n"),
                         {{"transport", Transport({"own.test smtp:[127.0.0.1]:" +
                                                   std::to_string(server.port())})}});
  DeliveryHarness harness(fixture);
  Resolution route = MustResolve(fixture, "a@own.test");
  for (int i = 0; i < 3; ++i) {
    DeliveryResult result = harness.Deliver(route, MakeRequest({"a@own.test"}));
    ASSERT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered);
  }
  EXPECT_EQ(state->MessageCount(), 3u);
  EXPECT_EQ(harness.agents().smtp().cache().hits(), 2u);
  auto events = state->Events();
  EXPECT_EQ(std::count(events.begin(), events.end(), "connect"), 1);
}

TEST(DeliverySmtpTest, XforwardCarriesTheOriginalClientWhenConfigured) {
  core::testing::IoThread server_io;
  auto state = std::make_shared<HandlerState>();
  state->allow_xforward = true;
  OwnServer server(server_io, core::SmtpMode::kSmtp, state);
  std::string hop = "[127.0.0.1]:" + std::to_string(server.port());
  RoutingFixture fixture(kBaseMainCf, {{"transport", Transport({"plain.test smtp:" + hop,
                                                                "xf.test smtp-amavis:" + hop})}});
  DeliveryHarness harness(fixture);
  DeliveryRequest request = MakeRequest({"a@xf.test"});
  request.xforward.name = "mail.client.example";
  request.xforward.addr = "198.51.100.4";
  request.xforward.ident = "QUEUEID1";
  ASSERT_EQ(harness.Deliver(MustResolve(fixture, "a@xf.test"), request).recipients[0].status,
            DeliveryStatus::kDelivered);
  DeliveryRequest plain = MakeRequest({"a@plain.test"});
  plain.xforward = request.xforward;
  ASSERT_EQ(harness.Deliver(MustResolve(fixture, "a@plain.test"), plain).recipients[0].status,
            DeliveryStatus::kDelivered);
  auto messages = state->Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].xforward.name, "mail.client.example");
  EXPECT_EQ(messages[0].xforward.addr, "198.51.100.4");
  EXPECT_EQ(messages[0].xforward.ident, "QUEUEID1");
  EXPECT_FALSE(messages[1].xforward.addr.has_value());  // smtp_send_xforward_command = no
}

TEST(DeliverySmtpTest, DataDoneTimeoutDefers) {
  core::testing::IoThread server_io;
  auto state = std::make_shared<HandlerState>();
  state->message_delay = 3s;
  OwnServer server(server_io, core::SmtpMode::kSmtp, state);
  RoutingFixture fixture(kBaseMainCf + std::string("smtp_data_done_timeout = 1s\n"),
                         {{"transport", Transport({"slow.test smtp:[127.0.0.1]:" +
                                                   std::to_string(server.port())})}});
  DeliveryHarness harness(fixture);
  DeliveryResult result =
      harness.Deliver(MustResolve(fixture, "a@slow.test"), MakeRequest({"a@slow.test"}));
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDeferred);
  EXPECT_EQ(result.recipients[0].reason,
            "conversation with 127.0.0.1[127.0.0.1] timed out while sending end of data -- "
            "message may be sent more than once")
      << "(Postfix's wording; ours: " << result.recipients[0].reason << ")";
}

class DeliveryTlsTest : public ::testing::Test {
 protected:
  DeliveryTlsTest() : state_(std::make_shared<HandlerState>()) {
    cert_ = core::testing::MakeTestCertificate(dir_);
    core::TlsServerSettings settings;
    settings.cert_file = cert_.cert_file;
    settings.key_file = cert_.key_file;
    auto context = core::MakeTlsServerContext(settings);
    EXPECT_TRUE(context.has_value());
    state_->tls_context = *context;
    server_ = std::make_unique<OwnServer>(server_io_, core::SmtpMode::kSmtp, state_);
  }
  DeliveryResult Send(const std::string& main_extra, const std::string& nexthop_host = "localhost",
                      int port = 0) {
    RoutingFixture fixture(
        kBaseMainCf + main_extra,
        {{"transport",
          Transport({"tls.test smtp:[" + nexthop_host + "]:" +
                     std::to_string(port == 0 ? server_->port() : port)})}});
    DeliveryHarness harness(fixture);
    return harness.Deliver(MustResolve(fixture, "a@tls.test"), MakeRequest({"a@tls.test"}));
  }

  moat::testing::TempDir dir_;
  core::testing::TestCertificate cert_;
  core::testing::IoThread server_io_;
  std::shared_ptr<HandlerState> state_;
  std::unique_ptr<OwnServer> server_;
};

TEST_F(DeliveryTlsTest, MayAndEncryptUseStartTls) {
  auto result = Send("smtp_tls_security_level = may\ndisable_dns_lookups = yes\n");
  ASSERT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered) << result.recipients[0].reason;
  result = Send("smtp_tls_security_level = encrypt\ndisable_dns_lookups = yes\n");
  ASSERT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered) << result.recipients[0].reason;
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_TRUE(messages[0].tls);
  EXPECT_TRUE(messages[1].tls);
}

TEST_F(DeliveryTlsTest, VerifyNeedsTheCaAndTheName) {
  auto result = Send("smtp_tls_security_level = verify\ndisable_dns_lookups = yes\n"
                     "smtp_tls_CAfile = " + cert_.cert_file + "\n");
  ASSERT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered) << result.recipients[0].reason;
  // Without the CA the certificate is not trusted: deferred, never sent in the clear.
  result = Send("smtp_tls_security_level = verify\ndisable_dns_lookups = yes\n");
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDeferred);
  EXPECT_EQ(result.recipients[0].dsn.substr(0, 3), "4.7");
  EXPECT_NE(result.recipients[0].reason.find("certificate"), std::string::npos)
      << result.recipients[0].reason;
  EXPECT_EQ(state_->MessageCount(), 1u);
}

TEST_F(DeliveryTlsTest, EncryptAgainstAServerWithoutStartTlsDefers) {
  int port = moat::testing::FreeTcpPort();
  SmtpSink sink(dir_, "plain", "127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(sink.ready());
  auto result = Send("smtp_tls_security_level = encrypt\n", "127.0.0.1", port);
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDeferred);
  EXPECT_EQ(result.recipients[0].reason,
            "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]");
  EXPECT_EQ(sink.DumpCount(), 0u);
  // "may" against the same server sends in the clear.
  result = Send("smtp_tls_security_level = may\n", "127.0.0.1", port);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDelivered) << result.recipients[0].reason;
  // Levels moat-mta cannot honour defer rather than downgrade.
  result = Send("smtp_tls_security_level = fingerprint\n", "127.0.0.1", port);
  EXPECT_EQ(result.recipients[0].status, DeliveryStatus::kDeferred);
  EXPECT_EQ(result.recipients[0].dsn, "4.7.5");
}

TEST(DeliveryAgentsTest, ErrorRetryDiscardAndRouteFailures) {
  RoutingFixture fixture(kBaseMainCf + std::string("relocated_maps = hash:relocated\n"),
                         {{"transport", Transport({"err.test error:5.7.1 no mail here",
                                                   "retry.test retry:4.3.2 maintenance",
                                                   "drop.test discard:dropped by policy",
                                                   "uucp.test uucp:host"})},
                          {"relocated", "old@moved.test new@example.net\n"}});
  DeliveryHarness harness(fixture);
  auto deliver = [&](const std::string& rcpt) {
    auto result = harness.Deliver(MustResolve(fixture, rcpt), MakeRequest({rcpt}));
    EXPECT_EQ(result.recipients.size(), 1u);
    return result.recipients.at(0);
  };
  RecipientResult r = deliver("a@err.test");
  EXPECT_EQ(r.status, DeliveryStatus::kBounced);
  EXPECT_EQ(r.dsn, "5.7.1");
  EXPECT_EQ(r.reason, "no mail here");
  EXPECT_EQ(r.relay, "none");
  r = deliver("a@retry.test");
  EXPECT_EQ(r.status, DeliveryStatus::kDeferred);
  EXPECT_EQ(r.dsn, "4.3.2");
  r = deliver("a@drop.test");
  EXPECT_EQ(r.status, DeliveryStatus::kDelivered);
  EXPECT_EQ(r.reason, "dropped by policy");
  r = deliver("old@moved.test");
  EXPECT_EQ(r.status, DeliveryStatus::kBounced);
  EXPECT_EQ(r.dsn, "5.1.6");
  EXPECT_EQ(r.reason, "User has moved to new@example.net");
  r = deliver("a@uucp.test");
  EXPECT_EQ(r.status, DeliveryStatus::kDeferred);
  EXPECT_EQ(r.reason, "mail transport unavailable");
  r = deliver("a@-bad-.test");
  EXPECT_EQ(r.status, DeliveryStatus::kBounced);
  EXPECT_EQ(r.dsn, "5.1.3");
}

TEST(DeliveryAgentsTest, SoftBounceDefersInsteadOfBouncing) {
  RoutingFixture fixture(kBaseMainCf + std::string("soft_bounce = yes\n"),
                         {{"transport", Transport({"err.test error:5.7.1 no mail here"})}});
  DeliveryHarness harness(fixture);
  auto result = harness.Deliver(MustResolve(fixture, "a@err.test"), MakeRequest({"a@err.test"}));
  EXPECT_EQ(result.recipients.at(0).status, DeliveryStatus::kDeferred);
  EXPECT_EQ(result.recipients.at(0).dsn, "4.7.1");
}

}  // namespace
}  // namespace moat::mta
