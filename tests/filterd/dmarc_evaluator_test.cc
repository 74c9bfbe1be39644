// dmarc_evaluator_test.cc - DMARC evaluation through the real resolver against a real DNS
// server: RFC 7489 Appendix B's alignment (B.1), Domain Owner (B.2) and SMTP-time (B.3.1)
// examples served by dnsmasq (testdata/corpus/dmarc), organisational-domain fallback,
// malformed and multiple records, several author domains, and DNS trouble (SERVFAIL, timeouts)
// as temperror.
#include <gtest/gtest.h>

// clang-format off
#include <chrono>
#include <optional>
#include <asio.hpp>
// clang-format on

#include "filterd/dmarc_evaluator.h"
#include "tests/mta/servfail_server.h"
#include "tests/support/dnsmasq_server.h"
#include "tests/support/test_support.h"

namespace moat::filterd {
namespace {

using namespace std::chrono_literals;

const PublicSuffixList& Suffixes() {
  static const auto* list = [] {
    auto loaded = PublicSuffixList::Load(kDefaultPublicSuffixList);
    EXPECT_TRUE(loaded) << loaded.error().ToString();
    return loaded ? new std::shared_ptr<const PublicSuffixList>(*loaded) : nullptr;
  }();
  return **list;
}

asio::awaitable<void> RunEvaluation(core::DnsResolver* resolver, const DmarcInput* input,
                                    DmarcOutcome* out, bool* done) {
  DmarcOutcome outcome = co_await EvaluateDmarc(*resolver, Suffixes(), *input);
  *out = std::move(outcome);
  *done = true;
}

// Evaluates `input` against the DNS server at `server` ("127.0.0.1:port").
DmarcOutcome Evaluate(const std::string& server, const DmarcInput& input,
                      std::chrono::milliseconds timeout = 3s) {
  asio::io_context io;
  core::DnsResolverOptions options;
  options.servers = {server};
  options.query_timeout = timeout;
  options.attempt_timeout = std::min<std::chrono::milliseconds>(timeout, 1s);
  auto resolver = core::DnsResolver::Create(io.get_executor(), options);
  EXPECT_TRUE(resolver) << resolver.error().ToString();
  DmarcOutcome out;
  out.reason = "not evaluated";
  bool done = false;
  asio::co_spawn(io, RunEvaluation(resolver->get(), &input, &out, &done), asio::detached);
  while (!done && io.run_one() > 0) {
  }
  // c-ares may still be retrying a query whose deadline passed: the resolver's end stops it.
  resolver->reset();
  io.run();
  EXPECT_TRUE(done);
  return out;
}

core::ReceivedSpf Spf(core::SpfResult result, std::string envelope_from) {
  core::ReceivedSpf spf;
  spf.result = result;
  spf.identity = core::SpfIdentity::kMailFrom;
  spf.envelope_from = std::move(envelope_from);
  return spf;
}

DkimSignatureResult Dkim(DkimResult result, std::string domain) {
  DkimSignatureResult r;
  r.result = result;
  r.domain = std::move(domain);
  return r;
}

// A message from `from` (its From field; the author domains come from the real parser).
DmarcInput Input(const std::string& from, std::optional<core::ReceivedSpf> spf = {},
                 std::vector<DkimSignatureResult> dkim = {}) {
  DmarcInput input;
  input.authors = FindAuthorDomains("From: " + from + "\r\nSubject: test\r\n\r\nbody\r\n");
  input.spf = std::move(spf);
  input.dkim = std::move(dkim);
  input.sample_bucket = 0;
  return input;
}

class DmarcZone {
 public:
  // Serves testdata/corpus/dmarc/<zone>.conf for the given local domains.
  DmarcZone(const std::string& zone, std::vector<std::string> domains) {
    server_ = moat::testing::DnsmasqServer::Start(
        domains,
        {"--conf-file=" + moat::testing::SourcePath("testdata/corpus/dmarc/" + zone + ".conf")});
  }
  bool ok() const { return server_ != nullptr; }
  std::string address() const { return server_->address(); }

