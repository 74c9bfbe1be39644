// master_cf_test.cc - master.cf: the columns, -o overrides in both forms, continuation lines,
// the seed documents' amavis blocks.
#include "core/master_cf.h"

#include <gtest/gtest.h>

#include "core/config.h"

namespace moat::core {
namespace {

// The amavis blocks of the seed documents, as administrators paste them.
constexpr const char* kAmavisMasterCf = R"(#
# Postfix master process configuration file.
#
# ==========================================================================
# service type  private unpriv  chroot  wakeup  maxproc command + args
#               (yes)   (yes)   (no)    (never) (100)
# ==========================================================================
smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}

amavisfeed unix -       -       n       -       2       lmtp
  -o lmtp_data_done_timeout=1200
  -o lmtp_send_xforward_command=yes
127.0.0.1:10025 inet n  -       n       -       -       smtpd
  -o content_filter=
  -o smtpd_restriction_classes=
  -o smtpd_client_restrictions=
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks
)";

TEST(MasterCfTest, ParsesTheSeedAmavisBlocks) {
  MasterCf m = ParseMasterCf(kAmavisMasterCf, "master.cf");
  EXPECT_TRUE(m.diagnostics.empty()) << m.diagnostics[0].ToString();
  ASSERT_EQ(m.services.size(), 9u);

  const MasterService* feed = m.Find("amavisfeed", "unix");
  ASSERT_NE(feed, nullptr);
  EXPECT_EQ(feed->command, "lmtp");
  EXPECT_EQ(feed->process_limit, 2);
  EXPECT_FALSE(feed->private_service.has_value());
  EXPECT_EQ(feed->chroot, false);
  EXPECT_EQ(feed->location.ToString(), "master.cf:18");
  ASSERT_EQ(feed->overrides.size(), 2u);
  EXPECT_EQ(feed->overrides[0].name, "lmtp_data_done_timeout");
  EXPECT_EQ(feed->overrides[0].value, "1200");
  EXPECT_EQ(feed->overrides[1].name, "lmtp_send_xforward_command");
  EXPECT_EQ(feed->overrides[1].value, "yes");
  EXPECT_EQ(feed->overrides[1].location.ToString(), "master.cf:20");
  EXPECT_TRUE(feed->arguments.empty());

  const MasterService* ret = m.Find("127.0.0.1:10025");
  ASSERT_NE(ret, nullptr);
  EXPECT_EQ(ret->type, MasterServiceType::kInet);
  EXPECT_EQ(ret->command, "smtpd");
  EXPECT_FALSE(ret->process_limit.has_value());
  ASSERT_EQ(ret->overrides.size(), 6u);
  EXPECT_EQ(ret->overrides[0].name, "content_filter");
  EXPECT_EQ(ret->overrides[0].value, "");
  EXPECT_EQ(ret->overrides[3].value, "permit_mynetworks,reject");
  EXPECT_EQ(ret->overrides[4].value, "127.0.0.0/8");
  EXPECT_EQ(ret->overrides[5].value, "no_unknown_recipient_checks,no_header_body_checks");
  EXPECT_EQ(ret->location.line, 21);
  EXPECT_EQ(ret->overrides[5].location.line, 27);

  const MasterService* pickup = m.Find("pickup");
  ASSERT_NE(pickup, nullptr);
  EXPECT_EQ(pickup->wakeup, "60");
  EXPECT_EQ(pickup->private_service, false);

  // pipe's arguments stay intact: "-d" after argv= is not a daemon option.
  const MasterService* maildrop = m.Find("maildrop");
  ASSERT_NE(maildrop, nullptr);
  EXPECT_EQ(maildrop->arguments,
            (std::vector<std::string>{"flags=DRXhu", "user=vmail", "argv=/usr/bin/maildrop", "-d",
                                      "${recipient}"}));
  EXPECT_TRUE(maildrop->overrides.empty());
  EXPECT_EQ(m.Find("relay")->overrides[0].value, "postfix/$service_name");
}

TEST(MasterCfTest, LongFormOverridesKeepWhitespaceInTheValue) {
  MasterCf m = ParseMasterCf(
      "submission inet n - n - - smtpd\n"
      "  -o {  smtpd_client_restrictions =  permit_sasl_authenticated,  reject  }\n"
      "  -o {smtpd_tls_security_level=encrypt}\n"
      "  -osmtpd_sasl_auth_enable=yes -v\n",
      "master.cf");
  ASSERT_TRUE(m.diagnostics.empty()) << m.diagnostics[0].ToString();
  const MasterService& s = m.services.at(0);
  ASSERT_EQ(s.overrides.size(), 3u);
  EXPECT_EQ(s.overrides[0].name, "smtpd_client_restrictions");
  EXPECT_EQ(s.overrides[0].value, "permit_sasl_authenticated,  reject");
  EXPECT_EQ(s.overrides[1].value, "encrypt");
  EXPECT_EQ(s.overrides[2].name, "smtpd_sasl_auth_enable");
  EXPECT_EQ(s.arguments, std::vector<std::string>{"-v"});
}

