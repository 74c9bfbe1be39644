// smtp_session_test.cc - dialogue scripts (client bytes -> expected reply codes) run against a
// server session over a socketpair: protocol sequence, syntax, limits, pipelining, LMTP,
// STARTTLS, AUTH, XFORWARD, timeouts and hostile input.
#include "core/smtp_session.h"

#include <gtest/gtest.h>

#include <random>

#include "core/smtp_tls.h"
#include "tests/core/smtp_test_helpers.h"
#include "tests/support/test_support.h"

namespace moat::core {
namespace {

using namespace std::chrono_literals;
using testing::HandlerState;
using testing::IoThread;
using testing::RawClient;
using testing::ReplyCode;
using testing::ScriptStep;

class SmtpSessionTest : public ::testing::Test {
 protected:
  SmtpSessionTest() : state_(std::make_shared<HandlerState>()) { options_.hostname = "mx.test"; }

  void Start() {
    pair_ = testing::StartSessionPair(io_, std::make_shared<SmtpServerOptions>(options_), state_,
                                      counters_);
  }
  RawClient& client() { return *pair_.client; }

  void Script(const std::vector<ScriptStep>& steps) {
    for (const auto& step : steps) {
      if (!step.send.empty()) {
        ASSERT_TRUE(client().Send(step.send)) << step.send;
      }
      for (int code : step.codes) {
        std::string reply = client().ReadReply();
        EXPECT_EQ(ReplyCode(reply), code)
            << "after sending " << step.send.substr(0, 60) << " got: " << reply;
      }
    }
  }

  // Waits for the session to end; true when it did.
  bool Finished(std::chrono::milliseconds timeout = 10s) {
    return pair_.done.wait_for(timeout) == std::future_status::ready;
  }

