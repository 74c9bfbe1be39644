// smtp_peers_test.cc - the wire protocol against peers no one here wrote: swaks, Python's
// smtplib, Postfix's smtp-source and smtp-sink, and openssl s_client, all on loopback ports
// chosen at run time. Our server runs with the recording handler; our client sends to smtp-sink
// (which dumps every message, so bytes are compared) and to our own server for per-recipient
// refusals.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "core/smtp_client.h"
#include "core/smtp_listener.h"
#include "core/smtp_tls.h"
#include "tests/core/smtp_test_helpers.h"
#include "tests/support/test_support.h"

namespace moat::core {
namespace {

using namespace std::chrono_literals;
using moat::testing::CommandResult;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using testing::HandlerState;
using testing::IoThread;

std::string Port(int port) { return std::to_string(port); }

class SmtpPeersTest : public ::testing::Test {
 protected:
  SmtpPeersTest() : io_(2), state_(std::make_shared<HandlerState>()) {
    options_.hostname = "moat.test";
    ::chmod(dir_.path().c_str(), 0755);  // smtp-sink runs as nobody and writes below it
  }
  ~SmtpPeersTest() override {
    if (listener_) io_.Run(listener_->Stop(2s));
  }

  // Starts our server; returns the TCP port (0 for unix sockets).
  int StartServer(const std::string& endpoint = "127.0.0.1:0") {
    auto state = state_;
    listener_ = std::make_unique<SmtpListener>(
        io_.executor(), std::make_shared<SmtpServerOptions>(options_), SmtpListenerOptions{},
        [state] { return std::make_unique<testing::RecordingHandler>(state); });
    auto status = listener_->Listen(*ParseSmtpEndpoint(endpoint));
    EXPECT_TRUE(status.has_value()) << status.error().ToString();
    listener_->Start();
    return listener_->local_addresses().front().port;
  }

  void EnableTls() {
    auto cert = testing::MakeTestCertificate(dir_);
    TlsServerSettings settings;
    settings.cert_file = cert.cert_file;
    settings.key_file = cert.key_file;
    auto context = MakeTlsServerContext(settings);
    ASSERT_TRUE(context.has_value()) << context.error().ToString();
    state_->tls_context = *context;
    state_->offer_auth = true;
  }

  CommandResult Swaks(int port, std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        "swaks", "--server", "127.0.0.1:" + Port(port), "--timeout", "20", "--helo", "swaks.test"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  }

