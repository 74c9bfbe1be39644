// spf_interop_test.cc - SPF over a real DNS server, compared with a tool no one here wrote.
//
// The test starts dnsmasq on a free loopback port with SPF records for every feature (ip4, ip6,
// a, mx, ptr, include, redirect, exists with macros, exp, -all/~all/?all, a loop, too many
// lookups, too many void lookups, too many MX names, two records, a malformed record, a domain
// without a record, a name the server refuses), evaluates each case with mta::SpfEvaluator over
// core::DnsResolver, and then the same cases with python3-spf (pyspf) pointed at the same server
// (tests/mta/pyspf_check.py). Every result must agree with pyspf's, and with the result this file
// expects; explanations must agree where the domain published one.
//
// It also covers what the policy layer does with those results (CheckSpfPolicy): the
// Received-SPF field, reject on fail only when configured, and temperror on timeouts deferred
// or passed as configured, never rejected.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <asio.hpp>

#include "mta/spf_evaluator.h"
#include "mta/spf_policy.h"
#include "tests/mta/spf_test_zone.h"
#include "tests/support/dnsmasq_server.h"
#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

using moat::testing::DnsmasqServer;
using moat::testing::DnsmasqTxtRecord;

struct Case {
  std::string ip;
  std::string sender;
  std::string helo;
  std::string want;  // the expected result
};

std::vector<std::string> Records() {
  std::vector<std::string> r = {
      DnsmasqTxtRecord("ip4.test", "v=spf1 ip4:192.0.2.0/24 -all"),
      DnsmasqTxtRecord("ip6.test", "v=spf1 ip6:2001:db8:1::/48 -all"),
      DnsmasqTxtRecord("a.test", "v=spf1 a -all"),
      "--host-record=a.test,192.0.2.10,2001:db8:2::10",
      DnsmasqTxtRecord("acidr.test", "v=spf1 a:host.acidr.test/28//64 ~all"),
      "--host-record=host.acidr.test,198.51.100.1,2001:db8:3::1",
      DnsmasqTxtRecord("mx.test", "v=spf1 mx -all"),
      "--mx-host=mx.test,mx1.mx.test,10",
      "--mx-host=mx.test,mx2.mx.test,20",
      "--host-record=mx1.mx.test,192.0.2.20",
      "--host-record=mx2.mx.test,192.0.2.21",
      DnsmasqTxtRecord("ptr.test", "v=spf1 ptr -all"),
      "--host-record=host.ptr.test,192.0.2.30",
      DnsmasqTxtRecord("include.test", "v=spf1 include:ip4.test ~all"),
      DnsmasqTxtRecord("redirect.test", "v=spf1 redirect=ip4.test"),
      DnsmasqTxtRecord("softfail.test", "v=spf1 ip4:203.0.113.0/24 ~all"),
      DnsmasqTxtRecord("neutral.test", "v=spf1 ?all"),
      DnsmasqTxtRecord("empty.test", "v=spf1"),
      DnsmasqTxtRecord("loop.test", "v=spf1 include:loop2.test -all"),
      DnsmasqTxtRecord("loop2.test", "v=spf1 include:loop.test -all"),
      DnsmasqTxtRecord("redirectloop.test", "v=spf1 redirect=redirectloop.test"),
      DnsmasqTxtRecord("void.test", "v=spf1 a:nx1.void.test a:nx2.void.test a:nx3.void.test -all"),
      DnsmasqTxtRecord("twovoids.test", "v=spf1 a:nx1.void.test a:nx2.void.test ip4:192.0.2.0/24 -all"),
      DnsmasqTxtRecord("macro.test", "v=spf1 exists:%{ir}.%{l1r-}.lp._spf.%{d} -all"),
      "--host-record=10.2.0.192.sender.lp._spf.macro.test,127.0.0.2",
      DnsmasqTxtRecord("exp.test", "v=spf1 ip4:192.0.2.1 -all exp=explain.exp.test"),
      DnsmasqTxtRecord("explain.exp.test", "%{i} is not one of %{d}'s designated mail servers."),
      DnsmasqTxtRecord("two.test", "v=spf1 -all"),
      DnsmasqTxtRecord("two.test", "v=spf1 +all"),
      DnsmasqTxtRecord("malformed.test", "v=spf1 ip4:192.0.2.0/33 -all"),
      DnsmasqTxtRecord("badmech.test", "v=spf1 foo:bar.test -all"),
      DnsmasqTxtRecord("nospf.test", "hello world"),
      DnsmasqTxtRecord("includenone.test", "v=spf1 include:nospf.test -all"),
      DnsmasqTxtRecord("refused.test", "v=spf1 include:outside.example -all"),
      DnsmasqTxtRecord("manymx.test", "v=spf1 mx -all"),
      DnsmasqTxtRecord("helo.test", "v=spf1 a:mail.helo.test -all"),
      "--host-record=mail.helo.test,192.0.2.40",
  };
  std::string many = "v=spf1";
  for (int i = 1; i <= 11; ++i) {
    many += " a:h" + std::to_string(i) + ".many.test";
    r.push_back("--host-record=h" + std::to_string(i) + ".many.test,198.51.100." +
                std::to_string(100 + i));
  }
  r.push_back(DnsmasqTxtRecord("many.test", many + " -all"));
  for (int i = 1; i <= 11; ++i) {
    r.push_back("--mx-host=manymx.test,mx" + std::to_string(i) + ".manymx.test," +
                std::to_string(i));
  }
  return r;
}

