// filterd_postfix_test.cc - moat-filterd behind the real Postfix, set up with conf/postfix's
// snippets: Postfix (a private instance in a temp dir, on free loopback ports) -> moat-filterd ->
// Postfix's return listener -> smtp-sink. Shows the message arriving byte-identical apart from
// the added header fields (and DKIM-signed on the originating path, verified by dkimpy), the
// per-recipient replies reaching Postfix as delivered / bounced / deferred, and that with the
// return listener down Postfix keeps the message and delivers it once the listener is back.
//
// The instance never touches /etc/postfix or the system's Postfix: own main.cf/master.cf,
// queue_directory, data_directory and maillog_file under the temp dir, `postfix -c DIR`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "core/smtp_sasl.h"
#include "filterd/dkim_key.h"
#include "tests/integration/filterd_process.h"

namespace moat::filterd {
namespace {

namespace fs = std::filesystem;
using moat::testing::CommandResult;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::FilterdProcess;
using testing::TestClamavConf;
using namespace std::chrono_literals;

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t p = 0; (p = text.find(from, p)) != std::string::npos; p += to.size()) {
    text.replace(p, from.size(), to);
  }
  return text;
}

std::string Lf(const std::string& text) { return ReplaceAll(text, "\r\n", "\n"); }

// smtp-sink -d: one file per message.
class SmtpSink {
 public:
  explicit SmtpSink(const std::string& dir) : dir_(dir), port_(moat::testing::FreeTcpPort()) {
    fs::create_directories(dir_);
    ::chmod(dir_.c_str(), 0777);
    process_ = std::make_unique<moat::testing::Subprocess>(
        std::vector<std::string>{"smtp-sink", "-u", "nobody", "-d", dir_ + "/m.",
                                 fmt::format("127.0.0.1:{}", port_), "100"},
        fs::path(dir_).parent_path().string());
    moat::testing::WaitForTcpPort(port_);
  }
  int port() const { return port_; }
  // Complete dumps whose content holds `marker`. smtp-sink -d ends each dump with an empty line
  // of its own (after the message's last line end): a dump without it is still being written,
  // and the line is dropped here so what is returned is the message as received (LF line ends).
  std::vector<std::string> With(const std::string& marker) const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      std::string text = moat::testing::ReadTextFile(entry.path().string());
      if (!text.ends_with("\n\n") || text.find(marker) == std::string::npos) continue;
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

// A private Postfix instance: etc/ (main.cf, master.cf), spool/, data/, maillog.
class PrivatePostfix {
 public:
  PrivatePostfix(const std::string& root, int smtpd_port, int filter_port, int return_port,
                 int sink_port)
      : root_(root), smtpd_port_(smtpd_port), filter_port_(filter_port), return_port_(return_port) {
    fs::create_directories(root_ + "/etc");
    fs::create_directories(root_ + "/spool");
    fs::create_directories(root_ + "/data");
    RunCommand({"chown", "postfix:postfix", root_ + "/data"});
    std::string main_cf = fmt::format(
        "compatibility_level = 3.6\n"
        "queue_directory = {0}/spool\n"
        "data_directory = {0}/data\n"
        "maillog_file_prefixes = /tmp, /var, {0}\n"
        "maillog_file = {0}/maillog\n"
        "myhostname = mta.test\n"
        "mydomain = test\n"
        "myorigin = test\n"
        "mydestination =\n"
        "local_recipient_maps =\n"
        "local_transport = error:local delivery is disabled\n"
        "alias_maps =\n"
        "alias_database =\n"
        "relay_domains =\n"
        "relayhost = [127.0.0.1]:{1}\n"
        "mynetworks = 127.0.0.0/8\n"
        "inet_interfaces = 127.0.0.1\n"
        "inet_protocols = ipv4\n"
        "smtp_dns_support_level = disabled\n"
        "smtpd_relay_restrictions = permit_mynetworks, reject\n"
        "notify_classes =\n"
        "in_flow_delay = 0s\n"
        "biff = no\n",
        root_, sink_port);
    // The snippet as shipped, on this test's ports.
    main_cf += Ports(moat::testing::ReadTextFile(moat::testing::SourcePath(
        "conf/postfix/main.cf.snippet")));
    std::ofstream(root_ + "/etc/main.cf") << main_cf;
    master_snippet_ = Ports(moat::testing::ReadTextFile(
        moat::testing::SourcePath("conf/postfix/master.cf.snippet")));
  }
  ~PrivatePostfix() { Stop(); }