  CommandResult Python(const std::string& script, std::vector<std::string> args) {
    std::string path = dir_.WriteFile("script.py", script);
    std::vector<std::string> argv = {moat::testing::kSystemPython, "-I", path};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  IoThread io_;
  TempDir dir_;
  SmtpServerOptions options_;
  std::shared_ptr<HandlerState> state_;
  std::unique_ptr<SmtpListener> listener_;
};

TEST_F(SmtpPeersTest, SwaksSendsAPlainMessage) {
  int port = StartServer();
  CommandResult result =
      Swaks(port, {"--from", "sender@example.com", "--to", "rcpt@example.org", "--header",
                   "Subject: from swaks", "--body", "hello from swaks\n.dot line"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].helo, "swaks.test");
  EXPECT_EQ(messages[0].envelope.mail.sender, "sender@example.com");
  ASSERT_EQ(messages[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(messages[0].envelope.recipients[0].recipient, "rcpt@example.org");
  EXPECT_NE(messages[0].message.find("Subject: from swaks\r\n"), std::string::npos);
  EXPECT_NE(messages[0].message.find("\r\nhello from swaks\r\n.dot line\r\n"), std::string::npos)
      << messages[0].message;
}

TEST_F(SmtpPeersTest, SwaksPipeliningWithRefusedRecipients) {
  int port = StartServer();
  CommandResult result = Swaks(port, {"--pipeline", "--from", "s@example.com", "--to",
                                      "ok@example.org,reject@example.org,tempfail@example.org"});
  EXPECT_NE(result.out.find("<** 550 5.1.1 <reject@example.org>"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("<** 450 4.2.1 <tempfail@example.org>"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("<-  250 2.0.0 Ok: queued as TEST1"), std::string::npos) << result.out;
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(messages[0].envelope.recipients[0].recipient, "ok@example.org");
  ASSERT_TRUE(moat::testing::WaitUntil([&] { return state_->DisconnectCount() == 1; }));
  EXPECT_FALSE(state_->disconnected[0].improper_pipelining);
}

TEST_F(SmtpPeersTest, SwaksLmtpGetsOneReplyPerRecipient) {
  options_.mode = SmtpMode::kLmtp;
  int port = StartServer();
  CommandResult result = Swaks(
      port, {"--protocol", "LMTP", "--from", "s@example.com", "--to",
             "ok@example.org,lmtpfail@example.org,lmtpreject@example.org,reject@example.org"});
  const std::string& out = result.out;
  EXPECT_NE(out.find("<-  250 2.0.0 <ok@example.org> Ok: queued as TEST1"), std::string::npos)
      << out;
  EXPECT_NE(out.find("<** 452 4.2.2 <lmtpfail@example.org>: mailbox full"), std::string::npos)
      << out;
  EXPECT_NE(out.find("<** 554 5.7.1 <lmtpreject@example.org>: refused"), std::string::npos) << out;
  EXPECT_NE(out.find("<** 550 5.1.1 <reject@example.org>"), std::string::npos) << out;
  EXPECT_EQ(state_->MessageCount(), 1u);
}

TEST_F(SmtpPeersTest, SwaksStartTlsWithAuthPlainAndLogin) {
  EnableTls();
  int port = StartServer();
  for (const char* mechanism : {"PLAIN", "LOGIN"}) {
    CommandResult result =
        Swaks(port, {"--tls", "--auth", mechanism, "--auth-user", "alice", "--auth-password",
                     "secret", "--from", "s@example.com", "--to", "r@example.org"});
    ASSERT_EQ(result.exit_code, 0) << mechanism << result.out << result.err;
    EXPECT_NE(result.out.find("235 2.7.0 Authentication successful"), std::string::npos);
  }
  CommandResult wrong = Swaks(port, {"--tls", "--auth", "PLAIN", "--auth-user", "alice",
                                     "--auth-password", "nope", "--to", "r@example.org"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.out.find("535 5.7.8"), std::string::npos) << wrong.out;
  // Without TLS, AUTH is not offered at all.
  CommandResult plain = Swaks(port, {"--auth", "PLAIN", "--auth-user", "alice", "--auth-password",
                                     "secret", "--to", "r@example.org"});
  EXPECT_NE(plain.exit_code, 0);
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 2u);
  for (const auto& m : messages) {
    EXPECT_TRUE(m.tls);
    EXPECT_EQ(m.auth_user, "alice");
  }
}

TEST_F(SmtpPeersTest, OpensslSClientStartTls) {
  EnableTls();
  int port = StartServer();
  moat::testing::CommandOptions options;
  options.stdin_data = "EHLO openssl.test\r\nQUIT\r\n";
  CommandResult result = RunCommand(
      {"openssl", "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:" + Port(port), "-quiet"},
      options);
  EXPECT_NE(result.out.find("250-moat.test"), std::string::npos) << result.out << result.err;
  EXPECT_NE(result.out.find("250 DSN"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("STARTTLS"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("AUTH PLAIN LOGIN"), std::string::npos) << result.out;
}

constexpr const char* kSmtplibScript = R"PY(
import json, smtplib, ssl, sys
port, mode = int(sys.argv[1]), sys.argv[2]
msg = "Subject: from smtplib\r\n\r\nline one\r\n.starts with a dot\r\n"
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
s.ehlo("smtplib.test")
if mode == "tls":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.ehlo("smtplib.test")
    s.login("alice", "secret")
refused = s.sendmail("sender@example.com",
                     ["ok@example.org", "reject@example.org", "tempfail@example.org"], msg)
s.quit()
print(json.dumps({k: v[0] for k, v in refused.items()}))
)PY";

TEST_F(SmtpPeersTest, PythonSmtplibReportsRefusedRecipients) {
  int port = StartServer();
  CommandResult result = Python(kSmtplibScript, {Port(port), "plain"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"reject@example.org\": 550, \"tempfail@example.org\": 450}\n");
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].message, "Subject: from smtplib\r\n\r\nline one\r\n.starts with a dot\r\n");
  EXPECT_EQ(messages[0].helo, "smtplib.test");
}

TEST_F(SmtpPeersTest, PythonSmtplibStartTlsAndLogin) {
  EnableTls();
  int port = StartServer();
  CommandResult result = Python(kSmtplibScript, {Port(port), "tls"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].tls);
  EXPECT_EQ(messages[0].auth_user, "alice");
}

// smtplib.LMTP reads only one reply after DATA, so the script reads the rest itself, as an LMTP
// client must (RFC 2033 4.2).
constexpr const char* kLmtpScript = R"PY(
import json, smtplib, sys
target = sys.argv[1]
rcpts = ["ok@example.org", "lmtpfail@example.org", "reject@example.org", "lmtpreject@example.org"]
if target.startswith("/"):
    s = smtplib.LMTP(target)
else:
    s = smtplib.LMTP("127.0.0.1", int(target))
s.ehlo_or_helo_if_needed()
out = {"mail": s.mail("sender@example.com")[0], "rcpt": {}, "data": {}}
accepted = []
for r in rcpts:
    code = s.rcpt(r)[0]
    out["rcpt"][r] = code
    if code == 250:
        accepted.append(r)
s.putcmd("data")
out["354"] = s.getreply()[0]
s.send(b"Subject: lmtp\r\n\r\nbody\r\n.\r\n")
for r in accepted:
    out["data"][r] = s.getreply()[0]
out["quit"] = s.docmd("quit")[0]
print(json.dumps(out, sort_keys=True))
)PY";

TEST_F(SmtpPeersTest, PythonLmtpOverTcpAndUnixSocket) {
  options_.mode = SmtpMode::kLmtp;
  const std::string expected =
      "{\"354\": 354, \"data\": {\"lmtpfail@example.org\": 452, \"lmtpreject@example.org\": 554, "
      "\"ok@example.org\": 250}, \"mail\": 250, \"quit\": 221, \"rcpt\": "
      "{\"lmtpfail@example.org\": "
      "250, \"lmtpreject@example.org\": 250, \"ok@example.org\": 250, \"reject@example.org\": "
      "550}}\n";
  int port = StartServer();
  CommandResult tcp = Python(kLmtpScript, {Port(port)});
  ASSERT_EQ(tcp.exit_code, 0) << tcp.err;
  EXPECT_EQ(tcp.out, expected);
  io_.Run(listener_->Stop(2s));

  std::string socket_path = dir_.Path("lmtp.sock");
  StartServer("unix:" + socket_path);
  CommandResult unix_socket = Python(kLmtpScript, {socket_path});
  ASSERT_EQ(unix_socket.exit_code, 0) << unix_socket.err;
  EXPECT_EQ(unix_socket.out, expected);
  EXPECT_EQ(state_->MessageCount(), 2u);
}

TEST_F(SmtpPeersTest, PostfixSmtpSourceFloodsTheServer) {
  int port = StartServer();
  CommandResult smtp =
      RunCommand({"smtp-source", "-c", "-s", "5", "-m", "50", "-l", "3000", "-f",
                  "source@example.com", "-t", "sink@example.org", "127.0.0.1:" + Port(port)});
  ASSERT_EQ(smtp.exit_code, 0) << smtp.out << smtp.err;
  EXPECT_EQ(state_->MessageCount(), 50u);
  for (const auto& m : state_->Messages()) EXPECT_GE(m.message.size(), 3000u);
}

TEST_F(SmtpPeersTest, PostfixSmtpSourceInLmtpMode) {
  options_.mode = SmtpMode::kLmtp;
  int port = StartServer();
  CommandResult lmtp =
      RunCommand({"smtp-source", "-L", "-s", "3", "-m", "20", "-r", "2", "-f", "source@example.com",
                  "-t", "sink@example.org", "127.0.0.1:" + Port(port)});
  ASSERT_EQ(lmtp.exit_code, 0) << lmtp.out << lmtp.err;
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 20u);
  EXPECT_EQ(messages[0].envelope.recipients.size(), 2u);
}

// --- our client against Postfix's smtp-sink -------------------------------------------------

class SmtpSink {
 public:
  SmtpSink(const TempDir& dir, std::vector<std::string> flags) : dump_(dir.Path("dump")) {
    std::filesystem::create_directories(dump_);
    ::chmod(dump_.c_str(), 0777);
    port_ = moat::testing::FreeTcpPort();
    std::vector<std::string> argv = {"smtp-sink", "-u", "nobody", "-v", "-d", dump_ + "/%M."};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("127.0.0.1:" + Port(port_));
    argv.push_back("32");
    process_ = std::make_unique<moat::testing::Subprocess>(argv, dir.path());
    ready_ = moat::testing::WaitForTcpPort(port_);
  }
  bool ready() const { return ready_; }
  SmtpEndpoint endpoint() const { return *ParseSmtpEndpoint("127.0.0.1:" + Port(port_)); }
  std::string conversation() { return process_->Stdout() + process_->Stderr(); }

  // The dumped messages, once `count` have been written completely.
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

 private:
  std::string dump_;
  int port_ = 0;
  std::unique_ptr<moat::testing::Subprocess> process_;
  bool ready_ = false;
};

// The message part of a dump: after smtp-sink's three-line Received header, without the final
// empty line smtp-sink appends; LF line ends as smtp-sink writes them.
std::string DumpedMessage(const std::string& dump) {
  std::size_t received = dump.find("\nReceived: from ");
  if (received == std::string::npos) return "<no Received header>";
  std::size_t pos = received + 1;
  for (int i = 0; i < 3; ++i) pos = dump.find('\n', pos) + 1;
  return dump.substr(pos, dump.size() - pos - 1);
}

std::string ToLf(std::string_view crlf) {
  std::string out;
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n') continue;
    out.push_back(crlf[i]);
  }
  return out;
}

std::string TrickyMessage() {
  std::string message =
      "From: a@example.com\r\nSubject: bytes\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
      "bare lf\nafter bare lf\r\n8-bit \xe9\xe8 text\r\n";
  message += std::string(3000, 'L') + "\r\n";
  message += "last line without end";
  return message;
}

class SmtpClientToSinkTest : public SmtpPeersTest {
 protected:
  std::vector<SmtpDeliveryResult> Send(const SmtpEndpoint& peer, const SmtpClientOptions& options,
                                       const std::vector<SmtpTransaction>& transactions,
                                       SmtpReply* connect = nullptr) {
    return io_.Run([&]() -> asio::awaitable<std::vector<SmtpDeliveryResult>> {
      SmtpClient client(io_.executor(), options);
      SmtpReply reply = co_await client.Connect(peer);
      if (connect != nullptr) *connect = reply;
      std::vector<SmtpDeliveryResult> results;
      for (const auto& tx : transactions) {
        SmtpDeliveryResult result = co_await client.Send(tx);
        results.push_back(std::move(result));
      }
      co_await client.Quit();
      co_return results;
    }());
  }
};

TEST_F(SmtpClientToSinkTest, SmtpBytesArriveUnchanged) {
  SmtpSink sink(dir_, {});
  ASSERT_TRUE(sink.ready());
  std::string message = TrickyMessage();
  SmtpTransaction tx;
  tx.mail.sender = "sender@example.com";
  tx.mail.body = SmtpBodyType::k8BitMime;
  tx.mail.ret = DsnRet::kHeaders;
  tx.mail.envid = "ENV 1";
  tx.recipients = {{"a@example.org", dsn_notify::kSuccess | dsn_notify::kFailure, "rfc822",
                    "orig+a@example.org"},
                   {"b@example.org", 0, "", ""}};
  tx.xforward.name = "client.example";
  tx.xforward.addr = "192.0.2.9";
  tx.xforward.port = "4711";  // smtp-sink does not offer PORT: must not be sent
  tx.xforward.ident = "QID";
  tx.message = message;
  SmtpReply connect;
  auto results = Send(sink.endpoint(), SmtpClientOptions{}, {tx, tx}, &connect);
  ASSERT_TRUE(connect.positive()) << connect.ToString();
  ASSERT_EQ(results.size(), 2u);
  for (const auto& result : results) {
    EXPECT_EQ(result.delivered(), 2u) << result.replies[0].ToString();
  }
  auto dumps = sink.Dumps(2);
  ASSERT_EQ(dumps.size(), 2u);
  for (const auto& dump : dumps) {
    EXPECT_EQ(DumpedMessage(dump), ToLf(message) + "\n");
    EXPECT_NE(dump.find("X-Mail-Args: <sender@example.com> BODY=8BITMIME RET=HDRS ENVID=ENV+201\n"),
              std::string::npos)
        << dump;
    EXPECT_NE(dump.find("X-Rcpt-Args: <a@example.org> NOTIFY=SUCCESS,FAILURE "
                        "ORCPT=rfc822;orig+2Ba@example.org\n"),
              std::string::npos)
        << dump;
    EXPECT_NE(dump.find("X-Rcpt-Args: <b@example.org>\n"), std::string::npos) << dump;
  }
  std::string conversation = sink.conversation();
  EXPECT_NE(conversation.find("XFORWARD NAME=client.example ADDR=192.0.2.9"), std::string::npos)
      << conversation;
  EXPECT_EQ(conversation.find("PORT=4711"), std::string::npos);
}

TEST_F(SmtpClientToSinkTest, LmtpBytesArriveUnchanged) {
  SmtpSink sink(dir_, {"-L"});
  ASSERT_TRUE(sink.ready());
  std::string message = TrickyMessage();
  SmtpTransaction tx;
  tx.mail.sender = "sender@example.com";
  tx.recipients = {
      {"a@example.org", 0, "", ""}, {"b@example.org", 0, "", ""}, {"c@example.org", 0, "", ""}};
  tx.message = message;
  SmtpClientOptions options;
  options.mode = SmtpMode::kLmtp;
  auto results = Send(sink.endpoint(), options, {tx});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].delivered(), 3u);
  auto dumps = sink.Dumps(1);
  ASSERT_EQ(dumps.size(), 1u);
  EXPECT_NE(dumps[0].find("X-Client-Proto: LMTP\n"), std::string::npos);
  EXPECT_EQ(DumpedMessage(dumps[0]), ToLf(message) + "\n");
}

TEST_F(SmtpClientToSinkTest, HeloFallbackAgainstAServerWithoutEsmtp) {
  SmtpSink sink(dir_, {"-e"});
  ASSERT_TRUE(sink.ready());
  SmtpTransaction tx;
  tx.mail.sender = "s@example.com";
  tx.mail.ret = DsnRet::kFull;  // not offered: must not be sent
  tx.recipients = {{"a@example.org", dsn_notify::kNever, "", ""}};
  tx.message = "Subject: old\r\n\r\nhello\r\n";
  SmtpReply connect;
  auto results = Send(sink.endpoint(), SmtpClientOptions{}, {tx}, &connect);
  ASSERT_TRUE(connect.positive()) << connect.ToString();
  EXPECT_EQ(results[0].delivered(), 1u) << results[0].replies[0].ToString();
  auto dumps = sink.Dumps(1);
  ASSERT_EQ(dumps.size(), 1u);
  EXPECT_NE(dumps[0].find("X-Mail-Args: <s@example.com>\n"), std::string::npos) << dumps[0];
  EXPECT_NE(dumps[0].find("X-Client-Proto: SMTP\n"), std::string::npos) << dumps[0];
}

TEST_F(SmtpClientToSinkTest, SoftAndHardRefusalsFromSmtpSink) {
  SmtpSink soft(dir_, {"-r", "RCPT"});
  ASSERT_TRUE(soft.ready());
  SmtpTransaction tx;
  tx.mail.sender = "s@example.com";
  tx.recipients = {{"a@example.org", 0, "", ""}, {"b@example.org", 0, "", ""}};
  tx.message = "x\r\n";
  auto results = Send(soft.endpoint(), SmtpClientOptions{}, {tx, tx});
  ASSERT_EQ(results.size(), 2u);
  for (const auto& result : results) {
    EXPECT_EQ(result.replies[0].code(), 450);
    EXPECT_EQ(result.replies[1].code(), 450);
  }
  TempDir other;
  ::chmod(other.path().c_str(), 0755);
  SmtpSink hard(other, {"-f", "."});
  ASSERT_TRUE(hard.ready());
  results = Send(hard.endpoint(), SmtpClientOptions{}, {tx});
  EXPECT_EQ(results[0].replies[0].code(), 500);
  EXPECT_EQ(results[0].replies[1].code(), 500);
}

TEST_F(SmtpClientToSinkTest, SinkHangingUpAtDataIsATemporaryFailure) {
  SmtpSink sink(dir_, {"-q", "DATA"});
  ASSERT_TRUE(sink.ready());
  SmtpTransaction tx;
  tx.mail.sender = "s@example.com";
  tx.recipients = {{"a@example.org", 0, "", ""}};
  tx.message = "x\r\n";
  auto results = Send(sink.endpoint(), SmtpClientOptions{}, {tx});
  EXPECT_EQ(results[0].replies[0].code(), 421) << results[0].replies[0].ToString();
  EXPECT_EQ(results[0].replies[0].enhanced(), "4.4.2");
  EXPECT_TRUE(results[0].connection_failed);
}

// Our client to our server with the recording handler: per-recipient refusals over SMTP with
// XFORWARD, as filterd's reinjection will see them.
TEST_F(SmtpClientToSinkTest, PerRecipientRefusalsFromOurServer) {
  state_->allow_xforward = true;
  int port = StartServer();
  SmtpTransaction tx;
  tx.mail.sender = "s@example.com";
  tx.recipients = {{"ok@example.org", 0, "", ""},
                   {"reject@example.org", 0, "", ""},
                   {"tempfail@example.org", 0, "", ""}};
  tx.xforward.addr = "198.51.100.7";
  tx.message = "Subject: three\r\n\r\nbody\r\n";
  auto results = Send(*ParseSmtpEndpoint("127.0.0.1:" + Port(port)), SmtpClientOptions{}, {tx});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].replies[0].code(), 250);
  EXPECT_EQ(results[0].replies[1].code(), 550);
  EXPECT_EQ(results[0].replies[2].code(), 450);
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(messages[0].xforward.addr, "198.51.100.7");
}

}  // namespace
}  // namespace moat::core
