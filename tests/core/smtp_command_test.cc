// smtp_command_test.cc - command line splitting, MAIL/RCPT/XFORWARD parsing and formatting.
#include "core/smtp_command.h"

#include <gtest/gtest.h>

#include <random>

namespace moat::core {
namespace {

TEST(SmtpCommandTest, VerbsAreCaseInsensitiveAndArgumentsTrimmed) {
  struct Case {
    std::string line;
    SmtpVerb verb;
    std::string args;
  };
  const Case cases[] = {
      {"EHLO client.example", SmtpVerb::kEhlo, "client.example"},
      {"ehlo   client.example  ", SmtpVerb::kEhlo, "client.example"},
      {"  mAiL FROM:<a@b>", SmtpVerb::kMail, "FROM:<a@b>"},
      {"rcpt to:<x@y>", SmtpVerb::kRcpt, "to:<x@y>"},
      {"DATA", SmtpVerb::kData, ""},
      {"LHLO x", SmtpVerb::kLhlo, "x"},
      {"StartTLS", SmtpVerb::kStartTls, ""},
      {"XFORWARD NAME=a", SmtpVerb::kXforward, "NAME=a"},
      {"QUIT", SmtpVerb::kQuit, ""},
      {"", SmtpVerb::kEmpty, ""},
      {"   ", SmtpVerb::kEmpty, ""},
      {"MAILX FROM:<a>", SmtpVerb::kUnknown, "FROM:<a>"},
      {std::string("NO\0OP", 5), SmtpVerb::kUnknown, ""},
  };
  for (const auto& c : cases) {
    SmtpCommandLine command = ParseCommandLine(c.line);
    EXPECT_EQ(command.verb, c.verb) << c.line;
    EXPECT_EQ(command.args, c.args) << c.line;
  }
}

TEST(SmtpCommandTest, RecognisesClientsThatAreNotSpeakingSmtp) {
  EXPECT_TRUE(IsNonSmtpCommand("Subject:"));
  EXPECT_TRUE(IsNonSmtpCommand("From:"));
  EXPECT_TRUE(IsNonSmtpCommand("GET"));
  EXPECT_TRUE(IsNonSmtpCommand("connect"));
  EXPECT_FALSE(IsNonSmtpCommand("MAIL"));
  EXPECT_FALSE(IsNonSmtpCommand(":"));
  EXPECT_FALSE(IsNonSmtpCommand("a b:"));
}

struct MailCase {
  std::string args;
  int error_code;  // 0: must parse
  std::string sender;
};

TEST(SmtpCommandTest, MailFromTable) {
  const MailCase cases[] = {
      {"FROM:<user@example.com>", 0, "user@example.com"},
      {"from:<user@example.com>", 0, "user@example.com"},
      {"FROM: <user@example.com>", 0, "user@example.com"},  // Postfix tolerates the space
      {"FROM:<>", 0, ""},                                   // null sender
      {"FROM:user@example.com", 0, "user@example.com"},     // no brackets, like Postfix
      {"FROM:<@relay.example:user@example.com>", 0, "user@example.com"},  // source route
      {"FROM:<\"john doe\"@example.com>", 0, "\"john doe\"@example.com"},
      {"FROM:<\"a>b\"@example.com>", 0, "\"a>b\"@example.com"},
      {"FROM:<user@example.com> SIZE=1000", 0, "user@example.com"},
      {"FROM:<ü@exämple.com> SMTPUTF8", 0, "ü@exämple.com"},
      {"TO:<user@example.com>", 501, ""},
      {"FROM <user@example.com>", 501, ""},
      {"", 501, ""},
      {"FROM:", 501, ""},
      {"FROM:<user@example.com", 501, ""},
      {"FROM:<a<b@example.com>", 501, ""},
      {"FROM:<a b@example.com>", 501, ""},
      {"FROM:<user@example.com>junk", 501, ""},
      {std::string("FROM:<us\0er@example.com>", 24), 501, ""},
      {"FROM:<@relay.example>", 501, ""},
      {"FROM:<a@b> SIZE=abc", 501, ""},
      {"FROM:<a@b> SIZE=99999999999999999999999", 501, ""},
      {"FROM:<a@b> SIZE=1 SIZE=2", 501, ""},
      {"FROM:<a@b> BODY=BINARYMIME", 501, ""},
      {"FROM:<a@b> BODY=8BITMIME BODY=7BIT", 501, ""},
      {"FROM:<a@b> RET=PARTIAL", 501, ""},
      {"FROM:<a@b> ENVID=bad+zz", 501, ""},
      {"FROM:<a@b> FOO=bar", 555, ""},
      {"FROM:<a@b> SMTPUTF8=yes", 501, ""},
  };
  SmtpExtensionSet offered;
  offered.smtputf8 = true;
  for (const auto& c : cases) {
    auto mail = ParseMailArguments(c.args, offered);
    if (c.error_code == 0) {
      ASSERT_TRUE(mail.has_value()) << c.args << ": " << mail.error().ToString();
      EXPECT_EQ(mail->sender, c.sender) << c.args;
    } else {
      ASSERT_FALSE(mail.has_value()) << c.args;
      EXPECT_EQ(mail.error().code(), c.error_code) << c.args << ": " << mail.error().ToString();
      EXPECT_FALSE(mail.error().enhanced().empty()) << c.args;
    }
  }
}

TEST(SmtpCommandTest, StrictEnvelopesNeedAngleBrackets) {
  SmtpExtensionSet strict;
  strict.strict_rfc821_envelopes = true;
  auto bare = ParseMailArguments("FROM:a@example.com", strict);
  ASSERT_FALSE(bare.has_value());
  EXPECT_EQ(bare.error().code(), 501);
  EXPECT_EQ(bare.error().enhanced(), "5.1.7");
  auto bare_rcpt = ParseRcptArguments("TO:b@example.org", strict);
  ASSERT_FALSE(bare_rcpt.has_value());
  EXPECT_EQ(bare_rcpt.error().enhanced(), "5.1.3");
  auto bracketed = ParseMailArguments("FROM: <a@example.com> SIZE=10", strict);
  ASSERT_TRUE(bracketed.has_value()) << bracketed.error().ToString();
  EXPECT_EQ(bracketed->sender, "a@example.com");
  EXPECT_TRUE(ParseMailArguments("FROM:<>", strict).has_value());
  auto unknown = ParseMailArguments("FROM:<a@example.com> FROBNICATE=1", strict);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), 555);
}