  // The return listener refuses recipients by the access table at `access_path`.
  void CheckRecipientsWith(const std::string& access_path) {
    master_snippet_ = ReplaceAll(
        master_snippet_, "-o smtpd_recipient_restrictions=permit_mynetworks,reject",
        "-o smtpd_recipient_restrictions=check_recipient_access,texthash:" + access_path +
            ",permit_mynetworks,reject");
  }

  // Writes master.cf with or without the return listener.
  void WriteMaster(bool with_return_listener) {
    std::string snippet = master_snippet_;
    if (!with_return_listener) {
      std::size_t begin = snippet.find(fmt::format("127.0.0.1:{} inet", return_port_));
      std::size_t end = snippet.find("\n\n", begin);
      snippet.erase(begin, end - begin);
    }
    std::string master = fmt::format("127.0.0.1:{} inet n - n - - smtpd\n", smtpd_port_) +
                         snippet + "\n" + kServices;
    std::ofstream(root_ + "/etc/master.cf", std::ios::trunc) << master;
  }

  bool Start() {
    WriteMaster(true);
    CommandResult check = Postfix({"check"});
    if (check.exit_code != 0) {
      ADD_FAILURE() << "postfix check: " << check.out << check.err;
      return false;
    }
    CommandResult start = Postfix({"start"});
    if (start.exit_code != 0) {
      ADD_FAILURE() << "postfix start: " << start.out << start.err;
      return false;
    }
    started_ = true;
    return moat::testing::WaitForTcpPort(smtpd_port_) && moat::testing::WaitForTcpPort(return_port_);
  }
  void Stop() {
    if (started_) Postfix({"stop"});
    started_ = false;
  }
  bool Reload() { return Postfix({"reload"}).exit_code == 0; }
  CommandResult Postfix(std::vector<std::string> args) {
    std::vector<std::string> argv = {"postfix", "-c", root_ + "/etc"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  CommandResult Postqueue(const std::string& flag) {
    return RunCommand({"postqueue", "-c", root_ + "/etc", flag});
  }
  std::string Maillog() const {
    std::error_code error;
    if (!fs::exists(root_ + "/maillog", error)) return "";
    return moat::testing::ReadTextFile(root_ + "/maillog");
  }

 private:
  std::string Ports(std::string text) const {
    text = ReplaceAll(text, "127.0.0.1]:10024", fmt::format("127.0.0.1]:{}", filter_port_));
    return ReplaceAll(text, "127.0.0.1:10025", fmt::format("127.0.0.1:{}", return_port_));
  }

  static constexpr const char* kServices =
      "pickup    unix  n       -       n       60      1       pickup\n"
      "cleanup   unix  n       -       n       -       0       cleanup\n"
      "qmgr      unix  n       -       n       300     1       qmgr\n"
      "rewrite   unix  -       -       n       -       -       trivial-rewrite\n"
      "bounce    unix  -       -       n       -       0       bounce\n"
      "defer     unix  -       -       n       -       0       bounce\n"
      "trace     unix  -       -       n       -       0       bounce\n"
      "verify    unix  -       -       n       -       1       verify\n"
      "flush     unix  n       -       n       1000?   0       flush\n"
      "proxymap  unix  -       -       n       -       -       proxymap\n"
      "smtp      unix  -       -       n       -       -       smtp\n"
      "relay     unix  -       -       n       -       -       smtp\n"
      "showq     unix  n       -       n       -       -       showq\n"
      "error     unix  -       -       n       -       -       error\n"
      "retry     unix  -       -       n       -       -       error\n"
      "discard   unix  -       -       n       -       -       discard\n"
      "lmtp      unix  -       -       n       -       -       lmtp\n"
      "anvil     unix  -       -       n       -       1       anvil\n"
      "scache    unix  -       -       n       -       1       scache\n"
      "postlog   unix-dgram n  -       n       -       1       postlogd\n";

  std::string root_;
  int smtpd_port_;
  int filter_port_;
  int return_port_;
  std::string master_snippet_;
  bool started_ = false;
};

// Submits a message to Postfix over SMTP with Python's smtplib; prints refused recipients.
const char* kSubmitScript = R"PY(
import smtplib, sys
port, sender, rcpts, path = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(','), sys.argv[4]
with smtplib.SMTP('127.0.0.1', port) as s:
    s.ehlo('client.test')
    refused = s.sendmail(sender, rcpts, open(path, 'rb').read())
    print(refused)
)PY";

// Verifies the DKIM signature of a message file with dkimpy against the given TXT record.
const char* kDkimVerifyScript = R"PY(
import dkim, sys
msg = open(sys.argv[1], 'rb').read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
record = sys.argv[2].encode()
def dnsfunc(name, timeout=5):
    return record if name == sys.argv[3].encode() else None
print('verified' if dkim.verify(msg, dnsfunc=dnsfunc) else 'failed')
)PY";

std::string Message(const std::string& subject) {
  return "From: Alice <alice@example.com>\r\n"
         "To: Bob <bob@example.org>\r\n"
         "Subject: " + subject + "\r\n"
         "Date: Sat, 21 Nov 2026 08:00:00 +0000\r\n"
         "Message-ID: <" + subject + "@example.com>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=us-ascii\r\n"
         "\r\n"
         "Hello Bob,\r\n"
         ".this line starts with a dot\r\n"
         "\r\n"
         "-- \r\n"
         "Alice\r\n";
}

class FilterdPostfixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(dir_.path().c_str(), 0755);  // Postfix's daemons and smtp-sink run unprivileged
    sink_ = std::make_unique<SmtpSink>(dir_.Path("sink"));
    smtpd_port_ = moat::testing::FreeTcpPort();
    return_port_ = moat::testing::FreeTcpPort();
  }

  void StartFilterd(std::string extra = "") {
    filterd_ = std::make_unique<FilterdProcess>(filterd_dir_, return_port_, std::move(extra));
    ASSERT_TRUE(filterd_->Start()) << filterd_->Log();
    postfix_ = std::make_unique<PrivatePostfix>(dir_.Path("postfix"), smtpd_port_,
                                                filterd_->inbound_port(), return_port_,
                                                sink_->port());
  }

  void Submit(const std::string& subject, const std::string& rcpts) {
    std::string path = dir_.WriteFile(subject + ".eml", Message(subject));
    std::string script = dir_.WriteFile("submit.py", kSubmitScript);
    CommandResult result = RunCommand({moat::testing::kSystemPython, "-I", script,
                                       std::to_string(smtpd_port_), "alice@example.com", rcpts,
                                       path});
    ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  }

  // The dumped file of the message with `subject`, once it arrived.
  std::string Arrived(const std::string& subject) {
    std::string marker = "Subject: " + subject + "\n";
    EXPECT_TRUE(WaitUntil([&] { return !sink_->With(marker).empty(); }, 30s))
        << postfix_->Maillog() << filterd_->Log();
    auto files = sink_->With(marker);
    return files.empty() ? "" : files[0];
  }

  TempDir dir_;
  TempDir filterd_dir_;
  std::unique_ptr<SmtpSink> sink_;
  int smtpd_port_ = 0;
  int return_port_ = 0;
  std::unique_ptr<FilterdProcess> filterd_;
  std::unique_ptr<PrivatePostfix> postfix_;
};

