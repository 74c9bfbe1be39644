// config_commands_test.cc - the real build/bin/moat, moat-mta and moat-filterd on the shipped
// conf/ and on configurations broken the way a new user breaks them; `moat config show`
// compared with Postfix's own postconf.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mta/mta_parameters.h"
#include "mta/postfix_parameters.inc"
#include "tests/support/test_support.h"

namespace moat {
namespace {

namespace fs = std::filesystem;
using testing::BinaryPath;
using testing::CommandResult;
using testing::RunCommand;
using testing::SourcePath;
using testing::TempDir;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

int LineCount(const std::string& path) {
  std::ifstream in(path);
  return static_cast<int>(std::count(std::istreambuf_iterator<char>(in),
                                     std::istreambuf_iterator<char>(), '\n'));
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

void Replace(const std::string& path, const std::string& from, const std::string& to) {
  std::string text = testing::ReadTextFile(path);
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << path;
  text.replace(at, from.size(), to);
  std::ofstream(path, std::ios::trunc) << text;
}

// A private copy of conf/, so tables and certificates resolve as in the shipped sample.
class ConfigCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(SourcePath("conf"), dir_.path(), fs::copy_options::recursive);
  }
  std::string Path(const std::string& name) const { return dir_.Path(name); }
  CommandResult Moat(std::vector<std::string> args) {
    args.insert(args.begin(), {BinaryPath("moat"), "-c", dir_.path()});
    return RunCommand(args);
  }
  CommandResult Daemon(const std::string& name, std::vector<std::string> args = {}) {
    args.insert(args.begin(), {BinaryPath(name), "-c", dir_.path()});
    return RunCommand(args);
  }
  // check-config finds exactly `expected` on stdout and exits 1; moat-mta or moat-filterd
  // refuses to start with the same line.
  void ExpectOneError(const std::string& expected, const std::string& daemon = "moat-mta",
                      std::vector<std::string> overrides = {}) {
    std::vector<std::string> args;
    for (const std::string& o : overrides) {
      args.push_back("-o");
      args.push_back(o);
    }
    std::vector<std::string> check = args;
    check.push_back("check-config");
    CommandResult r = Moat(check);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(Lines(r.out), std::vector<std::string>{expected}) << r.out;
    CommandResult d = Daemon(daemon, args);
    EXPECT_EQ(d.exit_code, 1) << d.err;
    EXPECT_EQ(Lines(d.err), std::vector<std::string>{expected}) << d.err;
  }