  IoThread io_;
  SmtpServerOptions options_;
  std::shared_ptr<HandlerState> state_;
  std::shared_ptr<SmtpServerCounters> counters_ = std::make_shared<SmtpServerCounters>();
  testing::SessionPair pair_;
};

TEST_F(SmtpSessionTest, PlainSmtpTransaction) {
  Start();
  std::string greeting = client().ReadReply();
  EXPECT_EQ(greeting, "220 mx.test ESMTP Moat\r\n");
  ASSERT_TRUE(client().Send("EHLO client.example\r\n"));
  std::string ehlo = client().ReadReply();
  EXPECT_EQ(ehlo,
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-ENHANCEDSTATUSCODES\r\n"
            "250-8BITMIME\r\n250 DSN\r\n");
  Script({
      {"MAIL FROM:<sender@example.com> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=e1\r\n", {250}},
      {"RCPT TO:<one@example.org> NOTIFY=SUCCESS ORCPT=rfc822;one@example.org\r\n", {250}},
      {"RCPT TO:<reject@example.org>\r\n", {550}},
      {"RCPT TO:<two@example.org>\r\n", {250}},
      {"DATA\r\n", {354}},
      {"Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n", {250}},
      {"QUIT\r\n", {221}},
  });
  EXPECT_TRUE(client().WaitClosed());
  ASSERT_TRUE(Finished());
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  const auto& m = messages[0];
  EXPECT_EQ(m.message, "Subject: hi\r\n\r\n.dot\r\nbody\r\n");
  EXPECT_EQ(m.helo, "client.example");
  EXPECT_EQ(m.envelope.mail.sender, "sender@example.com");
  EXPECT_EQ(m.envelope.mail.size, 100u);
  EXPECT_EQ(m.envelope.mail.body, SmtpBodyType::k8BitMime);
  EXPECT_EQ(m.envelope.mail.ret, DsnRet::kHeaders);
  EXPECT_EQ(m.envelope.mail.envid, "e1");
  ASSERT_EQ(m.envelope.recipients.size(), 2u);
  EXPECT_EQ(m.envelope.recipients[0].recipient, "one@example.org");
  EXPECT_EQ(m.envelope.recipients[0].notify, dsn_notify::kSuccess);
  EXPECT_EQ(m.envelope.recipients[0].orcpt, "one@example.org");
  EXPECT_EQ(m.envelope.recipients[1].recipient, "two@example.org");
  EXPECT_EQ(counters_->messages.load(), 1u);
}

TEST_F(SmtpSessionTest, SequenceAndSyntaxErrors) {
  options_.message_size_limit = 1000;
  options_.hard_error_limit = 100;
  Start();
  Script({
      {"", {220}},
      {"RCPT TO:<a@b>\r\n", {503}},
      {"DATA\r\n", {503}},
      {"HELO\r\n", {501}},
      {"LHLO x\r\n", {502}},
      {"\r\n", {500}},
      {"FOO bar\r\n", {502}},
      {"EXPN list\r\n", {502}},
      {"BDAT 10 LAST\r\n", {502}},
      {"STARTTLS\r\n", {502}},
      {"AUTH PLAIN\r\n", {503}},
      {"XFORWARD NAME=x\r\n", {550}},
      {"VRFY\r\n", {501}},
      {"VRFY user\r\n", {252}},
      {"HELP\r\n", {214}},
      {"NOOP\r\n", {250}},
      {"HELO client\r\n", {250}},
      {"MAIL FROM:<a@b> SIZE=2000\r\n", {552}},
      {"MAIL FROM <a@b>\r\n", {501}},
      {"MAIL FROM:<a@b> FOO=1\r\n", {555}},
      {"MAIL FROM:<a@b>\r\n", {250}},
      {"MAIL FROM:<a@b>\r\n", {503}},
      {"DATA\r\n", {554}},
      {"RCPT TO:<>\r\n", {501}},
      {"RCPT TO:<x@y> NOTIFY=BOGUS\r\n", {501}},
      {"DATA extra\r\n", {501}},
      {"RSET x\r\n", {501}},
      {"RSET\r\n", {250}},
      {"RCPT TO:<x@y>\r\n", {503}},
      {"QUIT\r\n", {221}},
  });
  EXPECT_TRUE(Finished());
}

TEST_F(SmtpSessionTest, RepliesCarryEnhancedStatusCodes) {
  Start();
  client().ReadReply();
  client().Send("EHLO x\r\n");
  client().ReadReply();
  client().Send("MAIL FROM:<a@b>\r\n");
  EXPECT_EQ(client().ReadReply(), "250 2.1.0 Ok\r\n");
  client().Send("RCPT TO:<c@d>\r\n");
  EXPECT_EQ(client().ReadReply(), "250 2.1.5 Ok\r\n");
  client().Send("RCPT TO:<reject@d>\r\n");
  EXPECT_EQ(client().ReadReply(),
            "550 5.1.1 <reject@d>: Recipient address rejected: User unknown\r\n");
  client().Send("DATA\r\n");
  EXPECT_EQ(client().ReadReply(), "354 End data with <CR><LF>.<CR><LF>\r\n");
  client().Send(".\r\n");
  EXPECT_EQ(client().ReadReply(), "250 2.0.0 Ok: queued as TEST1\r\n");
  client().Send("FOO\r\n");
  EXPECT_EQ(client().ReadReply(), "502 5.5.2 Error: command not recognized\r\n");
  client().Send("QUIT\r\n");
  EXPECT_EQ(client().ReadReply(), "221 2.0.0 Bye\r\n");
}

TEST_F(SmtpSessionTest, PipelinedCommandsAreAnsweredInOrderInOneWrite) {
  Start();
  Script({{"", {220}}, {"EHLO client\r\n", {250}}});
  std::uint64_t writes_before = counters_->reply_writes.load();
  Script(
      {{"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<reject@d>\r\nRCPT TO:<tempfail@d>\r\n"
        "RCPT TO:<e@f>\r\nDATA\r\n",
        {250, 250, 550, 450, 250, 354}}});
  EXPECT_EQ(counters_->reply_writes.load(), writes_before + 1);
  Script({{"one\r\n.\r\nMAIL FROM:<g@h>\r\nRCPT TO:<i@j>\r\nDATA\r\n", {250, 250, 250, 354}},
          {"two\r\n.\r\nQUIT\r\n", {250, 221}}});
  EXPECT_EQ(counters_->reply_writes.load(), writes_before + 3);
  ASSERT_TRUE(Finished());
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].message, "one\r\n");
  EXPECT_EQ(messages[0].envelope.recipients.size(), 2u);
  EXPECT_EQ(messages[1].message, "two\r\n");
  ASSERT_EQ(state_->disconnected.size(), 1u);
  EXPECT_FALSE(state_->disconnected[0].improper_pipelining);
}

