// config_checker_test.cc - cli::CheckConfigDirectory: which tables and files it opens, how table
// errors are located, how -o overrides are split between main.cf and filterd.cf.
#include "cli/config_checker.h"

#include <gtest/gtest.h>
#include <fmt/format.h>

#include <map>
#include <set>

#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

class ConfigCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.WriteFile("master.cf",
                   "smtp inet n - n - - smtpd\n"
                   "submission inet n - n - - smtpd\n"
                   "  -o smtpd_recipient_restrictions=check_recipient_access,hash:submission_access\n"
                   "smtp unix - - n - - smtp\n");
  }
  ConfigCheckResult Check(std::vector<std::string> overrides = {}) {
    ConfigCheckOptions options;
    options.directory = dir_.path();
    options.overrides = std::move(overrides);
    options.open_table = [this](std::string_view spec, const std::string& base) -> core::Status {
      opened_.insert(std::string(spec));
      EXPECT_EQ(base, dir_.path());
      auto it = table_errors_.find(std::string(spec));
      if (it == table_errors_.end()) return {};
      return core::Fail(core::ErrorCode::kInvalid, "{}", it->second);
    };
    return CheckConfigDirectory(options);
  }
  std::vector<std::string> Lines(const ConfigCheckResult& r) {
    std::vector<std::string> out;
    for (const auto& d : r.diagnostics) out.push_back(d.ToString());
    return out;
  }

  testing::TempDir dir_;
  std::set<std::string> opened_;
  std::map<std::string, std::string> table_errors_;
};

TEST_F(ConfigCheckerTest, OpensEveryTableTheConfigurationNames) {
  dir_.WriteFile("main.cf",
                 "transport_maps = hash:transport, pcre:transport.pcre\n"
                 "mynetworks = 127.0.0.0/8, cidr:networks\n"
                 "smtpd_restriction_classes = partners\n"
                 "partners = check_sender_access texthash:partners\n"
                 "smtpd_helo_restrictions = check_helo_access regexp:helo,\n"
                 "    check_policy_service unix:private/policy\n"
                 "virtual_maps = hash:legacy\n"
                 "smtpd_milters = inet:127.0.0.1:8891\n");
  ConfigCheckResult r = Check();
  // virtual_maps is Postfix's legacy name that virtual_alias_maps defaults to: used, so opened
  // (and no "not supported" warning). The policy service socket is not a table.
  EXPECT_EQ(opened_, (std::set<std::string>{"hash:transport", "pcre:transport.pcre",
                                             "cidr:networks", "texthash:partners", "regexp:helo",
                                             "hash:submission_access", "hash:legacy"}));
  EXPECT_EQ(r.errors, 0) << Lines(r)[0];
  std::vector<std::string> lines = Lines(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(":5: warning: smtpd_helo_restrictions: restriction "
                          "\"check_policy_service\" is not supported"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find(":8: warning: smtpd_milters: not supported"), std::string::npos);
}

TEST_F(ConfigCheckerTest, TableErrorsAreLocatedInTheTable) {
  dir_.WriteFile("main.cf", "smtpd_timeout = 60s\nheader_checks = pcre:header_checks\n");
  table_errors_["pcre:header_checks"] =
      dir_.Path("header_checks") + ":7: missing ) in \"/^Subject: (x/\"";
  table_errors_["hash:submission_access"] = "open /x/submission_access: No such file or directory";
  ConfigCheckResult r = Check();
  std::vector<std::string> lines = Lines(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], fmt::format("{}:7: error: missing ) in \"/^Subject: (x/\" (table "
                                  "pcre:header_checks of header_checks, {}:2)",
                                  dir_.Path("header_checks"), dir_.Path("main.cf")));
  EXPECT_EQ(lines[1], fmt::format("{}:3: error: smtpd_recipient_restrictions: "
                                  "hash:submission_access: open /x/submission_access: No such "
                                  "file or directory",
                                  dir_.Path("master.cf")));
  EXPECT_EQ(r.errors, 2);
}

TEST_F(ConfigCheckerTest, ATableUsedTwiceIsOpenedAndReportedOnce) {
  dir_.WriteFile("main.cf",
                 "relay_recipient_maps = hash:users\n"
                 "smtpd_sender_login_maps = hash:users\n");
  table_errors_["hash:users"] = "open users: Permission denied";
  ConfigCheckResult r = Check();
  EXPECT_EQ(r.errors, 1);
}

TEST_F(ConfigCheckerTest, CertificateAndRuleFilesMustBeReadable) {
  dir_.WriteFile("main.cf", "smtpd_tls_cert_file = tls/missing.pem\n");
  dir_.WriteFile("filterd.cf", "banned_rules = banned.rules\n");
  ConfigCheckResult r = Check();
  std::vector<std::string> lines = Lines(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], fmt::format("{}:1: error: banned_rules: cannot open {}: No such file or "
                                  "directory",
                                  dir_.Path("filterd.cf"), dir_.Path("banned.rules")));
  // smtpd_tls_key_file defaults to $smtpd_tls_cert_file: the same file, reported once.
  EXPECT_EQ(lines[1], fmt::format("{}:1: error: smtpd_tls_cert_file: cannot open {}: No such "
                                  "file or directory",
                                  dir_.Path("main.cf"), dir_.Path("tls/missing.pem")));
  EXPECT_EQ(r.files, (std::vector<std::string>{dir_.Path("main.cf"), dir_.Path("master.cf"),
                                               dir_.Path("filterd.cf")}));
}

TEST_F(ConfigCheckerTest, MissingMainCfNextToMasterCfIsAnError) {
  ConfigCheckResult r = Check();
  ASSERT_EQ(r.errors, 1);
  EXPECT_EQ(r.diagnostics[0].location.file, dir_.Path("main.cf"));
}

TEST_F(ConfigCheckerTest, OverridesGoToTheFileThatKnowsThem) {
  dir_.WriteFile("main.cf", "");
  dir_.WriteFile("filterd.cf", "");
  SplitOverrides split = SplitOverridesByFile(
      {"smtpd_timeout=1s", "spam_kill_level=4", "mynetworks=10.0.0.0/8", "nonsense=1",
       "amavisfeed_destination_concurrency_limit=2", "noequals"});
  using P = std::pair<int, std::string>;
  EXPECT_EQ(split.main, (std::vector<P>{{1, "smtpd_timeout=1s"},
                                        {3, "mynetworks=10.0.0.0/8"},
                                        {4, "nonsense=1"},
                                        {5, "amavisfeed_destination_concurrency_limit=2"},
                                        {6, "noequals"}}));
  EXPECT_EQ(split.filterd,
            (std::vector<P>{{2, "spam_kill_level=4"}, {3, "mynetworks=10.0.0.0/8"}}));
  ConfigCheckResult r = Check({"spam_kill_level=high", "nonsense=1"});
  std::vector<std::string> lines = Lines(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "-o #1: error: spam_kill_level: bad number \"high\" (expected a decimal "
                      "such as 6.31)");
  EXPECT_EQ(lines[1], "-o #2: error: unknown parameter \"nonsense\"");
}

}  // namespace
}  // namespace moat::cli
