// mta_parameters_test.cc - the moat-mta registry: Postfix defaults, coverage of the parameters
// the MTA issues use, restriction checks, main.cf + master.cf loading.
#include "mta/mta_parameters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "mta/postfix_parameters.inc"
#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

std::map<std::string, std::string> PostfixDefaults() {
  std::map<std::string, std::string> out;
  std::string_view data = kPostfixParameters;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string_view::npos) end = data.size();
    std::string_view line = data.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = line.find(" =");
    if (eq == std::string_view::npos) continue;
    std::string_view value = line.substr(eq + 2);
    if (value.starts_with(' ')) value.remove_prefix(1);
    out.emplace(line.substr(0, eq), value);
  }
  return out;
}

TEST(MtaParametersTest, TheGeneratedPostfixListIsComplete) {
  auto defaults = PostfixDefaults();
  EXPECT_GT(defaults.size(), 800u);
  EXPECT_EQ(defaults.at("smtpd_timeout"), "${stress?{10}:{300}}s");
  EXPECT_EQ(kPostfixVersion.substr(0, 3), "3.7");
}

TEST(MtaParametersTest, SupportedDefaultsArePostfixsUnlessDocumented) {
  auto defaults = PostfixDefaults();
  for (const core::ParameterDefinition* d : MtaParameterRegistry().Definitions()) {
    if (!d->supported()) continue;
    EXPECT_FALSE(d->doc.empty()) << d->name;
    EXPECT_EQ(d->doc.find('\n'), std::string::npos) << d->name;
    auto it = defaults.find(d->name);
    bool moat_only = d->doc.starts_with("(moat)");
    if (it == defaults.end()) {
      // Not a Postfix parameter: it must say it is Moat's own, or be a legacy-name alias.
      EXPECT_TRUE(moat_only) << d->name << " is neither in postconf -d nor marked (moat)";
      continue;
    }
    EXPECT_FALSE(moat_only) << d->name << " is a Postfix parameter";
    if (d->compute_default != nullptr) continue;  // host-dependent, computed like Postfix
    if (d->default_value != it->second) {
      EXPECT_NE(d->doc.find("Moat default"), std::string::npos)
          << d->name << ": default \"" << d->default_value << "\" differs from Postfix's \""
          << it->second << "\" without saying so";
    }
  }
}

