// filterd_peers_test.cc - the real moat-filterd against LMTP clients no one here wrote (Python's
// smtplib.LMTP, swaks --protocol LMTP) and SMTP servers as reinjection targets (Postfix's
// smtp-sink, which dumps every message so bytes are compared; an in-process server that refuses
// recipients by name for the per-recipient replies).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <regex>

#include "tests/integration/filterd_process.h"

namespace moat::filterd {
namespace {

namespace fs = std::filesystem;
using moat::testing::CommandResult;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::FakeRelay;
using testing::FilterdProcess;
using testing::TestClamavConf;

// smtp-sink -d: one file per message, under a directory nobody may write to.
class SmtpSink {
 public:
  explicit SmtpSink(const TempDir& dir) : dir_(dir.Path("sink")), port_(moat::testing::FreeTcpPort()) {
    fs::create_directories(dir_);
    ::chmod(dir.path().c_str(), 0755);
    ::chmod(dir_.c_str(), 0777);
    process_ = std::make_unique<moat::testing::Subprocess>(
        std::vector<std::string>{"smtp-sink", "-u", "nobody", "-d", dir_ + "/m.",
                                 fmt::format("127.0.0.1:{}", port_), "100"},
        dir.path());
    moat::testing::WaitForTcpPort(port_);
  }
  int port() const { return port_; }
  // The messages dumped completely so far. smtp-sink -d ends each dump with an empty line of its
  // own (after the message's last line end): a dump without it is still being written, and the
  // line is dropped here so what is returned is the message as received (LF line ends).
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      std::string text = moat::testing::ReadTextFile(entry.path().string());
      if (!text.ends_with("\n\n")) continue;
      text.pop_back();
      out.push_back(std::move(text));
    }
    return out;
  }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<moat::testing::Subprocess> process_;
};

std::string Lf(std::string text) {
  for (std::size_t p; (p = text.find("\r\n")) != std::string::npos;) text.erase(p, 1);
  return text;
}

// The message as the test sends it (CRLF), with a leading-dot line and 8-bit text.
const std::string kMessage =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.org\r\n"
    "Subject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=\r\n"
    "Date: Sat, 21 Nov 2026 08:00:00 +0000\r\n"
    "Message-ID: <peers-1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln.\r\n"
    ".a line with a leading dot\r\n"
    "..two dots\r\n"
    "last line\r\n";

class FilterdPeersTest : public ::testing::Test {
 protected:
  CommandResult Python(const std::string& script, std::vector<std::string> args) {
    std::string path = dir_.WriteFile("client.py", script);
    std::vector<std::string> argv = {moat::testing::kSystemPython, "-I", path};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  TempDir dir_;
};

// Sends kMessage over LMTP with smtplib and prints one line "code text" per recipient.
const char* kLmtpScript = R"PY(
import smtplib, sys
port, sender, rcpts, path = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(','), sys.argv[4]
msg = open(path, 'rb').read()
lmtp = smtplib.LMTP('127.0.0.1', port)
code, _ = lmtp.ehlo('client.test')   # smtplib.LMTP sends LHLO
assert code == 250, code
xforward = sys.argv[5] if len(sys.argv) > 5 else ''
if xforward:
    code, text = lmtp.docmd('XFORWARD', xforward)
    assert code == 250, (code, text)
lmtp.mail(sender, ['BODY=8BITMIME'])
accepted = []
for r in rcpts:
    code, text = lmtp.rcpt(r)
    if code == 250:
        accepted.append(r)
    else:
        print(code, text.decode())
if accepted:
    code, text = lmtp.data(msg)          # the reply for the first recipient
    print(code, text.decode())
    for r in accepted[1:]:               # RFC 2033: one more reply per accepted recipient
        code, text = lmtp.getreply()
        print(code, text.decode())
lmtp.quit()
)PY";

