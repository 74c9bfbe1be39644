// mta_amavis_test.cc - moat-mta in front of the real amavisd-new (Debian's package), as Postfix
// runs it (amavisd-new's README.postfix): smtp-source -> moat-mta -> content_filter =
// amavisfeed:[127.0.0.1]:PORT (LMTP with XFORWARD) -> amavisd-new, which scans with ClamAV's
// clamscan and forwards over SMTP to moat-mta's return listener (-o content_filter=) ->
// Postfix's smtp-sink. Every clean message arrives once with amavis's X-Virus-Scanned header;
// an EICAR attachment is discarded by amavis (its default virus destiny) and never arrives.
//
// amavisd runs in the foreground from a private config in the test's temp dir (no Debian
// conf.d, no SpamAssassin, no syslog, no quarantine), on a free port, as the amavis user the
// package creates; clamscan reads a one-signature database (EICAR's MD5) so it starts fast. The
// test stops it by its PID.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <set>

#include "tests/integration/mta_process.h"

namespace moat::mta {
namespace {

using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::Count;
using testing::MtaProcess;
using testing::SinkProcess;
using namespace std::chrono_literals;

constexpr const char* kAmavisd = "/usr/sbin/amavisd";
constexpr const char* kEicar =
    "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

// A private amavisd-new: config, home and a tiny ClamAV database under `root`.
class AmavisProcess {
 public:
  AmavisProcess(const TempDir& dir, int return_port)
      : root_(dir.Path("amavis")), port_(moat::testing::FreeTcpPort()) {
    std::filesystem::create_directories(root_ + "/home/tmp");
    std::filesystem::create_directories(root_ + "/home/db");
    std::filesystem::create_directories(root_ + "/home/var");
    std::filesystem::create_directories(root_ + "/clamav");
    ::chmod(dir.path().c_str(), 0755);
    ::chmod(root_.c_str(), 0755);
    ::chmod((root_ + "/clamav").c_str(), 0755);
    // EICAR's MD5 and size: clamscan loads this in milliseconds.
    dir.WriteFile("amavis/clamav/test.hdb",
                  "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n");
    ::chmod((root_ + "/clamav/test.hdb").c_str(), 0644);
    if (const passwd* amavis = ::getpwnam("amavis")) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(root_ + "/home")) {
        if (::chown(entry.path().c_str(), amavis->pw_uid, amavis->pw_gid) != 0) break;
      }
      if (::chown((root_ + "/home").c_str(), amavis->pw_uid, amavis->pw_gid) != 0) return;
    }
    // Root-owned and not writable by amavis, or amavisd refuses it.
    dir.WriteFile("amavis/amavisd.conf", fmt::format(R"(use strict;
$MYHOME = '{0}/home';
$TEMPBASE = "$MYHOME/tmp";
$db_home = "$MYHOME/db";
$helpers_home = "$MYHOME/var";
$lock_file = "$MYHOME/var/amavisd.lock";
$pid_file = "$MYHOME/var/amavisd.pid";
$LOGFILE = "$MYHOME/var/amavis.log";
$DO_SYSLOG = 0;
$log_level = 1;
$QUARANTINEDIR = undef;
$daemon_user = 'amavis'; $daemon_group = 'amavis';
$path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/usr/bin:/bin';
@local_domains_acl = ( '.example.test' );
$mydomain = 'filter.test';
$myhostname = 'amavis.filter.test';
$max_servers = 2;
$inet_socket_bind = '127.0.0.1';
$inet_socket_port = {1};
@inet_acl = qw(127.0.0.1);
$enable_db = 0;
@bypass_spam_checks_maps = (1);
@bypass_virus_checks_maps = (0);
$virus_admin = undef; $spam_admin = undef; $banned_admin = undef; $bad_header_admin = undef;
$warnvirussender = 0; $warnbannedsender = 0; $warnspamsender = 0;
$final_virus_destiny = D_DISCARD;
@av_scanners = ();
@av_scanners_backup = (
  ['ClamAV-clamscan', 'clamscan',
   "--stdout --no-summary -r --database={0}/clamav --tempdir=$TEMPBASE {{}}",
   [0], qr/:.*\sFOUND$/m, qr/^.*?: (?!Infected Archive)(.*) FOUND$/m ],
);
$forward_method = 'smtp:[127.0.0.1]:{2}';
$notify_method = $forward_method;
1;
)",
                                                     root_, port_, return_port));
    ::chmod((root_ + "/amavisd.conf").c_str(), 0644);
  }
  ~AmavisProcess() { Stop(); }

  static bool Installed() {
    return ::access(kAmavisd, X_OK) == 0 && ::getpwnam("amavis") != nullptr &&
           moat::testing::HaveTool("clamscan");
  }

  bool Start() {
    process_ = std::make_unique<moat::testing::Subprocess>(
        std::vector<std::string>{kAmavisd, "-c", root_ + "/amavisd.conf", "foreground"}, root_);
    return moat::testing::WaitForTcpPort(port_, 60s);
  }
  // SIGTERM to the master (its PID), which takes its children down with it.
  void Stop() {
    if (process_) process_->Stop(10s);
    process_.reset();
  }
  std::string Log() const {
    return moat::testing::ReadTextFile(root_ + "/home/var/amavis.log") +
           (process_ ? process_->Stderr() : std::string());
  }
  int port() const { return port_; }

 private:
  std::string root_;
  int port_;
  std::unique_ptr<moat::testing::Subprocess> process_;
};

