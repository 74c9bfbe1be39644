// privilege_drop_test.cc - moat-filterd and moat-mta started as root become daemon_user /
// mail_owner (core/privileges.h): /proc/PID/status shows the user's ids in all four slots and no
// capability once they listen; the state they create belongs to the user; moat-mta still binds a
// port below 1024 and queues mail afterwards; a missing user stops the start. Skipped unless the
// tests run as root.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "tests/integration/filterd_process.h"
#include "tests/support/test_support.h"

namespace moat::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

struct Account {
  uid_t uid;
  gid_t gid;
};

std::optional<Account> Nobody() {
  passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) return std::nullopt;
  return Account{pw->pw_uid, pw->pw_gid};
}

// "Uid:", "Gid:", "CapEff:" ... of /proc/PID/status, by name.
std::map<std::string, std::string> ProcStatus(pid_t pid) {
  std::map<std::string, std::string> fields;
  std::istringstream lines(ReadTextFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(lines, line);) {
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    fields[line.substr(0, colon)] = value;
  }
  return fields;
}

std::string FourTimes(unsigned id) {
  std::string s = std::to_string(id);
  return s + "\t" + s + "\t" + s + "\t" + s;
}

void ExpectRunsAs(pid_t pid, const Account& account) {
  auto status = ProcStatus(pid);
  EXPECT_EQ(status["Uid"], FourTimes(account.uid)) << "real, effective, saved, fs uid";
  EXPECT_EQ(status["Gid"], FourTimes(account.gid)) << "real, effective, saved, fs gid";
  EXPECT_EQ(status["CapEff"], "0000000000000000");
  EXPECT_EQ(status["CapPrm"], "0000000000000000");
  std::istringstream groups(status["Groups"]);
  for (std::string group; groups >> group;) {
    EXPECT_NE(group, "0") << "still in group root: " << status["Groups"];
  }
}

uid_t OwnerOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

// A port below 1024 that nothing listens on (found by binding it, as root).
int FreePrivilegedPort() {
  std::mt19937 random(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = 600 + static_cast<int>(random() % 400);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    if (free) return port;
  }
  return 0;
}

class PrivilegeDropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the daemons drop privileges only as root";
    auto nobody = Nobody();
    if (!nobody) GTEST_SKIP() << "no user nobody";
    nobody_ = *nobody;
    // The user must reach the state below the temp dir (mkdtemp makes it 0700).
    ::chmod(dir_.path().c_str(), 0755);
  }
  std::string StateDirectory(const std::string& name) {
    std::string path = dir_.Path(name);
    fs::create_directories(path);
    EXPECT_EQ(::chown(path.c_str(), nobody_.uid, nobody_.gid), 0);
    return path;
  }

  TempDir dir_;
  Account nobody_{};
};

TEST_F(PrivilegeDropTest, FilterdBecomesDaemonUserOnceItListens) {
  std::string state = StateDirectory("state");
  filterd::testing::FilterdProcess filterd(dir_, FreeTcpPort());
  ASSERT_TRUE(filterd.Start({"daemon_user=nobody", "data_directory=" + state,
                             "quarantine_directory=" + state + "/quarantine"}))
      << filterd.Log();
  ExpectRunsAs(filterd.pid(), nobody_);
  EXPECT_TRUE(filterd.WaitForLog("running as nobody (uid " + std::to_string(nobody_.uid)))
      << filterd.Log();
  // The quarantine it opened while starting is the user's, not root's.
  for (const char* file : {"quarantine", "quarantine/index.sqlite"}) {
    EXPECT_EQ(OwnerOf(state + "/" + file), nobody_.uid) << file;
  }
  // Still serving: LMTP answers as nobody.
  CommandResult lhlo =
      RunCommand({kSystemPython, "-c",
                  "import smtplib, sys; s = smtplib.LMTP('127.0.0.1', int(sys.argv[1])); "
                  "print(s.ehlo()[0]); s.quit()",
                  std::to_string(filterd.inbound_port())},
                 WithTimeout(seconds(20)));
  EXPECT_EQ(lhlo.out, "250\n") << lhlo.err;
  EXPECT_EQ(filterd.Stop(), std::optional<int>(0)) << filterd.Log();
}

TEST_F(PrivilegeDropTest, MtaBindsAPrivilegedPortThenQueuesMailAsMailOwner) {
  int low_port = FreePrivilegedPort();
  ASSERT_NE(low_port, 0);
  std::string queue = StateDirectory("queue");
  std::string data = StateDirectory("data");
  int closed = FreeTcpPort();  // the content filter's port: nothing listens, mail stays queued
  Subprocess mta({BinaryPath("moat-mta"), "-c", SourcePath("conf"), "-o", "mail_owner=nobody", "-o",
                  "smtp_listen=127.0.0.1:" + std::to_string(low_port), "-o",
                  "submission_listen=127.0.0.1:" + std::to_string(FreeTcpPort()), "-o",
                  "return_listen=127.0.0.1:" + std::to_string(FreeTcpPort()), "-o",
                  "inbound_filter_nexthop=[127.0.0.1]:" + std::to_string(closed), "-o",
                  "queue_directory=" + queue, "-o", "data_directory=" + data},
                 dir_.path());
  ASSERT_TRUE(WaitForTcpPort(low_port, seconds(20))) << mta.Stderr();
  EXPECT_TRUE(WaitUntil([&] {
    return mta.Stderr().find("running as nobody") != std::string::npos;
  })) << mta.Stderr();
  ExpectRunsAs(mta.pid(), nobody_);

  CommandResult sent =
      RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(low_port), "--from",
                  "someone@example.org", "--to", "postmaster@example.test"},
                 WithTimeout(seconds(30)));
  EXPECT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  EXPECT_NE(sent.out.find("250 2.0.0 Ok: queued as "), std::string::npos) << sent.out;
  // The queue's directories and the message's file belong to nobody.
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(queue)) {
    EXPECT_EQ(OwnerOf(entry.path().string()), nobody_.uid) << entry.path();
    files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_GE(files, 1u);
  mta.Signal(SIGTERM);
  EXPECT_TRUE(mta.Wait(seconds(40)).has_value());
}

TEST_F(PrivilegeDropTest, MissingUserStopsTheStart) {
  CommandResult filterd =
      RunCommand({BinaryPath("moat-filterd"), "-c", SourcePath("conf"), "-o",
                  "daemon_user=moat-test-no-such-user", "-o", "bypass_virus_checks=yes", "-o",
                  "data_directory=" + StateDirectory("filterd")},
                 WithTimeout(seconds(30)));
  EXPECT_EQ(filterd.exit_code, 1);
  EXPECT_NE(filterd.err.find("daemon_user = moat-test-no-such-user: no such user; create it "
                             "(useradd --system moat-test-no-such-user) or set daemon_user = "
                             "root to run as root on purpose"),
            std::string::npos)
      << filterd.err;
  CommandResult mta = RunCommand(
      {BinaryPath("moat-mta"), "-c", SourcePath("conf"), "-o", "mail_owner=moat-test-no-such-user",
       "-o", "queue_directory=" + StateDirectory("queue"), "-o",
       "smtp_listen=127.0.0.1:" + std::to_string(FreeTcpPort())},
      WithTimeout(seconds(30)));
  EXPECT_EQ(mta.exit_code, 1);
  EXPECT_NE(mta.err.find("mail_owner = moat-test-no-such-user: no such user"), std::string::npos)
      << mta.err;
}

}  // namespace
}  // namespace moat::testing