std::vector<Case> Cases() {
  return {
      {"192.0.2.1", "user@ip4.test", "mx.client.test", "pass"},
      {"198.51.100.1", "user@ip4.test", "mx.client.test", "fail"},
      {"2001:db8:1::25", "user@ip6.test", "mx.client.test", "pass"},
      {"2001:db8:9::25", "user@ip6.test", "mx.client.test", "fail"},
      {"192.0.2.1", "user@ip6.test", "mx.client.test", "fail"},
      {"192.0.2.10", "user@a.test", "mx.client.test", "pass"},
      {"2001:db8:2::10", "user@a.test", "mx.client.test", "pass"},
      {"192.0.2.11", "user@a.test", "mx.client.test", "fail"},
      {"198.51.100.14", "user@acidr.test", "mx.client.test", "pass"},
      {"198.51.100.17", "user@acidr.test", "mx.client.test", "softfail"},
      {"2001:db8:3::ffff", "user@acidr.test", "mx.client.test", "pass"},
      {"192.0.2.21", "user@mx.test", "mx.client.test", "pass"},
      {"192.0.2.22", "user@mx.test", "mx.client.test", "fail"},
      {"192.0.2.30", "user@ptr.test", "mx.client.test", "pass"},
      {"192.0.2.31", "user@ptr.test", "mx.client.test", "fail"},
      {"192.0.2.5", "user@include.test", "mx.client.test", "pass"},
      {"203.0.113.5", "user@include.test", "mx.client.test", "softfail"},
      {"192.0.2.5", "user@redirect.test", "mx.client.test", "pass"},
      {"203.0.113.5", "user@redirect.test", "mx.client.test", "fail"},
      {"203.0.113.5", "user@softfail.test", "mx.client.test", "pass"},
      {"192.0.2.5", "user@softfail.test", "mx.client.test", "softfail"},
      {"192.0.2.5", "user@neutral.test", "mx.client.test", "neutral"},
      {"192.0.2.5", "user@empty.test", "mx.client.test", "neutral"},
      {"192.0.2.5", "user@loop.test", "mx.client.test", "permerror"},
      {"192.0.2.5", "user@redirectloop.test", "mx.client.test", "permerror"},
      {"192.0.2.5", "user@many.test", "mx.client.test", "permerror"},
      {"192.0.2.5", "user@void.test", "mx.client.test", "permerror"},
      {"192.0.2.5", "user@twovoids.test", "mx.client.test", "pass"},
      {"192.0.2.10", "sender@macro.test", "mx.client.test", "pass"},
      {"192.0.2.11", "sender@macro.test", "mx.client.test", "fail"},
      {"192.0.2.10", "other@macro.test", "mx.client.test", "fail"},
      {"192.0.2.1", "user@exp.test", "mx.client.test", "pass"},
      {"192.0.2.2", "user@exp.test", "mx.client.test", "fail"},
      {"192.0.2.2", "user@two.test", "mx.client.test", "permerror"},
      {"192.0.2.2", "user@malformed.test", "mx.client.test", "permerror"},
      {"192.0.2.2", "user@badmech.test", "mx.client.test", "permerror"},
      {"192.0.2.2", "user@nospf.test", "mx.client.test", "none"},
      {"192.0.2.2", "user@nothing.test", "mx.client.test", "none"},
      {"192.0.2.2", "user@includenone.test", "mx.client.test", "permerror"},
      {"192.0.2.2", "user@refused.test", "mx.client.test", "temperror"},
      {"192.0.2.2", "user@manymx.test", "mx.client.test", "permerror"},
      {"192.0.2.40", "", "helo.test", "pass"},
      {"192.0.2.41", "", "helo.test", "fail"},
      {"192.0.2.40", "user@IP4.TEST", "mx.client.test", "pass"},
  };
}

class SpfInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = DnsmasqServer::Start({"test", "in-addr.arpa", "ip6.arpa"}, Records());
    ASSERT_TRUE(server_);
    core::DnsResolverOptions options;
    options.servers = {server_->address()};
    auto resolver = core::DnsResolver::Create(io_.get_executor(), options);
    ASSERT_TRUE(resolver) << resolver.error().ToString();
    resolver_ = std::move(*resolver);
    dns_ = std::make_unique<ResolverSpfDns>(*resolver_);
  }

  SpfCheck Check(const Case& c) {
    SpfEvaluator evaluator(*dns_);
    SpfRequest request{asio::ip::make_address(c.ip), c.sender, c.helo, "receiver.test", 0};
    return testing::RunAwaitable(io_, evaluator.CheckMailFrom(request));
  }

  asio::io_context io_;
  std::unique_ptr<DnsmasqServer> server_;
  std::unique_ptr<core::DnsResolver> resolver_;
  std::unique_ptr<ResolverSpfDns> dns_;
};

TEST_F(SpfInteropTest, AgreesWithPyspfOnEveryCase) {
  std::vector<Case> cases = Cases();
  std::vector<SpfCheck> ours;
  for (const Case& c : cases) {
    ours.push_back(Check(c));
    EXPECT_EQ(core::SpfResultName(ours.back().result), c.want)
        << c.sender << " from " << c.ip << ": " << ours.back().problem;
  }

  std::string input;
  for (const Case& c : cases) input += c.ip + "\t" + c.sender + "\t" + c.helo + "\n";
  moat::testing::CommandOptions options;
  options.stdin_data = input;
  options.timeout = std::chrono::seconds(120);
  auto run = moat::testing::RunCommand(
      {moat::testing::kSystemPython, moat::testing::SourcePath("tests/mta/pyspf_check.py"),
       std::to_string(server_->port())},
      options);
  ASSERT_EQ(run.exit_code, 0) << "pyspf (Debian python3-spf) failed: " << run.err;
  std::vector<nlohmann::json> theirs;
  size_t at = 0;
  while (at < run.out.size()) {
    size_t end = run.out.find('\n', at);
    if (end == std::string::npos) end = run.out.size();
    if (end > at) theirs.push_back(nlohmann::json::parse(run.out.substr(at, end - at)));
    at = end + 1;
  }
  ASSERT_EQ(theirs.size(), cases.size()) << run.out << run.err;
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string their_result = theirs[i]["result"].get<std::string>();
    EXPECT_EQ(core::SpfResultName(ours[i].result), their_result)
        << "disagreement with pyspf on " << cases[i].sender << " from " << cases[i].ip
        << " (ours: " << ours[i].problem << "; pyspf: " << theirs[i]["explanation"] << ")";
    if (!ours[i].explanation.empty()) {
      EXPECT_EQ(ours[i].explanation, theirs[i]["explanation"].get<std::string>());
    }
  }
}