TEST_F(SmtpSessionTest, PipeliningWithoutPermissionIsFlagged) {
  Start();
  Script({{"", {220}}, {"EHLO client\r\nMAIL FROM:<a@b>\r\n", {250, 250}}, {"QUIT\r\n", {221}}});
  ASSERT_TRUE(Finished());
  ASSERT_EQ(state_->DisconnectCount(), 1u);
  EXPECT_TRUE(state_->disconnected[0].improper_pipelining);
}

TEST_F(SmtpSessionTest, HeloClientSendingAheadIsFlagged) {
  Start();
  Script({{"", {220}},
          {"HELO client\r\n", {250}},
          {"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n", {250, 250}},
          {"QUIT\r\n", {221}}});
  ASSERT_TRUE(Finished());
  EXPECT_TRUE(state_->disconnected[0].improper_pipelining);
}

TEST_F(SmtpSessionTest, BareLinefeedsAreAcceptedAndNormalised) {
  Start();
  Script({{"", {220}},
          {"EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n", {250, 250, 250, 354}},
          {"Subject: lf\n\nline\n..\n.\nQUIT\n", {250, 221}}});
  ASSERT_TRUE(Finished());
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].message, "Subject: lf\r\n\r\nline\r\n.\r\n");
}

TEST_F(SmtpSessionTest, LmtpRepliesOncePerAcceptedRecipient) {
  options_.mode = SmtpMode::kLmtp;
  Start();
  EXPECT_EQ(client().ReadReply(), "220 mx.test LMTP Moat\r\n");
  Script({
      {"MAIL FROM:<a@b>\r\n", {503}},  // LHLO first
      {"EHLO x\r\n", {502}},
      {"HELO x\r\n", {502}},
      {"LHLO client\r\n", {250}},
      {"MAIL FROM:<a@b>\r\nRCPT TO:<ok@d>\r\nRCPT TO:<lmtpfail@d>\r\nRCPT TO:<reject@d>\r\n"
       "RCPT TO:<lmtpreject@d>\r\nDATA\r\n",
       {250, 250, 250, 550, 250, 354}},
  });
  ASSERT_TRUE(client().Send("Subject: x\r\n\r\nhi\r\n.\r\n"));
  EXPECT_EQ(client().ReadReply(), "250 2.0.0 <ok@d> Ok: queued as TEST1\r\n");
  EXPECT_EQ(client().ReadReply(), "452 4.2.2 <lmtpfail@d>: mailbox full\r\n");
  EXPECT_EQ(client().ReadReply(), "554 5.7.1 <lmtpreject@d>: refused\r\n");
  Script({{"QUIT\r\n", {221}}});
  ASSERT_TRUE(Finished());
  EXPECT_EQ(state_->MessageCount(), 1u);
}

TEST_F(SmtpSessionTest, LmtpOversizeMessageGetsOne552PerRecipient) {
  options_.mode = SmtpMode::kLmtp;
  options_.message_size_limit = 100;
  Start();
  Script({{"", {220}},
          {"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n",
           {250, 250, 250, 250, 354}},
          {std::string(500, 'x') + "\r\n.\r\n", {552, 552}},
          {"NOOP\r\n", {250}}});
  EXPECT_EQ(state_->MessageCount(), 0u);
  EXPECT_EQ(counters_->oversize_messages.load(), 1u);
}

TEST_F(SmtpSessionTest, OversizeMessageIsRefusedAfterTheEndMarkerAndTheSessionGoesOn) {
  options_.message_size_limit = 1000;
  Start();
  std::string big;
  for (int i = 0; i < 200; ++i) big += "0123456789012345678901234567890123456789\r\n";
  Script({{"", {220}},
          {"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", {250, 250, 250, 354}},
          {big + ".\r\n", {552}},
          {"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", {250, 250, 354}},
          {"small\r\n.\r\n", {250}}});
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].message, "small\r\n");
}

TEST_F(SmtpSessionTest, MegabyteLineGets500AndTheSessionContinues) {
  Start();
  Script({{"", {220}}});
  std::string huge(1 << 20, 'A');
  ASSERT_TRUE(client().Send(huge));
  ASSERT_TRUE(client().Send("\r\nNOOP\r\n"));
  std::string reply = client().ReadReply();
  EXPECT_EQ(reply, "500 5.5.2 Error: line too long\r\n");
  Script({{"", {250}}, {"EHLO x\r\n", {250}}, {"QUIT\r\n", {221}}});
  ASSERT_TRUE(Finished());
}