TEST(MtaParametersTest, KnowsEveryParameterTheMtaIssuesUse) {
  // From issues 8 (smtpd, cleanup, queue), 9 (queue manager, routing, delivery) and 12 (policy).
  const char* kNeeded[] = {
      "smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
      "smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions",
      "smtpd_end_of_data_restrictions", "smtpd_delay_reject", "smtpd_restriction_classes",
      "mynetworks", "mynetworks_style", "relay_domains", "relay_recipient_maps",
      "message_size_limit", "smtpd_recipient_limit", "smtpd_error_sleep_time",
      "smtpd_soft_error_limit", "smtpd_hard_error_limit", "smtpd_client_connection_count_limit",
      "smtpd_client_connection_rate_limit", "smtpd_tls_cert_file", "smtpd_tls_key_file",
      "smtpd_tls_security_level", "smtpd_tls_auth_only", "smtpd_tls_protocols",
      "smtpd_tls_ciphers", "smtpd_sasl_auth_enable", "smtpd_sender_login_maps",
      "smtpd_authorized_xforward_hosts", "always_add_missing_headers",
      "local_header_rewrite_clients", "canonical_maps", "sender_canonical_maps",
      "recipient_canonical_maps", "canonical_classes", "virtual_alias_maps",
      "masquerade_domains", "masquerade_exceptions", "header_checks", "body_checks",
      "receive_override_options", "queue_directory", "initial_destination_concurrency",
      "default_destination_concurrency_limit", "default_destination_recipient_limit",
      "minimal_backoff_time", "maximal_backoff_time", "queue_run_delay",
      "maximal_queue_lifetime", "bounce_queue_lifetime", "defer_transports", "mydestination",
      "virtual_alias_domains", "transport_maps", "relayhost", "sender_dependent_relayhost_maps",
      "default_transport", "relay_transport", "relocated_maps", "content_filter",
      "disable_dns_lookups", "smtp_tls_security_level", "smtp_tls_CAfile",
      "smtp_connect_timeout", "smtp_helo_timeout", "smtp_mail_timeout", "smtp_rcpt_timeout",
      "smtp_data_init_timeout", "smtp_data_xfer_timeout", "smtp_data_done_timeout",
      "smtp_quit_timeout", "smtp_send_xforward_command", "lmtp_send_xforward_command",
      "lmtp_data_done_timeout", "delay_warning_time", "notify_classes", "postscreen_dnsbl_sites",
      "postscreen_dnsbl_threshold", "postscreen_dnsbl_action", "postscreen_access_list",
      "dns_servers", "recipient_delimiter", "parent_domain_matches_subdomains",
      "default_rbl_reply", "greylist_delay", "smtpd_spf_checks",
  };
  for (const char* name : kNeeded) {
    const core::ParameterDefinition* d = MtaParameterRegistry().Find(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_TRUE(d->supported()) << name;
  }
  EXPECT_EQ(MtaParameterRegistry().Find("maximal_queue_lifetime")->time_unit, 'd');
  EXPECT_EQ(MtaParameterRegistry().Find("delay_warning_time")->time_unit, 'h');
}

TEST(MtaParametersTest, PostfixParametersMoatDoesNotImplementAreRecognised) {
  for (const char* name : {"smtpd_milters", "alias_maps", "mailbox_command", "virtual_maps",
                           "postscreen_dnsbl_ttl", "smtpd_proxy_filter"}) {
    const core::ParameterDefinition* d = MtaParameterRegistry().Find(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_FALSE(d->supported()) << name;
  }
  EXPECT_EQ(MtaParameterRegistry().Find("rbl_code"), nullptr);  // a runtime macro, not a parameter
}

class MtaConfigTest : public ::testing::Test {
 protected:
  core::ConfigDiagnostics Check(const std::string& main_cf, const std::string& master_cf = "") {
    auto master = core::ParseMasterCf(master_cf, "master.cf");
    core::ConfigDiagnostics d = master.diagnostics;
    auto contents = core::ParseConfigText(main_cf, "main.cf");
    d.insert(d.end(), contents.diagnostics.begin(), contents.diagnostics.end());
    auto config = core::Config::Build(MtaParameterRegistry(), "/etc/moat", contents.entries, {},
                                      MasterCfBuildOptions(master), d);
    CheckMasterCf(master, *config, d);
    config_ = config;
    return d;
  }
  std::shared_ptr<const core::Config> config_;
};

TEST_F(MtaConfigTest, AnEmptyMainCfIsValidAndEveryDefaultParses) {
  auto d = Check("");
  for (const auto& x : d) ADD_FAILURE() << x.ToString();
  for (const core::ParameterDefinition* def : MtaParameterRegistry().Definitions()) {
    if (!def->supported()) continue;
    switch (def->type) {
      case core::ParameterType::kTime: config_->GetTime(def->name); break;
      case core::ParameterType::kInteger: config_->GetInt(def->name); break;
      case core::ParameterType::kBool: config_->GetBool(def->name); break;
      case core::ParameterType::kSize: config_->GetSize(def->name); break;
      default: config_->GetString(def->name); break;
    }
  }
  EXPECT_EQ(config_->GetTime("smtpd_timeout"), std::chrono::seconds(300));
  EXPECT_EQ(config_->GetString("mynetworks_style"), "host");  // compatibility_level 3.6
  EXPECT_EQ(config_->GetString("relay_domains"), "");
  EXPECT_EQ(config_->GetString("smtpd_relay_restrictions"),
            "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination");
  EXPECT_EQ(config_->GetPath("config_directory"), "/etc/moat");
  std::string host = config_->GetString("myhostname");
  EXPECT_NE(host.find('.'), std::string::npos) << host;
  EXPECT_FALSE(config_->GetString("mynetworks").empty());
}

TEST_F(MtaConfigTest, RestrictionListsAreChecked) {
  auto d = Check(
      "smtpd_restriction_classes = from_partners\n"
      "from_partners = check_sender_access hash:/etc/moat/partners, reject\n"
      "smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated,\n"
      "    reject_unauth_destination, check_recipient_access hash:/etc/moat/access,\n"
      "    reject_rbl_client zen.example, from_partners, hash:/etc/moat/bare\n"
      "smtpd_sender_restrictions = permit_mynetwork, check_sender_access\n"
      "smtpd_helo_restrictions = check_helo_access /etc/moat/helo, check_policy_service "
      "inet:127.0.0.1:10023\n"
      "smtpd_restriction_classes = from_partners, strict\n"
      "strict = reject_unknwon_sender_domain\n");
  std::vector<std::string> m;
  for (const auto& x : d) m.push_back(x.ToString());
  EXPECT_THAT(
      m, ::testing::UnorderedElementsAre(
             "main.cf:7: error: smtpd_helo_restrictions: check_helo_access /etc/moat/helo: "
             "expected a lookup table type:name",
             "main.cf:7: warning: smtpd_helo_restrictions: restriction \"check_policy_service\" "
             "is not supported by moat-mta, which refuses to start with it",
             "main.cf:6: error: smtpd_sender_restrictions: unknown restriction "
             "\"permit_mynetwork\" (did you mean \"permit_mynetworks\"?)",
             "main.cf:6: error: smtpd_sender_restrictions: restriction \"check_sender_access\" "
             "needs an argument",
             "main.cf:8: warning: smtpd_restriction_classes is set again; the setting at "
             "main.cf:1 is overridden",
             "main.cf:9: error: strict: unknown restriction \"reject_unknwon_sender_domain\" "
             "(did you mean \"reject_unknown_sender_domain\"?)"));
}

TEST_F(MtaConfigTest, MisspeltAndUnsupportedParameters) {
  auto d = Check("relay_domain = example.com\nsmtpd_milters = inet:127.0.0.1:8891\n");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].ToString(),
            "main.cf:1: error: unknown parameter \"relay_domain\" (did you mean "
            "\"relay_domains\"?)");
  EXPECT_EQ(d[1].ToString(),
            "main.cf:2: warning: smtpd_milters: not supported by moat-mta (a Postfix parameter; "
            "ignored)");
}