TEST_F(SpfInteropTest, ExplanationIsExpanded) {
  SpfCheck check = Check({"192.0.2.2", "user@exp.test", "mx.client.test", "fail"});
  EXPECT_EQ(check.explanation, "192.0.2.2 is not one of exp.test's designated mail servers.");
  EXPECT_EQ(check.mechanism, "-all");
}

TEST_F(SpfInteropTest, LimitsAreCounted) {
  SpfCheck many = Check({"192.0.2.5", "user@many.test", "mx.client.test", "permerror"});
  EXPECT_EQ(many.dns_mechanisms, 11);
  EXPECT_NE(many.problem.find("more than 10 DNS lookups"), std::string::npos) << many.problem;
  SpfCheck voids = Check({"192.0.2.5", "user@void.test", "mx.client.test", "permerror"});
  EXPECT_EQ(voids.void_lookups, 3);
  EXPECT_NE(voids.problem.find("void lookup"), std::string::npos) << voids.problem;
  SpfCheck loop = Check({"192.0.2.5", "user@loop.test", "mx.client.test", "permerror"});
  EXPECT_NE(loop.problem.find("more than 10 DNS lookups"), std::string::npos) << loop.problem;
  SpfCheck mx = Check({"192.0.2.5", "user@manymx.test", "mx.client.test", "permerror"});
  EXPECT_NE(mx.problem.find("more than 10 MX records"), std::string::npos) << mx.problem;
}

TEST_F(SpfInteropTest, PolicyAddsReceivedSpfAndRejectsOnlyWhenConfigured) {
  SpfEvaluator evaluator(*dns_);
  core::SmtpSessionInfo session;
  session.client_address = "198.51.100.1";
  session.helo = "mx.client.test";
  SpfPolicyOptions options;
  options.receiver = "receiver.test";
  auto lenient = testing::RunAwaitable(io_, CheckSpfPolicy(evaluator, options, session,
                                                           "user@ip4.test"));
  EXPECT_EQ(lenient.verdict.action, PolicyAction::kDunno);
  EXPECT_EQ(lenient.mail_from.result, core::SpfResult::kFail);
  // MAIL FROM (fail) on top, where DMARC's reader looks first, then HELO (none).
  ASSERT_EQ(lenient.verdict.prepend_headers.size(), 2u);
  EXPECT_TRUE(lenient.verdict.prepend_headers[0].starts_with("Received-SPF: fail ("));
  EXPECT_TRUE(lenient.verdict.prepend_headers[1].starts_with("Received-SPF: none ("));
  EXPECT_NE(lenient.verdict.prepend_headers[1].find("identity=helo"), std::string::npos);
  auto parsed = core::ParseReceivedSpf(lenient.verdict.prepend_headers[0].substr(13));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->Domain(), "ip4.test");
  EXPECT_EQ(parsed->client_ip, "198.51.100.1");
  EXPECT_EQ(parsed->identity, core::SpfIdentity::kMailFrom);

  options.reject_fail = true;
  auto strict = testing::RunAwaitable(io_, CheckSpfPolicy(evaluator, options, session,
                                                          "user@ip4.test"));
  EXPECT_EQ(strict.verdict.action, PolicyAction::kReject);
  EXPECT_EQ(strict.verdict.reply.code(), 550);
  EXPECT_EQ(strict.verdict.reply.enhanced(), "5.7.23");

  auto pass = testing::RunAwaitable(io_, CheckSpfPolicy(evaluator, options, session,
                                                        "user@softfail.test"));
  EXPECT_EQ(pass.verdict.action, PolicyAction::kDunno);  // softfail never rejects

  session.auth_user = "alice";
  auto authenticated = testing::RunAwaitable(io_, CheckSpfPolicy(evaluator, options, session,
                                                                 "user@ip4.test"));
  EXPECT_EQ(authenticated.verdict.action, PolicyAction::kDunno);
  EXPECT_TRUE(authenticated.verdict.prepend_headers.empty());
}