  TempDir dir_;
};

TEST(ShippedConfTest, ChecksCleanAndTheDaemonsLoadIt) {
  CommandResult check = RunCommand({BinaryPath("moat"), "-c", SourcePath("conf"), "check-config"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out, "");
  EXPECT_NE(check.err.find("0 errors, 0 warnings"), std::string::npos) << check.err;
  for (const char* daemon : {"moat-mta", "moat-filterd"}) {
    CommandResult checked = RunCommand({BinaryPath(daemon), "-c", SourcePath("conf"), "--check"});
    EXPECT_EQ(checked.exit_code, 0) << daemon << ": " << checked.err;
    EXPECT_EQ(checked.err, "") << daemon;
  }
}

TEST(ShippedConfTest, TestsCanMoveListenersAndStateWithOverrides) {
  CommandResult r = RunCommand({BinaryPath("moat"), "-c", SourcePath("conf"), "-o",
                                "smtp_listen=127.0.0.1:12525", "-o",
                                "queue_directory=/tmp/moat-test-queue", "config", "show", "-x",
                                "smtp_listen", "queue_directory"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out), (std::vector<std::string>{"smtp_listen = 127.0.0.1:12525",
                                                    "queue_directory = /tmp/moat-test-queue"}));
  CommandResult bad = RunCommand(
      {BinaryPath("moat-mta"), "-c", SourcePath("conf"), "-o", "smtp_listen=127.0.0.1:99999"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("master.cf:11: error: service $smtp_listen/inet: bad inet service name "
                         "\"127.0.0.1:99999\": port out of range"),
            std::string::npos)
      << bad.err;
}

TEST(BinariesTest, HelpAndVersionSayWhatTheyAre) {
  for (const char* daemon : {"moat-mta", "moat-filterd"}) {
    CommandResult help = RunCommand({BinaryPath(daemon), "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_EQ(help.out.rfind(std::string(daemon) + " - ", 0), 0u) << help.out;
    EXPECT_NE(help.out.find("--check"), std::string::npos) << help.out;
    CommandResult version = RunCommand({BinaryPath(daemon), "--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(Lines(version.out), std::vector<std::string>{std::string(daemon) + " 0.1.0"});
  }
  EXPECT_EQ(RunCommand({BinaryPath("moat"), "--version"}).out, "moat 0.1.0\n");
  EXPECT_EQ(RunCommand({BinaryPath("moat")}).exit_code, 2);
  EXPECT_EQ(RunCommand({BinaryPath("moat-mta"), "--no-such-option"}).exit_code, 2);
  EXPECT_EQ(RunCommand({BinaryPath("moat"), "config", "show", "-n", "-d"}).exit_code, 2);
}

TEST_F(ConfigCommandsTest, MisspeltParameter) {
  int line = LineCount(Path("main.cf")) + 1;
  Append(Path("main.cf"), "relay_domain = example.org\n");
  ExpectOneError(fmt::format("{}:{}: error: unknown parameter \"relay_domain\" (did you mean "
                             "\"relay_domains\"?)",
                             Path("main.cf"), line));
}

TEST_F(ConfigCommandsTest, ParameterLoop) {
  int line = LineCount(Path("main.cf")) + 1;
  Append(Path("main.cf"), "smtpd_banner = $banner_text\nbanner_text = ESMTP $smtpd_banner\n");
  ExpectOneError(fmt::format("{}:{}: error: parameter loop: smtpd_banner -> banner_text -> "
                             "smtpd_banner",
                             Path("main.cf"), line));
}

TEST_F(ConfigCommandsTest, BadMasterCfLine) {
  int line = LineCount(Path("master.cf")) + 1;
  Append(Path("master.cf"), "broken    inet  n       -       n\n");
  ExpectOneError(fmt::format("{}:{}: error: missing field \"wakeup\" (a service line has: "
                             "service type private unpriv chroot wakeup maxproc command)",
                             Path("master.cf"), line));
}

TEST_F(ConfigCommandsTest, UnknownMasterCfCommand) {
  int line = LineCount(Path("master.cf")) + 1;
  Append(Path("master.cf"), "filter    unix  -       -       n       -       2       lmtpp\n");
  ExpectOneError(fmt::format("{}:{}: error: service filter/unix: unknown command \"lmtpp\" (did "
                             "you mean \"lmtp\"?)",
                             Path("master.cf"), line));
}

TEST_F(ConfigCommandsTest, BadTimeValueInMainCfAndOnTheCommandLine) {
  int line = LineCount(Path("main.cf")) + 1;
  Append(Path("main.cf"), "smtpd_timeout = 10x\n");
  ExpectOneError(fmt::format("{}:{}: error: smtpd_timeout: bad time value \"10x\": unknown unit "
                             "'x' (use s, m, h, d or w)",
                             Path("main.cf"), line));
}

TEST_F(ConfigCommandsTest, BadTimeValueAsAnOverride) {
  ExpectOneError("-o #2: error: maximal_queue_lifetime: bad time value \"five days\" (expected a "
                 "number with an optional unit s, m, h, d or w)",
                 "moat-mta", {"maximal_queue_lifetime=5d", "maximal_queue_lifetime=five days"});
}

TEST_F(ConfigCommandsTest, BadValueInAServiceOverride) {
  Replace(Path("master.cf"), "-o lmtp_data_done_timeout=1200s", "-o lmtp_data_done_timeout=20min");
  std::string text = testing::ReadTextFile(Path("master.cf"));
  int line = static_cast<int>(std::count(text.begin(), text.begin() + text.find("20min"), '\n')) + 1;
  ExpectOneError(fmt::format("{}:{}: error: lmtp_data_done_timeout: bad time value \"20min\": "
                             "unknown unit 'n' (use s, m, h, d or w)",
                             Path("master.cf"), line));
}

TEST_F(ConfigCommandsTest, UnreadableTable) {
  Replace(Path("main.cf"), "relay_recipient_maps = hash:relay_recipients",
          "relay_recipient_maps = hash:missing_recipients");
  CommandResult r = Moat({"check-config"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  std::string text = testing::ReadTextFile(Path("main.cf"));
  int line =
      static_cast<int>(std::count(text.begin(), text.begin() + text.find("missing_recip"), '\n')) +
      1;
  EXPECT_TRUE(lines[0].starts_with(
      fmt::format("{}:{}: error: relay_recipient_maps: hash:missing_recipients: ", Path("main.cf"),
                  line)))
      << lines[0];
  EXPECT_NE(lines[0].find("No such file or directory"), std::string::npos) << lines[0];
}

TEST_F(ConfigCommandsTest, UnsupportedTableType) {
  Replace(Path("main.cf"), "transport_maps = hash:transport", "transport_maps = ldap:transport");
  CommandResult r = Moat({"check-config"});
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_NE(lines[0].find("main.cf:"), std::string::npos);
  EXPECT_NE(lines[0].find("ldap"), std::string::npos);
}

TEST_F(ConfigCommandsTest, TableSyntaxErrorsCarryTheTablesFileAndLine) {
  dir_.WriteFile("header_checks", "# header checks\n/^Subject: (unclosed/ REJECT bad\n");
  dir_.WriteFile("body_checks", "if /^x/\n/y/ WARN z\n");
  dir_.WriteFile("client_networks", "10.0.0.0/33 OK\n");
  Append(Path("main.cf"),
         "header_checks = pcre:header_checks\nbody_checks = regexp:body_checks\n"
         "smtpd_client_restrictions = check_client_access cidr:client_networks\n");
  CommandResult r = Moat({"check-config"});
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  std::string all = r.out;
  EXPECT_NE(all.find("header_checks:2: error:"), std::string::npos) << all;
  EXPECT_NE(all.find("client_networks:1: error:"), std::string::npos) << all;
  EXPECT_NE(all.find("body_checks:"), std::string::npos) << all;
}

TEST_F(ConfigCommandsTest, FilterdProblems) {
  Replace(Path("filterd.cf"), "forward_to = 127.0.0.1:10025", "forward_to = 127.0.0.1");
  std::string text = testing::ReadTextFile(Path("filterd.cf"));
  int line = static_cast<int>(std::count(text.begin(), text.begin() + text.find("forward_to ="),
                                         '\n')) +
             1;
  ExpectOneError(fmt::format("{}:{}: error: forward_to: bad address \"127.0.0.1\" (expected "
                             "host:port)",
                             Path("filterd.cf"), line),
                 "moat-filterd");
}

TEST_F(ConfigCommandsTest, UnsupportedPostfixParameterIsOnlyAWarning) {
  int line = LineCount(Path("main.cf")) + 1;
  Append(Path("main.cf"), "smtpd_milters = inet:127.0.0.1:8891\n");
  CommandResult r = Moat({"check-config"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Lines(r.out),
            std::vector<std::string>{fmt::format(
                "{}:{}: warning: smtpd_milters: not supported by moat-mta (a Postfix parameter; "
                "ignored)",
                Path("main.cf"), line)});
  CommandResult d = Daemon("moat-mta", {"--check"});
  EXPECT_EQ(d.exit_code, 0);
  // The daemon reports at least what check-config reports (it may add warnings of its own
  // listeners, such as AUTH offered without password maps).
  for (const std::string& line : Lines(r.out)) {
    EXPECT_THAT(Lines(d.err), ::testing::Contains(line));
  }
}

TEST_F(ConfigCommandsTest, ManyProblemsAreAllReportedSorted) {
  Append(Path("main.cf"), "smtpd_timeout = 1x\nrelay_domain = x\n");
  Append(Path("master.cf"), "bad unix - - n - - nosuchcommand\n");
  Append(Path("filterd.cf"), "worker_threads = lots\n");
  CommandResult r = Moat({"check-config"});
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_TRUE(lines[0].starts_with(Path("filterd.cf")));
  EXPECT_TRUE(lines[1].starts_with(Path("main.cf")));
  EXPECT_TRUE(lines[2].starts_with(Path("main.cf")));
  EXPECT_TRUE(lines[3].starts_with(Path("master.cf")));
  EXPECT_NE(r.err.find("4 errors, 0 warnings"), std::string::npos) << r.err;
}

TEST_F(ConfigCommandsTest, AnEmptyDirectoryIsAnError) {
  TempDir empty;
  CommandResult r = RunCommand({BinaryPath("moat"), "-c", empty.path(), "check-config"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.out), std::vector<std::string>{fmt::format(
                              "{}: error: no main.cf, master.cf or filterd.cf here", empty.path())});
}

TEST_F(ConfigCommandsTest, ShowNonDefaultMatchesPostconf) {
  if (!testing::HaveTool("postconf")) GTEST_SKIP() << "postconf is not installed";
  CommandResult postconf = RunCommand({"postconf", "-c", dir_.path(), "-n"});
  ASSERT_EQ(postconf.exit_code, 0) << postconf.err;
  CommandResult moat = Moat({"config", "show", "-n"});
  ASSERT_EQ(moat.exit_code, 0) << moat.err;
  std::vector<std::string> ours = Lines(moat.out);
  int compared = 0;
  for (const std::string& line : Lines(postconf.out)) {
    if (line.starts_with("config_directory =")) continue;  // postconf adds what -c said
    EXPECT_NE(std::find(ours.begin(), ours.end(), line), ours.end()) << line;
    ++compared;
  }
  EXPECT_GT(compared, 15);
}

TEST_F(ConfigCommandsTest, ShowDefaultsMatchesPostconf) {
  if (!testing::HaveTool("postconf")) GTEST_SKIP() << "postconf is not installed";
  TempDir empty;
  empty.WriteFile("main.cf", "");
  empty.WriteFile("master.cf", "");
  std::vector<std::string> names;
  for (const core::ParameterDefinition* d : mta::MtaParameterRegistry().Definitions()) {
    if (!d->supported() || d->compute_default != nullptr) continue;
    if (d->doc.find("Moat default") != std::string::npos || d->doc.starts_with("(moat)")) continue;
    names.push_back(d->name);
  }
  ASSERT_GT(names.size(), 200u);
  std::vector<std::string> postconf_args = {"postconf", "-c", empty.path(), "-d"};
  std::vector<std::string> moat_args = {BinaryPath("moat"), "-c", empty.path(), "config", "show",
                                        "-d"};
  postconf_args.insert(postconf_args.end(), names.begin(), names.end());
  moat_args.insert(moat_args.end(), names.begin(), names.end());
  CommandResult postconf = RunCommand(postconf_args);
  CommandResult moat = RunCommand(moat_args);
  ASSERT_EQ(postconf.exit_code, 0) << postconf.err;
  ASSERT_EQ(moat.exit_code, 0) << moat.err;
  std::vector<std::string> theirs = Lines(postconf.out), ours = Lines(moat.out);
  std::sort(theirs.begin(), theirs.end());
  std::sort(ours.begin(), ours.end());
  EXPECT_EQ(ours, theirs);
}

TEST(ReferenceTest, TheReferenceIsItselfAValidConfiguration) {
  TempDir empty;
  CommandResult reference =
      RunCommand({BinaryPath("moat"), "-c", empty.path(), "config", "show", "-d", "--doc"});
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  size_t supported = 0;
  for (const core::ParameterDefinition* d : mta::MtaParameterRegistry().Definitions()) {
    supported += d->supported() ? 1 : 0;
  }
  size_t settings = 0, docs = 0;
  for (const std::string& line : Lines(reference.out)) {
    if (line.starts_with("# ")) {
      ++docs;
    } else {
      ++settings;
    }
  }
  EXPECT_GE(settings, supported);
  EXPECT_GT(docs, settings);  // one doc line per setting, plus the header
  EXPECT_NE(reference.out.find("# Time to wait for a client command or data [time, default unit "
                               "s]\nsmtpd_timeout = ${stress?{10}:{300}}s\n"),
            std::string::npos);

  TempDir copy;
  copy.WriteFile("main.cf", reference.out);
  copy.WriteFile("master.cf", "smtp inet n - n - - smtpd\n");
  CommandResult check = RunCommand({BinaryPath("moat"), "-c", copy.path(), "check-config"});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(check.out, "");

  CommandResult filterd = RunCommand(
      {BinaryPath("moat"), "-c", empty.path(), "config", "show", "--filterd", "-d", "--doc"});
  ASSERT_EQ(filterd.exit_code, 0);
  copy.WriteFile("filterd.cf", filterd.out);
  check = RunCommand({BinaryPath("moat"), "-c", copy.path(), "check-config"});
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

}  // namespace
}  // namespace moat