TEST(SmtpCommandTest, MailParametersAreDecoded) {
  SmtpExtensionSet offered;
  offered.smtputf8 = true;
  offered.auth = true;
  auto mail = ParseMailArguments(
      "FROM:<a@b> size=1234 Body=8bitmime RET=HDRS ENVID=QQ+2Bid+3D1 AUTH=joe+2Bx@example.com "
      "SMTPUTF8",
      offered);
  ASSERT_TRUE(mail.has_value()) << mail.error().ToString();
  EXPECT_EQ(mail->size, 1234u);
  EXPECT_EQ(mail->body, SmtpBodyType::k8BitMime);
  EXPECT_EQ(mail->ret, DsnRet::kHeaders);
  EXPECT_EQ(mail->envid, "QQ+id=1");
  EXPECT_EQ(mail->auth, "joe+x@example.com");
  EXPECT_TRUE(mail->smtputf8);
}

TEST(SmtpCommandTest, ParametersOfExtensionsNotOfferedAreRefusedWith555) {
  SmtpExtensionSet none;
  none.size = false;
  none.eight_bit_mime = false;
  none.dsn = false;
  for (const char* args : {"FROM:<a@b> SIZE=1", "FROM:<a@b> BODY=8BITMIME", "FROM:<a@b> RET=FULL",
                           "FROM:<a@b> ENVID=x", "FROM:<a@b> AUTH=<>", "FROM:<a@b> SMTPUTF8"}) {
    auto mail = ParseMailArguments(args, none);
    ASSERT_FALSE(mail.has_value()) << args;
    EXPECT_EQ(mail.error().code(), 555) << args;
  }
  auto rcpt = ParseRcptArguments("TO:<a@b> NOTIFY=NEVER", none);
  ASSERT_FALSE(rcpt.has_value());
  EXPECT_EQ(rcpt.error().code(), 555);
}