TEST_F(FilterdPostfixTest, ThroughTheFilterByteIdenticalApartFromAddedHeaders) {
  StartFilterd(TestClamavConf(filterd_dir_));  // the whole pipeline
  ASSERT_TRUE(postfix_->Start()) << postfix_->Maillog();
  Submit("through", "bob@example.org,carol@example.org");
  std::string dumped = Arrived("through");
  ASSERT_FALSE(dumped.empty());
  std::string original = Lf(Message("through"));
  std::size_t at = dumped.find(original);
  ASSERT_NE(at, std::string::npos) << dumped;
  EXPECT_EQ(dumped.substr(at), original);
  // Above the original: smtp-sink's lines, then the Received fields of Postfix's return
  // listener, ours (with X-Virus-Scanned and, inbound, Authentication-Results) and Postfix's
  // first smtpd - nothing else.
  std::string added = dumped.substr(0, at);
  std::regex fields(
      "Received: from [^\\n]*\\n(\\s[^\\n]*\\n)*"
      "((X-Virus-Scanned|Authentication-Results): [^\\n]*\\n)+"
      "Received: from client\\.test \\(localhost \\[127\\.0\\.0\\.1\\]\\)\\n(\\s[^\\n]*\\n)*$");
  EXPECT_TRUE(std::regex_search(added, fields)) << added;
  EXPECT_NE(added.find("X-Virus-Scanned: "), std::string::npos) << added;
  EXPECT_NE(added.find("by filter.test (moat-filterd, port"), std::string::npos) << added;
  EXPECT_NE(dumped.find("X-Rcpt-Args: <bob@example.org>"), std::string::npos);
  EXPECT_NE(dumped.find("X-Rcpt-Args: <carol@example.org>"), std::string::npos);
  // Postfix forwarded the client with XFORWARD: 127.0.0.1 is in mynetworks -> originating.
  ASSERT_TRUE(filterd_->WaitForLog("Passed CLEAN {RelayedOutbound}, originating"))
      << filterd_->Log();
  // The return listener took the original client from moat-filterd's XFORWARD.
  EXPECT_TRUE(WaitUntil([&] {
    return postfix_->Maillog().find("client=localhost[127.0.0.1], orig_queue_id=") !=
           std::string::npos;
  })) << postfix_->Maillog();
}