TEST_F(FilterdPeersTest, PythonLmtpToSmtpSinkByteIdenticalApartFromAddedHeaders) {
  SmtpSink sink(dir_);
  FilterdProcess filterd(dir_, sink.port(), TestClamavConf(dir_));  // the whole pipeline
  ASSERT_TRUE(filterd.Start()) << filterd.Log();
  std::string path = dir_.WriteFile("message.eml", kMessage);
  CommandResult result = Python(kLmtpScript, {std::to_string(filterd.inbound_port()),
                                              "alice@example.com", "bob@example.org", path});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err << filterd.Log();
  EXPECT_TRUE(result.out.starts_with("250 2.0.0 <bob@example.org> Ok, id=")) << result.out;
  ASSERT_TRUE(WaitUntil([&] { return sink.Files().size() == 1; }));
  std::string dumped = sink.Files()[0];
  std::size_t at = dumped.find(Lf(kMessage));
  ASSERT_NE(at, std::string::npos) << dumped;
  EXPECT_EQ(dumped.substr(at), Lf(kMessage));  // everything after the added fields is the original
  std::string added = dumped.substr(0, at);
  // What smtp-sink adds (X-* and its Received), then ours: Received, X-Virus-Scanned and
  // Authentication-Results only.
  // Where the folder breaks our Received (any number of continuation lines, each within 78
  // columns) is not the contract; the unfolded field is (RFC 5322 2.2.3).
  std::size_t ours = added.find("Received: from client.test ");
  ASSERT_NE(ours, std::string::npos) << added;
  std::string tail = added.substr(ours);
  for (std::size_t start = 0, nl; (nl = tail.find('\n', start)) != std::string::npos;
       start = nl + 1) {
    EXPECT_LE(nl - start, 78u) << tail;
  }
  std::string unfolded = std::regex_replace(tail, std::regex("\n[ \t]+"), " ");
  EXPECT_TRUE(std::regex_search(
      unfolded,
      std::regex("^Received: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\) by filter\\.test "
                 "\\(moat-filterd, port [0-9]+\\) with LMTP id [0-9A-Za-z]{12} for "
                 "<bob@example\\.org>; [^\\n]+\\n"
                 "((X-Virus-Scanned|Authentication-Results): [^\\n]+\\n){2}$")))
      << tail;
  ASSERT_TRUE(filterd.WaitForLog("Passed CLEAN {RelayedInbound}"));
  EXPECT_NE(filterd.Log().find("Message-ID: <peers-1@example.com>"), std::string::npos);
}