TEST(SmtpCommandTest, RcptToTable) {
  struct Case {
    std::string args;
    int error_code;
    std::string recipient;
    unsigned notify;
    std::string orcpt;
  };
  const Case cases[] = {
      {"TO:<x@example.com>", 0, "x@example.com", 0, ""},
      {"to: <x@example.com>", 0, "x@example.com", 0, ""},
      {"TO:<postmaster>", 0, "postmaster", 0, ""},
      {"TO:<x@example.com> NOTIFY=SUCCESS,FAILURE", 0, "x@example.com",
       dsn_notify::kSuccess | dsn_notify::kFailure, ""},
      {"TO:<x@example.com> NOTIFY=never", 0, "x@example.com", dsn_notify::kNever, ""},
      {"TO:<x@example.com> ORCPT=rfc822;x+40example.com", 0, "x@example.com", 0, "x@example.com"},
      {"TO:<x@example.com> NOTIFY=DELAY ORCPT=rfc822;A+2BB@example.com", 0, "x@example.com",
       dsn_notify::kDelay, "A+B@example.com"},
      {"TO:<>", 501, "", 0, ""},
      {"TO:", 501, "", 0, ""},
      {"FROM:<x@example.com>", 501, "", 0, ""},
      {"TO:<x@example.com> NOTIFY=NEVER,SUCCESS", 501, "", 0, ""},
      {"TO:<x@example.com> NOTIFY=", 501, "", 0, ""},
      {"TO:<x@example.com> NOTIFY=SOMETIMES", 501, "", 0, ""},
      {"TO:<x@example.com> NOTIFY=SUCCESS,", 501, "", 0, ""},
      {"TO:<x@example.com> ORCPT=x@example.com", 501, "", 0, ""},
      {"TO:<x@example.com> ORCPT=rfc822;bad+g1", 501, "", 0, ""},
      {"TO:<x@example.com> ORCPT=rfc 822;x", 501, "", 0, ""},
      {"TO:<x@example.com> XYZ", 555, "", 0, ""},
  };
  SmtpExtensionSet offered;
  for (const auto& c : cases) {
    auto rcpt = ParseRcptArguments(c.args, offered);
    if (c.error_code == 0) {
      ASSERT_TRUE(rcpt.has_value()) << c.args << ": " << rcpt.error().ToString();
      EXPECT_EQ(rcpt->recipient, c.recipient) << c.args;
      EXPECT_EQ(rcpt->notify, c.notify) << c.args;
      EXPECT_EQ(rcpt->orcpt, c.orcpt) << c.args;
      if (!c.orcpt.empty()) {
        EXPECT_EQ(rcpt->orcpt_type, "rfc822");
      }
    } else {
      ASSERT_FALSE(rcpt.has_value()) << c.args;
      EXPECT_EQ(rcpt.error().code(), c.error_code) << c.args;
    }
  }
}

TEST(SmtpCommandTest, XforwardTable) {
  auto attrs = ParseXforwardArguments(
      "NAME=mail.example.com ADDR=192.0.2.1 PORT=4711 PROTO=ESMTP HELO=client.example "
      "IDENT=4Xy1 SOURCE=remote");
  ASSERT_TRUE(attrs.has_value()) << attrs.error().ToString();
  EXPECT_EQ(attrs->name, "mail.example.com");
  EXPECT_EQ(attrs->addr, "192.0.2.1");
  EXPECT_EQ(attrs->port, "4711");
  EXPECT_EQ(attrs->proto, "ESMTP");
  EXPECT_EQ(attrs->helo, "client.example");
  EXPECT_EQ(attrs->ident, "4Xy1");
  EXPECT_EQ(attrs->source, "REMOTE");

  attrs = ParseXforwardArguments("name=[UNAVAILABLE] ADDR=IPV6:2001:db8::1 HELO=a+20b+0Dc");
  ASSERT_TRUE(attrs.has_value()) << attrs.error().ToString();
  EXPECT_EQ(attrs->name, "[UNAVAILABLE]");
  EXPECT_FALSE(XforwardValueAvailable(attrs->name));
  EXPECT_EQ(attrs->addr, "2001:db8::1");
  EXPECT_TRUE(XforwardValueAvailable(attrs->addr));
  EXPECT_EQ(attrs->helo, "a b?c");  // xtext decoded; the CR neutralised
  EXPECT_FALSE(attrs->port.has_value());

  attrs = ParseXforwardArguments("NAME=[TEMPUNAVAIL]");
  ASSERT_TRUE(attrs.has_value());
  EXPECT_FALSE(XforwardValueAvailable(attrs->name));

  for (const char* bad :
       {"", "NAME", "NAME=", "COLOR=blue", "PORT=99999", "PORT=x", "SOURCE=MARS", "NAME=bad+zz"}) {
    auto result = ParseXforwardArguments(bad);
    ASSERT_FALSE(result.has_value()) << bad;
    EXPECT_EQ(result.error().code(), 501) << bad;
  }
  std::string long_value = "NAME=" + std::string(300, 'a');
  EXPECT_FALSE(ParseXforwardArguments(long_value).has_value());
}

TEST(SmtpCommandTest, FormattedMailAndRcptParseBackToTheSameEnvelope) {
  SmtpExtensionSet offered;
  offered.smtputf8 = true;
  offered.auth = true;
  MailParams mail;
  mail.sender = "bounce+tag=x@example.com";
  mail.size = 4242;
  mail.body = SmtpBodyType::k8BitMime;
  mail.ret = DsnRet::kFull;
  mail.envid = "env id+=1";
  mail.auth = "<>";
  mail.smtputf8 = true;
  std::string line;
  AppendMailCommand(mail, offered, line);
  EXPECT_EQ(line,
            "MAIL FROM:<bounce+tag=x@example.com> SIZE=4242 BODY=8BITMIME RET=FULL "
            "ENVID=env+20id+2B+3D1 AUTH=<> SMTPUTF8\r\n");
  auto parsed = ParseMailArguments(std::string_view(line).substr(5, line.size() - 7), offered);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, mail);

  RcptParams rcpt;
  rcpt.recipient = "x@example.com";
  rcpt.notify = dsn_notify::kFailure | dsn_notify::kDelay;
  rcpt.orcpt_type = "rfc822";
  rcpt.orcpt = "X+Y@example.com";
  line.clear();
  AppendRcptCommand(rcpt, offered, line);
  EXPECT_EQ(line,
            "RCPT TO:<x@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;X+2BY@example.com\r\n");
  auto parsed_rcpt = ParseRcptArguments(std::string_view(line).substr(5, line.size() - 7), offered);
  ASSERT_TRUE(parsed_rcpt.has_value());
  EXPECT_EQ(*parsed_rcpt, rcpt);
}