TEST_F(SmtpSessionTest, NulBytesAreToleratedInCommandsAndKeptInData) {
  Start();
  Script({{"", {220}},
          {std::string("NO\0OP\r\n", 7), {502}},
          {std::string("EHLO a\0b\r\n", 10), {250}},
          {"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", {250, 250, 354}},
          {std::string("bin\0ary\r\n.\r\n", 12), {250}}});
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].message, std::string("bin\0ary\r\n", 9));
  EXPECT_EQ(messages[0].helo, "a?b");
}

TEST_F(SmtpSessionTest, PipelinedGarbageHitsTheErrorLimit) {
  options_.hard_error_limit = 5;
  Start();
  client().ReadReply();
  std::string garbage;
  for (int i = 0; i < 50; ++i) garbage += "\x01\x02garbage \xff\xfe line\r\n";
  ASSERT_TRUE(client().Send(garbage));
  int errors = 0;
  std::string reply;
  while (true) {
    reply = client().ReadReply();
    if (reply.empty() || ReplyCode(reply) == 421) break;
    EXPECT_EQ(ReplyCode(reply), 502);
    ++errors;
  }
  EXPECT_EQ(errors, 5);
  EXPECT_EQ(reply, "421 4.7.0 mx.test Error: too many errors\r\n");
  EXPECT_TRUE(client().WaitClosed());
  EXPECT_TRUE(Finished());
  EXPECT_EQ(counters_->error_limit_closes.load(), 1u);
}

TEST_F(SmtpSessionTest, JunkCommandsCountAsErrorsPastTheLimit) {
  options_.junk_command_limit = 3;
  options_.hard_error_limit = 2;
  Start();
  Script({{"", {220}},
          {"NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n", {250, 250, 250, 250, 250, 421}}});
  EXPECT_TRUE(client().WaitClosed());
}

TEST_F(SmtpSessionTest, NonSmtpClientIsSentAway) {
  Start();
  Script({{"", {220}}, {"GET / HTTP/1.0\r\n", {221}}});
  EXPECT_TRUE(client().WaitClosed());
  Start();
  Script({{"", {220}}, {"Subject: hello\r\n", {221}}});
  EXPECT_TRUE(client().WaitClosed());
}

TEST_F(SmtpSessionTest, DisconnectMidDataAbortsTheTransaction) {
  Start();
  Script({{"", {220}},
          {"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", {250, 250, 250, 354}}});
  ASSERT_TRUE(client().Send("Subject: half\r\n\r\nonly half of the mess"));
  pair_.client.reset();  // the client goes away
  ASSERT_TRUE(Finished());
  EXPECT_EQ(state_->MessageCount(), 0u);
  auto events = state_->Events();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 2], "aborted");
  EXPECT_EQ(events.back(), "disconnect");
  EXPECT_EQ(counters_->lost_connections.load(), 1u);
}