TEST_F(FilterdPostfixTest, OriginatingMailIsSignedAndStillVerifiesAtTheSink) {
  auto key = DkimPrivateKey::Generate(DkimKeyType::kRsa, 2048);
  ASSERT_TRUE(key.has_value());
  filterd_dir_.WriteFile("dkim/rsa.key", *key->ToPem());
  filterd_dir_.WriteFile("dkim/KeyTable", "k example.com:moat:rsa.key\n");
  filterd_dir_.WriteFile("dkim/SigningTable", "example.com k\n");
  StartFilterd("dkim_key_table = dkim/KeyTable\ndkim_signing_table = dkim/SigningTable\n");
  ASSERT_TRUE(postfix_->Start()) << postfix_->Maillog();
  Submit("signed", "bob@example.org");
  std::string dumped = Arrived("signed");
  ASSERT_NE(dumped.find("DKIM-Signature: v=1; a=rsa-sha256;"), std::string::npos) << dumped;
  std::string path = dir_.WriteFile("signed.eml", dumped);
  std::string script = dir_.WriteFile("verify.py", kDkimVerifyScript);
  std::string record = "v=DKIM1; k=rsa; p=" + core::Base64Encode(*key->PublicKeyData());
  CommandResult result = RunCommand({moat::testing::kSystemPython, "-I", script, path, record,
                                     "moat._domainkey.example.com."});
  EXPECT_EQ(result.out, "verified\n") << result.out << result.err << dumped;
}