TEST(SmtpCommandTest, FormattingDropsParametersThePeerDidNotOffer) {
  SmtpExtensionSet plain;
  plain.size = false;
  plain.eight_bit_mime = false;
  plain.dsn = false;
  MailParams mail;
  mail.size = 1;
  mail.body = SmtpBodyType::k8BitMime;
  mail.ret = DsnRet::kFull;
  mail.envid = "x";
  std::string line;
  AppendMailCommand(mail, plain, line);
  EXPECT_EQ(line, "MAIL FROM:<>\r\n");
  RcptParams rcpt{"a@b", dsn_notify::kNever, "rfc822", "a@b"};
  line.clear();
  AppendRcptCommand(rcpt, plain, line);
  EXPECT_EQ(line, "RCPT TO:<a@b>\r\n");
}

TEST(SmtpCommandTest, XforwardCommandsStayWithin512BytesAndRoundTrip) {
  XforwardAttributes attrs;
  attrs.name = std::string(240, 'n') + ".example";
  attrs.addr = "2001:db8::1";
  attrs.port = "25";
  attrs.proto = "ESMTP";
  attrs.helo = std::string(200, 'h') + " =+";
  attrs.ident = "ABC123";
  attrs.source = "REMOTE";
  std::vector<std::string> offered = {"NAME", "ADDR", "PROTO", "HELO", "SOURCE", "PORT", "IDENT"};
  std::string out;
  int lines = AppendXforwardCommands(attrs, offered, out);
  EXPECT_GE(lines, 2);
  XforwardAttributes merged;
  std::size_t start = 0;
  for (int i = 0; i < lines; ++i) {
    std::size_t end = out.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    std::string_view line = std::string_view(out).substr(start, end - start);
    EXPECT_LE(line.size() + 2, 512u);
    ASSERT_TRUE(line.starts_with("XFORWARD "));
    auto parsed = ParseXforwardArguments(line.substr(9));
    ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
    merged.Merge(*parsed);
    start = end + 2;
  }
  EXPECT_EQ(start, out.size());
  EXPECT_EQ(merged.helo, std::string(200, 'h') + " =+");
  EXPECT_EQ(merged, attrs);
}

TEST(SmtpCommandTest, XforwardSendsOnlyOfferedAttributes) {
  XforwardAttributes attrs;
  attrs.name = "a";
  attrs.addr = "192.0.2.1";
  attrs.ident = "Q1";
  std::string out;
  EXPECT_EQ(AppendXforwardCommands(attrs, {"addr", "NAME"}, out), 1);
  EXPECT_EQ(out, "XFORWARD NAME=a ADDR=192.0.2.1\r\n");
  out.clear();
  EXPECT_EQ(AppendXforwardCommands(attrs, {"PROTO"}, out), 0);
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace moat::core

namespace moat::core {
namespace {

// Random bytes through every parser of peer input: a result or a refusal, never a crash.
TEST(SmtpCommandTest, RandomInputIsRefusedCleanly) {
  std::mt19937 rng(99);
  using namespace std::string_literals;
  const std::string alphabet = "<>@:;=+, \t\"\\.aA0FROMTOSIZEBODYNOTIFYORCPT\x80\xff\0"s;
  SmtpExtensionSet offered;
  offered.smtputf8 = true;
  offered.auth = true;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    std::size_t length = rng() % 80;
    for (std::size_t j = 0; j < length; ++j) text.push_back(alphabet[rng() % alphabet.size()]);
    if (i % 3 == 0) text = "FROM:" + text;
    if (i % 3 == 1) text = "TO:<" + text;
    auto mail = ParseMailArguments(text, offered);
    if (!mail) {
      EXPECT_GE(mail.error().code(), 500);
    }
    auto rcpt = ParseRcptArguments(text, offered);
    if (!rcpt) {
      EXPECT_GE(rcpt.error().code(), 500);
    }
    auto xforward = ParseXforwardArguments(text);
    if (!xforward) {
      EXPECT_EQ(xforward.error().code(), 501);
    }
    SmtpReplyParser parser;
    parser.Feed(text);
    ParseCommandLine(text);
  }
}

}  // namespace
}  // namespace moat::core