TEST_F(SmtpSessionTest, IdleClientGetsTimeout) {
  options_.command_timeout = 200ms;
  Start();
  Script({{"", {220}}, {"EHLO x\r\n", {250}}});
  std::string reply = client().ReadReply(5s);
  EXPECT_EQ(reply, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(client().WaitClosed());
  EXPECT_TRUE(Finished());
  EXPECT_EQ(counters_->timeouts.load(), 1u);
}

TEST_F(SmtpSessionTest, SlowDataGetsTimeout) {
  options_.data_timeout = 200ms;
  Start();
  Script({{"", {220}},
          {"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", {250, 250, 250, 354}}});
  ASSERT_TRUE(client().Send("Subject: slow\r\n"));
  EXPECT_EQ(ReplyCode(client().ReadReply(5s)), 421);
  EXPECT_TRUE(client().WaitClosed());
  ASSERT_TRUE(Finished());
  EXPECT_EQ(state_->MessageCount(), 0u);
}

TEST_F(SmtpSessionTest, TimeoutDoesNotFireWhileTheHandlerWorks) {
  options_.command_timeout = 150ms;
  options_.data_timeout = 150ms;
  state_->message_delay = 600ms;
  Start();
  Script({{"", {220}},
          {"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", {250, 250, 250, 354}},
          {"x\r\n.\r\n", {250}},
          {"QUIT\r\n", {221}}});
  EXPECT_EQ(state_->MessageCount(), 1u);
}

TEST_F(SmtpSessionTest, ConnectRefusalAnswersEverythingWith503) {
  state_->connect_reply = SmtpReply(554, "5.7.1", "go away");
  Start();
  EXPECT_EQ(client().ReadReply(), "554 5.7.1 go away\r\n");
  Script({{"EHLO x\r\n", {503}}, {"MAIL FROM:<a@b>\r\n", {503}}, {"QUIT\r\n", {221}}});
  EXPECT_TRUE(Finished());
}

TEST_F(SmtpSessionTest, Connect421ClosesAtOnce) {
  state_->connect_reply = SmtpReply(421, "4.7.0", "busy");
  Start();
  EXPECT_EQ(client().ReadReply(), "421 4.7.0 busy\r\n");
  EXPECT_TRUE(client().WaitClosed());
  EXPECT_TRUE(Finished());
}

TEST_F(SmtpSessionTest, Handler421AfterDataIsSentForEveryRecipientThenCloses) {
  options_.mode = SmtpMode::kLmtp;
  Start();
  Script({{"", {220}},
          {"LHLO x\r\nMAIL FROM:<drop@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n",
           {250, 250, 250, 250, 354}},
          {".\r\n", {421, 421}}});
  EXPECT_TRUE(client().WaitClosed());
}

TEST_F(SmtpSessionTest, WrongReplyCountFromTheHandlerIsATempFailureNeverSuccess) {
  options_.mode = SmtpMode::kLmtp;
  Start();
  Script({{"", {220}},
          {"LHLO x\r\nMAIL FROM:<noreplies@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n",
           {250, 250, 250, 250, 354}}});
  ASSERT_TRUE(client().Send(".\r\n"));
  EXPECT_EQ(client().ReadReply(), "451 4.3.0 Error: internal error\r\n");
  EXPECT_EQ(client().ReadReply(), "451 4.3.0 Error: internal error\r\n");
  Script({{"NOOP\r\n", {250}}});
}

TEST_F(SmtpSessionTest, XforwardIsAcceptedFromAuthorisedClientsAndResetPerTransaction) {
  state_->allow_xforward = true;
  Start();
  client().ReadReply();
  client().Send("EHLO x\r\n");
  std::string ehlo = client().ReadReply();
  EXPECT_NE(ehlo.find("250 XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT\r\n"),
            std::string::npos);
  Script({{"XFORWARD NAME=client.example ADDR=192.0.2.7 PORT=1234\r\n"
           "XFORWARD PROTO=ESMTP HELO=helo.example IDENT=ABC SOURCE=REMOTE\r\n"
           "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
           {250, 250, 250, 250, 354}},
          {"one\r\n.\r\n", {250}},
          {"XFORWARD FOO=bar\r\n", {501}},
          {"MAIL FROM:<a@b>\r\n", {250}},
          {"XFORWARD NAME=x\r\n", {503}},
          {"RCPT TO:<c@d>\r\nDATA\r\n", {250, 354}},
          {"two\r\n.\r\n", {250}}});
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 2u);
  const auto& x = messages[0].xforward;
  EXPECT_EQ(x.name, "client.example");
  EXPECT_EQ(x.addr, "192.0.2.7");
  EXPECT_EQ(x.port, "1234");
  EXPECT_EQ(x.proto, "ESMTP");
  EXPECT_EQ(x.helo, "helo.example");
  EXPECT_EQ(x.ident, "ABC");
  EXPECT_EQ(x.source, "REMOTE");
  EXPECT_TRUE(messages[1].xforward.empty());
}

TEST_F(SmtpSessionTest, GracefulStopOfAnIdleSession) {
  Start();
  Script({{"", {220}}, {"EHLO x\r\n", {250}}});
  pair_.session->RequestStop();
  EXPECT_EQ(client().ReadReply(), "421 4.3.2 mx.test Service shutting down\r\n");
  EXPECT_TRUE(client().WaitClosed());
  EXPECT_TRUE(Finished());
}