TEST_F(MtaConfigTest, SeedAmavisMasterCfWithItsOverrides) {
  auto d = Check(
      "content_filter = amavisfeed:[127.0.0.1]:10024\n"
      "amavisfeed_destination_concurrency_limit = 2\n"
      "mua_client_restrictions = permit_sasl_authenticated, reject\n",
      "smtp      inet  n       -       n       -       -       smtpd\n"
      "submission inet n       -       n       -       -       smtpd\n"
      "  -o smtpd_tls_security_level=encrypt\n"
      "  -o smtpd_sasl_auth_enable=yes\n"
      "  -o smtpd_client_restrictions=$mua_client_restrictions\n"
      "pickup    unix  n       -       n       60      1       pickup\n"
      "cleanup   unix  n       -       n       -       0       cleanup\n"
      "qmgr      unix  n       -       n       300     1       qmgr\n"
      "tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n"
      "rewrite   unix  -       -       n       -       -       trivial-rewrite\n"
      "bounce    unix  -       -       n       -       0       bounce\n"
      "defer     unix  -       -       n       -       0       bounce\n"
      "trace     unix  -       -       n       -       0       bounce\n"
      "verify    unix  -       -       n       -       1       verify\n"
      "flush     unix  n       -       n       1000?   0       flush\n"
      "proxymap  unix  -       -       n       -       -       proxymap\n"
      "proxywrite unix -       -       n       -       1       proxymap\n"
      "smtp      unix  -       -       n       -       -       smtp\n"
      "relay     unix  -       -       n       -       -       smtp\n"
      "        -o syslog_name=postfix/$service_name\n"
      "showq     unix  n       -       n       -       -       showq\n"
      "error     unix  -       -       n       -       -       error\n"
      "retry     unix  -       -       n       -       -       error\n"
      "discard   unix  -       -       n       -       -       discard\n"
      "local     unix  -       n       n       -       -       local\n"
      "virtual   unix  -       n       n       -       -       virtual\n"
      "lmtp      unix  -       -       n       -       -       lmtp\n"
      "anvil     unix  -       -       n       -       1       anvil\n"
      "scache    unix  -       -       n       -       1       scache\n"
      "postlog   unix-dgram n  -       n       -       1       postlogd\n"
      "amavisfeed unix -       -       n       -       2       lmtp\n"
      "  -o lmtp_data_done_timeout=1200\n"
      "  -o lmtp_send_xforward_command=yes\n"
      "127.0.0.1:10025 inet n  -       n       -       -       smtpd\n"
      "  -o content_filter=\n"
      "  -o smtpd_restriction_classes=\n"
      "  -o smtpd_client_restrictions=\n"
      "  -o smtpd_recipient_restrictions=permit_mynetworks,reject\n"
      "  -o mynetworks=127.0.0.0/8\n"
      "  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks\n");
  for (const auto& x : d) ADD_FAILURE() << x.ToString();
  EXPECT_EQ(config_->GetInt("amavisfeed_destination_concurrency_limit"), 2);
  EXPECT_EQ(config_->GetInt("relay_destination_concurrency_limit"), 20);

  auto master = core::ParseMasterCf(
      "127.0.0.1:10025 inet n - n - - smtpd\n  -o mynetworks=127.0.0.0/8\n"
      "  -o smtpd_recipient_restrictions=permit_mynetworks,reject\n  -o content_filter=\n",
      "master.cf");
  auto service = config_->WithOverrides(master.services[0].overrides);
  EXPECT_EQ(service->GetString("content_filter"), "");
  EXPECT_EQ(service->GetList("smtpd_recipient_restrictions"),
            (std::vector<std::string>{"permit_mynetworks", "reject"}));
  EXPECT_EQ(config_->GetString("content_filter"), "amavisfeed:[127.0.0.1]:10024");
}