TEST_F(FilterdPostfixTest, PerRecipientRepliesReachPostfix) {
  StartFilterd();
  std::string access = dir_.WriteFile(
      "access", "reject@example.org 550 5.1.1 no such user here\n"
                "tempfail@example.org 450 4.2.0 try later\n");
  postfix_->CheckRecipientsWith(access);
  ASSERT_TRUE(postfix_->Start()) << postfix_->Maillog();
  Submit("three", "ok@example.org,reject@example.org,tempfail@example.org");
  // Postfix's bounce for reject@ (to the sender, quoting "Subject: three") reaches the sink
  // too, possibly first: wait for the delivery to ok@ itself.
  const std::string to_ok = "X-Rcpt-Args: <ok@example.org>";
  ASSERT_TRUE(WaitUntil([&] { return !sink_->With(to_ok).empty(); }, 30s))
      << postfix_->Maillog() << filterd_->Log();
  std::string dumped = sink_->With(to_ok)[0];
  EXPECT_NE(dumped.find("Subject: three\n"), std::string::npos) << dumped;
  EXPECT_EQ(dumped.find("reject@example.org"), std::string::npos);
  EXPECT_EQ(dumped.find("tempfail@example.org"), std::string::npos);
  // Postfix's LMTP client saw 250, the 5xx and a 4xx from moat-filterd.
  auto logged = [&](const std::string& rcpt, const std::string& what) {
    std::regex line("to=<" + rcpt + ">, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:" +
                    std::to_string(filterd_->inbound_port()) + ",[^\\n]*" + what);
    return std::regex_search(postfix_->Maillog(), line);
  };
  EXPECT_TRUE(WaitUntil([&] {
    return logged("ok@example.org", "status=sent \\(250 2\\.0\\.0 <ok@example\\.org> Ok") &&
           logged("reject@example.org", "status=bounced \\([^\\n]*550 5\\.1\\.1") &&
           logged("tempfail@example.org", "status=deferred \\([^\\n]*450 4\\.2\\.0");
  }, 30s)) << postfix_->Maillog();
  EXPECT_EQ(sink_->With("X-Rcpt-Args: <tempfail@example.org>").size(), 0u);
  EXPECT_EQ(sink_->With("X-Rcpt-Args: <reject@example.org>").size(), 0u);
}

TEST_F(FilterdPostfixTest, ReturnListenerDownPostfixKeepsTheMessageAndDeliversItLater) {
  StartFilterd();
  ASSERT_TRUE(postfix_->Start()) << postfix_->Maillog();
  postfix_->WriteMaster(false);  // stop the return listener
  ASSERT_TRUE(postfix_->Reload());
  ASSERT_TRUE(WaitUntil([&] {
    return RunCommand({"bash", "-c",
                       fmt::format("exec 3<>/dev/tcp/127.0.0.1/{}", return_port_)})
               .exit_code != 0;
  }));
  Submit("later", "bob@example.org");
  ASSERT_TRUE(WaitUntil([&] {
    return postfix_->Maillog().find("to=<bob@example.org>, relay=127.0.0.1[127.0.0.1]:" +
                                    std::to_string(filterd_->inbound_port())) != std::string::npos;
  }, 30s)) << postfix_->Maillog();
  std::string log = postfix_->Maillog();
  EXPECT_NE(log.find("status=deferred"), std::string::npos) << log;
  EXPECT_NE(log.find("451 4.4.1"), std::string::npos) << log;
  EXPECT_NE(filterd_->Log().find("Deferred"), std::string::npos);
  // Still in Postfix's queue, not at the sink.
  CommandResult queue = postfix_->Postqueue("-j");
  EXPECT_NE(queue.out.find("\"queue_name\": \"deferred\""), std::string::npos) << queue.out;
  EXPECT_TRUE(sink_->With("Subject: later\n").empty());

  postfix_->WriteMaster(true);  // the return listener is back
  ASSERT_TRUE(postfix_->Reload());
  ASSERT_TRUE(moat::testing::WaitForTcpPort(return_port_));
  ASSERT_EQ(postfix_->Postqueue("-f").exit_code, 0);
  std::string dumped = Arrived("later");
  EXPECT_NE(dumped.find(Lf(Message("later"))), std::string::npos);
  EXPECT_TRUE(WaitUntil([&] { return postfix_->Postqueue("-j").out.empty(); }));
  EXPECT_EQ(sink_->With("Subject: later\n").size(), 1u);  // delivered once
}

}  // namespace
}  // namespace moat::filterd