TEST_F(SmtpSessionTest, GracefulStopLetsTheTransactionFinish) {
  Start();
  Script({{"", {220}}, {"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n", {250, 250, 250}}});
  pair_.session->RequestStop();
  Script({{"DATA\r\n", {354}}, {"finish me\r\n.\r\n", {250, 421}}});
  EXPECT_TRUE(client().WaitClosed());
  EXPECT_TRUE(Finished());
  EXPECT_EQ(state_->MessageCount(), 1u);
}

TEST_F(SmtpSessionTest, RequireTlsRefusesMailBeforeStartTls) {
  options_.require_tls = true;
  Start();
  Script({{"", {220}}, {"EHLO x\r\n", {250}}, {"MAIL FROM:<a@b>\r\n", {530}}, {"NOOP\r\n", {250}}});
}

class SmtpSessionTlsTest : public SmtpSessionTest {
 protected:
  void SetUp() override {
    auto cert = testing::MakeTestCertificate(dir_);
    TlsServerSettings settings;
    settings.cert_file = cert.cert_file;
    settings.key_file = cert.key_file;
    auto context = MakeTlsServerContext(settings);
    ASSERT_TRUE(context.has_value()) << context.error().ToString();
    state_->tls_context = *context;
    state_->offer_auth = true;
  }

  // Sends STARTTLS (plus `smuggled` in the same packet) and completes the handshake.
  std::unique_ptr<testing::TlsLineClient> StartTls(const std::string& smuggled = "") {
    EXPECT_TRUE(client().Send("STARTTLS\r\n" + smuggled));
    EXPECT_EQ(client().ReadReply(), "220 2.0.0 Ready to start TLS\r\n");
    auto tls = std::make_unique<testing::TlsLineClient>(client().fd(), client_context_);
    EXPECT_EQ(tls->Handshake(), "");
    return tls;
  }

  moat::testing::TempDir dir_;
  asio::ssl::context client_context_{asio::ssl::context::tls_client};
};

TEST_F(SmtpSessionTlsTest, StartTlsForgetsEverythingAndDropsSmuggledCommands) {
  Start();
  client().ReadReply();
  client().Send("EHLO x\r\n");
  std::string ehlo = client().ReadReply();
  EXPECT_NE(ehlo.find("250-STARTTLS\r\n"), std::string::npos);
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos);  // only after TLS
  auto tls = StartTls("MAIL FROM:<smuggled@evil>\r\n");
  ASSERT_TRUE(tls->Send("RCPT TO:<c@d>\r\n"));
  EXPECT_EQ(ReplyCode(tls->ReadReply()), 503);  // no MAIL survived the handshake
  ASSERT_TRUE(tls->Send("EHLO x\r\n"));
  ehlo = tls->ReadReply();
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_NE(ehlo.find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
  ASSERT_TRUE(tls->Send("STARTTLS\r\n"));
  EXPECT_EQ(ReplyCode(tls->ReadReply()), 554);
  ASSERT_TRUE(tls->Send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"));
  EXPECT_EQ(ReplyCode(tls->ReadReply()), 250);
  EXPECT_EQ(ReplyCode(tls->ReadReply()), 250);
  EXPECT_EQ(ReplyCode(tls->ReadReply()), 354);
  ASSERT_TRUE(tls->Send("secret\r\n.\r\nQUIT\r\n"));
  EXPECT_EQ(ReplyCode(tls->ReadReply()), 250);
  EXPECT_EQ(ReplyCode(tls->ReadReply()), 221);
  ASSERT_TRUE(Finished());
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].tls);
  EXPECT_EQ(counters_->tls_handshakes.load(), 1u);
  ASSERT_EQ(state_->disconnected.size(), 1u);
  ASSERT_TRUE(state_->disconnected[0].tls.has_value());
  EXPECT_FALSE(state_->disconnected[0].tls->protocol.empty());
  EXPECT_FALSE(state_->disconnected[0].tls->cipher.empty());
}

