// config_test.cc - core::Config: layering and precedence, typed getters, checks with file:line.
#include "core/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/support/test_support.h"

namespace moat::core {
namespace {

using std::chrono::seconds;

std::string ComputeHostname(const ParameterContext&) { return "host.example.net"; }
std::string ComputeDomain(const ParameterContext& context) {
  std::string host = context.Value("myhostname").value_or("");
  size_t dot = host.find('.');
  return dot == std::string::npos ? "localdomain" : host.substr(dot + 1);
}

ParameterRegistry TestRegistry() {
  using namespace spec;  // NOLINT
  ParameterRegistry r("moat-test");
  static constexpr ParameterSpec kSpecs[] = {
      Computed(String("myhostname", "", "host"), ComputeHostname),
      Computed(String("mydomain", "", "domain"), ComputeDomain),
      String("myorigin", "$myhostname", "origin"),
      String("stress", "", "stress"),
      Time("smtpd_timeout", "${stress?{10}:{300}}s", 's', "timeout"),
      Time("maximal_backoff_time", "4000s", 's', "backoff"),
      Time("bounce_queue_lifetime", "5d", 'd', "lifetime"),
      Integer("smtpd_recipient_limit", "1000", "limit", 1),
      Integer("default_destination_concurrency_limit", "20", "concurrency"),
      Bool("smtpd_delay_reject", "yes", "delay"),
      Size("message_size_limit", "10240000", "size"),
      Number("spam_kill_level", "6.9", "kill"),
      Choice("mynetworks_style", "host", "host|subnet|class", "style"),
      Networks("mynetworks", "127.0.0.0/8", "networks"),
      List("relay_domains", "", "domains"),
      Tables("transport_maps", "", "transport"),
      Path("queue_directory", "/var/spool/moat", "queue"),
      Address("forward_to", "127.0.0.1:10025", "forward"),
      Names("smtpd_restriction_classes", "", "classes"),
      Restrictions("smtpd_recipient_restrictions", "permit_mynetworks", "restrictions"),
      Raw("default_rbl_reply", "$rbl_code Service unavailable", "rbl"),
  };
  for (const ParameterSpec& s : kSpecs) r.Add(s);
  r.AddRecognised("smtpd_milters", "");
  r.AddRecognised("relay_domains", "ignored: a supported definition already exists");
  r.AddTemplate(Template(ParameterType::kInteger, "destination_concurrency_limit",
                         "$default_destination_concurrency_limit", "per transport"));
  return r;
}

ConfigBuildOptions WithReferences(std::set<std::string> names) {
  ConfigBuildOptions o;
  o.external_references = std::move(names);
  return o;
}

ConfigBuildOptions WithTransports(std::vector<std::string> names) {
  ConfigBuildOptions o;
  o.template_prefixes = std::move(names);
  return o;
}

class ConfigTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Config> Build(const std::string& main_cf,
                                      std::vector<std::string> overrides = {},
                                      ConfigBuildOptions options = {}) {
    auto contents = ParseConfigText(main_cf, "main.cf");
    diagnostics_ = contents.diagnostics;
    std::vector<ConfigEntry> entries;
    int n = 0;
    for (const std::string& o : overrides) entries.push_back(*ParseOverride(o, ++n));
    return Config::Build(registry_, "/etc/moat", contents.entries, entries, options, diagnostics_);
  }
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    for (const ConfigDiagnostic& d : diagnostics_) out.push_back(d.ToString());
    return out;
  }

  ParameterRegistry registry_ = TestRegistry();
  ConfigDiagnostics diagnostics_;
};

