// systemd_units_test.cc - conf/systemd's units pass `systemd-analyze verify` (and its offline
// security rating), and its sysusers.d and tmpfiles.d files make the user and the state
// directories - in a temp root. Nothing here starts, enables or installs a unit.
//
// systemd-analyze checks that ExecStart= programs exist, and /usr/sbin/moat-* are not installed
// on a build machine: the copies it verifies name this build's binaries instead, every other line
// unchanged. The package systemd is installed (as root) when systemd-analyze is missing; it is in
// cmake/debian-deps.sh's test list too.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace moat::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

const std::vector<std::string> kUnits = {"moat-mta.service", "moat-filterd.service",
                                         "moat-web.service"};

bool EnsureSystemdAnalyze() {
  if (HaveTool("systemd-analyze")) return true;
  if (::geteuid() != 0) return false;
  CommandOptions options = WithTimeout(seconds(300));
  options.env["DEBIAN_FRONTEND"] = "noninteractive";
  RunCommand({"apt-get", "install", "-y", "-qq", "--no-install-recommends", "systemd"}, options);
  return HaveTool("systemd-analyze");
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

// The units as shipped, with ExecStart= naming this build's binaries.
std::vector<std::string> UnitsForThisBuild(const TempDir& dir) {
  std::vector<std::string> paths;
  for (const std::string& unit : kUnits) {
    std::string text = ReadTextFile(SourcePath("conf/systemd/" + unit));
    text =
        Replace(text, "ExecStart=/usr/sbin/moat-mta ", "ExecStart=" + BinaryPath("moat-mta") + " ");
    text = Replace(text, "ExecStart=/usr/sbin/moat-filterd ",
                   "ExecStart=" + BinaryPath("moat-filterd") + " ");
    text = Replace(text, "ExecStart=/usr/bin/moat ", "ExecStart=" + BinaryPath("moat") + " ");
    paths.push_back(dir.WriteFile(unit, text));
  }
  return paths;
}

TEST(SystemdUnitsTest, VerifyFindsNothingWrong) {
  if (!EnsureSystemdAnalyze()) GTEST_SKIP() << "systemd-analyze missing and cannot be installed";
  TempDir dir;
  std::vector<std::string> argv = {"systemd-analyze", "verify", "--man=no"};
  for (const std::string& path : UnitsForThisBuild(dir)) argv.push_back(path);
  CommandResult r = RunCommand(argv, WithTimeout(seconds(60)));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // Unknown keys and bad values are only warnings to systemd: any output is a failure here.
  EXPECT_EQ(r.out + r.err, "");

  // The check can fail: a misspelt directive is reported.
  std::string bad = ReadTextFile(dir.Path("moat-mta.service"));
  bad = Replace(bad, "ProtectSystem=strict", "ProtectSytem=strict");
  CommandResult misspelt = RunCommand(
      {"systemd-analyze", "verify", "--man=no", dir.WriteFile("bad/moat-mta.service", bad)},
      WithTimeout(seconds(60)));
  EXPECT_NE(misspelt.out + misspelt.err, "");
}

TEST(SystemdUnitsTest, SecurityExposureStaysLow) {
  if (!EnsureSystemdAnalyze()) GTEST_SKIP() << "systemd-analyze missing and cannot be installed";
  TempDir dir;
  for (const std::string& path : UnitsForThisBuild(dir)) {
    // --threshold=25: an overall exposure above 2.5 ("OK" ends at 4.9) fails.
    CommandResult r = RunCommand(
        {"systemd-analyze", "security", "--offline=yes", "--threshold=25", "--no-pager", path},
        WithTimeout(seconds(60)));
    EXPECT_EQ(r.exit_code, 0) << path << "\n" << r.out << r.err;
  }
}

TEST(SystemdUnitsTest, UnitsSayWhatTheReadmeSays) {
  for (const std::string& unit : kUnits) {
    std::string text = ReadTextFile(SourcePath("conf/systemd/" + unit));
    for (const char* line :
         {"NoNewPrivileges=yes\n", "ProtectSystem=strict\n", "ReadWritePaths=", "PrivateTmp=yes\n",
          "ProtectHome=yes\n", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n",
          "SystemCallFilter=@system-service\n", "CapabilityBoundingSet="}) {
      EXPECT_NE(text.find(line), std::string::npos) << unit << " lacks " << line;
    }
    EXPECT_EQ(text.find("MemoryDenyWriteExecute=yes"), std::string::npos)
        << unit << ": PCRE2's JIT needs executable memory";
  }
  std::string mta = ReadTextFile(SourcePath("conf/systemd/moat-mta.service"));
  EXPECT_NE(mta.find("ExecStart=/usr/sbin/moat-mta -c /etc/moat -o mail_owner=moat\n"),
            std::string::npos);
  EXPECT_NE(mta.find("ExecReload=/bin/kill -HUP $MAINPID\n"), std::string::npos);
  EXPECT_NE(mta.find("CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID\n"),
            std::string::npos);
  EXPECT_NE(mta.find("ReadWritePaths=/var/spool/moat /var/lib/moat\n"), std::string::npos);
  std::string filterd = ReadTextFile(SourcePath("conf/systemd/moat-filterd.service"));
  EXPECT_NE(filterd.find("ExecStart=/usr/sbin/moat-filterd -c /etc/moat -o daemon_user=moat\n"),
            std::string::npos);
  EXPECT_NE(filterd.find("ExecReload=/bin/kill -HUP $MAINPID\n"), std::string::npos);
  std::string web = ReadTextFile(SourcePath("conf/systemd/moat-web.service"));
  EXPECT_NE(web.find("User=moat\n"), std::string::npos);
  EXPECT_NE(web.find("CapabilityBoundingSet=\n"), std::string::npos);
}

TEST(SystemdUnitsTest, SysusersAndTmpfilesMakeTheUserAndItsDirectoriesInATempRoot) {
  if (!HaveTool("systemd-sysusers") || !HaveTool("systemd-tmpfiles")) {
    GTEST_SKIP() << "systemd-sysusers / systemd-tmpfiles missing";
  }
  if (::geteuid() != 0) GTEST_SKIP() << "chown to the new user needs root";
  TempDir root;
  fs::create_directories(root.Path("etc"));
  CommandResult users = RunCommand(
      {"systemd-sysusers", "--root=" + root.path(), SourcePath("conf/systemd/moat.sysusers.conf")});
  ASSERT_EQ(users.exit_code, 0) << users.err;
  std::string passwd = ReadTextFile(root.Path("etc/passwd"));
  ASSERT_NE(passwd.find("moat:x:"), std::string::npos) << passwd;
  EXPECT_NE(passwd.find(":/var/lib/moat:/usr/sbin/nologin"), std::string::npos) << passwd;
  // moat's uid in the temp root's passwd.
  std::istringstream fields(passwd.substr(passwd.find("moat:x:") + 7));
  std::string uid;
  std::getline(fields, uid, ':');

  CommandResult dirs = RunCommand({"systemd-tmpfiles", "--root=" + root.path(), "--create",
                                   SourcePath("conf/systemd/moat.tmpfiles.conf")});
  ASSERT_EQ(dirs.exit_code, 0) << dirs.err;
  for (const char* dir : {"var/spool/moat", "var/lib/moat"}) {
    struct stat st {};
    ASSERT_EQ(::stat(root.Path(dir).c_str(), &st), 0) << dir;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << dir;
    EXPECT_EQ(std::to_string(st.st_uid), uid) << dir;
    EXPECT_EQ(st.st_mode & 07777, 0750u) << dir;
  }
}

}  // namespace
}  // namespace moat::testing