TEST_F(MtaConfigTest, BadMasterCfServicesAreReported) {
  auto d = Check("",
                 "smtp inet n - n - - smtpdd\n"
                 "maildrop unix - n n - - pipe flags=DRhu user=vmail argv=/bin/true\n"
                 "127.0.0.1:99999 inet n - n - - smtpd\n"
                 "10026 inet n - n - - smtpd -o smtpd_timeout=10x -o smtpd_recipent_limit=1\n");
  std::vector<std::string> m;
  for (const auto& x : d) m.push_back(x.ToString());
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0],
            "master.cf:1: error: service smtp/inet: unknown command \"smtpdd\" (did you mean "
            "\"smtpd\"?)");
  EXPECT_NE(m[1].find("master.cf:2: warning: service maildrop/unix: command \"pipe\" is not "
                      "supported"),
            std::string::npos);
  EXPECT_NE(m[2].find("master.cf:3: error: service 127.0.0.1:99999/inet: bad inet service "
                      "name"),
            std::string::npos);
  EXPECT_EQ(m[3],
            "master.cf:4: error: unknown parameter \"smtpd_recipent_limit\" (did you mean "
            "\"smtpd_recipient_limit\"?)");
  EXPECT_NE(m[4].find("master.cf:4: error: smtpd_timeout: bad time value"), std::string::npos);
}

TEST(LoadMtaConfigTest, ThrowsTheFirstErrorWithItsLocation) {
  testing::TempDir dir;
  dir.WriteFile("main.cf", "queue_directory = var/queue\n");
  dir.WriteFile("master.cf", "smtp inet n - n - - smtpd\n  -o smtpd_timeout=1h\n");
  MtaConfig config = LoadMtaConfig({dir.path(), "main.cf", {"myhostname=mx.example.com"}});
  EXPECT_EQ(config.main->GetPath("queue_directory"), dir.path() + "/var/queue");
  EXPECT_EQ(config.main->GetString("mydomain"), "example.com");
  ASSERT_EQ(config.master.services.size(), 1u);

  dir.WriteFile("master.cf", "smtp inet n - n - - smtpd\n  -o smtpd_timeout=1y\n");
  try {
    LoadMtaConfig({dir.path(), "main.cf", {}});
    FAIL() << "no exception";
  } catch (const core::ConfigError& e) {
    EXPECT_EQ(e.location().ToString(), dir.path() + "/master.cf:2");
  }
}

}  // namespace
}  // namespace moat::mta
