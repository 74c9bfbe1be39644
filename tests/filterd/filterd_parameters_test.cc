// filterd_parameters_test.cc - the moat-filterd registry: DESIGN.md's parameters, defaults that
// parse, policy-bank parameters, loading filterd.cf.
#include "filterd/filterd_parameters.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/test_support.h"

namespace moat::filterd {
namespace {

std::shared_ptr<const core::Config> Build(const std::string& text, core::ConfigDiagnostics& d) {
  auto contents = core::ParseConfigText(text, "filterd.cf");
  d = contents.diagnostics;
  return core::Config::Build(FilterdParameterRegistry(), "/etc/moat", contents.entries, {}, {}, d);
}

TEST(FilterdParametersTest, KnowsTheParametersOfTheDesign) {
  for (const char* name :
       {"inbound_lmtp_listen", "originating_lmtp_listen", "forward_to", "mynetworks",
        "message_size_limit", "clamav_database_directory", "quarantine_directory",
        "spam_tag_level", "spam_tag2_level", "spam_kill_level", "rules_directories",
        "banned_rules", "dkim_key_table", "dkim_signing_table", "authserv_id", "dns_servers",
        "max_sessions", "worker_threads", "lmtp_timeout", "final_virus_destiny",
        "final_banned_destiny", "final_spam_destiny", "quarantine_retention", "metrics_listen",
        "originating_spam_kill_level", "inbound_final_virus_destiny"}) {
    const core::ParameterDefinition* d = FilterdParameterRegistry().Find(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_TRUE(d->supported());
    EXPECT_FALSE(d->doc.empty()) << name;
  }
}

TEST(FilterdParametersTest, DefaultsAreValidAndTyped) {
  core::ConfigDiagnostics d;
  auto c = Build("", d);
  for (const auto& x : d) ADD_FAILURE() << x.ToString();
  EXPECT_EQ(c->GetHostPort("inbound_lmtp_listen").ToString(), "127.0.0.1:10024");
  EXPECT_EQ(c->GetHostPort("originating_lmtp_listen").port, 10026);
  EXPECT_EQ(c->GetHostPort("forward_to").port, 10025);
  EXPECT_DOUBLE_EQ(c->GetNumber("spam_kill_level"), 6.9);
  EXPECT_EQ(c->GetSize("max_unpacked_bytes"), 100u << 20);
  EXPECT_EQ(c->GetSize("spam_scan_size_limit"), 400u << 10);
  EXPECT_EQ(c->GetPath("quarantine_directory"), "/var/lib/moat/quarantine");
  EXPECT_EQ(c->GetPath("quarantine_database"), "/var/lib/moat/quarantine/index.sqlite");
  EXPECT_EQ(c->GetTime("quarantine_retention"), std::chrono::hours(24 * 30));
  EXPECT_EQ(c->GetString("authserv_id"), c->GetString("myhostname"));
  EXPECT_EQ(c->GetList("rules_directories"),
            (std::vector<std::string>{"/usr/share/moat/rules", "/etc/moat/rules"}));
}

TEST(FilterdParametersTest, PolicyBankSettingsFollowTheGlobalOnesUnlessSet) {
  core::ConfigDiagnostics d;
  auto c = Build(
      "spam_kill_level = 5\n"
      "originating_spam_kill_level = 12.5\n"
      "final_spam_destiny = discard\n",
      d);
  for (const auto& x : d) ADD_FAILURE() << x.ToString();
  EXPECT_DOUBLE_EQ(c->GetNumber("inbound_spam_kill_level"), 5);
  EXPECT_DOUBLE_EQ(c->GetNumber("originating_spam_kill_level"), 12.5);
  EXPECT_EQ(c->GetString("inbound_final_spam_destiny"), "discard");
}

TEST(FilterdParametersTest, BadValuesAreErrorsWithLines) {
  core::ConfigDiagnostics d;
  Build(
      "forward_to = 127.0.0.1\n"
      "final_virus_destiny = QUARANTINE\n"
      "spam_kill_lvl = 5\n"
      "inbound_lmtp_listen = [::1]:10024\n",
      d);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_NE(d[0].ToString().find("filterd.cf:2: error: final_virus_destiny: bad value "
                                 "\"QUARANTINE\" (expected one of: PASS, DISCARD, BOUNCE, "
                                 "REJECT)"),
            std::string::npos)
      << d[0].ToString();
  EXPECT_NE(d[1].ToString().find("filterd.cf:1: error: forward_to: bad address"),
            std::string::npos);
  EXPECT_EQ(d[2].ToString(),
            "filterd.cf:3: error: unknown parameter \"spam_kill_lvl\" (did you mean "
            "\"spam_kill_level\"?)");
}

TEST(FilterdParametersTest, LoadReadsFilterdCf) {
  testing::TempDir dir;
  dir.WriteFile("filterd.cf", "quarantine_directory = ../var/quarantine\n");
  auto c = LoadFilterdConfig({dir.path(), "main.cf", {"forward_to=[::1]:2525"}});
  EXPECT_EQ(c->GetHostPort("forward_to").ToString(), "[::1]:2525");
  EXPECT_EQ(c->GetPath("quarantine_directory"),
            std::filesystem::path(dir.path()).parent_path().string() + "/var/quarantine");
  EXPECT_THROW(LoadFilterdConfig({dir.path(), "", {"max_sessions=none"}}), core::ConfigError);
}

}  // namespace
}  // namespace moat::filterd