TEST_F(ConfigTest, DefaultsFileAndOverridesInThatPrecedence) {
  auto c = Build(
      "smtpd_timeout = 60s\n"
      "smtpd_recipient_limit = 50\n",
      {"smtpd_recipient_limit=7"});
  EXPECT_TRUE(diagnostics_.empty()) << Messages()[0];
  EXPECT_EQ(c->GetTime("smtpd_timeout"), seconds(60));       // file beats default
  EXPECT_EQ(c->GetInt("smtpd_recipient_limit"), 7);          // -o beats file
  EXPECT_EQ(c->GetSize("message_size_limit"), 10240000u);    // default
  EXPECT_EQ(c->LocationOf("smtpd_timeout").ToString(), "main.cf:1");
  EXPECT_EQ(c->LocationOf("smtpd_recipient_limit").ToString(), "-o #1");
  EXPECT_EQ(c->LocationOf("message_size_limit").ToString(), "(default)");

  auto service = c->WithOverrides({{"smtpd_recipient_limit", "3", {"master.cf", 9}}});
  EXPECT_EQ(service->GetInt("smtpd_recipient_limit"), 3);    // service -o beats everything
  EXPECT_EQ(service->LocationOf("smtpd_recipient_limit").ToString(), "master.cf:9");
  EXPECT_EQ(c->GetInt("smtpd_recipient_limit"), 7);          // the original is unchanged
}

TEST_F(ConfigTest, LaterSettingWinsWithAWarning) {
  auto c = Build("smtpd_recipient_limit = 1\nsmtpd_recipient_limit = 2\n");
  EXPECT_EQ(c->GetInt("smtpd_recipient_limit"), 2);
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(Messages()[0],
            "main.cf:2: warning: smtpd_recipient_limit is set again; the setting at main.cf:1 "
            "is overridden");
}

TEST_F(ConfigTest, ExpansionUsesTheFinalValuesWhateverTheOrder) {
  auto c = Build(
      "myorigin = $mydomain\n"
      "mydomain = example.com\n"
      "stress = yes\n",
      {"mydomain=example.org"});
  EXPECT_TRUE(diagnostics_.empty());
  EXPECT_EQ(c->GetString("myorigin"), "example.org");
  EXPECT_EQ(c->GetTime("smtpd_timeout"), seconds(10));
  EXPECT_EQ(*c->RawValue("myorigin"), "$mydomain");
}