 private:
  std::unique_ptr<moat::testing::DnsmasqServer> server_;
};

// B.1.1: MAIL FROM / From pairs; B.1.2: d= / From pairs (each: aligned relaxed, strict).
struct AlignmentCase {
  const char* authenticated;  // an envelope sender (SPF) or a d= (DKIM)
  const char* from;
  bool relaxed;
  bool strict;
};

const AlignmentCase kSpfCases[] = {
    {"sender@example.com", "sender@example.com", true, true},
    {"sender@child.example.com", "sender@example.com", true, false},
    {"sender@example.org", "sender@example.com", false, false},
};
const AlignmentCase kDkimCases[] = {
    {"example.com", "sender@example.com", true, true},
    {"example.com", "sender@child.example.com", true, false},
    {"sample.net", "sender@example.com", false, false},
};

void CheckAlignment(const std::string& zone, bool strict) {
  DmarcZone dns(zone, {"example.com"});
  ASSERT_TRUE(dns.ok());
  for (const AlignmentCase& c : kSpfCases) {
    DmarcOutcome o =
        Evaluate(dns.address(), Input(c.from, Spf(core::SpfResult::kPass, c.authenticated)));
    bool aligned = strict ? c.strict : c.relaxed;
    EXPECT_EQ(o.spf_aligned, aligned) << zone << " SPF " << c.authenticated << " " << o.reason;
    EXPECT_FALSE(o.dkim_aligned);
    EXPECT_EQ(o.result, aligned ? DmarcResult::kPass : DmarcResult::kFail) << o.reason;
    EXPECT_EQ(o.policy, DmarcPolicy::kReject);
    EXPECT_EQ(o.disposition, aligned ? DmarcPolicy::kNone : DmarcPolicy::kReject);
    EXPECT_EQ(o.record_domain, "example.com");
  }
  for (const AlignmentCase& c : kDkimCases) {
    DmarcOutcome o =
        Evaluate(dns.address(), Input(c.from, {}, {Dkim(DkimResult::kPass, c.authenticated)}));
    bool aligned = strict ? c.strict : c.relaxed;
    EXPECT_EQ(o.dkim_aligned, aligned) << zone << " DKIM d=" << c.authenticated << " " << o.reason;
    EXPECT_EQ(o.result, aligned ? DmarcResult::kPass : DmarcResult::kFail) << o.reason;
    // child.example.com has no record of its own: the organisational domain's applies.
    EXPECT_EQ(o.record_domain, "example.com");
  }
}

TEST(DmarcEvaluatorTest, AppendixB1AlignmentRelaxed) {
  CheckAlignment("appendix-b1-relaxed", false);
}

TEST(DmarcEvaluatorTest, AppendixB1AlignmentStrict) { CheckAlignment("appendix-b1-strict", true); }

TEST(DmarcEvaluatorTest, AppendixB2MonitoringOnlyPolicies) {
  for (const char* zone : {"appendix-b2-1", "appendix-b2-2", "appendix-b2-3"}) {
    DmarcZone dns(zone, {"example.com", "example.net"});
    ASSERT_TRUE(dns.ok());
    DmarcOutcome failing =
        Evaluate(dns.address(),
                 Input("sender@example.com", Spf(core::SpfResult::kFail, "sender@example.com")));
    EXPECT_EQ(failing.result, DmarcResult::kFail) << zone << ": " << failing.reason;
    EXPECT_EQ(failing.policy, DmarcPolicy::kNone) << zone;
    EXPECT_EQ(failing.disposition, DmarcPolicy::kNone) << zone;
    EXPECT_EQ(DmarcRuleValue(failing), "none");  // DMARC_NONE
    EXPECT_EQ(DmarcAuthenticationResult(failing),
              "dmarc=fail (p=none dis=none) header.from=example.com");

    DmarcOutcome passing = Evaluate(
        dns.address(), Input("sender@example.com", {}, {Dkim(DkimResult::kPass, "example.com")}));
    EXPECT_EQ(passing.result, DmarcResult::kPass) << zone;
    EXPECT_EQ(DmarcRuleValue(passing), "pass");  // DMARC_PASS
  }
  // B.2.3's third-party authorisation record ("v=DMARC1;") is not a policy: were it found where a
  // policy is looked for, it would be malformed, not a policy.
  DmarcZone dns("appendix-b2-3", {"example.com", "example.net"});
  ASSERT_TRUE(dns.ok());
  DmarcOutcome third = Evaluate(dns.address(), Input("a@thirdparty.example.net"));
  EXPECT_EQ(third.result, DmarcResult::kNone) << third.reason;
  EXPECT_EQ(DmarcRuleValue(third), "missing");  // DMARC_MISSING
}

TEST(DmarcEvaluatorTest, AppendixB24SubdomainRecordAndPctSampling) {
  DmarcZone dns("appendix-b2-4", {"example.com"});
  ASSERT_TRUE(dns.ok());
  DmarcInput input =
      Input("sender@test.example.com", Spf(core::SpfResult::kPass, "bounce@elsewhere.example"));
  // Buckets 0..24 are selected by pct=25, 25..99 get the next less strict policy.
  input.sample_bucket = 24;
  DmarcOutcome selected = Evaluate(dns.address(), input);
  EXPECT_EQ(selected.result, DmarcResult::kFail) << selected.reason;
  EXPECT_EQ(selected.record_domain, "test.example.com");
  ASSERT_TRUE(selected.record);
  EXPECT_EQ(selected.record->percent, 25);
  EXPECT_EQ(selected.policy, DmarcPolicy::kQuarantine);
  EXPECT_TRUE(selected.sampled);
  EXPECT_EQ(selected.disposition, DmarcPolicy::kQuarantine);
  EXPECT_EQ(DmarcRuleValue(selected), "quarantine");  // DMARC_QUAR

  input.sample_bucket = 25;
  DmarcOutcome spared = Evaluate(dns.address(), input);
  EXPECT_EQ(spared.result, DmarcResult::kFail);
  EXPECT_FALSE(spared.sampled);
  EXPECT_EQ(spared.disposition, DmarcPolicy::kNone);
  EXPECT_NE(spared.reason.find("pct=25 did not select this message"), std::string::npos);

  // The organisational domain keeps its own (B.2.1) record.
  DmarcOutcome org = Evaluate(dns.address(), Input("sender@example.com"));
  EXPECT_EQ(org.record_domain, "example.com");
  EXPECT_EQ(org.policy, DmarcPolicy::kNone);
}

TEST(DmarcEvaluatorTest, AppendixB31SmtpTimeSample) {
  DmarcZone dns("appendix-b3-1", {"example.com"});
  ASSERT_TRUE(dns.ok());
  // Author example.com, SPF-authenticated mail.example.com, DKIM-authenticated example.com.
  DmarcOutcome o =
      Evaluate(dns.address(),
               Input("sender@example.com", Spf(core::SpfResult::kPass, "bounces@mail.example.com"),
                     {Dkim(DkimResult::kPass, "example.com")}));
  EXPECT_EQ(o.result, DmarcResult::kPass) << o.reason;
  EXPECT_TRUE(o.spf_aligned);
  EXPECT_TRUE(o.dkim_aligned);
  EXPECT_EQ(o.spf_domain, "mail.example.com");
  EXPECT_EQ(DmarcAuthenticationResult(o), "dmarc=pass (p=reject dis=none) header.from=example.com");

  // "If no Authenticated Identifiers align with the Author Domain, then the Mail Receiver
  // applies the DMARC-record-specified policy."
  DmarcOutcome f = Evaluate(
      dns.address(),
      Input("sender@example.com", Spf(core::SpfResult::kPass, "x@example.org"),
            {Dkim(DkimResult::kPass, "example.net"), Dkim(DkimResult::kFail, "example.com")}));
  EXPECT_EQ(f.result, DmarcResult::kFail);
  EXPECT_EQ(f.disposition, DmarcPolicy::kReject);
  EXPECT_EQ(DmarcRuleValue(f), "reject");  // DMARC_REJECT
  EXPECT_EQ(DmarcAuthenticationResult(f),
            "dmarc=fail (p=reject dis=reject) header.from=example.com");
}

TEST(DmarcEvaluatorTest, OrganisationalDomainFallbackAndSubdomainPolicy) {
  DmarcZone dns("edge-cases", {"example.org", "example"});
  ASSERT_TRUE(dns.ok());
  DmarcOutcome sub = Evaluate(dns.address(), Input("a@mail.dept.example.org"));
  EXPECT_EQ(sub.result, DmarcResult::kFail) << sub.reason;
  EXPECT_EQ(sub.org_domain, "example.org");
  EXPECT_EQ(sub.record_domain, "example.org");
  EXPECT_EQ(sub.policy, DmarcPolicy::kQuarantine);  // sp= for subdomains
  DmarcOutcome org = Evaluate(dns.address(), Input("a@example.org"));
  EXPECT_EQ(org.policy, DmarcPolicy::kReject);  // p= for the domain itself
  DmarcOutcome none = Evaluate(dns.address(), Input("a@nothing.example"));
  EXPECT_EQ(none.result, DmarcResult::kNone) << none.reason;
  EXPECT_EQ(none.record_domain, "");
  EXPECT_NE(none.reason.find("NXDOMAIN"), std::string::npos) << none.reason;
}

TEST(DmarcEvaluatorTest, MalformedAndMultipleRecords) {
  DmarcZone dns("edge-cases", {"example.org", "example"});
  ASSERT_TRUE(dns.ok());
  struct Case {
    const char* domain;
    DmarcResult result;
    const char* reason;  // a part of the reason
  };
  const Case cases[] = {
      {"version-only.example", DmarcResult::kPermError, "no p= tag"},
      {"bad-p.example", DmarcResult::kPermError, "p=block is not none, quarantine or reject"},
      {"bad-sp.example", DmarcResult::kPermError, "sp=maybe"},
      {"two.example", DmarcResult::kPermError, "2 DMARC records at _dmarc.two.example"},
      {"spf-only.example", DmarcResult::kNone, "none v=DMARC1"},
      {"v-last.example", DmarcResult::kNone, "none v=DMARC1"},
      {"lowercase.example", DmarcResult::kNone, "none v=DMARC1"},
      {"rua-only.example", DmarcResult::kFail, ""},    // acts as p=none
      {"mixed.example", DmarcResult::kFail, ""},       // the spf1 record is ignored
      {"bad-values.example", DmarcResult::kFail, ""},  // pct, adkim, aspf default
  };
  for (const Case& c : cases) {
    DmarcOutcome o =
        Evaluate(dns.address(), Input(std::string("a@") + c.domain,
                                      Spf(core::SpfResult::kPass, "bounce@unrelated.example")));
    EXPECT_EQ(o.result, c.result) << c.domain << ": " << o.reason;
    EXPECT_NE(o.reason.find(c.reason), std::string::npos) << c.domain << ": " << o.reason;
    if (o.result != DmarcResult::kFail) {
      EXPECT_EQ(o.disposition, DmarcPolicy::kNone) << c.domain;  // no policy, nothing applies
      EXPECT_EQ(DmarcRuleValue(o), "missing") << c.domain;
    }
  }
  DmarcOutcome rua = Evaluate(dns.address(), Input("a@rua-only.example"));
  ASSERT_TRUE(rua.record);
  EXPECT_TRUE(rua.record->policy_from_rua);
  EXPECT_EQ(rua.disposition, DmarcPolicy::kNone);
  // bad-values: pct=150 -> 100, adkim=x/aspf=y -> relaxed, so sub.bad-values.example aligns.
  DmarcOutcome relaxed = Evaluate(
      dns.address(),
      Input("a@bad-values.example", Spf(core::SpfResult::kPass, "b@sub.bad-values.example")));
  EXPECT_EQ(relaxed.result, DmarcResult::kPass) << relaxed.reason;
  ASSERT_TRUE(relaxed.record);
  EXPECT_EQ(relaxed.record->notes.size(), 3u);
  DmarcOutcome perm = Evaluate(dns.address(), Input("a@bad-p.example"));
  EXPECT_EQ(DmarcAuthenticationResult(perm),
            "dmarc=permerror reason=\"_dmarc.bad-p.example: malformed DMARC record: p=block is "
            "not none, quarantine or reject\" header.from=bad-p.example");
}

TEST(DmarcEvaluatorTest, SeveralAuthorDomainsTheStrictestFailureCounts) {
  DmarcZone dns("edge-cases", {"example.org", "example"});
  ASSERT_TRUE(dns.ok());
  DmarcOutcome o =
      Evaluate(dns.address(), Input("a@quarantine.example, b@reject.example, c@nothing.example", {},
                                    {Dkim(DkimResult::kPass, "quarantine.example")}));
  EXPECT_EQ(o.result, DmarcResult::kFail) << o.reason;
  EXPECT_EQ(o.domain, "reject.example");
  EXPECT_EQ(o.disposition, DmarcPolicy::kReject);
  // A second From field is no way around it either.
  DmarcInput two;
  two.authors = FindAuthorDomains("From: a@quarantine.example\r\nFrom: b@reject.example\r\n\r\n");
  two.dkim = {Dkim(DkimResult::kPass, "quarantine.example")};
  DmarcOutcome t = Evaluate(dns.address(), two);
  EXPECT_EQ(t.domain, "reject.example");
  EXPECT_EQ(t.result, DmarcResult::kFail);
  // Every domain passing: pass.
  DmarcOutcome all = Evaluate(dns.address(), Input("a@quarantine.example, b@reject.example", {},
                                                   {Dkim(DkimResult::kPass, "quarantine.example"),
                                                    Dkim(DkimResult::kPass, "reject.example")}));
  EXPECT_EQ(all.result, DmarcResult::kPass) << all.reason;
  // No usable From: permerror without a lookup.
  DmarcInput nofrom;
  nofrom.authors = FindAuthorDomains("Subject: x\r\n\r\n");
  DmarcOutcome p = Evaluate("127.0.0.1:9", nofrom);
  EXPECT_EQ(p.result, DmarcResult::kPermError);
  EXPECT_EQ(p.reason, "no From field");
  EXPECT_EQ(DmarcAuthenticationResult(p), "dmarc=permerror reason=\"no From field\"");
}

TEST(DmarcEvaluatorTest, UnverifiableIdentifiers) {
  DmarcZone dns("edge-cases", {"example.org", "example"});
  ASSERT_TRUE(dns.ok());
  // A passing signature from a key in testing mode does not count (RFC 6376 3.6.1 t=y).
  DkimSignatureResult testing = Dkim(DkimResult::kPass, "reject.example");
  testing.testing = true;
  DmarcOutcome t = Evaluate(dns.address(), Input("a@reject.example", {}, {testing}));
  EXPECT_EQ(t.result, DmarcResult::kFail) << t.reason;
  // A temperror of a signature that would align: the result is unknown, not fail.
  DmarcOutcome d = Evaluate(dns.address(), Input("a@reject.example", {},
                                                 {Dkim(DkimResult::kTempError, "reject.example")}));
  EXPECT_EQ(d.result, DmarcResult::kTempError) << d.reason;
  DmarcOutcome s =
      Evaluate(dns.address(),
               Input("a@reject.example", Spf(core::SpfResult::kTempError, "b@reject.example")));
  EXPECT_EQ(s.result, DmarcResult::kTempError) << s.reason;
  // ... but not of one that would not.
  DmarcOutcome o = Evaluate(dns.address(), Input("a@reject.example", {},
                                                 {Dkim(DkimResult::kTempError, "other.example")}));
  EXPECT_EQ(o.result, DmarcResult::kFail) << o.reason;
  // SPF softfail/neutral/none of an aligned domain are no pass.
  for (core::SpfResult r : {core::SpfResult::kSoftFail, core::SpfResult::kNeutral,
                            core::SpfResult::kNone, core::SpfResult::kFail}) {
    DmarcOutcome f = Evaluate(dns.address(), Input("a@reject.example", Spf(r, "a@reject.example")));
    EXPECT_EQ(f.result, DmarcResult::kFail) << core::SpfResultName(r);
    EXPECT_FALSE(f.spf_aligned);
  }
}

TEST(DmarcEvaluatorTest, ServfailIsTemperror) {
  mta::testing::ServfailServer servfail;
  DmarcOutcome o = Evaluate(servfail.address(),
                            Input("a@example.com", {}, {Dkim(DkimResult::kPass, "example.com")}));
  EXPECT_EQ(o.result, DmarcResult::kTempError) << o.reason;
  EXPECT_NE(o.reason.find("_dmarc.example.com"), std::string::npos) << o.reason;
  EXPECT_FALSE(DmarcRuleValue(o));
  EXPECT_EQ(o.disposition, DmarcPolicy::kNone);
  EXPECT_TRUE(DmarcAuthenticationResult(o).starts_with("dmarc=temperror reason=\"DNS TXT"))
      << DmarcAuthenticationResult(o);
}

TEST(DmarcEvaluatorTest, TimeoutIsTemperror) {
  // A UDP socket that never answers.
  asio::io_context io;
  asio::ip::udp::socket silent(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::string address = "127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  DmarcOutcome o = Evaluate(address, Input("a@mail.example.com"), 300ms);
  EXPECT_EQ(o.result, DmarcResult::kTempError) << o.reason;
  EXPECT_NE(o.reason.find("timeout"), std::string::npos) << o.reason;
  // The first lookup's failure ends discovery: no second wait at the organisational domain.
  EXPECT_NE(o.reason.find("_dmarc.mail.example.com"), std::string::npos) << o.reason;
  EXPECT_EQ(o.reason.find("_dmarc.example.com"), std::string::npos) << o.reason;
}

}  // namespace
}  // namespace moat::filterd