TEST_F(SmtpSessionTlsTest, AuthPlainAndLoginExchanges) {
  Start();
  client().ReadReply();
  auto tls = StartTls();
  auto step = [&](const std::string& send) {
    EXPECT_TRUE(tls->Send(send));
    return tls->ReadReply();
  };
  step("EHLO x\r\n");
  EXPECT_EQ(step("AUTH PLAIN " + EncodeSaslPlain("", "alice", "wrong") + "\r\n"),
            "535 5.7.8 Error: authentication failed\r\n");
  EXPECT_EQ(step("AUTH CRAM-MD5\r\n"), "504 5.5.4 Error: unsupported authentication mechanism\r\n");
  EXPECT_EQ(step("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(step("*\r\n"), "501 5.7.0 Error: authentication aborted\r\n");
  EXPECT_EQ(step("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(step("not base64!\r\n"), "501 5.5.2 Error: cannot decode response\r\n");
  EXPECT_EQ(step("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(step(Base64Encode("alice") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(step(Base64Encode("secret") + "\r\n"), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(ReplyCode(step("AUTH PLAIN " + EncodeSaslPlain("", "alice", "secret") + "\r\n")), 503);
  EXPECT_EQ(ReplyCode(step("MAIL FROM:<a@b> AUTH=alice@example.com\r\n")), 250);
  EXPECT_EQ(ReplyCode(step("RCPT TO:<c@d>\r\n")), 250);
  EXPECT_EQ(ReplyCode(step("DATA\r\n")), 354);
  EXPECT_EQ(ReplyCode(step("x\r\n.\r\n")), 250);
  auto messages = state_->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].auth_user, "alice");
  EXPECT_EQ(messages[0].envelope.mail.auth, "alice@example.com");
}

TEST_F(SmtpSessionTlsTest, FailedHandshakeClosesTheConnection) {
  Start();
  client().ReadReply();
  ASSERT_TRUE(client().Send("STARTTLS\r\n"));
  EXPECT_EQ(ReplyCode(client().ReadReply()), 220);
  ASSERT_TRUE(client().Send("this is not a TLS client hello\r\n\r\n"));
  EXPECT_TRUE(client().WaitClosed());
  EXPECT_TRUE(Finished());
  EXPECT_EQ(counters_->tls_failures.load(), 1u);
}

}  // namespace
}  // namespace moat::core

namespace moat::core {
namespace {

// Random mixtures of valid commands, message bodies, garbage, NULs and over-long lines: every
// session must answer, end when the client half-closes, and never crash (run under ASan/UBSan).
TEST_F(SmtpSessionTest, RandomInputNeverCrashesOrHangs) {
  options_.command_timeout = 5s;
  options_.data_timeout = 5s;
  options_.hard_error_limit = 1000;
  options_.message_size_limit = 4096;
  state_->allow_xforward = true;
  state_->offer_auth = true;
  state_->auth_requires_tls = false;
  const std::vector<std::string> fragments = {
      "EHLO x\r\n",
      "HELO y\n",
      "MAIL FROM:<a@b> SIZE=10\r\n",
      "MAIL FROM:<>\r\n",
      "RCPT TO:<c@d> NOTIFY=NEVER\r\n",
      "RCPT TO:<reject@d>\r\n",
      "DATA\r\n",
      ".\r\n",
      "..\r\n",
      "RSET\r\n",
      "NOOP\r\n",
      "AUTH PLAIN\r\n",
      "AUTH LOGIN\r\n",
      "*\r\n",
      "AGFsaWNlAHNlY3JldA==\r\n",
      "XFORWARD NAME=a ADDR=1.2.3.4\r\n",
      "XFORWARD BAD\r\n",
      "VRFY x\r\n",
      "\r\n",
      "\n",
      "\r",
      std::string(3000, 'L') + "\r\n",
      std::string("\0\0\0", 3),
      "BDAT 1\r\n",
      "Subject: x\r\n",
  };
  std::mt19937 rng(4242);
  for (int round = 0; round < 60; ++round) {
    Start();
    std::string input;
    int pieces = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < pieces; ++i) {
      if (rng() % 4 == 0) {
        std::size_t length = rng() % 64;
        for (std::size_t j = 0; j < length; ++j) input.push_back(static_cast<char>(rng() % 256));
      } else {
        input += fragments[rng() % fragments.size()];
      }
    }
    client().Send(input);
    ::shutdown(client().fd(), SHUT_WR);
    EXPECT_TRUE(client().WaitClosed(10s)) << "round " << round;
    ASSERT_TRUE(Finished()) << "round " << round;
  }
}

}  // namespace
}  // namespace moat::core