TEST(MasterCfTest, ErrorsCarryFileAndLine) {
  MasterCf m = ParseMasterCf(
      "smtp inet n - n - - smtpd\n"
      "broken inet n -\n"
      "x tcp n - n - - smtpd\n"
      "y unix maybe - n - - smtp\n"
      "z unix - - n soon - smtp\n"
      "w unix - - n - many smtp\n"
      "v inet n - n - - smtpd -o\n"
      "u inet n - n - - smtpd -o { unterminated=1\n"
      "t inet n - n - - smtpd -o novalue\n",
      "conf/master.cf");
  ASSERT_EQ(m.services.size(), 1u);
  ASSERT_EQ(m.diagnostics.size(), 8u);
  EXPECT_EQ(m.diagnostics[0].ToString(),
            "conf/master.cf:2: error: missing field \"chroot\" (a service line has: service type "
            "private unpriv chroot wakeup maxproc command)");
  EXPECT_NE(m.diagnostics[1].message.find("unknown service type \"tcp\""), std::string::npos);
  EXPECT_NE(m.diagnostics[2].message.find("field \"private\": bad value \"maybe\""),
            std::string::npos);
  EXPECT_NE(m.diagnostics[3].message.find("wakeup"), std::string::npos);
  EXPECT_NE(m.diagnostics[4].message.find("maxproc"), std::string::npos);
  EXPECT_NE(m.diagnostics[5].message.find("-o without"), std::string::npos);
  EXPECT_NE(m.diagnostics[6].message.find("missing '}'"), std::string::npos);
  EXPECT_NE(m.diagnostics[7].message.find("expected name=value"), std::string::npos);
  for (size_t i = 0; i < m.diagnostics.size(); ++i) {
    EXPECT_EQ(m.diagnostics[i].location.line, static_cast<int>(i) + 2);
  }
}

TEST(MasterCfTest, LaterDefinitionWinsWithAWarning) {
  MasterCf m = ParseMasterCf(
      "smtp inet n - n - - smtpd\n"
      "smtp unix - - n - - smtp\n"
      "smtp inet n - n - 10 postscreen\n",
      "master.cf");
  ASSERT_EQ(m.services.size(), 2u);
  EXPECT_EQ(m.Find("smtp", "inet")->command, "postscreen");
  ASSERT_EQ(m.diagnostics.size(), 1u);
  EXPECT_EQ(m.diagnostics[0].severity, Severity::kWarning);
  EXPECT_NE(m.diagnostics[0].message.find("master.cf:1 is ignored"), std::string::npos);
}

TEST(MasterCfTest, CommandsAreClassified) {
  EXPECT_EQ(ClassifyCommand("smtpd"), CommandSupport::kImplemented);
  EXPECT_EQ(ClassifyCommand("lmtp"), CommandSupport::kImplemented);
  EXPECT_EQ(ClassifyCommand("trivial-rewrite"), CommandSupport::kBuiltIn);
  EXPECT_EQ(ClassifyCommand("postlogd"), CommandSupport::kBuiltIn);
  EXPECT_EQ(ClassifyCommand("pipe"), CommandSupport::kUnsupported);
  EXPECT_EQ(ClassifyCommand("amavisd"), CommandSupport::kUnknown);
  EXPECT_EQ(SuggestCommand("smptd"), "smtpd");
  EXPECT_TRUE(IsDeliveryAgent("lmtp"));
  EXPECT_TRUE(IsDeliveryAgent("pipe"));
  EXPECT_FALSE(IsDeliveryAgent("discard"));
  EXPECT_FALSE(IsDeliveryAgent("smtpd"));
}

TEST(MasterCfTest, InetServiceNamesExpandAndParse) {
  ParameterRegistry registry("test");
  registry.Add(spec::String("inet_interfaces", "all", "interfaces"));
  ConfigDiagnostics diagnostics;
  ConfigBuildOptions options;
  options.external_references = {"return_listen"};
  auto config = Config::Build(registry, ".", {{"return_listen", "127.0.0.1:10025", {"m", 1}}}, {},
                              options, diagnostics);
  ASSERT_FALSE(HasErrors(diagnostics));
  MasterCf m = ParseMasterCf(
      "$return_listen inet n - n - - smtpd\n"
      "[::1]:2525 inet n - n - - smtpd\n"
      "smtp inet n - n - - smtpd\n"
      "2587 inet n - n - - smtpd\n"
      "127.0.0.1:99999 inet n - n - - smtpd\n"
      "127.0.0.1:nosuchport inet n - n - - smtpd\n",
      "master.cf");
  auto a = ExpandServiceName(m.services[0], *config);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->ToString(), "127.0.0.1:10025");
  EXPECT_EQ(ExpandServiceName(m.services[1], *config)->ToString(), "[::1]:2525");
  auto smtp = ExpandServiceName(m.services[2], *config);
  if (smtp) {  // needs /etc/services
    EXPECT_EQ(smtp->port, 25);
    EXPECT_EQ(smtp->host, "");
  }
  EXPECT_EQ(ExpandServiceName(m.services[3], *config)->port, 2587);
  EXPECT_FALSE(ExpandServiceName(m.services[4], *config));
  EXPECT_FALSE(ExpandServiceName(m.services[5], *config));
}

TEST(MasterCfTest, SplitFieldsKeepsBraces) {
  auto f = SplitMasterFields("a  b\t{ c d } e{f g}h");
  ASSERT_TRUE(f);
  std::vector<std::string> texts;
  for (const MasterField& field : *f) texts.push_back(field.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"a", "b", "{ c d }", "e{f g}h"}));
  EXPECT_EQ((*f)[2].offset, 5u);
  EXPECT_FALSE(SplitMasterFields("a { b"));
}

}  // namespace
}  // namespace moat::core