// One message with EICAR as a base64 attachment (the decoded part is exactly the 68 bytes the
// signature hashes), sent with Python's smtplib.
constexpr const char* kSendVirus = R"(
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m['From'] = 'source@example.org'
m['To'] = 'user@example.test'
m['Subject'] = 'virus-inside'
m.set_content('see attachment')
m.add_attachment(sys.argv[2].encode(), maintype='application', subtype='octet-stream',
                 filename='eicar.com')
with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:
    s.ehlo('client.example.org')
    s.send_message(m)
)";

TEST(MtaAmavisTest, MoatMtaFeedsAmavisdNewAndDeliversWhatItReturns) {
  if (!AmavisProcess::Installed()) {
    GTEST_SKIP() << "amavisd-new is not installed (apt-get install amavisd-new clamav); "
                    "cmake/debian-deps.sh lists it for the tests";
  }
  TempDir dir;
  SinkProcess sink(dir, "sink");
  ASSERT_TRUE(sink.Start());
  int return_port = moat::testing::FreeTcpPort();
  AmavisProcess amavis(dir, return_port);
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", sink.port()));
  // The amavisfeed service and return listener of amavisd-new's README.postfix.
  MtaProcess mta(dir,
                 fmt::format("transport_maps = hash:$config_directory/transport\n"
                             "content_filter = amavisfeed:[127.0.0.1]:{}\n",
                             amavis.port()),
                 fmt::format("amavisfeed unix - - n - 2 lmtp\n"
                             "  -o lmtp_data_done_timeout=1200\n"
                             "  -o lmtp_send_xforward_command=yes\n"
                             "  -o max_use=20\n"
                             "127.0.0.1:{} inet n - n - - smtpd\n"
                             "  -o content_filter=\n"
                             "  -o smtpd_recipient_restrictions=permit_mynetworks,reject\n"
                             "  -o smtpd_relay_restrictions=permit_mynetworks,reject\n"
                             "  -o mynetworks=127.0.0.0/8\n"
                             "  -o smtpd_authorized_xforward_hosts=127.0.0.0/8\n"
                             "  -o receive_override_options=no_unknown_recipient_checks,"
                             "no_header_body_checks\n",
                             return_port));
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(moat::testing::WaitForTcpPort(return_port)) << mta.Log();
  ASSERT_TRUE(amavis.Start()) << amavis.Log();

  constexpr int kMessages = 8;
  auto source = RunCommand({"smtp-source", "-c", "-s", "2", "-m", std::to_string(kMessages), "-l",
                            "2000", "-f", "source@example.org", "-t", "user@example.test", "-M",
                            "client.example.org", fmt::format("127.0.0.1:{}", mta.smtp_port())});
  ASSERT_EQ(source.exit_code, 0) << source.out << source.err;
  auto virus = RunCommand(
      {moat::testing::kSystemPython, "-c", kSendVirus, std::to_string(mta.smtp_port()), kEicar});
  ASSERT_EQ(virus.exit_code, 0) << virus.out << virus.err;

  ASSERT_TRUE(WaitUntil([&] { return sink.Messages().size() >= kMessages; }, 60s))
      << sink.Messages().size() << "\n"
      << mta.Log() << "\n---\n"
      << amavis.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 30s)) << mta.Log();
  EXPECT_EQ(sink.Messages().size(), static_cast<std::size_t>(kMessages));
  // The last Received of moat-mta's (the bottom one) is the first pass, from smtp-source.
  std::regex first_pass(R"(Received: from client\.example\.org \(unknown \[127\.0\.0\.1\]\)\n)"
                        R"(\tby mx\.example\.test \(Moat\) with \w+ id (\w+))");
  std::set<std::string> originals;  // each message once: distinct first-pass queue IDs
  for (const std::string& m : sink.Messages()) {
    EXPECT_NE(m.find("X-Virus-Scanned: amavis at filter.test"), std::string::npos) << m;
    EXPECT_NE(m.find(fmt::format("(amavis, port {}) with LMTP", amavis.port())), std::string::npos)
        << m;
    EXPECT_EQ(m.find("virus-inside"), std::string::npos);
    // amavis learned the first queue ID by XFORWARD (IDENT) and logs it as the Queue-ID.
    std::smatch first;
    ASSERT_TRUE(std::regex_search(m, first, first_pass)) << m;
    originals.insert(first[1]);
    EXPECT_NE(amavis.Log().find(fmt::format("Queue-ID: {},", first[1].str())), std::string::npos)
        << first[1];
  }
  EXPECT_EQ(originals.size(), static_cast<std::size_t>(kMessages));
  // Each message went to amavis once (LMTP) and out once from the return listener.
  std::string log = mta.Log();
  EXPECT_EQ(Count(log, fmt::format("relay=127.0.0.1[127.0.0.1]:{}", amavis.port())),
            static_cast<std::size_t>(kMessages + 1))
      << log;
  EXPECT_EQ(Count(log, fmt::format("relay=127.0.0.1[127.0.0.1]:{}", sink.port())),
            static_cast<std::size_t>(kMessages));
  // amavis found the virus itself (with clamscan) and discarded it after its 250.
  EXPECT_TRUE(WaitUntil([&] {
    return amavis.Log().find("Blocked INFECTED (Eicar-Test-Signature") != std::string::npos;
  })) << amavis.Log();
  amavis.Stop();
  EXPECT_EQ(mta.Stop(), 0);
}

}  // namespace
}  // namespace moat::mta