TEST_F(FilterdPeersTest, SwaksLmtpSeveralRecipientsAndPipelining) {
  SmtpSink sink(dir_);
  FilterdProcess filterd(dir_, sink.port());
  ASSERT_TRUE(filterd.Start()) << filterd.Log();
  CommandResult result = RunCommand(
      {"swaks", "--server", fmt::format("127.0.0.1:{}", filterd.inbound_port()), "--protocol",
       "LMTP", "--pipeline", "--timeout", "20", "--helo", "swaks.test", "--from", "s@example.com",
       "--to", "r1@example.org,r2@example.org,r3@example.org", "--header", "Subject: swaks"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  for (const char* rcpt : {"r1@example.org", "r2@example.org", "r3@example.org"}) {
    EXPECT_NE(result.out.find(fmt::format("<-  250 2.0.0 <{}> Ok, id=", rcpt)), std::string::npos)
        << result.out;
  }
  ASSERT_TRUE(WaitUntil([&] { return sink.Files().size() == 1; }));  // one transaction
  std::string dumped = sink.Files()[0];
  EXPECT_NE(dumped.find("X-Rcpt-Args: <r3@example.org>"), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("Subject: swaks"), std::string::npos);
}

TEST_F(FilterdPeersTest, PerRecipientRepliesFromTheReinjectionServer) {
  FakeRelay relay;
  FilterdProcess filterd(dir_, relay.port());
  ASSERT_TRUE(filterd.Start()) << filterd.Log();
  std::string path = dir_.WriteFile("message.eml", kMessage);
  CommandResult result =
      Python(kLmtpScript, {std::to_string(filterd.inbound_port()), "alice@example.com",
                           "ok@example.org,reject@example.org,tempfail@example.org", path});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  auto lines = std::vector<std::string>();
  for (std::size_t start = 0, nl; (nl = result.out.find('\n', start)) != std::string::npos;
       start = nl + 1) {
    lines.push_back(result.out.substr(start, nl - start));
  }
  ASSERT_EQ(lines.size(), 3u) << result.out;
  EXPECT_TRUE(lines[0].starts_with("250 2.0.0 <ok@example.org> Ok")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("550 5.1.1 <reject@example.org>")) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("450 4.2.1 <tempfail@example.org>")) << lines[2];
  auto messages = relay.Messages();
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(messages[0].envelope.recipients[0].recipient, "ok@example.org");
  EXPECT_TRUE(messages[0].message.ends_with(kMessage));  // exact bytes, CRLF and all
}

TEST_F(FilterdPeersTest, SwaksSeesPerRecipientRepliesAndTheReinjectionDownIsA4xx) {
  FakeRelay relay;
  FilterdProcess filterd(dir_, relay.port());
  ASSERT_TRUE(filterd.Start()) << filterd.Log();
  CommandResult result = RunCommand(
      {"swaks", "--server", fmt::format("127.0.0.1:{}", filterd.inbound_port()), "--protocol",
       "LMTP", "--timeout", "20", "--from", "s@example.com", "--to",
       "ok@example.org,reject@example.org,tempfail@example.org"});
  EXPECT_NE(result.out.find("<-  250 2.0.0 <ok@example.org> Ok"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("<** 550 5.1.1 <reject@example.org>"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("<** 450 4.2.1 <tempfail@example.org>"), std::string::npos)
      << result.out;
  relay.Stop();
  result = RunCommand({"swaks", "--server", fmt::format("127.0.0.1:{}", filterd.inbound_port()),
                       "--protocol", "LMTP", "--timeout", "20", "--from", "s@example.com", "--to",
                       "a@example.org,b@example.org"});
  EXPECT_NE(result.out.find("<** 451 4.4.1 <a@example.org>"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("<** 451 4.4.1 <b@example.org>"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("<-  250 2.0.0 <a@"), std::string::npos);
}

TEST_F(FilterdPeersTest, XforwardFromMynetworksSelectsTheOriginatingBank) {
  FakeRelay relay;
  FilterdProcess filterd(dir_, relay.port());
  ASSERT_TRUE(filterd.Start()) << filterd.Log();
  std::string path = dir_.WriteFile("message.eml", kMessage);
  CommandResult result = Python(
      kLmtpScript, {std::to_string(filterd.inbound_port()), "alice@example.com", "bob@example.org",
                    path, "NAME=mua.example.com ADDR=192.0.2.10 PROTO=ESMTP HELO=mua IDENT=4Qx9"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  ASSERT_TRUE(filterd.WaitForLog("{RelayedOutbound}")) << filterd.Log();
  EXPECT_NE(filterd.Log().find("[192.0.2.10] <alice@example.com> -> <bob@example.org>, Queue-ID: "
                               "4Qx9"),
            std::string::npos)
      << filterd.Log();
  auto messages = relay.Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].xforward.addr, "192.0.2.10");  // passed on to the return listener
  EXPECT_EQ(messages[0].xforward.name, "mua.example.com");
  EXPECT_EQ(messages[0].xforward.ident, "4Qx9");
  EXPECT_EQ(messages[0].envelope.mail.body, core::SmtpBodyType::k8BitMime);

  // From elsewhere on the inbound listener: inbound; on the originating listener: originating.
  result = Python(kLmtpScript, {std::to_string(filterd.inbound_port()), "a@example.com",
                                "b@example.org", path, "ADDR=203.0.113.5"});
  ASSERT_EQ(result.exit_code, 0);
  ASSERT_TRUE(filterd.WaitForLog("[203.0.113.5]"));
  EXPECT_NE(filterd.Log().find("{RelayedInbound}, inbound"), std::string::npos);
  result = Python(kLmtpScript, {std::to_string(filterd.originating_port()), "a@example.com",
                                "b@example.org", path});
  ASSERT_EQ(result.exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] {
    std::string log = filterd.Log();
    std::size_t n = 0;
    for (std::size_t p = 0; (p = log.find("{RelayedOutbound}, originating", p)) != std::string::npos; ++p) ++n;
    return n == 2;
  })) << filterd.Log();
}

}  // namespace
}  // namespace moat::filterd