// `-o content_filter=` on a main.cf whose content_filter named $inbound_filter_nexthop: the
// variable is still referenced by the file, so it is not an unknown parameter (as in Postfix).
TEST_F(ConfigTest, OverridingTheOnlyReferenceKeepsTheUserParameterKnown) {
  auto c = Build("local_origin = example.com\nmyorigin = $local_origin\n", {"myorigin=example.org"});
  EXPECT_TRUE(diagnostics_.empty()) << Messages()[0];
  EXPECT_EQ(c->GetString("myorigin"), "example.org");
  auto service = c->WithOverrides({{"myorigin", "example.net", {"master.cf", 3}}});
  EXPECT_EQ(service->GetString("myorigin"), "example.net");
  Build("local_origin = example.com\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_NE(Messages()[0].find("unknown parameter"), std::string::npos);
}

TEST_F(ConfigTest, ServiceOverridesChangeWhatOtherValuesExpandTo) {
  auto c = Build("myorigin = $mydomain\n");
  auto service = c->WithOverrides({{"mydomain", "svc.example", {"master.cf", 3}}});
  EXPECT_EQ(service->GetString("myorigin"), "svc.example");
  EXPECT_EQ(c->GetString("myorigin"), "example.net");
}

TEST_F(ConfigTest, ComputedDefaultsUseOtherParameters) {
  auto c = Build("");
  EXPECT_EQ(c->GetString("myhostname"), "host.example.net");
  EXPECT_EQ(c->GetString("mydomain"), "example.net");
  EXPECT_EQ(c->GetString("myorigin"), "host.example.net");
  auto set = Build("myhostname = mx.example.org\n");
  EXPECT_EQ(set->GetString("mydomain"), "example.org");
}

TEST_F(ConfigTest, ListsAndPaths) {
  auto c = Build(
      "relay_domains = example.com,\n"
      "    example.net example.org\n"
      "queue_directory = var/queue\n");
  EXPECT_EQ(c->GetList("relay_domains"),
            (std::vector<std::string>{"example.com", "example.net", "example.org"}));
  EXPECT_EQ(c->GetPath("queue_directory"), "/etc/moat/var/queue");
  EXPECT_EQ(c->ResolvePath("../var/x"), "/etc/var/x");
  EXPECT_EQ(c->ResolvePath("/abs/path"), "/abs/path");
  EXPECT_EQ(c->GetHostPort("forward_to").port, 10025);
}

TEST_F(ConfigTest, RelativeConfigDirectoryResolvesAgainstTheWorkingDirectory) {
  ConfigDiagnostics d;
  auto c = Config::Build(registry_, "conf", {{"queue_directory", "../var/q", {"main.cf", 1}}}, {},
                         {}, d);
  std::string expected =
      (std::filesystem::current_path() / "var/q").lexically_normal().string();
  EXPECT_EQ(c->GetPath("queue_directory"), expected);
  EXPECT_EQ(c->directory(), "conf");
}

TEST_F(ConfigTest, UnknownParameterIsAnErrorWithASuggestion) {
  Build("smtpd_recipent_limit = 10\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(Messages()[0],
            "main.cf:1: error: unknown parameter \"smtpd_recipent_limit\" (did you mean "
            "\"smtpd_recipient_limit\"?)");
}

TEST_F(ConfigTest, UnknownButReferencedIsAUserDefinedParameter) {
  auto c = Build(
      "my_limit = 25\n"
      "smtpd_recipient_limit = $my_limit\n"
      "mua_restrictions = permit_sasl_authenticated, reject\n"
      "class_a = reject\n"
      "smtpd_restriction_classes = class_a\n",
      {}, WithReferences({"mua_restrictions"}));
  EXPECT_TRUE(diagnostics_.empty()) << Messages()[0];
  EXPECT_EQ(c->GetInt("smtpd_recipient_limit"), 25);
  EXPECT_EQ(c->GetString("mua_restrictions"), "permit_sasl_authenticated, reject");
}

TEST_F(ConfigTest, RecognisedButUnsupportedIsAWarning) {
  Build("smtpd_milters = inet:localhost:8891\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(Messages()[0],
            "main.cf:1: warning: smtpd_milters: not supported by moat-test (a Postfix parameter; "
            "ignored)");
}

TEST_F(ConfigTest, MalformedValuesAreErrorsAtTheirLine) {
  Build(
      "smtpd_timeout = 10x\n"
      "smtpd_recipient_limit = many\n"
      "smtpd_delay_reject = perhaps\n"
      "mynetworks_style = everything\n"
      "mynetworks = 127.0.0.0/8, 10.0.0.0/33\n"
      "spam_kill_level = high\n"
      "transport_maps = /etc/postfix/transport\n"
      "forward_to = localhost\n"
      "smtpd_restriction_classes = not-a-name\n");
  std::vector<std::string> m = Messages();
  ASSERT_EQ(m.size(), 9u);
  std::sort(m.begin(), m.end());
  EXPECT_EQ(m[0],
            "main.cf:1: error: smtpd_timeout: bad time value \"10x\": unknown unit 'x' (use s, m, "
            "h, d or w)");
  EXPECT_EQ(m[1],
            "main.cf:2: error: smtpd_recipient_limit: bad numerical value \"many\" (expected an "
            "integer)");
  EXPECT_NE(m[2].find("main.cf:3: error: smtpd_delay_reject: bad boolean"), std::string::npos);
  EXPECT_EQ(m[3],
            "main.cf:4: error: mynetworks_style: bad value \"everything\" (expected one of: host, "
            "subnet, class)");
  EXPECT_NE(m[4].find("main.cf:5: error: mynetworks: bad network \"10.0.0.0/33\""),
            std::string::npos);
  EXPECT_NE(m[5].find("main.cf:6: error: spam_kill_level: bad number"), std::string::npos);
  EXPECT_NE(m[6].find("main.cf:7: error: transport_maps: \"/etc/postfix/transport\" is not a "
                      "lookup table"),
            std::string::npos);
  EXPECT_NE(m[7].find("main.cf:8: error: forward_to: bad address"), std::string::npos);
  EXPECT_NE(m[8].find("main.cf:9: error: smtpd_restriction_classes"), std::string::npos);
}

TEST_F(ConfigTest, IntegerRangesAreChecked) {
  Build("smtpd_recipient_limit = 0\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(Messages()[0],
            "main.cf:1: error: smtpd_recipient_limit: value 0 out of range (integer >= 1)");
}

TEST_F(ConfigTest, ALoopIsReportedOnceAtItsFirstSetting) {
  Build(
      "myorigin = $mydomain\n"
      "mydomain = $myorigin\n"
      "smtpd_recipient_limit = $myorigin\n");
  ASSERT_EQ(diagnostics_.size(), 1u) << Messages()[1];
  EXPECT_EQ(Messages()[0], "main.cf:1: error: parameter loop: myorigin -> mydomain -> myorigin");
}

TEST_F(ConfigTest, UndefinedReferencesAreWarningsWithSuggestions) {
  auto c = Build("myorigin = $mydomian\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(Messages()[0],
            "main.cf:1: warning: myorigin: undefined parameter $mydomian expands to nothing (did "
            "you mean \"mydomain\"?)");
  EXPECT_EQ(c->GetString("myorigin"), "");
}

TEST_F(ConfigTest, RawParametersKeepTheirMacros) {
  auto c = Build("default_rbl_reply = $rbl_code Sorry, $rbl_domain lists you\n");
  EXPECT_TRUE(diagnostics_.empty()) << Messages()[0];
  EXPECT_EQ(c->GetString("default_rbl_reply"), "$rbl_code Sorry, $rbl_domain lists you");
  auto d = Build("");
  EXPECT_EQ(d->GetString("default_rbl_reply"), "$rbl_code Service unavailable");
}

TEST_F(ConfigTest, ABadValueReachedThroughADefaultIsReportedOnlyWhereItIsSet) {
  Build("default_destination_concurrency_limit = lots\n", {},
        WithTransports({"amavisfeed", "smtp"}));
  ASSERT_EQ(diagnostics_.size(), 1u) << Messages()[1];
  EXPECT_EQ(diagnostics_[0].location.line, 1);
}

TEST_F(ConfigTest, ABadValueReachedOnlyThroughADefaultIsReportedAtTheSettingItReads) {
  // my_limit is user-defined (referenced, so not unknown) and untyped; the typed parameter that
  // reads it through its default is where the problem shows.
  Build("my_limit = lots\ndefault_destination_concurrency_limit = $my_limit\n", {},
        WithTransports({"relay"}));
  ASSERT_EQ(diagnostics_.size(), 1u) << Messages()[1];
  EXPECT_EQ(Messages()[0],
            "main.cf:2: error: default_destination_concurrency_limit: bad numerical value "
            "\"lots\" (expected an integer)");
  registry_.Add(spec::String("legacy_limit", "", "a legacy name"));
  registry_.Add(spec::Integer("new_limit", "$legacy_limit", "reads the legacy name"));
  Build("legacy_limit = lots\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(Messages()[0],
            "main.cf:1: error: new_limit (default $legacy_limit, from legacy_limit): bad "
            "numerical value \"lots\" (expected an integer)");
}

TEST_F(ConfigTest, RecognisedNamesThatSupportedDefaultsReadAreNotIgnored) {
  registry_.AddRecognised("virtual_maps", "");
  registry_.Add(spec::Tables("virtual_alias_maps", "$virtual_maps", "aliases"));
  auto c = Build("virtual_maps = hash:/etc/moat/virtual\n");
  EXPECT_TRUE(diagnostics_.empty()) << Messages()[0];
  EXPECT_EQ(c->GetString("virtual_alias_maps"), "hash:/etc/moat/virtual");
}

TEST_F(ConfigTest, TemplatesDefinePerTransportParameters) {
  auto c = Build("amavisfeed_destination_concurrency_limit = 2\n", {},
                 WithTransports({"amavisfeed", "relay"}));
  EXPECT_TRUE(diagnostics_.empty()) << Messages()[0];
  EXPECT_EQ(c->GetInt("amavisfeed_destination_concurrency_limit"), 2);
  EXPECT_EQ(c->GetInt("relay_destination_concurrency_limit"), 20);
  Build("amavisfeed_destination_concurrency_limit = 2\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_NE(Messages()[0].find("unknown parameter"), std::string::npos);
}

TEST_F(ConfigTest, ServiceOverrideProblemsAreReportedOnceAtTheServiceLine) {
  auto c = Build("smtpd_timeout = 10x\n");  // a main.cf problem, reported by Build
  ConfigDiagnostics service_diagnostics;
  c->WithOverrides({{"smtpd_recipent_limit", "3", {"master.cf", 4}},
                    {"smtpd_delay_reject", "sometimes", {"master.cf", 4}},
                    {"smtpd_milters", "", {"master.cf", 4}}},
                   &service_diagnostics);
  ASSERT_EQ(service_diagnostics.size(), 3u);
  for (const ConfigDiagnostic& d : service_diagnostics) EXPECT_EQ(d.location.file, "master.cf");
  EXPECT_THROW(c->WithOverrides({{"smtpd_delay_reject", "x", {"master.cf", 4}}}), ConfigError);
}

TEST_F(ConfigTest, TypedGettersThrowWithTheLocation) {
  auto c = Build("smtpd_timeout = 10x\n");
  try {
    c->GetTime("smtpd_timeout");
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "main.cf:1: smtpd_timeout: bad time value \"10x\": unknown unit 'x' (use s, m, h, "
              "d or w)");
    EXPECT_EQ(e.location().line, 1);
  }
  EXPECT_THROW(c->GetString("no_such_parameter"), ConfigError);
  EXPECT_FALSE(c->Find("no_such_parameter").has_value());
  EXPECT_EQ(c->Find("smtpd_milters"), "");  // recognised parameters have values too
}

TEST_F(ConfigTest, LoadReadsTheFileAndThrowsTheFirstError) {
  testing::TempDir dir;
  dir.WriteFile("main.cf", "# sample\nsmtpd_timeout = 30s\nmyorigin = $mydomian\n");
  ConfigDiagnostics warnings;
  auto c = Config::Load(registry_, {dir.path(), "main.cf", {"smtpd_recipient_limit=9"}}, {},
                        &warnings);
  EXPECT_EQ(c->GetTime("smtpd_timeout"), seconds(30));
  EXPECT_EQ(c->GetInt("smtpd_recipient_limit"), 9);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].location.ToString(), dir.path() + "/main.cf:3");

  dir.WriteFile("main.cf", "smtpd_timeout = 30s\nsmtpd_delay_reject = maybe\n");
  try {
    Config::Load(registry_, {dir.path(), "main.cf", {}});
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.location().ToString(), dir.path() + "/main.cf:2");
  }
  EXPECT_THROW(Config::Load(registry_, {dir.path(), "main.cf", {"novalue"}}), ConfigError);
  EXPECT_THROW(Config::Load(registry_, {dir.path() + "/missing", "main.cf", {}}), ConfigError);
}

TEST(ParameterRegistryTest, SupportedReplacesRecognisedAndSuggestsClosest) {
  ParameterRegistry r("moat-test");
  r.AddRecognised("relay_domains", "$mydestination");
  EXPECT_FALSE(r.Find("relay_domains")->supported());
  r.Add(spec::List("relay_domains", "", "x"));
  EXPECT_TRUE(r.Find("relay_domains")->supported());
  r.AddRecognised("relay_domains", "ignored");
  EXPECT_TRUE(r.Find("relay_domains")->supported());
  EXPECT_EQ(r.Suggest("relay_domain"), "relay_domains");
  EXPECT_EQ(r.Suggest("completely_different_thing"), std::nullopt);
}

}  // namespace
}  // namespace moat::core