// A nameserver that never answers: temperror, deferred only when configured, never rejected.
TEST(SpfTimeoutTest, SilentServerIsTemperrorNeverReject) {
  asio::io_context io;
  asio::ip::udp::socket silent(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  core::DnsResolverOptions dns_options;
  dns_options.servers = {"127.0.0.1:" + std::to_string(silent.local_endpoint().port())};
  dns_options.query_timeout = std::chrono::milliseconds(300);
  dns_options.attempt_timeout = std::chrono::milliseconds(100);
  auto resolver = core::DnsResolver::Create(io.get_executor(), dns_options);
  ASSERT_TRUE(resolver);
  ResolverSpfDns dns(**resolver);
  SpfEvaluator evaluator(dns);
  core::SmtpSessionInfo session;
  session.client_address = "192.0.2.1";
  session.helo = "mx.client.test";
  SpfPolicyOptions options;
  options.reject_fail = true;
  options.reject_permerror = true;
  auto passed = testing::RunAwaitable(io, CheckSpfPolicy(evaluator, options, session,
                                                         "user@example.com"));
  EXPECT_EQ(passed.mail_from.result, core::SpfResult::kTempError);
  EXPECT_EQ(passed.verdict.action, PolicyAction::kDunno);
  ASSERT_FALSE(passed.verdict.prepend_headers.empty());
  EXPECT_TRUE(passed.verdict.prepend_headers.front().starts_with("Received-SPF: temperror"));

  options.defer_temperror = true;
  auto deferred = testing::RunAwaitable(io, CheckSpfPolicy(evaluator, options, session,
                                                           "user@example.com"));
  EXPECT_EQ(deferred.verdict.action, PolicyAction::kDefer);
  EXPECT_EQ(deferred.verdict.reply.code(), 451);
  EXPECT_EQ(deferred.verdict.reply.enhanced(), "4.7.24");
}

// SERVFAIL-style and timeout answers on one record type only (the zone can do what dnsmasq
// cannot): an include whose TXT lookup times out is temperror; an A lookup that fails during an
// "a" mechanism too; a PTR lookup failure is only "no match" (RFC 7208 5.5).
TEST(SpfTemporaryErrorTest, ErrorsPerRecordType) {
  asio::io_context io;
  testing::ZoneSpfDns zone;
  zone.AddTxt("inc.example", {"v=spf1 include:slow.example -all"});
  zone.Add("slow.example", {"TXT", {"TIMEOUT"}, 0});
  zone.AddTxt("a.example", {"v=spf1 a:host.a.example -all"});
  zone.Add("host.a.example", {"A", {"TIMEOUT"}, 0});
  zone.AddTxt("ptr.example", {"v=spf1 ptr ?all"});
  zone.Add("1.2.0.192.in-addr.arpa", {"PTR", {"TIMEOUT"}, 0});
  SpfEvaluator evaluator(zone);
  auto check = [&](const std::string& sender) {
    SpfRequest request{asio::ip::make_address("192.0.2.1"), sender, "helo.example", "r", 0};
    return testing::RunAwaitable(io, evaluator.CheckMailFrom(request));
  };
  EXPECT_EQ(check("a@inc.example").result, core::SpfResult::kTempError);
  EXPECT_EQ(check("a@a.example").result, core::SpfResult::kTempError);
  EXPECT_EQ(check("a@ptr.example").result, core::SpfResult::kNeutral);
}

TEST(SpfTemporaryErrorTest, TimeLimitForTheWholeEvaluation) {
  asio::io_context io;
  testing::ZoneSpfDns zone;
  zone.AddTxt("slow.example", {"v=spf1 a:x.slow.example -all"});
  zone.AddA("x.slow.example", "192.0.2.9");
  SpfOptions options;
  options.time_limit = std::chrono::milliseconds(0);
  SpfEvaluator evaluator(zone, options);
  SpfRequest request{asio::ip::make_address("192.0.2.1"), "a@slow.example", "h.example", "", 0};
  auto check = testing::RunAwaitable(io, evaluator.CheckMailFrom(request));
  EXPECT_EQ(check.result, core::SpfResult::kTempError);
  EXPECT_NE(check.problem.find("time limit"), std::string::npos);
}

}  // namespace
}  // namespace moat::mta
